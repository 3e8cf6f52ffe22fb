from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Data exchange: Excel import/export of 报建 data; the notification outbox (webhooks, e-mail)."""

    name = "smartsite.exchange"
    label = "exchange"
    verbose_name = "数据交换"
