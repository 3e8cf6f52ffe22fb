"""Every survey rewrites its points' findings (level, cumulative, rate, last measured …),
none of them indexed: on PostgreSQL, pages of pits_point left half free let those updates
stay on the page (HOT: no index entries to add), about four times cheaper for a survey of
every pit. New pages only: `VACUUM FULL pits_point` applies it to the rows already there.
Nothing on SQLite."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE pits_point SET (fillfactor = 50)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE pits_point RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("pits", "0002_point_baseline_profile"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
