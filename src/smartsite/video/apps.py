from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "smartsite.video"
    label = "video"
    verbose_name = "视频监控"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from smartsite.video import links

        links.connect()  # (core, listed first, has discovered the declarations by now)
