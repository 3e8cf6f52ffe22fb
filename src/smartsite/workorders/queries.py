"""Reads of the event center and the disposal center, shared by pages, API and benchmarks.

Every read starts from `scoped()`; "mine" narrows it to the orders whose ball is in one of the
user's courts (`courts.court_q`, the same rule `courts.in_court` applies to a single order).
"""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from smartsite.core.scoping import scoped
from smartsite.workorders.choices import (
    OPEN_EVENT_STATES,
    WORKING_ORDER_STATES,
)
from smartsite.workorders.courts import court_q
from smartsite.workorders.models import Event, Notification, WorkOrder

WORKING_STATES = WORKING_ORDER_STATES


def late_q(now) -> Q:
    """Orders past their deadline: flagged overdue, or a working step whose due time passed."""
    return Q(overdue=True) | Q(due_at__lt=now, state__in=WORKING_STATES)


def visible_orders(user) -> QuerySet:
    return scoped(user, WorkOrder.objects.all())


def todo(user, now=None) -> QuerySet:
    """My todos: open orders in my court, overdue first, then by due time."""
    now = now or timezone.now()
    return (visible_orders(user).filter(court_q(user), state__in=WORKING_STATES)
            .annotate(late=Case(When(late_q(now), then=Value(0)),
                                default=Value(1), output_field=IntegerField()))
            .select_related("project", "court_agency", "court_enterprise", "court_post")
            .order_by("late", "due_at", "pk"))


def open_events(user) -> QuerySet:
    """Warnings not yet turned into an order (新发现)."""
    return (scoped(user, Event.objects.all()).filter(state=OPEN_EVENT_STATES[0])
            .select_related("project").order_by("-severity", "-last_seen"))


def counts(qs: QuerySet, field: str) -> dict[str, int]:
    """{value: count} of `field` over `qs`."""
    return {row[field]: row["n"] for row in qs.order_by().values(field).annotate(n=Count("pk"))}


def unread_count(user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
