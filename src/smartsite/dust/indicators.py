"""The dust scenario's indicators (core.scenarios.Indicator): numbers the dashboards and the
centers show without knowing the scenario. Each is
`fn(user, scope, obj, start, end) -> number | None`, read through `scoped(user, ...)`."""

from __future__ import annotations

import datetime

from django.utils import timezone

from smartsite.core.scoping import scoped
from smartsite.dust import selectors
from smartsite.dust.choices import Connectivity
from smartsite.dust.models import DustLimit, Monitor
from smartsite.workorders.choices import OPEN_ORDER_STATES
from smartsite.workorders.models import WorkOrder

SCENARIO = "dust"


def _narrow(qs, scope: str, obj, project_path: str):
    if scope == "project":
        return qs.filter(**{project_path: obj})
    if scope == "district":
        return qs.filter(**{f"{project_path}__district": obj})
    return qs


def online_rate(user, scope, obj, start, end) -> float | None:
    """Share of the active monitors heard from within the offline threshold, in %."""
    qs = _narrow(scoped(user, Monitor.objects.filter(active=True)), scope, obj, "project")
    counts = selectors.connectivity_counts(qs, end)
    return round(100 * counts[Connectivity.ONLINE.value] / counts["total"], 1) \
        if counts["total"] else None


def exceedance_periods(user, scope, obj, start, end) -> int | None:
    """Periods (15-minute means under DB31/964) above the PM10 limit on the day of `start`,
    over the monitors in scope; None without a limit in force."""
    day = timezone.localtime(start).date()
    limit = DustLimit.in_force("pm10", day)
    if limit is None:
        return None
    qs = selectors.exceedances(user, day, limit)
    if scope == "project":
        qs = qs.filter(monitor__project=obj)
    elif scope == "district":
        qs = qs.filter(monitor__project__district=obj)
    return qs.order_by().count()


def open_orders(user, scope, obj, start, end) -> int:
    """Dust work orders not yet closed."""
    qs = scoped(user, WorkOrder.objects.filter(scenario=SCENARIO, state__in=OPEN_ORDER_STATES))
    return _narrow(qs, scope, obj, "project").count()


def closed_orders(user, scope, obj, start: datetime.datetime, end: datetime.datetime) -> int:
    """Dust work orders closed within the period."""
    qs = scoped(user, WorkOrder.objects.filter(scenario=SCENARIO, closed_at__gte=start,
                                               closed_at__lt=end))
    return _narrow(qs, scope, obj, "project").count()
