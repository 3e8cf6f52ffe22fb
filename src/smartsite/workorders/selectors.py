"""Reads of the event center and the disposal center, shared by pages, API and benchmarks.

Every read starts from `scoped()`; "mine" narrows it to the orders whose ball is in one of the
user's courts (`courts.court_q`, the same rule `courts.in_court` applies to a single order).
"""

from __future__ import annotations

import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from smartsite.core.scoping import scoped
from smartsite.workorders.choices import (
    OPEN_EVENT_STATES,
    WORKING_ORDER_STATES,
    LoopLevel,
    OrderState,
)
from smartsite.workorders.courts import court_q
from smartsite.workorders.models import Event, LoopPolicy, Notification, WorkOrder

WORKING_STATES = WORKING_ORDER_STATES
#: A working order due within this long (and not late yet) is "soon" on the event center.
SOON = datetime.timedelta(hours=24)


def late_q(now) -> Q:
    """Orders past their deadline: flagged overdue, or a working step whose due time passed."""
    return Q(overdue=True) | Q(due_at__lt=now, state__in=WORKING_STATES)


def soon_q(now) -> Q:
    """Orders due within `SOON` of `now` and not flagged overdue."""
    return Q(due_at__gte=now, due_at__lt=now + SOON) & ~Q(overdue=True)


def visible_orders(user) -> QuerySet:
    return scoped(user, WorkOrder.objects.all())


def order_or_404(user, pk) -> WorkOrder:
    """The order with what its page shows, or 404 whether it is absent or out of scope."""
    qs = visible_orders(user).select_related(
        "project__district", "project__street", "policy", "court_agency", "court_enterprise",
        "court_post", "issuer", "assignee")
    return get_object_or_404(qs, pk=pk)


def todo(user, now=None) -> QuerySet:
    """My todos: open orders in my court, overdue first, then by due time."""
    now = now or timezone.now()
    return (visible_orders(user).filter(court_q(user), state__in=WORKING_STATES)
            .annotate(late=Case(When(late_q(now), then=Value(0)),
                                default=Value(1), output_field=IntegerField()))
            .select_related("project", "court_agency", "court_enterprise", "court_post")
            .order_by("late", "due_at", "pk"))


def todo_counts(user, now) -> list[dict]:
    """My todos by scenario: {"scenario", "total", "late", "soon"}, in scenario order."""
    return list(todo(user, now).order_by().values("scenario")
                .annotate(total=Count("pk"), late=Count("pk", filter=late_q(now)),
                          soon=Count("pk", filter=soon_q(now))).order_by("scenario"))


def scope_counts(user, now) -> dict[str, int]:
    """The working orders `user` can see: {"open", "late", "large"} (at the large loop)."""
    return visible_orders(user).filter(state__in=WORKING_STATES).aggregate(
        open=Count("pk"), late=Count("pk", filter=late_q(now)),
        large=Count("pk", filter=Q(loop_level=LoopLevel.LARGE)))


def watch_list(user, now, limit: int = 20) -> QuerySet:
    """A regulator's watch list: visible working orders that are late or at the large loop
    and not in the user's own court (those are todos), soonest due first."""
    return (visible_orders(user)
            .filter(late_q(now) | Q(loop_level=LoopLevel.LARGE), state__in=WORKING_STATES)
            .exclude(court_q(user))
            .select_related("project", "court_agency", "court_enterprise", "court_post")
            .order_by("due_at")[:limit])


def recent_large_closures(user, now, days: int = 7, limit: int = 20) -> QuerySet:
    """Visible orders closed at the large loop in the last `days` days (the phone view)."""
    return visible_orders(user).filter(
        state=OrderState.CLOSED, closed_at__gte=now - datetime.timedelta(days=days),
        closed_level=LoopLevel.LARGE).select_related("project")[:limit]


def open_events(user) -> QuerySet:
    """Warnings not yet turned into an order (新发现)."""
    return (scoped(user, Event.objects.all()).filter(state=OPEN_EVENT_STATES[0])
            .select_related("project").order_by("-severity", "-last_seen"))


def warnings(user, limit: int = 20) -> list[Event]:
    """The first `limit` open events, each marked `dispatchable` when its rule has an active
    loop policy (a regulator may then open an order from it)."""
    events = list(open_events(user)[:limit])
    dispatchable = set(LoopPolicy.objects.filter(active=True).values_list("scenario", "kind"))
    for event in events:
        event.dispatchable = (event.scenario, event.rule) in dispatchable
    return events


def timeline(user, project, limit: int = 200) -> list[tuple[str, datetime.datetime, object]]:
    """A project's visible events and orders on one time line, newest first:
    ("event", last seen, event) and ("order", opened at, order)."""
    events = scoped(user, Event.objects.filter(project=project))[:limit]
    orders = scoped(user, WorkOrder.objects.filter(project=project)).select_related(
        "policy")[:limit]
    return sorted([("event", e.last_seen, e) for e in events]
                  + [("order", o.opened_at, o) for o in orders],
                  key=lambda item: item[1], reverse=True)


def counts(qs: QuerySet, field: str) -> dict[str, int]:
    """{value: count} of `field` over `qs`."""
    return {row[field]: row["n"] for row in qs.order_by().values(field).annotate(n=Count("pk"))}


def unread_count(user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
