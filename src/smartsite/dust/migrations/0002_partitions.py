"""On PostgreSQL, readings and means become time-partitioned tables (dust.partitions)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from smartsite.dust.partitions import convert_to_partitioned

    convert_to_partitioned(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("dust", "0001_initial")]
    atomic = True

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
