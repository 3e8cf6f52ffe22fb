"""Fabricated-data detectors over recent manual surveys (`pits.fabrication`), as events for
the district's review (rule "fabrication"; no loop policy: they stay events until a
regulator acts on them).

Per point: the same value survey after survey, a series too smooth for its instrument; per
pit and survey time: a survey equal to an earlier one; across points and projects: the same
increments on two series; per pit: manual surveys on days none of the project's monitoring
staff (the 监测单位's posts in 报建) checked in on site by face (沪建规范〔2024〕13号 第三十三条;
asked of whichever app keeps attendance through `core.scenarios.presence`, and only of the
staff it tracks — a project whose staff nobody enrolled says nothing). Each finding is one deduplicated event
(`pits:fabrication:<pit id>:<kind>:<subject>`) with the detector's evidence.

Stated precisions (`PRECISION`, the 中误差 a competent survey reaches with the instrument
class; a series is judged too smooth below a quarter of it): levels ±0.15 mm, total station
±0.25 mm, inclinometer peak ±0.25 mm, water level ±5 mm. Kept low on purpose — the detector
must not accuse an honest survey (fabrication.py) — and not a standard's figures: GB
50497-2019 §5 sets accuracy requirements per grade, which this does not transcribe.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from smartsite.core import scenarios
from smartsite.core.choices import PartyRole
from smartsite.core.models import PostAssignment
from smartsite.pits import fabrication
from smartsite.pits.choices import Item
from smartsite.pits.models import Pit, Reading
from smartsite.workorders import services as orders

SCENARIO = "pits"
RULE = "fabrication"
WINDOW = datetime.timedelta(days=30)
PRECISION = {
    Item.WALL_TOP_HORIZONTAL: 0.25, Item.WALL_TOP_VERTICAL: 0.15,
    Item.GROUND_SETTLEMENT: 0.15, Item.COLUMN_VERTICAL: 0.15,
    Item.BUILDING_SETTLEMENT: 0.15, Item.ROAD_SETTLEMENT: 0.15,
    Item.PIPELINE_RIGID: 0.15, Item.PIPELINE_FLEXIBLE: 0.15,
    Item.DEEP_HORIZONTAL: 0.25, Item.GROUNDWATER: 5.0,
}
TITLES = {
    fabrication.REPEATED_VALUE: "连续 {surveys} 次观测值完全相同（{value}）",
    fabrication.TOO_SMOOTH: "数据离散度仅为仪器精度的 {ratio:.0%}，疑似人为编造",
    fabrication.COPIED_SURVEY: "{date} 的观测与 {copied_from} 完全相同（{identical} 个测点）",
    fabrication.DUPLICATE_SERIES: "与另一测点连续 {increments} 次变化量完全相同",
    fabrication.UNCHECKED_SURVEY: "{count} 天有人工观测数据，但监测人员当天均未在现场人脸考勤（最近 {last}）",
}


def _series(since):
    """{pit id: {point code: [(measured_at, value)]}} of manual points since `since`, and
    the points' items."""
    series: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    items: dict[tuple[int, str], str] = {}
    rows = (Reading.objects.filter(measured_at__gte=since, point__automated=False,
                                   point__active=True)
            .order_by("point__pit", "point__code", "measured_at")
            .values_list("point__pit", "point__code", "point__item", "measured_at", "value"))
    for pit_id, code, item, at, value in rows.iterator(chunk_size=5000):
        series[pit_id][code].append((timezone.localtime(at), float(value)))
        items[(pit_id, code)] = item
    return series, items


def findings(now: datetime.datetime | None = None) -> list[tuple[int, fabrication.Finding]]:
    """(pit id, finding) of the manual data measured in the last `WINDOW`."""
    now = now or timezone.now()
    series, items = _series(now - WINDOW)
    out = []
    everything = {}
    for pit_id, points in series.items():
        for f in fabrication.repeated_values(points):
            out.append((pit_id, f))
        precision = {code: PRECISION.get(items[(pit_id, code)]) for code in points}
        for f in fabrication.too_smooth(points, precision):
            out.append((pit_id, f))
        surveys: dict = defaultdict(dict)
        for code, rows in points.items():
            for at, value in rows:
                surveys[at][code] = value
        for f in fabrication.copied_surveys(surveys):
            out.append((pit_id, f))
        for code, rows in points.items():
            everything[f"{pit_id}/{code}"] = rows
    for f in fabrication.duplicate_series(everything):
        out.append((int(f.subjects[0].split("/")[0]), f))
    out += _unchecked_surveys(series, now)
    return out


