"""Enumerations of the exchange app: value = English slug, label = Chinese, plus a colour."""

from __future__ import annotations

import enum

from smartsite.core.choices import ColouredChoices
from smartsite.workorders.choices import Action


class OutboxChannel(ColouredChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "电子邮件"


class OutboxState(ColouredChoices):
    """pending → sending (leased to one worker) → sent, or back to pending for a retry, or
    dead after the last attempt. A `sending` row whose lease ran out is due again."""

    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已送达"
    DEAD = "dead", "已放弃"

    COLOURS = enum.nonmember({"pending": "#d97706", "sending": "#0891b2", "sent": "#16a34a",
                              "dead": "#dc2626"})


DUE_STATES = (OutboxState.PENDING, OutboxState.SENDING)

#: The test delivery sent from the webhook page; every webhook receives it.
PING = "ping"
ALL_ORDER_EVENTS = "order.*"


def order_event(action: str) -> str:
    """The webhook event type of a work-order action: `order.dispose`, `order.escalate` …"""
    return f"order.{action}"


#: Notices about an order that are not entries of its history (sent by the worker's timers).
NOTICES = {"remind": "到期提醒", "overdue": "已逾期（无更高层级）"}

#: Event types a webhook may subscribe to: all order events, or one action's or notice's.
EVENT_CHOICES = [(ALL_ORDER_EVENTS, "全部工单事件")] + [
    (order_event(value), f"{label}（{order_event(value)}）") for value, label in Action.choices
    if value not in NOTICES] + [
    (order_event(value), f"{label}（{order_event(value)}）") for value, label in NOTICES.items()]
EVENT_TYPES = frozenset(value for value, _ in EVENT_CHOICES)
