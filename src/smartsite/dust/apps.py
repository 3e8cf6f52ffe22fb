from django.apps import AppConfig


class DustConfig(AppConfig):
    name = "smartsite.dust"
    label = "dust"
    verbose_name = "扬尘噪声监测"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from smartsite.dust import (  # noqa: F401
            checks,  # registers the automatic verifications
            order_panels,  # the evidence on the officer's phone view
        )
        from smartsite.dust.packets import register_packet_handlers

        register_packet_handlers()  # the HJ 212 gateway takes the monitors' packets
