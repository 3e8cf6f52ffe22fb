"""Every read of the pit scenario, always through `core.scoping.scoped`."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q, QuerySet

from smartsite.core.scoping import scoped
from smartsite.pits.assessment import Params
from smartsite.pits.models import AlarmValue, Parameter, Pit, Point, Reading, SurveyFrequency


def pits(user) -> QuerySet[Pit]:
    return scoped(user, Pit.objects.select_related("project", "project__district"))


def pit(user, pk: int) -> Pit:
    """The pit, or Pit.DoesNotExist when it is out of the user's scope (→ 404)."""
    return pits(user).get(pk=pk)


def points(user, pit_: Pit) -> QuerySet[Point]:
    return scoped(user, Point.objects.filter(pit=pit_))


def series(point: Point, *, since: datetime.datetime | None = None) -> list[tuple]:
    rows = Reading.objects.filter(point=point)
    if since is not None:
        rows = rows.filter(measured_at__gte=since)
    return list(rows.order_by("measured_at").values_list("measured_at", "value"))


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
