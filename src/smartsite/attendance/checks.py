"""The attendance scenario's automatic verifications (workorders.checks): what the data can
prove about a disposed order. Each is `check(order, at) -> bool`, declared by name in
declaration.py and named by the loop policies' `auto_verify.check`. The subject of an order is
read from its events' evidence (detectors.py)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from smartsite.attendance import rates, selectors
from smartsite.attendance.choices import PostClass
from smartsite.attendance.models import AttendanceDay
from smartsite.core.choices import ProjectStatus
from smartsite.core.models import PostAssignment


def _evidence(order) -> list[dict]:
    return [e.evidence for e in order.events.all()]


def rate_recovered(order, at: datetime.datetime) -> bool:
    """Every post of the order has, on the days closed since the order opened, at least
    `recovery_min_days` construction days and a rate of at least `min_monthly_rate`."""
    ids = {e.get("assignment") for e in _evidence(order)} - {None}
    if not ids:
        return False
    first = timezone.localtime(order.opened_at).date() + datetime.timedelta(days=1)
    last = timezone.localtime(at).date()
    p = selectors.params()
    statuses: dict[int, list[str]] = {i: [] for i in ids}
    for aid, status in AttendanceDay.objects.filter(
            assignment__in=ids, date__gte=first, date__lte=last).values_list(
            "assignment", "status"):
        statuses[aid].append(status)
    for rows in statuses.values():
        t = rates.tally(rows)
        if t.construction < p["recovery_min_days"] or not t.meets(p["min_monthly_rate"]):
            return False
    return True


def qualification_valid(order, at: datetime.datetime) -> bool:
    """Each expired certificate of the order is replaced by a valid one of the same kind."""
    pairs = {(e.get("person_id"), e.get("kind")) for e in _evidence(order)} - {(None, None)}
    today = timezone.localtime(at).date()
    return bool(pairs) and all(
        kind in selectors.valid_kinds(person, today) for person, kind in pairs)


def post_filled(order, at: datetime.datetime) -> bool:
    """Each unfilled Class I post of the order has somebody on it."""
    posts = {e.get("post") for e in _evidence(order)} - {None}
    today = timezone.localtime(at).date()
    return bool(posts) and all(
        selectors.overlapping(PostAssignment.objects.filter(project=order.project_id,
                                                            post__code=code), today).exists()
        for code in posts)


def single_post(order, at: datetime.datetime) -> bool:
    """The person of the order holds Class I posts on no more projects than allowed."""
    people = {e.get("person_id") for e in _evidence(order)} - {None}
    today = timezone.localtime(at).date()
    limit = int(selectors.param("max_concurrent_class_i"))
    return bool(people) and all(
        selectors.overlapping(PostAssignment.objects.filter(
            person=person, post__key_post__post_class=PostClass.I,
            project__status=ProjectStatus.ACTIVE), today)
        .values("project").distinct().count() <= limit
        for person in people)
