"""A camera's linked device becomes a generic reference (content type + id) instead of a
foreign key to dust's monitors: video names no scenario's table (video.links). Every existing
link is kept: it points at the same monitor as before."""

from django.db import migrations, models
from django.db.models import F


def to_generic(apps, schema_editor):
    Camera = apps.get_model("video", "Camera")
    linked = Camera.objects.filter(monitor__isnull=False)
    if not linked.exists():
        return
    ContentType = apps.get_model("contenttypes", "ContentType")
    monitor_type, _ = ContentType.objects.get_or_create(app_label="dust", model="monitor")
    linked.update(monitor_type=monitor_type, monitor_ref=F("monitor"))


def to_foreign_key(apps, schema_editor):
    Camera = apps.get_model("video", "Camera")
    Camera.objects.filter(monitor_type__app_label="dust", monitor_type__model="monitor",
                          monitor_ref__isnull=False).update(monitor=F("monitor_ref"))


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("video", "0002_camera_messages_on_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="camera",
            name="monitor_type",
            field=models.ForeignKey(blank=True, editable=False, null=True,
                                    on_delete=models.deletion.PROTECT, related_name="+",
                                    to="contenttypes.contenttype", verbose_name="关联设备类型"),
        ),
        migrations.AddField(
            model_name="camera",
            name="monitor_ref",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(to_generic, to_foreign_key, elidable=False),
        migrations.RemoveField(model_name="camera", name="monitor"),
        migrations.RenameField(model_name="camera", old_name="monitor_ref", new_name="monitor_id"),
        migrations.AlterField(
            model_name="camera",
            name="monitor_id",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True,
                                                 verbose_name="关联监测设备"),
        ),
    ]
