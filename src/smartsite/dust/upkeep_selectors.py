"""Reads of the dust monitors' upkeep (设备运维): annual inspections and their expiry, linked
spray/fog cannons with their recent states, maintenance records, the monthly O&M statistics
and which projects leave their monthly reviews unreviewed.

Lists for a user start from `core.scoping.scoped()`; the per-monitor and per-project helpers
take a monitor or project the caller already fetched through it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.dust import minutes
from smartsite.dust.choices import (
    InspectionKind,
    InspectionStatus,
    MaintenanceKind,
    MonitorKind,
    ReviewState,
)
from smartsite.dust.models import (
    Inspection,
    MaintenanceRecord,
    Monitor,
    MonthlyReview,
    SprayDevice,
    SprayReading,
)
from smartsite.dust.selectors import SHANGHAI, chart_ms

MINUTE = datetime.timedelta(minutes=1)
#: Records that end a fault (time to repair runs from the fault's start to the first of these).
REPAIRS = (MaintenanceKind.REPAIR, MaintenanceKind.REPLACEMENT)


# ---------------------------------------------------------------- inspections


def warn_days() -> int:
    """How many days ahead an expiring inspection is flagged: the 未年检 rule's parameter."""
    from smartsite.dust import rules

    return rules.params("inspection")["warn_days"]


@dataclass(frozen=True)
class InspectionState:
    status: str  # InspectionStatus
    label: str
    colour: str
    expires_on: datetime.date | None
    days_left: int | None


def inspection_states(monitor_ids, today: datetime.date, days: int | None = None
                      ) -> dict[int, InspectionState]:
    """{monitor id: state of its annual inspection}: the latest expiry of a passed annual
    inspection decides, exactly as the 未年检 rule judges it."""
    days = warn_days() if days is None else days
    until = dict(Inspection.objects.filter(monitor__in=list(monitor_ids),
                                           kind=InspectionKind.ANNUAL, passed=True)
                 .values_list("monitor").annotate(until=Max("expires_on")))
    out = {}
    for monitor_id in monitor_ids:
        expires = until.get(monitor_id)
        if expires is None:
            status, left = InspectionStatus.NONE, None
        else:
            left = (expires - today).days
            status = (InspectionStatus.EXPIRED if left < 0 else
                      InspectionStatus.EXPIRING if left <= days else InspectionStatus.VALID)
        label = f"{days} 天内到期" if status == InspectionStatus.EXPIRING else status.label
        out[monitor_id] = InspectionState(status.value, label, InspectionStatus.colour(status),
                                          expires, left)
    return out


def inspections(monitor: Monitor) -> QuerySet[Inspection]:
    return Inspection.objects.filter(monitor=monitor).select_related("recorded_by")


# ---------------------------------------------------------------- spray / fog cannons


def sprays(monitor: Monitor) -> QuerySet[SprayDevice]:
    return SprayDevice.objects.filter(monitor=monitor).order_by("sb_code")


def spray_timelines(devices, now: datetime.datetime, hours: int = 24) -> dict[int, list[list]]:
    """{device id: [[chart ms, 1 running | 0 stopped], …]} over the last `hours`: the state
    each device was in when the window opened (its last report before), then every report,
    then the latest state carried to `now` — a step line."""
    since = now - datetime.timedelta(hours=hours)
    ids = [d.pk for d in devices]
    out: dict[int, list[list]] = {pk: [] for pk in ids}
    for pk in ids:
        before = (SprayReading.objects.filter(device_id=pk, data_time__lt=since)
                  .order_by("-data_time").values_list("running", flat=True).first())
        if before is not None:
            out[pk].append([chart_ms(since), int(before)])
    for device_id, at, running in (SprayReading.objects
                                   .filter(device_id__in=ids, data_time__gte=since,
                                           data_time__lte=now)
                                   .order_by("device_id", "data_time")
                                   .values_list("device_id", "data_time", "running")):
        out[device_id].append([chart_ms(at), int(running)])
    for points in out.values():
        if points:
            points.append([chart_ms(now), points[-1][1]])
    return out


# ---------------------------------------------------------------- maintenance records


def maintenance(user) -> QuerySet[MaintenanceRecord]:
    """The maintenance records `user` may see, newest first."""
    return scoped(user, MaintenanceRecord.objects.select_related(
        "monitor__project", "enterprise", "recorded_by"))


