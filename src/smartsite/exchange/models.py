"""The notification outbox: webhooks users register, and the messages waiting to go out.

Messages are written in the same transaction as the change they report (so one exists if and
only if that change committed) and delivered later by `smartsite worker`, never inside a
request. Delivery is at least once: receivers deduplicate on the message id.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from smartsite.exchange.choices import (
    ALL_ORDER_EVENTS,
    DUE_STATES,
    PING,
    OutboxChannel,
    OutboxState,
)

__all__ = ["OutboxMessage", "Webhook"]


class Webhook(models.Model):
    """A URL a user wants signed JSON POSTs sent to when orders they can see change.

    What is delivered is scoped through the owner's visibility (`core.scoping.scoped`): a
    webhook never carries an event of a project its owner cannot see."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="所有者",
                              on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField("名称", max_length=100)
    url = models.CharField("地址", max_length=500)
    secret = models.CharField("签名密钥", max_length=100, editable=False)
    events = models.JSONField("事件类型", default=list,
                              help_text="如 [\"order.*\"] 或 [\"order.dispose\", \"order.escalate\"]")
    active = models.BooleanField("启用", default=True)
    created = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = verbose_name_plural = "Webhook"
        indexes = [models.Index(fields=["active"], condition=Q(active=True),
                                name="webhook_active")]

    def __str__(self) -> str:
        return f"{self.name}（{self.url}）"

    @staticmethod
    def new_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)

    def wants(self, event: str) -> bool:
        """Whether this webhook subscribed to `event` (the test ping always goes through)."""
        if event == PING:
            return True
        return event in self.events or (ALL_ORDER_EVENTS in self.events
                                        and event.startswith("order."))


class OutboxMessage(models.Model):
    """One notification to deliver: a webhook POST or an e-mail, with its retry state."""

    channel = models.CharField("渠道", max_length=10, choices=OutboxChannel.choices)
    webhook = models.ForeignKey(Webhook, verbose_name="Webhook", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="收件用户", null=True,
                             blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField("收件地址", blank=True)
    event = models.CharField("事件类型", max_length=40)
    payload = models.JSONField("内容")
    key = models.CharField("幂等键", max_length=200, unique=True,
                           help_text="同一通知只入队一次")
    state = models.CharField("状态", max_length=10, choices=OutboxState.choices,
                             default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间",
                                           help_text="发送中：租约到期时间（进程中断后重发）")
    last_error = models.CharField("最近错误", max_length=500, blank=True)
    response_status = models.PositiveIntegerField("最近响应码", null=True, blank=True)
    created = models.DateTimeField("创建时间")
    sent_at = models.DateTimeField("送达时间", null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = verbose_name_plural = "待发通知"
        indexes = [
            # The worker's due scan: only undelivered rows are in it.
            models.Index(fields=["next_attempt_at"], condition=Q(state__in=DUE_STATES),
                         name="outbox_due"),
            models.Index(fields=["webhook", "-created"], name="outbox_webhook_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel=OutboxChannel.WEBHOOK, webhook__isnull=False)
                           | (Q(channel=OutboxChannel.EMAIL, webhook__isnull=True)
                              & ~Q(email=""))),
                name="outbox_has_a_recipient"),
        ]

    def __str__(self) -> str:
        to = f"webhook {self.webhook_id}" if self.webhook_id else self.email
        return f"{self.event} → {to}（{self.get_state_display()}）"

    @property
    def recipient(self) -> str:
        return self.webhook.url if self.webhook_id else self.email
