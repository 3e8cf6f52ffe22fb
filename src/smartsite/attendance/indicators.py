"""The attendance scenario's indicators (core.scenarios.Indicator), read through `scoped()`
from the closed days (AttendanceDay)."""

from __future__ import annotations

from django.utils import timezone

from smartsite.attendance import rates, selectors


def _days(user, scope, obj):
    qs = selectors.days(user)
    if scope == "project":
        return qs.filter(project=obj)
    if scope == "district":
        return qs.filter(project__district=obj)
    return qs


def _rate(statuses) -> float | None:
    t = rates.tally(statuses)
    return None if t.rate is None else round(float(t.rate) * 100, 1)


def day_rate(user, scope, obj, start, end) -> float | None:
    """到岗率 (%) of the closed days in the period: attended over construction days."""
    first, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    return _rate(_days(user, scope, obj).filter(date__gte=first, date__lte=last)
                 .values_list("status", flat=True))


def month_rate(user, scope, obj, start, end) -> float | None:
    """到岗率 (%) of the closed days of the month the period ends in."""
    first, last = rates.month_bounds(timezone.localtime(end).date())
    return _rate(_days(user, scope, obj).filter(date__gte=first, date__lte=last)
                 .values_list("status", flat=True))


def below_rate(user, scope, obj, start, end) -> int:
    """Key posts whose rate over the closed days of the month so far is below 80 %."""
    first, last = rates.month_bounds(timezone.localtime(end).date())
    by: dict[int, list[str]] = {}
    for aid, status in _days(user, scope, obj).filter(date__gte=first, date__lte=last) \
            .values_list("assignment", "status"):
        by.setdefault(aid, []).append(status)
    min_rate = selectors.param("min_monthly_rate")
    return sum(1 for s in by.values() if rates.tally(s).meets(min_rate) is False)