# ---------------------------------------------------------------- monthly statistics


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of a Shanghai calendar month, aware."""
    start = datetime.datetime.combine(month.replace(day=1), datetime.time(), SHANGHAI)
    end = datetime.datetime.combine(next_month(month), datetime.time(), SHANGHAI)
    return start, end


def _floor_minute(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(second=0, microsecond=0)


def _share(part: int, whole: int) -> float | None:
    return round(min(part / whole, 1.0), 4) if whole else None


def _repair_hours(faults, records) -> list[float]:
    """Hours from each repaired fault's start to its end (the fault's own `ended_at`, else
    the first repair or replacement of the same monitor that ended after the fault began)."""
    ends = sorted((r.ended_at, r.monitor_id) for r in records
                  if r.kind in REPAIRS and r.ended_at is not None)
    hours = []
    for fault in faults:
        end = fault.ended_at
        if end is None:
            end = next((at for at, m in ends if m == fault.monitor_id and at >= fault.started_at),
                       None)
        if end is not None:
            hours.append((end - fault.started_at).total_seconds() / 3600)
    return hours


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def monthly_stats(project: Project, month: datetime.date, now: datetime.datetime) -> dict:
    """The O&M statistics of `project`'s monitors for one Shanghai month, up to `now`:

    * uptime (在线率) = minutes with data (minute means stored) / minutes the monitor existed
      in the month (from its registration, or its first data if earlier, to the month's end
      or now);
    * completeness (数据完整率) = minutes with a valid PM10 value (noise for noise monitors) /
      the same minutes;
    * faults, visits, repairs, replacements, calibrations started in the month; mean time to
      repair (平均修复时长, hours) of those faults that were repaired; faults still open.
    """
    start, end = month_bounds(month)
    until_all = min(end, _floor_minute(now))
    monitors = list(Monitor.objects.filter(project=project, created__lt=end).order_by("mn"))
    later = [r for r in MaintenanceRecord.objects.filter(monitor__in=monitors,
                                                         started_at__gte=start)]
    in_month = [r for r in later if r.started_at < end]
    rows, all_hours = [], []
    totals = {"expected_minutes": 0, "data_minutes": 0, "valid_minutes": 0}
    for monitor in monitors:
        column = "noise" if monitor.kind == MonitorKind.NOISE else "pm10"
        first, n, valid = minutes.query(
            f"SELECT min(bucket), count(*), coalesce(sum(CASE WHEN n_{column} > 0 THEN 1 "
            "ELSE 0 END), 0) FROM {minutes}",
            minutes.subquery([monitor.pk], start, until_all, columns=(column,)))[0]
        seen = {"first": minutes.to_datetime(first), "n": n, "valid": valid}
        since = max(start, _floor_minute(min(monitor.created, seen["first"] or monitor.created)))
        expected = max(0, int((until_all - since) / MINUTE))
        mine = [r for r in in_month if r.monitor_id == monitor.pk]
        faults = [r for r in mine if r.kind == MaintenanceKind.FAULT]
        hours = _repair_hours(faults, [r for r in later if r.monitor_id == monitor.pk])
        all_hours += hours
        count = {k: sum(1 for r in mine if r.kind == k) for k in MaintenanceKind.values}
        rows.append({
            "id": monitor.pk, "mn": monitor.mn, "location": monitor.location,
            "expected_minutes": expected, "data_minutes": seen["n"],
            "valid_minutes": seen["valid"], "completeness_of": column,
            "uptime": _share(seen["n"], expected),
            "completeness": _share(seen["valid"], expected),
            "faults": count[MaintenanceKind.FAULT], "repaired": len(hours),
            "open_faults": count[MaintenanceKind.FAULT] - len(hours),
            "mttr_hours": _mean(hours),
            "visits": count[MaintenanceKind.VISIT], "repairs": count[MaintenanceKind.REPAIR],
            "replacements": count[MaintenanceKind.REPLACEMENT],
            "calibrations": count[MaintenanceKind.CALIBRATION],
        })
        totals["expected_minutes"] += expected
        totals["data_minutes"] += seen["n"]
        totals["valid_minutes"] += seen["valid"]
    total = {
        **totals, "monitors": len(rows),
        "uptime": _share(totals["data_minutes"], totals["expected_minutes"]),
        "completeness": _share(totals["valid_minutes"], totals["expected_minutes"]),
        "faults": sum(r["faults"] for r in rows), "repaired": len(all_hours),
        "open_faults": sum(r["open_faults"] for r in rows), "mttr_hours": _mean(all_hours),
        "visits": sum(r["visits"] for r in rows), "repairs": sum(r["repairs"] for r in rows),
        "replacements": sum(r["replacements"] for r in rows),
        "calibrations": sum(r["calibrations"] for r in rows),
    }
    return {"month": f"{month:%Y-%m}", "until": until_all.isoformat(), "monitors": rows,
            "total": total}


# ---------------------------------------------------------------- reviews


def reviews(user) -> QuerySet[MonthlyReview]:
    return scoped(user, MonthlyReview.objects.select_related(
        "project__district", "project__street", "reviewer"))


def review_or_404(user, pk: int) -> MonthlyReview:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(reviews(user), pk=pk)


@dataclass
class ReviewLag:
    """How one project handles its monthly reviews (the regulator's page)."""

    project: Project
    months: int  # reviews generated
    pending: int
    overdue: int  # pending and generated more than `days` ago
    oldest_pending: datetime.date | None
    last_reviewed_at: datetime.datetime | None

    @property
    def never_reviewed(self) -> bool:
        return self.months > 0 and self.last_reviewed_at is None


def review_lags(user, days: int, now: datetime.datetime, *, only_lagging: bool = True
                ) -> list[ReviewLag]:
    """Projects in `user`'s scope with monthly reviews, with how many are pending, how many
    have waited more than `days` days, and when one was last reviewed; worst first. With
    `only_lagging`, only projects with an overdue review or none ever reviewed."""
    cutoff = now - datetime.timedelta(days=days)
    pending = Q(dust_reviews__state=ReviewState.PENDING)
    qs = (scoped(user, Project.objects.select_related("district", "street"))
          .filter(dust_reviews__isnull=False)
          .annotate(months=Count("dust_reviews"),
                    pending=Count("dust_reviews", filter=pending),
                    overdue=Count("dust_reviews",
                                  filter=pending & Q(dust_reviews__generated_at__lt=cutoff)),
                    oldest_pending=Min("dust_reviews__month", filter=pending),
                    last_reviewed_at=Max("dust_reviews__reviewed_at")))
    lags = [ReviewLag(p, p.months, p.pending, p.overdue, p.oldest_pending, p.last_reviewed_at)
            for p in qs]
    if only_lagging:
        lags = [lag for lag in lags if lag.overdue or lag.never_reviewed]
    lags.sort(key=lambda lag: (-lag.overdue, not lag.never_reviewed,
                               lag.oldest_pending or datetime.date.max, lag.project.name))
    return lags


# ---------------------------------------------------------------- a project's summary


def upkeep_summary(project: Project, month: datetime.date | None = None,
                   now: datetime.datetime | None = None) -> dict:
    """What `dust/partials/upkeep_summary.html` shows for one project (the caller fetched the
    project through `scoped()`): inspections by status, the month's maintenance counts, open
    faults, and the month's statistics with its review state (the stored review's figures
    when one exists, else computed up to now)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    month = month_start(month or today)
    monitor_ids = list(Monitor.objects.filter(project=project).values_list("pk", flat=True))
    days = warn_days()
    states = inspection_states(monitor_ids, today, days)
    by_status = {s.value: 0 for s in InspectionStatus}
    for state in states.values():
        by_status[state.status] += 1
    review = MonthlyReview.objects.filter(project=project, month=month).first()
    stats = review.stats if review is not None else monthly_stats(project, month, now)
    records = list(MaintenanceRecord.objects.filter(monitor__project=project).filter(
        Q(kind=MaintenanceKind.FAULT, ended_at__isnull=True)
        | Q(kind__in=REPAIRS, ended_at__isnull=False)))
    faults = [r for r in records if r.kind == MaintenanceKind.FAULT]
    open_faults = len(faults) - len(_repair_hours(faults, records))
    return {
        "project": project, "month": month, "monitors": len(monitor_ids),
        "inspections": [{"status": s.value, "label": f"{days} 天内到期"
                         if s == InspectionStatus.EXPIRING else s.label,
                         "colour": InspectionStatus.colour(s), "n": by_status[s.value]}
                        for s in InspectionStatus],
        "inspections_due": by_status[InspectionStatus.EXPIRED] + by_status[InspectionStatus.NONE],
        "open_faults": open_faults, "total": stats.get("total", {}), "review": review,
        "review_state": ReviewState(review.state) if review else None,
        "review_colour": ReviewState.colour(review.state) if review else None,
    }
