from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "smartsite.attendance"
    label = "attendance"
    verbose_name = "关键岗位到岗履职"
    default_auto_field = "django.db.models.BigAutoField"
