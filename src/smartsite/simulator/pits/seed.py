"""The simulated city's deep pits: registered through `pits.services` with their stages and
points, and their monitoring history up to `now`.

For each project with a pit that is not completed, one pit (`model.plan_pit`), its stages up
to today and its points (design alarm values above the predicted movement, so an honest pit
stays green). Surveys follow GB 50497's frequencies for the pit's stage (`SurveyFrequency`
rows, `pits.schedule`), manual at ~09:00 and ~21:00, strut forces and groundwater automated
in some grade-one pits (every four hours). The history is bulk-inserted (readings, their
uploads, inclinometer profiles once a week); each pit's last two surveys that have arrived
by `now` go through `services.record_surveys` (one call a round), so the assessment, the colours and the
warning events are the real ones (a pit with three surveys or fewer is assessed once after
its history, `services.assess_pits`).

Planted (`Plants`): a few pits turn yellow (a point past its 预警值), one red (a point past
its cumulative and rate values, accelerating), one drifts — its next survey, a few minutes
after `now`, takes it past its 预警值 (the live demo records it: `live.py`); two monitoring
companies upload late (about half their surveys a day or two after measuring, their latest
not arrived yet); one fabricates — for the last weeks its manual values on one pit are a
smooth desk-made curve with two points stuck at one value and one survey a copy of the one
before, and three wall-top points of another of its pits carry the same increments.
Determinism: `city.rng_for(seed, "pits")` in permit-number order and hashed noise; the same
seed and `now` give the same pits and readings.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import math
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import AuditAction, PartyRole, ProjectStatus, RoleKind
from smartsite.core.models import Project, ProjectParty, Role
from smartsite.pits import selectors, services
from smartsite.pits.choices import Item, Source
from smartsite.pits.models import Pit, ProfileReading, Reading, Upload
from smartsite.pits.schedule import interval_days
from smartsite.simulator.city import SCALES, rng_for
from smartsite.simulator.pits import model
from smartsite.simulator.users import DEMO_DOMAIN, demo_password_hash

__all__ = ["SeedReport", "seed_pits"]

DAY = datetime.timedelta(days=1)
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
#: Days of history kept per scale (the baseline surveys are always kept).
WINDOW_DAYS = {"demo": 100, "city": 35}
AUTOMATED_EVERY = 4 / 24  # days between automated readings
FINAL_SURVEYS = 2  # the last surveys of each pit that go through record_survey
PROFILE_EVERY = 10  # an inclinometer profile kept in the history every this many surveys
DRIFT_AFTER = datetime.timedelta(minutes=3)  # the drifting pit's next survey is due then
FABRICATED_DAYS = 28
BATCH = 5000


@dataclass
class SeedReport:
    pits: int = 0
    points: int = 0
    stages: int = 0
    readings: int = 0
    profiles: int = 0
    uploads: int = 0
    late: int = 0
    colours: dict[str, int] = field(default_factory=dict)
    planted: dict[str, list[str]] = field(default_factory=dict)  # role → permit numbers
    seconds: float = 0.0

    def summary(self) -> str:
        c = self.colours
        return (f"{self.pits} 个基坑（{self.points:,} 个测点、{self.stages} 条工况），"
                f"监测数据 {self.readings:,} 条（测斜剖面 {self.profiles:,} 条，"
                f"{self.uploads:,} 批上传，逾期上传 {self.late:,} 条）；平台建议颜色："
                f"绿 {c.get('green', 0)}、黄 {c.get('yellow', 0)}、红 {c.get('red', 0)}")


@dataclass
class _Pit:
    project: Project
    plan: model.PitPlan
    t0: datetime.datetime  # the excavation's first day, 00:00 local
    role: str = "honest"  # honest | yellow | red | drift | fabricate | copy
    company: int | None = None
    late: bool = False
    pit: Pit | None = None

    def day(self, at: datetime.datetime) -> float:
        return (at - self.t0) / DAY

    def at(self, day: float) -> datetime.datetime:
        return self.t0 + datetime.timedelta(seconds=round(day * 86400))


def _start(rng, plan: model.PitPlan, now: datetime.datetime) -> datetime.datetime:
    span = plan.slab_day + 45
    elapsed = rng.uniform(-0.04, 1.0) * span
    day = (now.astimezone(SHANGHAI) - datetime.timedelta(days=elapsed)).date()
    return datetime.datetime.combine(day, datetime.time(), SHANGHAI)


def survey_days(p: _Pit, rows, until: float) -> list[float]:
    """The manual survey days (from the excavation's start) up to day `until`: three
    baseline surveys, then as often as the frequency table asks for the stage (twice a day
    at ~09:00 and ~21:00, or the morning of the day the next one is due)."""
    plan = p.plan
    minute = round(40 * model._unit(p.project.permit_no, 0)) / 1440
    morning = 9 / 24 + minute
    days = [-3 + morning, -2 + morning, -1 + morning]
    t = morning
    slab_on = p.at(plan.slab_day).date()
    while t <= until:
        days.append(t)
        due = interval_days(grade=plan.safety_grade, design_depth_m=Decimal(str(plan.depth)),
                            depth_m=Decimal(f"{max(plan.depth_at(t), 0.1):.2f}"),
                            slab_on=slab_on if t >= plan.slab_day else None,
                            day=p.at(t).date(), rows=rows)
        step = float(due[0]) if due else 7.0
        t = t + step if step < 1 else math.floor(t + step) + morning
    return [d for d in days if d <= until]


def seed_pits(*, seed: int, scale: str = "demo", count: int | None = None,
              now: datetime.datetime | None = None) -> SeedReport:
    """Register the pits of the city's projects with a pit (or `count` of them) and their
    history up to `now` (default: the clock). For a database without pits."""
    started = time.monotonic()
    now = (now or timezone.now()).astimezone(datetime.UTC).replace(microsecond=0)
    rng = rng_for(seed, "pits")
    spec = SCALES.get(scale, SCALES["demo"])
    window = WINDOW_DAYS.get(scale, 60)
    projects = list(Project.objects.filter(has_pit=True).exclude(status=ProjectStatus.COMPLETED)
                    .order_by("permit_no"))
    if count is not None:
        projects = projects[:count]
    companies = dict(ProjectParty.objects.filter(project__in=projects, role=PartyRole.MONITOR)
                     .values_list("project", "enterprise"))
    pits = []
    for project in projects:
        plan = model.plan_pit(rng, code="JK-1", site_area=float(project.site_area_m2 or 8000))
        pits.append(_Pit(project, plan, _start(rng, plan, now), company=companies.get(project.pk)))
    report = SeedReport()
    rows = selectors.frequencies()
    _assign_roles(rng, pits, now, spec.planted, report)
    histories = {}
    for p in pits:
        if p.role == "drift":
            _shift_drift(p, rows, now)
        _design(rng, p, now)
        histories[id(p)] = _values(p, rows, now, window)
    fabricator = next((p for p in pits if p.role == "fabricate"), None)
    for p in pits:
        if p.role == "copy" and fabricator is not None:
            _copy_increments(histories[id(fabricator)], histories[id(p)])
    for p in pits:
        _planted_alarms(rng, p, histories[id(p)])
    with transaction.atomic():
        for p in pits:
            _register(p, now)
        report.pits = len(pits)
        report.points = sum(len(p.plan.points) for p in pits)
        report.stages = sum(1 for p in pits for s in p.plan.stages() if p.at(s[0]) <= now)
        if pits:
            audit.record(None, pits[0].pit, AuditAction.IMPORT, {"simulated": [None, len(pits)]})
        for p in pits:
            h = histories[id(p)]
            _bulk_insert(p, h.bulk, h.values, report)
            _bulk_automated(p, now, report)
        # each pit's k-th last survey together (one record_surveys call a round, each
        # survey at the time it was received), every pit's in time order as before
        for k in range(max((len(histories[id(p)].finals) for p in pits), default=0)):
            batch = []
            for p in pits:
                h = histories[id(p)]
                if k < len(h.finals):
                    d, received = h.finals[k]
                    batch.append(services.PitSurvey(p.pit, _rows(p, d, h.values),
                                                    filename=_filename(p, p.at(d)),
                                                    now=received))
            for _, upload in services.record_surveys(batch, source=Source.FILE):
                if isinstance(upload, services.SurveyRejected):
                    raise upload
                report.readings += upload.readings
                report.late += upload.late
                report.uploads += 1
        # a pit with no survey through record_surveys (three or fewer so far) is assessed
        # as its last survey would have had it: its points' latest readings carry findings
        unassessed = [p.pit for p in pits if not histories[id(p)].finals]
        if unassessed:
            services.assess_pits(unassessed, now=now)
        _demo_designer()
    report.colours = {}
    for colour in Pit.objects.filter(pk__in=[p.pit.pk for p in pits]).values_list(
            "proposed_colour", flat=True):
        report.colours[colour] = report.colours.get(colour, 0) + 1
    report.seconds = time.monotonic() - started
    return report


# ---------------------------------------------------------------- roles


def _assign_roles(rng, pits: list[_Pit], now, planted: int, report: SeedReport) -> None:
    """Which pits are planted with what (see the module's docstring). The demo `pm`'s pit
    stays honest: its history's warning order is waiting for the `chief` to verify."""
    pm_project = (Role.objects.filter(user__username="pm", user__email__endswith=DEMO_DOMAIN)
                  .values_list("project", flat=True).first())

    def digging(p: _Pit, min_day: float) -> bool:
        return min_day <= p.day(now) < p.plan.slab_day - 2

    free = [p for p in pits if p.project.pk != pm_project
            and p.project.status == ProjectStatus.ACTIVE]
    order = sorted(free, key=lambda p: rng.random())

    def take(role, test, n=1):
        chosen = []
        for p in order:
            if len(chosen) == n:
                break
            if p.role == "honest" and test(p):
                p.role = role
                chosen.append(p)
        report.planted[role] = sorted(p.project.permit_no for p in chosen)
        return chosen

    take("red", lambda p: digging(p, 12))
    take("drift", lambda p: digging(p, 8) and p.plan.safety_grade == 1)
    take("fabricate", lambda p: p.day(now) >= FABRICATED_DAYS + 10 and p.company is not None)
    fabricator = next((p.company for p in pits if p.role == "fabricate"), None)
    take("copy", lambda p: p.company == fabricator and p.day(now) >= 20)
    if not report.planted["copy"]:
        take("copy", lambda p: p.day(now) >= 20)
    take("yellow", lambda p: p.day(now) >= 5, n=max(2, round(len(pits) * 0.08)))
    # late uploaders: two monitoring companies (not the fabricator, not the drifting pit's)
    keep = {p.company for p in pits if p.role == "drift"} | {fabricator}
    others = sorted({p.company for p in pits if p.company not in keep and p.company})
    late = set(rng.sample(others, min(2, len(others))))
    for p in pits:
        p.late = p.company in late
    report.planted["late"] = sorted(p.project.permit_no for p in pits if p.late)


def _shift_drift(p: _Pit, rows, now) -> None:
    """Move the drifting pit's timeline so that its next survey falls due `DRIFT_AFTER`
    after `now`."""
    days = survey_days(p, rows, p.day(now) + 3)
    following = next(d for d in days if p.at(d) > now)
    p.t0 += (now + DRIFT_AFTER) - p.at(following)


def _design(rng, p: _Pit, now) -> None:
    """Each point's design alarm values, noise, automation and planted trend."""
    t_now = p.day(now)
    automated = p.plan.safety_grade == 1 and rng.random() < 0.6
    points = []
    shape_rate = model.shape_peak_rate(p.plan)
    for point in p.plan.points:
        point = model.design_alarms(rng, p.plan, point, shape_rate)
        point = replace(point, noise_key=f"{p.project.permit_no}:{point.code}",
                        automated=automated and point.item in (Item.STRUT_FORCE, Item.GROUNDWATER))
        if p.role == "fabricate" and not point.automated:
            point = replace(point, smooth_from=t_now - FABRICATED_DAYS)
        if point.code == "CX-01" and p.role == "red":  # accelerating for four days
            point = replace(point, extra_rate=3.5, extra_from=t_now - 4, alarm_rate=3.0)
        if point.code == "CX-01" and p.role == "drift":  # ~2 mm/d more for five days
            point = replace(point, extra_rate=2.0, extra_from=t_now - 5, alarm_rate=6.0)
        points.append(point)
    p.plan = replace(p.plan, points=tuple(points))


@dataclass
class _History:
    days: list
    values: dict  # (point code, day) -> value
    bulk: list  # (day, received) stored in bulk
    finals: list  # (day, received) recorded through record_survey


def _values(p: _Pit, rows, now, window: int) -> _History:
    plan = p.plan
    t_now = p.day(now)
    days = survey_days(p, rows, t_now)
    days = days[:3] + [d for d in days[3:] if d >= t_now - window]
    fab_from = t_now - FABRICATED_DAYS
    manual = [pt for pt in plan.points if not pt.automated]
    stuck = set(sorted(pt.code for pt in manual if pt.item == Item.WALL_TOP_VERTICAL)[:2]) \
        if p.role == "fabricate" else set()
    recent = [d for d in days if d >= fab_from]
    copied_day = recent[len(recent) // 2] if p.role == "fabricate" and len(recent) > 4 else None
    stuck_from = recent[3] if len(recent) > 10 else None
    values: dict = {}
    previous = None
    for d in days:
        for pt in manual:
            if d >= pt.installed:
                values[(pt.code, d)] = model.point_value(plan, pt, d)
            if pt.code in stuck and stuck_from is not None and d > stuck_from \
                    and d <= stuck_from + 8:
                values[(pt.code, d)] = values[(pt.code, stuck_from)]
        if d == copied_day and previous is not None:
            for pt in manual:
                if (pt.code, previous) in values:
                    values[(pt.code, d)] = values[(pt.code, previous)]
        previous = d
    arrivals = []
    for d in days:
        key = f"{p.project.permit_no}:upload:{d:.4f}"
        if p.role == "drift":
            delay = 40 / 60
        elif p.late and model._unit(key, 0) < 0.5:
            delay = 26 + 34 * model._unit(key, 1)
        else:
            delay = 1 + 5 * model._unit(key, 2)
        arrivals.append((d, p.at(d) + datetime.timedelta(hours=delay)))
    arrived = [(d, r) for d, r in arrivals if r <= now]
    finals = sorted(arrived[-FINAL_SURVEYS:], key=lambda a: a[1]) if len(arrived) > 3 else []
    final_days = {d for d, _ in finals}
    return _History(days, values, [(d, r) for d, r in arrived if d not in final_days], finals)


def _copy_increments(source: _History, target: _History) -> None:
    """Three wall-top points of the copying pit carry the fabricator's increments (its
    WY-01..03) over their last surveys."""
    for code in ("WY-01", "WY-02", "WY-03"):
        src = [source.values[(code, d)] for d in source.days[-16:] if (code, d) in source.values]
        days = [d for d in target.days[-len(src):] if (code, d) in target.values]
        if len(src) < 12 or len(days) < len(src):
            continue
        v = target.values[(code, days[0])]
        for d, (a, b) in zip(days[1:], itertools.pairwise(src), strict=False):
            v = round(v + round(b - a, 2), 2)
            target.values[(code, d)] = v


def _planted_alarms(rng, p: _Pit, h: _History) -> None:
    """The planted CX-01's cumulative 预警值 against its latest survey's value: below it
    (yellow, red), just above it (drifting: the next survey passes it)."""
    if p.role not in ("yellow", "red", "drift") or not h.finals:
        return
    last = abs(h.values[("CX-01", h.finals[-1][0])])
    alarm = {"red": last * 0.85, "yellow": last / rng.uniform(1.05, 1.12),
             "drift": last + 0.4}[p.role]
    p.plan = replace(p.plan, points=tuple(
        replace(pt, alarm_cumulative=round(alarm, 1)) if pt.code == "CX-01" else pt
        for pt in p.plan.points))


# ---------------------------------------------------------------- registry


def _register(p: _Pit, now) -> None:
    plan = p.plan
    p.pit = services.register_pit(
        project=p.project, code=plan.code, name=plan.name, safety_grade=plan.safety_grade,
        environment_grade=plan.environment_grade, design_depth_m=Decimal(str(plan.depth)),
        retaining=plan.retaining, support=plan.support, outline=plan.outline)
    for day, name, depth, slab in plan.stages():
        at = p.at(day)
        if at > now:
            break
        services.add_stage(p.pit, name=name, started_on=at.astimezone(SHANGHAI).date(),
                           excavation_depth_m=Decimal(f"{depth:.2f}"), base_slab=slab)
    services.register_points(p.pit, [
        dict(code=point.code, item=point.item, x_m=point.x, y_m=point.y,
             instrument=model.NOISE[point.item][0], automated=point.automated,
             tube_depth_m=_dec(point.tube_depth), design_value=_dec(point.design_value),
             alarm_cumulative=_dec(point.alarm_cumulative), alarm_rate=_dec(point.alarm_rate))
        for point in plan.points])


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.2f}")


def _rows(p: _Pit, d: float, values) -> list[services.SurveyRow]:
    at = p.at(d)
    out = []
    for pt in p.plan.points:
        if pt.automated or (pt.code, d) not in values:
            continue
        if pt.item == Item.DEEP_HORIZONTAL:  # a profile whose largest value is the series'
            out += [services.SurveyRow(pt.code, at, v, depth_m=z)
                    for z, v in model.profile(p.plan, pt, d, peak=values[(pt.code, d)])]
        else:
            out.append(services.SurveyRow(pt.code, at, values[(pt.code, d)]))
    return out


def _filename(p: _Pit, at) -> str:
    return f"{p.project.permit_no}_{p.plan.code}_{at.astimezone(SHANGHAI):%Y%m%d%H%M}_监测日报.xlsx"


def _bulk_insert(p: _Pit, arrived, values, report: SeedReport) -> None:
    points = {pt.code: pt for pt in p.pit.points.all()}
    manual = [pt for pt in p.plan.points if not pt.automated]
    within = datetime.timedelta(hours=24)
    uploads = []
    for d, received in arrived:
        at = p.at(d)
        n = sum(1 for pt in manual if (pt.code, d) in values)
        late = received - at > within
        uploads.append(Upload(pit=p.pit, source=Source.FILE, enterprise_id=p.company,
                              filename=_filename(p, at), received_at=received, readings=n,
                              late=n if late else 0, first_measured_at=at, last_measured_at=at))
    Upload.objects.bulk_create(uploads, batch_size=BATCH)
    readings, profiles = [], []
    for k, ((d, received), upload) in enumerate(zip(arrived, uploads, strict=True)):
        at = p.at(d)
        late = received - at > within
        for pt in manual:
            v = values.get((pt.code, d))
            if v is None:
                continue
            readings.append((points[pt.code].pk, at, _value(v), upload.pk, late))
            if pt.item == Item.DEEP_HORIZONTAL and k % PROFILE_EVERY == 0:
                profiles += [(points[pt.code].pk, at, Decimal(f"{z:.2f}"), Decimal(f"{x:.2f}"))
                             for z, x in model.profile(p.plan, pt, d, peak=v)]
    _insert(Reading, ["point_id", "measured_at", "value", "upload_id", "late"], readings)
    _insert(ProfileReading, ["point_id", "measured_at", "depth_m", "displacement_mm"], profiles)
    report.readings += len(readings)
    report.profiles += len(profiles)
    report.uploads += len(uploads)
    report.late += sum(u.late for u in uploads)


def _bulk_automated(p: _Pit, now, report: SeedReport) -> None:
    auto = [pt for pt in p.plan.points if pt.automated]
    if not auto:
        return
    points = {pt.code: pt for pt in p.pit.points.filter(automated=True)}
    t_now = p.day(now)
    by_day: dict[datetime.date, list] = {}
    k = math.ceil(max(-3.0, t_now - 30) / AUTOMATED_EVERY)
    while k * AUTOMATED_EVERY <= t_now:
        d = k * AUTOMATED_EVERY
        k += 1
        for pt in auto:
            if d >= max(pt.installed, -3):
                by_day.setdefault(p.at(d).astimezone(SHANGHAI).date(), []).append((pt, d))
    uploads, batches = [], []
    for _, items in sorted(by_day.items()):
        last = max(p.at(d) for _, d in items)
        uploads.append(Upload(pit=p.pit, source=Source.API, enterprise_id=p.company,
                              received_at=last + datetime.timedelta(minutes=2),
                              readings=len(items), first_measured_at=min(p.at(d) for _, d in items),
                              last_measured_at=last))
        batches.append(items)
    Upload.objects.bulk_create(uploads, batch_size=BATCH)
    readings = [(points[pt.code].pk, p.at(d), _value(model.point_value(p.plan, pt, d)),
                 upload.pk, False)
                for upload, items in zip(uploads, batches, strict=True) for pt, d in items]
    _insert(Reading, ["point_id", "measured_at", "value", "upload_id", "late"], readings)
    report.readings += len(readings)
    report.uploads += len(uploads)


def _insert(model_, columns: list[str], rows: list[tuple]) -> None:
    """A bare multi-row insert of history rows (valid by construction, as the city's):
    the seed's bulk of readings, ~10× faster than `bulk_create`'s model instances."""
    if not rows:
        return
    ops = connection.ops
    kinds = [model_._meta.get_field(c.removesuffix("_id")).get_internal_type() for c in columns]
    stamps = [k for k, kind in enumerate(kinds) if kind == "DateTimeField"]
    # the points of a survey share its time: each time is adapted once (make_naive + str)
    adapt = functools.cache(ops.adapt_datetimefield_value)
    table = connection.ops.quote_name(model_._meta.db_table)
    sql = (f"INSERT INTO {table} ({', '.join(ops.quote_name(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for i in range(0, len(rows), BATCH):
            batch = [list(row) for row in rows[i:i + BATCH]]
            for k in stamps:
                for row in batch:
                    row[k] = adapt(row[k])
            cursor.executemany(sql, batch)


def _value(v: float) -> Decimal:
    return Decimal(f"{v:.3f}")


# ---------------------------------------------------------------- demo login


def _demo_designer() -> None:
    """A demo login for the design unit of the `pm`'s project (it judges the colours)."""
    User = get_user_model()
    pm = Role.objects.filter(user__username="pm", user__email__endswith=DEMO_DOMAIN).first()
    if pm is None or User.objects.filter(username="designer").exists():
        return
    party = ProjectParty.objects.filter(project=pm.project_id, role=PartyRole.DESIGNER) \
        .select_related("enterprise").first()
    if party is None:
        return
    user = User(username="designer", email=f"designer@{DEMO_DOMAIN}",
                first_name=f"{party.enterprise.name}（基坑设计单位）"[:150],
                password=demo_password_hash())
    user.save()
    audit.record(None, user, AuditAction.CREATE,
                 audit.diff(None, {"username": user.username, "full_name": user.first_name}))
    role = Role(user=user, kind=RoleKind.ENTERPRISE, enterprise=party.enterprise)
    role.full_clean()
    role.save()
    audit.record(None, role, AuditAction.GRANT, audit.diff(None, audit.snapshot(role)))
