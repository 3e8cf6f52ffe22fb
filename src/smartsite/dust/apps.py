from django.apps import AppConfig


class DustConfig(AppConfig):
    name = "smartsite.dust"
    label = "dust"
    verbose_name = "扬尘噪声监测"
    default_auto_field = "django.db.models.BigAutoField"
