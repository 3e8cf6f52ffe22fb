"""Surveys that keep arriving while the demo runs (`smartsite simulate`, every round).

Each round, the pits whose next survey is due by the frequency table for their stage
(`pits.schedule`) get one through `services.record_survey` — so the assessment, the colours
and the warning events are the real ones: each point carries on along its recent trend
(a straight line through its last surveys, damped a little), with its instrument's noise;
an inclinometer's last profile is scaled to its new largest value. Automated points report
every four hours. A pit whose latest manual upload was late stays late: its survey is
measured when due and arrives a day and more after. The drifting pit of the seed
(`seed.py`) is due a few minutes after seeding: its survey takes it past its 预警值.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.db.models import Max
from django.utils import timezone

from smartsite.core.choices import ProjectStatus
from smartsite.pits import selectors, services
from smartsite.pits.choices import Item, Measure, Source, measure_of
from smartsite.pits.models import Pit, Point, ProfileReading, Reading, Stage, Upload
from smartsite.pits.schedule import interval_days
from smartsite.simulator.pits.model import DECIMALS, NOISE

__all__ = ["due_pits", "next_values", "surveys"]

AUTOMATED_EVERY = datetime.timedelta(hours=4)
LATE_BY = datetime.timedelta(hours=26)
PER_ROUND = 6
DAMPING = 0.9  # of the recent slope


def due_pits(now: datetime.datetime) -> list[tuple[Pit, datetime.datetime, bool]]:
    """(pit, when its manual survey was due, late) of the live projects' pits whose survey
    is due and should arrive by `now`: the on-time companies' first, the newly due first."""
    rows = selectors.frequencies()
    today = timezone.localtime(now).date()
    last = dict(Reading.objects.filter(point__automated=False, point__active=True)
                .values("point__pit").annotate(last=Max("measured_at"))
                .values_list("point__pit", "last"))
    out = []
    for pit in (Pit.objects.filter(project__status=ProjectStatus.ACTIVE, pk__in=last)
                .select_related("project")):
        stage = Stage.objects.filter(pit=pit, started_on__lte=today).order_by("-started_on").first()
        due = interval_days(grade=pit.safety_grade, design_depth_m=pit.design_depth_m,
                            depth_m=stage.excavation_depth_m if stage else None,
                            slab_on=pit.base_slab_on, day=today, rows=rows)
        step = datetime.timedelta(days=float(due[0]) if due else 7)
        due_at = last[pit.pk] + step
        latest = Upload.objects.filter(pit=pit, source=Source.FILE).order_by("-received_at").first()
        late = bool(latest and latest.late)
        if now >= due_at + (LATE_BY if late else datetime.timedelta(0)):
            out.append((pit, due_at, late))
    out.sort(key=lambda t: (t[2], -t[1].timestamp()))  # on time first, the newly due first
    return out


def _round(item: str, value: float) -> float:
    return round(value, DECIMALS.get(item, 2))


def next_values(rng: random.Random, points: list[Point], at: datetime.datetime,
                history: dict[int, list[tuple[datetime.datetime, float]]]) -> dict[int, float]:
    """Each point's value at `at` from its recent surveys (time order)."""
    out = {}
    for point in points:
        series = history.get(point.pk, [])[-4:]
        if not series:
            continue
        sigma = NOISE.get(point.item, ("", 0.3))[1]
        last_at, last = series[-1]
        if measure_of(point.item) == Measure.FORCE:
            out[point.pk] = _round(point.item, last * (1 + rng.gauss(0.002, 0.01)))
            continue
        slope = 0.0
        if len(series) >= 2:
            ts = [(t - series[0][0]).total_seconds() / 86400 for t, _ in series]
            vs = [v for _, v in series]
            mt, mv = sum(ts) / len(ts), sum(vs) / len(vs)
            var = sum((t - mt) ** 2 for t in ts)
            if var > 0:
                slope = sum((t - mt) * (v - mv) for t, v in zip(ts, vs, strict=True)) / var
                last = mv + slope * (ts[-1] - mt)  # the line's value, not the last noise
        days = (at - last_at).total_seconds() / 86400
        out[point.pk] = _round(point.item, last + DAMPING * slope * days + rng.gauss(0, sigma))
    return out


