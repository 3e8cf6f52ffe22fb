from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "smartsite.video"
    label = "video"
    verbose_name = "视频监控"
    default_auto_field = "django.db.models.BigAutoField"
