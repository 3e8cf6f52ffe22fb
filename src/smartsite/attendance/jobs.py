"""The attendance scenario's worker jobs (declared in declaration.py, run by core.scheduler).

`close_days` closes the day at 23:30 Shanghai (CLOSE_AT: after the evening exits, before the
rules run) and closes yesterday once more after midnight, so an exit clocked between 23:30 and
midnight still counts. Closing is idempotent (services.close_day)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from smartsite.attendance import detectors, services
from smartsite.attendance.models import AttendanceDay

CLOSE_AT = datetime.time(23, 30)


def close_days(now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.date()
    closed = 0
    midnight, _ = services.day_bounds(today)
    yesterday = today - datetime.timedelta(days=1)
    if not AttendanceDay.objects.filter(date=yesterday, closed_at__gte=midnight).exists():
        closed += services.close_day(yesterday, now)
    if local.time() >= CLOSE_AT:
        close_at = midnight.replace(hour=CLOSE_AT.hour, minute=CLOSE_AT.minute)
        if not AttendanceDay.objects.filter(date=today, closed_at__gte=close_at).exists():
            closed += services.close_day(today, now)
    return closed


def rules(now: datetime.datetime | None = None) -> int:
    """The rules, then the consequences their verdicts and orders call for."""
    now = now or timezone.now()
    found = detectors.sync(now)
    services.derive_sanctions(now)
    return found
