"""Monitor data in less disk (issue 12, "Storage costs more than the data").

* Minute means are no longer stored: they are the readings grouped by minute
  (`dust.minutes`). Nothing is lost by dropping the table: every minute mean came from
  readings, which are kept longer (400 days against 40).
* Reading values become `real` and the monitor an `integer` on PostgreSQL, and the table is
  rebuilt with its columns 8-byte first (the times), then the 4-byte ones (monitor, values),
  then `cn` and `flags`: no alignment padding. The rebuild copies one partition at a time
  (sorted by the primary key, which also puts each monitor's day on a few pages), so a
  database with data keeps all of it; it needs free disk for the largest partition and holds
  the table for the copy — on a production database run it in a maintenance window
  (docs/operations.md). SQLite's REAL is unchanged.
* `RollupPending`: hours whose hour and day means are owed (`ingest.roll_up`).
"""

import django.db.models.deletion
from django.db import migrations, models

import smartsite.dust.models

VALUES = ("pm25", "pm10", "tsp", "noise", "wind_speed", "wind_dir", "temperature", "humidity",
          "pressure")
LABELS = ("PM2.5", "PM10", "TSP", "噪声", "风速", "风向", "温度", "湿度", "气压")


def rebuild_readings(apps, schema_editor):
    """PostgreSQL: the new layout, partition by partition. Value columns another migration
    may have added before this one (any `double precision` column) become `real` too."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("""
            SELECT column_name, data_type, character_maximum_length, is_nullable
              FROM information_schema.columns
             WHERE table_name = 'dust_reading' AND table_schema = current_schema()
             ORDER BY ordinal_position""")
        existing = cur.fetchall()
        rank = {"timestamp with time zone": 0, "bigint": 1, "integer": 1, "double precision": 2,
                "real": 2, "smallint": 3}
        columns = sorted(existing, key=lambda c: (rank.get(c[1], 4), c[0] != "monitor_id"))
        defs = []
        for name, kind, length, nullable in columns:
            kind = {"double precision": "real", "bigint": "integer"}.get(kind, kind)
            if kind == "character varying":
                kind = f"varchar({length})"
            defs.append(f"{name} {kind}{'' if nullable == 'YES' else ' NOT NULL'}")
        cols = ", ".join(c[0] for c in columns)
        cur.execute(f"CREATE TABLE dust_reading_next ({', '.join(defs)}) "
                    "PARTITION BY RANGE (data_time)")
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
    dependencies = [("dust", "0007_noise_day_and_pw_lock")]

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
