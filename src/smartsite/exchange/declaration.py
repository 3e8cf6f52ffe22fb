"""What data exchange brings to the platform (core.scenarios): the outbox delivery job and
the import page."""

from smartsite.core.scenarios import Declaration, Job, NavEntry

DECLARATION = Declaration(
    app="exchange",
    name="数据交换",
    jobs=(
        Job("exchange.outbox", run="smartsite.exchange.services.deliver_due", exclusive=False,
            drain=True, order=60, description="投递出站消息（Webhook、邮件），失败按退避重试"),
    ),
    nav=(
        NavEntry("导入", "exchange:import", order=88,
                 visible="smartsite.core.navigation.registry_editor"),
    ),
    access="smartsite.exchange.access",
)
