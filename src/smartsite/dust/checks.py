"""The dust scenario's automatic verifications (workorders.checks): what the data can prove
about a disposed order. Each is `check(order, at) -> bool`, declared by name in
dust/declaration.py; the parameters are the `verification` rule's (dust.rules)."""

from __future__ import annotations

import datetime

from django.db.models import Count, F, Max
from django.utils import timezone

from smartsite.dust import minutes, rules
from smartsite.dust.models import DustLimit, Inspection, Monitor, PeriodMean, SprayReading


def _monitors(order) -> list[Monitor]:
    mns = {e.subject for e in order.events.all() if e.subject}
    return list(Monitor.objects.filter(project=order.project_id, mn__in=mns))


def valid_data_24h(order, at: datetime.datetime) -> bool:
    """Each monitor of the order has sent valid PM10 data for the last `hours` (at least
    `coverage` of the minutes) — and, for an exceedance, stayed within the day's limit rule
    for that time."""
    p = rules.params("verification")
    since = at - datetime.timedelta(hours=p["hours"])
    monitors = _monitors(order)
    if not monitors or since < order.opened_at:
        return False  # (a window reaching back before the order proves nothing about the fix)
    needed = int(p["hours"] * 60 * p["coverage"])
    counts = dict(minutes.query(
        "SELECT monitor_id, count(*) FROM {minutes} WHERE n_pm10 > 0 GROUP BY monitor_id",
        minutes.subquery([m.pk for m in monitors], since, at, columns=("pm10",), after=True,
                         through=True)))
    if any(counts.get(m.pk, 0) < needed for m in monitors):
        return False
    if order.kind != "exceedance":
        return True
    particulate = rules.params("exceedance")["particulate"]
    limit = DustLimit.in_force(particulate, timezone.localdate(at))
    if limit is None:
        return True
    n, total = f"n_{particulate}", f"sum_{particulate}"
    over = (PeriodMean.objects.filter(monitor__in=monitors, period=limit.averaging_seconds,
                                      bucket__gte=since, bucket__lt=at, **{f"{n}__gt": 0})
            .filter(**{f"{total}__gt": F(n) * limit.limit})
            .values_list("monitor").annotate(n=Count("bucket")))
    return all(n <= limit.max_exceedances_per_day for _m, n in over)


def monitors_reporting(order, at: datetime.datetime) -> bool:
    """不装少装 fixed: as many monitors as the site needs are sending data."""
    from smartsite.dust.siting import required_monitors

    p = rules.params("verification")
    since = at - datetime.timedelta(minutes=p["reporting_minutes"])
    ids = list(Monitor.objects.filter(project=order.project_id, active=True)
               .values_list("pk", flat=True))
    reporting = minutes.query(
        "SELECT count(DISTINCT monitor_id) FROM {minutes}",
        minutes.subquery(ids, since, at, columns=(), after=True, through=True))[0][0] if ids else 0
    return reporting >= required_monitors(order.project)


def inspection_recorded(order, at: datetime.datetime) -> bool:
    """未年检 fixed: every monitor of the order has a passed annual inspection in force."""
    monitors = _monitors(order)
    if not monitors:
        return False
    valid = dict(Inspection.objects.filter(monitor__in=monitors, kind="annual", passed=True)
                 .values_list("monitor").annotate(until=Max("expires_on")))
    day = timezone.localdate(at)  # (expiry dates are Shanghai dates; `at` is UTC)
    return all(valid.get(m.pk) and valid[m.pk] >= day for m in monitors)


def spray_linked(order, at: datetime.datetime) -> bool:
    """喷雾未联动 fixed: a linked spray or fog cannon of each monitor has reported running
    since the order was opened."""
    monitors = _monitors(order)
    if not monitors:
        return False
    ran = set(SprayReading.objects.filter(device__monitor__in=monitors, device__active=True,
                                          running=True, data_time__gte=order.opened_at,
                                          data_time__lte=at)
              .values_list("device__monitor", flat=True))
    return all(m.pk in ran for m in monitors)
