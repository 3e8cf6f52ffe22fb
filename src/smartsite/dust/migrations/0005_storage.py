"""Monitor data in less disk (issue 12, "Storage costs more than the data").

* Minute means are no longer stored: they are the readings grouped by minute
  (`dust.minutes`). Nothing is lost by dropping the table: every minute mean came from
  readings, which are kept longer (400 days against 40).
* Reading values become `real` and the monitor an `integer` on PostgreSQL, and the table is
  rebuilt with its columns 8-byte first (the times), then the 4-byte ones (monitor, values),
  then `cn` and `flags`: no alignment padding. The rebuild copies one partition at a time (sorted by the primary key, which also
  puts each monitor's day on a few pages), so a database with data keeps all of it; it needs
  free disk for the largest partition and holds the table for the copy — on a production
  database run it in a maintenance window (docs/operations.md). SQLite's REAL is unchanged.
* `RollupPending`: hours whose hour and day means are owed (`services.roll_up`).
"""

import django.db.models.deletion
from django.db import migrations, models

import smartsite.dust.models

VALUES = ("pm25", "pm10", "tsp", "noise", "wind_speed", "wind_dir", "temperature", "humidity",
          "pressure")
LABELS = ("PM2.5", "PM10", "TSP", "噪声", "风速", "风向", "温度", "湿度", "气压")
COLUMNS = ("data_time", "received_at", "monitor_id", *VALUES, "cn", "flags")


def rebuild_readings(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    cols = ", ".join(COLUMNS)
    with connection.cursor() as cur:
        cur.execute("SELECT character_maximum_length FROM information_schema.columns "
                    "WHERE table_name = 'dust_reading' AND column_name = 'flags'")
        flags_length = cur.fetchone()[0] or 9
        cur.execute(f"""
            CREATE TABLE dust_reading_next (
                data_time timestamp with time zone NOT NULL,
                received_at timestamp with time zone NOT NULL,
                monitor_id integer NOT NULL,
                {", ".join(f"{c} real NULL" for c in VALUES)},
                cn smallint NOT NULL,
                flags varchar({flags_length}) NOT NULL
            ) PARTITION BY RANGE (data_time)""")
        cur.execute("""
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'dust_reading'::regclass ORDER BY 1""")
        for name, bound in cur.fetchall():
            cur.execute(f"""
                CREATE TABLE {name}_next (LIKE dust_reading_next INCLUDING DEFAULTS
                                          INCLUDING CONSTRAINTS);
                INSERT INTO {name}_next ({cols}) SELECT {cols} FROM {name}
                 ORDER BY monitor_id, cn, data_time;
                DROP TABLE {name};
                ALTER TABLE {name}_next RENAME TO {name};
                ALTER TABLE dust_reading_next ATTACH PARTITION {name} {bound};""")
        cur.execute("""
            DROP TABLE dust_reading;
            ALTER TABLE dust_reading_next RENAME TO dust_reading;
            ALTER TABLE dust_reading ADD CONSTRAINT dust_reading_pkey
                PRIMARY KEY (monitor_id, cn, data_time);
            CREATE INDEX dust_reading_time_brin ON dust_reading USING brin (data_time);""")


class Migration(migrations.Migration):
    dependencies = [("dust", "0004_dustrule_monitor_latitude_monitor_longitude_and_more")]

    operations = [
        migrations.DeleteModel(name="MinuteMean"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="reading", name="monitor",
                    field=smartsite.dust.models.MonitorKey(
                        db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+", to="dust.monitor")),
                *[migrations.AlterField(
                    model_name="reading", name=column,
                    field=smartsite.dust.models.RealField(blank=True, null=True,
                                                          verbose_name=label))
                  for column, label in zip(VALUES, LABELS, strict=True)]],
            database_operations=[
                migrations.RunPython(rebuild_readings, migrations.RunPython.noop,
                                     elidable=False)],
        ),
        migrations.CreateModel(
            name="RollupPending",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("bucket", models.DateTimeField(verbose_name="小时起")),
                ("monitors", models.JSONField(default=list, verbose_name="设备")),
            ],
            options={"verbose_name": "待汇总时段", "verbose_name_plural": "待汇总时段"},
        ),
    ]