def _history(pit: Pit, points: list[Point]) -> dict[int, list]:
    since = (Reading.objects.filter(point__pit=pit).aggregate(m=Max("measured_at"))["m"]
             or timezone.now()) - datetime.timedelta(days=6)
    history = defaultdict(list)
    for point_id, at, value in (Reading.objects.filter(point__in=points, measured_at__gte=since)
                                .order_by("measured_at")
                                .values_list("point_id", "measured_at", "value")):
        history[point_id].append((at, float(value)))
    return history


def _profile_rows(rng, point: Point, at, peak: float) -> list[services.SurveyRow]:
    last_at = (ProfileReading.objects.filter(point=point).aggregate(m=Max("measured_at"))["m"])
    shape = list(ProfileReading.objects.filter(point=point, measured_at=last_at)
                 .order_by("depth_m").values_list("depth_m", "displacement_mm")) if last_at else []
    if len(shape) < 2:
        length = float(point.tube_depth_m or 30)
        shape = [(i, 1 - abs(i - length / 3) / length) for i in range(int(length) + 1)]
    top = max((float(v) for _, v in shape), key=abs) or 1.0
    rows = [[float(z), round(float(v) / top * peak + rng.gauss(0, 0.15), 2)] for z, v in shape]
    i = max(range(len(rows)), key=lambda k: abs(rows[k][1]))
    rows[i][1] = round(peak, 2)
    return [services.SurveyRow(point.code, at, v, depth_m=z) for z, v in rows]


def survey(rng: random.Random, pit: Pit, at: datetime.datetime, now: datetime.datetime):
    """One manual survey of `pit` measured at `at`, received `now`."""
    points = list(Point.objects.filter(pit=pit, active=True, automated=False))
    history = _history(pit, points)
    values = next_values(rng, points, at, history)
    rows = []
    for point in points:
        if point.pk not in values:
            continue
        if point.item == Item.DEEP_HORIZONTAL:
            rows += _profile_rows(rng, point, at, values[point.pk])
        else:
            rows.append(services.SurveyRow(point.code, at, values[point.pk]))
    if not rows:
        return None
    local = timezone.localtime(at)
    return services.record_survey(
        pit, rows, source=Source.FILE, now=now,
        filename=f"{pit.project.permit_no}_{pit.code}_{local:%Y%m%d%H%M}_监测日报.xlsx")


def automated(rng: random.Random, now: datetime.datetime, limit: int = PER_ROUND) -> int:
    """Automated points that have not reported for four hours report now."""
    stale = (selectors.with_latest(Point.objects.filter(
        automated=True, active=True, pit__project__status=ProjectStatus.ACTIVE))
             .filter(last_measured_at__lte=now - AUTOMATED_EVERY)
             .values_list("pit", flat=True).distinct())
    done = 0
    for pit in Pit.objects.filter(pk__in=list(stale)[:limit]).select_related("project"):
        points = list(Point.objects.filter(pit=pit, active=True, automated=True))
        values = next_values(rng, points, now, _history(pit, points))
        rows = [services.SurveyRow(p.code, now, values[p.pk]) for p in points if p.pk in values]
        if rows:
            services.record_survey(pit, rows, source=Source.API, now=now)
            done += 1
    return done


def surveys(rng: random.Random, now: datetime.datetime | None = None) -> int:
    """One live round: the due manual surveys (at most `PER_ROUND` pits) and the automated
    points' readings. Returns how many surveys were recorded."""
    now = (now or timezone.now()).replace(microsecond=0)
    done = 0
    for pit, due_at, late in due_pits(now)[:PER_ROUND]:
        at = due_at if late else now - datetime.timedelta(minutes=rng.randint(2, 20))
        at = max(at, due_at - datetime.timedelta(hours=1))
        if survey(rng, pit, min(at, now), now) is not None:
            done += 1
    return done + automated(rng, now)
