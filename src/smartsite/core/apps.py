from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "smartsite.core"
    label = "core"
    verbose_name = "基础登记 Registry"
    default_auto_field = "django.db.models.BigAutoField"
