from django.apps import AppConfig


class DustConfig(AppConfig):
    name = "smartsite.dust"
    label = "dust"
    verbose_name = "扬尘噪声监测"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from smartsite.dust import checks  # noqa: F401  (registers the automatic verifications)
        from smartsite.dust import order_panels  # noqa: F401  (the evidence on the phone view)
