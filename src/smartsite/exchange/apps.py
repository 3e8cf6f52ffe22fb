from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Data exchange: Excel import/export of 报建 data (later: open-API keys, city push)."""

    name = "smartsite.exchange"
    label = "exchange"
    verbose_name = "数据交换"