def _unchecked_surveys(series, now) -> list[tuple[int, fabrication.Finding]]:
    """Per pit: the days before today with manual surveys and none of the project's tracked
    monitoring staff verified on site."""
    today = timezone.localdate(now)
    start = today - datetime.timedelta(days=WINDOW.days)
    projects = dict(Pit.objects.filter(pk__in=list(series)).values_list("pk", "project_id"))
    staff: dict[int, set] = defaultdict(set)
    for project_id, person_id in (
            PostAssignment.objects.filter(project__in=set(projects.values()),
                                          post__party_role=PartyRole.MONITOR,
                                          start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
            .values_list("project_id", "person_id")):
        staff[project_id].add(person_id)
    out = []
    for pit_id, points in series.items():
        people = staff.get(projects.get(pit_id), set())
        seen = scenarios.presence(projects[pit_id], people, start, today) if people else None
        if not seen:  # no attendance kept, or none of the staff tracked
            continue
        surveyed = {at.date() for rows in points.values() for at, _ in rows if at.date() < today}
        missing = fabrication.unchecked_survey_dates(surveyed, set().union(*seen.values()))
        if missing:
            out.append((pit_id, fabrication.Finding(
                fabrication.UNCHECKED_SURVEY, ("监测人员",),
                {"dates": [d.isoformat() for d in missing], "count": len(missing),
                 "last": missing[-1].isoformat(), "surveyed_days": len(surveyed),
                 "staff": sorted(seen)})))
    return out


def _title(pit: Pit, f: fabrication.Finding) -> str:
    evidence = dict(f.evidence)
    text = TITLES[f.kind].format(**{k: v for k, v in evidence.items()})
    subject = (f.subjects[0] if f.kind not in (fabrication.COPIED_SURVEY, fabrication.UNCHECKED_SURVEY)
               else "")
    if f.kind == fabrication.DUPLICATE_SERIES:
        subject = " 与 ".join(s.split("/", 1)[1] for s in f.subjects)
    return f"疑似监测数据造假：{pit.project.name} {pit.name} {subject} {text}".replace("  ", " ")


def sync(now: datetime.datetime | None = None) -> int:
    """Raise (or count again) one event per finding. Returns how many findings."""
    now = now or timezone.now()
    found = findings(now)
    pits = {p.pk: p for p in Pit.objects.filter(pk__in={pit_id for pit_id, _ in found})
            .select_related("project")}
    for pit_id, f in found:
        pit = pits[pit_id]
        if f.kind == fabrication.COPIED_SURVEY:
            subject = f.evidence["date"]
        elif f.kind == fabrication.UNCHECKED_SURVEY:
            subject = "staff"  # one event per pit, its evidence refreshed
        elif f.kind == fabrication.DUPLICATE_SERIES:
            subject = "~".join(f.subjects) + f"@{f.evidence['a_from'][:16]}"
        else:
            subject = f.subjects[0]
            if f.kind == fabrication.REPEATED_VALUE:  # a point may have several runs
                subject += f"@{f.evidence['from'][:16]}"
        evidence = {"kind": f.kind, "pit": pit.pk, "subjects": list(f.subjects),
                    "monitoring_company": pit.monitoring_company_id, **f.evidence}
        orders.raise_event(scenario=SCENARIO, rule=RULE, project=pit.project,
                           dedup_key=f"pits:{RULE}:{pit.pk}:{f.kind}:{subject}"[:200],
                           title=_title(pit, f)[:200], severity="warning",
                           subject=f.subjects[0][:100], evidence=evidence, now=now)
    return len(found)
