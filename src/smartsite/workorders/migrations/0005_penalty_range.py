from django.db import migrations, models


def copy_range(apps, schema_editor):
    """Penalties recorded before this migration were checked against their basis's range as
    it is now (the fixtures have not changed since penalties were introduced)."""
    Penalty = apps.get_model("workorders", "Penalty")
    penalties = list(Penalty.objects.select_related("basis"))
    for penalty in penalties:
        penalty.basis_min, penalty.basis_max = penalty.basis.min_amount, penalty.basis.max_amount
    Penalty.objects.bulk_update(penalties, ["basis_min", "basis_max"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0004_event_closed"),
    ]

    operations = [
        migrations.AddField(
            model_name="penalty",
            name="basis_min",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=12,
                                      verbose_name="当时罚款下限（元）"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="penalty",
            name="basis_max",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=12,
                                      verbose_name="当时罚款上限（元）"),
            preserve_default=False,
        ),
        migrations.RunPython(copy_range, migrations.RunPython.noop),
    ]
