from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "smartsite.core"
    label = "core"
    verbose_name = "基础登记 Registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from smartsite.core.throttling import forget_own_failures

        user_logged_in.connect(forget_own_failures, dispatch_uid="smartsite.forget_own_failures")

        from smartsite.core import scenarios

        scenarios.discover()  # every app's declaration.py (the scenario contract)
