from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "smartsite.workorders"
    label = "workorders"
    verbose_name = "事件与工单"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from smartsite.workorders import signals  # noqa: F401  (connects the receivers)
