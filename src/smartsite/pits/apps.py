from django.apps import AppConfig


class PitsConfig(AppConfig):
    name = "smartsite.pits"
    label = "pits"
    verbose_name = "深基坑监测"
    default_auto_field = "django.db.models.BigAutoField"
