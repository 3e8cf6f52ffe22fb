"""A point's cumulative change and rate move to its latest reading (`Reading.cumulative`,
`Reading.rate`); the point's last measured time is its latest reading's (read through
`pits.selectors.with_latest`). A survey then writes a point only when its level, reasons or
baseline change, instead of every point's row after every survey.

The stored findings go to the reading at the point's last measured time; back, the latest
reading's go to the point."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def forwards(apps, schema_editor):
    Point = apps.get_model("pits", "Point")
    Reading = apps.get_model("pits", "Reading")
    point = Point.objects.filter(pk=OuterRef("point_id"))
    Reading.objects.filter(point__last_measured_at=F("measured_at")).update(
        cumulative=Subquery(point.values("cumulative")[:1]),
        rate=Subquery(point.values("rate")[:1]))


def backwards(apps, schema_editor):
    Point = apps.get_model("pits", "Point")
    Reading = apps.get_model("pits", "Reading")
    latest = Reading.objects.filter(point=OuterRef("pk")).order_by("-measured_at")
    Point.objects.update(last_measured_at=Subquery(latest.values("measured_at")[:1]),
                         cumulative=Subquery(latest.values("cumulative")[:1]),
                         rate=Subquery(latest.values("rate")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("pits", "0003_point_fillfactor"),
    ]

    operations = [
        migrations.AddField(
            model_name="reading",
            name="cumulative",
            field=models.DecimalField(blank=True, decimal_places=3, editable=False,
                                      max_digits=12, null=True, verbose_name="累计变化"),
        ),
        migrations.AddField(
            model_name="reading",
            name="rate",
            field=models.DecimalField(blank=True, decimal_places=3, editable=False,
                                      max_digits=10, null=True, verbose_name="变化速率（/d）"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
        migrations.RemoveField(model_name="point", name="cumulative"),
        migrations.RemoveField(model_name="point", name="rate"),
        migrations.RemoveField(model_name="point", name="last_measured_at"),
    ]
