"""Every read of the pit scenario, always through `core.scoping.scoped`."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum

from smartsite.core.scoping import scoped
from smartsite.pits.assessment import Limits, Params, resolve_limits
from smartsite.pits.choices import Item, Measure
from smartsite.pits.models import (
    AlarmValue,
    Parameter,
    Pit,
    Point,
    ProfileReading,
    Reading,
    SurveyFrequency,
    Upload,
    UploadGap,
)
from smartsite.workorders.choices import WORKING_ORDER_STATES
from smartsite.workorders.models import Event, WorkOrder
from smartsite.workorders.selectors import late_q

SCENARIO = "pits"


def pits(user) -> QuerySet[Pit]:
    return scoped(user, Pit.objects.select_related("project", "project__district"))


def pit(user, pk: int) -> Pit:
    """The pit, or Pit.DoesNotExist when it is out of the user's scope (→ 404)."""
    return pits(user).get(pk=pk)


def points(user, pit_: Pit) -> QuerySet[Point]:
    """The pit's points with their latest reading's findings (`with_latest`)."""
    return with_latest(scoped(user, Point.objects.filter(pit=pit_)))


def with_latest(points_: QuerySet[Point]) -> QuerySet[Point]:
    """The points with what their latest reading says, as attributes: `last_measured_at`
    (None without readings), `cumulative` and `rate` (what the assessment found after that
    reading: `services.assess_pits` keeps them on the point's latest reading). Every read of
    a point's latest findings goes through here."""
    latest = Reading.objects.filter(point=OuterRef("pk")).order_by("-measured_at")
    return points_.annotate(
        last_measured_at=Subquery(latest.values("measured_at")[:1]),
        **{name: Subquery(latest.values(name)[:1], output_field=_Stored(
            max_digits=field.max_digits, decimal_places=field.decimal_places))
           for name in ("cumulative", "rate") for field in [Reading._meta.get_field(name)]})


class _Stored(DecimalField):
    """A decimal column read through a subquery as the column itself reads (SQLite's
    converter quantizes only a column's decimals to the field's places)."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return value.quantize(Decimal(1).scaleb(-self.decimal_places), context=self.context)


def by_colour(user) -> dict[str, int]:
    counts = pits(user).aggregate(
        green=Count("pk", filter=Q(colour="green")), yellow=Count("pk", filter=Q(colour="yellow")),
        red=Count("pk", filter=Q(colour="red")))
    return counts


# ---------------------------------------------------------------- reference data


def params() -> Params:
    values = {p.code: float(p.value) for p in Parameter.objects.all()}
    default = Params()
    return Params(
        watch_fraction=values.get("watch_fraction", default.watch_fraction),
        consecutive=int(values.get("consecutive_rates", default.consecutive)),
        after_slab_fraction=values.get("after_slab_fraction", default.after_slab_fraction),
        baseline_surveys=int(values.get("baseline_surveys", default.baseline_surveys)),
    )


def parameter(code: str, default: float) -> float:
    row = Parameter.objects.filter(code=code).values_list("value", flat=True).first()
    return default if row is None else float(row)


def alarm_values(grade: int | None = None) -> list[AlarmValue]:
    rows = AlarmValue.objects.all()
    if grade is not None:
        rows = rows.filter(grade=grade)
    return list(rows)


def frequencies() -> list[SurveyFrequency]:
    return list(SurveyFrequency.objects.all())


# ---------------------------------------------------------------- the pit page


def point_limits(point: Point, rows=None) -> Limits:
    """A point's 预警值 (the designer's where given, else the GB 50497 row for its item, the
    pit's grade and retaining type), as the assessment uses them (services._limits)."""
    pit_ = point.pit
    if rows is None:
        rows = alarm_values(pit_.safety_grade)
    return resolve_limits(measure=point.measure, item=point.item, grade=pit_.safety_grade,
                          retaining=pit_.retaining, depth_m=float(pit_.design_depth_m),
                          rows=rows, design_cumulative=point.alarm_cumulative,
                          design_rate=point.alarm_rate)


def cumulative_series(point: Point, *, limit: int = 500,
                      baseline_surveys: int | None = None) -> list[tuple[datetime.datetime, float]]:
    """The point's latest `limit` readings as the assessment compares them with its 预警值:
    the change since the baseline (deformation, water level; an inclinometer's peak profile
    value is already relative to its baseline profile), a force as % of its design value, a
    crack's width as measured. Empty while the baseline is not yet measured."""
    rows = list(Reading.objects.filter(point=point).order_by("-measured_at")
                .values_list("measured_at", "value")[:limit])[::-1]
    measure = point.measure
    if measure == Measure.FORCE:
        if not point.design_value:
            return []
        design = float(point.design_value)
        return [(at, float(v) / design * 100) for at, v in rows]
    if measure == Measure.CRACK or point.item == Item.DEEP_HORIZONTAL:
        return [(at, float(v)) for at, v in rows]
    baseline = point.baseline
    if baseline is None:
        n = baseline_surveys or params().baseline_surveys
        first = list(Reading.objects.filter(point=point).order_by("measured_at")
                     .values_list("value", flat=True)[:n])
        if len(first) < n:
            return []
        baseline = sum(first) / len(first)
    return [(at, float(v - baseline)) for at, v in rows]


def profiles(point: Point, *, surveys: int = 8) -> list[tuple[datetime.datetime, list]]:
    """An inclinometer's last `surveys` profiles: (time, [(depth m, displacement mm), …])."""
    times = list(ProfileReading.objects.filter(point=point).order_by("-measured_at")
                 .values_list("measured_at", flat=True).distinct()[:surveys])
    if not times:
        return []
    by_time: dict = {at: [] for at in sorted(times)}
    for at, depth, value in (ProfileReading.objects.filter(point=point, measured_at__in=times)
                             .order_by("measured_at", "depth_m")
                             .values_list("measured_at", "depth_m", "displacement_mm")):
        by_time[at].append((float(depth), float(value)))
    return list(by_time.items())


def pit_events(user, pit_: Pit, *, limit: int = 50) -> QuerySet[Event]:
    """The pit's warning events (their dedup keys start with the pit's prefix)."""
    from smartsite.pits.services import dedup_prefix

    return (scoped(user, Event.objects.filter(dedup_key__startswith=dedup_prefix(pit_)))
            .select_related("order").order_by("-last_seen")[:limit])


def pit_orders(user, pit_: Pit) -> QuerySet[WorkOrder]:
    from smartsite.pits.services import dedup_prefix

    return (scoped(user, WorkOrder.objects.filter(
        events__dedup_key__startswith=dedup_prefix(pit_))).distinct()
        .select_related("policy").order_by("-opened_at"))


# ---------------------------------------------------------------- the dashboard


def overdue_orders(user, now: datetime.datetime, *, limit: int = 50) -> QuerySet[WorkOrder]:
    """Working pit orders past their step's deadline (flagged overdue, or due time passed —
    the step's timer has not moved them on yet), oldest due first."""
    return (scoped(user, WorkOrder.objects.filter(scenario=SCENARIO))
            .filter(late_q(now), state__in=WORKING_ORDER_STATES)
            .select_related("project", "project__district", "court_agency", "court_enterprise")
            .order_by("due_at")[:limit])


def late_parties(user, start: datetime.datetime, end: datetime.datetime) -> list[dict]:
    """Monitoring companies with late readings (Upload.late, by receipt time) or missed
    surveys (UploadGap, by due time) in [start, end): {"company", "late", "gaps", "open_gaps"},
    worst first."""
    stats: dict = {}

    def row(company_id, name):
        return stats.setdefault(company_id, {"company": name or "（未登记监测单位）", "late": 0,
                                             "gaps": 0, "open_gaps": 0})

    late = (scoped(user, Upload.objects.filter(received_at__gte=start, received_at__lt=end,
                                               late__gt=0))
            .values("pit__monitoring_company", "pit__monitoring_company__name")
            .annotate(n=Sum("late")).order_by())
    for r in late:
        row(r["pit__monitoring_company"], r["pit__monitoring_company__name"])["late"] += r["n"]
    gaps = (scoped(user, UploadGap.objects.filter(due_at__gte=start, due_at__lt=end))
            .values("monitoring_company", "monitoring_company__name")
            .annotate(n=Count("pk"), open=Count("pk", filter=Q(filled_at__isnull=True)))
            .order_by())
    for r in gaps:
        entry = row(r["monitoring_company"], r["monitoring_company__name"])
        entry["gaps"] += r["n"]
        entry["open_gaps"] += r["open"]
    return sorted(stats.values(), key=lambda r: (-(r["late"] + r["gaps"]), r["company"]))
