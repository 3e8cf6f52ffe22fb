"""The simulated city's key-post attendance: enrolments, a month and more of check-ins, leave,
stand-ins, a stoppage and the spoofers, closed day by day and judged by the real rules.

Who: the key-post people of a few projects (`pick_projects`): the demo `pm`/`chief` login's
project, the two projects of the city's planted 身兼多岗 项目经理, the project of a 项目经理
whose 建造师 registration has expired, and a few more live projects, within `MAX_PEOPLE`.
Each is enrolled through `attendance.enrolment.enrol` by the city's regulator login — the real
face model on a photo of his identity (`photos.py`: only two real identities, in augmented
variants) — and, for the `pm` project's team, compared with a local 公安人脸库
(`simulator.identity_service`, started in this process for the seed; the others' comparison
answers "no record": 无法比对, enrolled all the same, as the product does when the source has
no photo). The demo (`smartsite demo`) then runs that service with every enrolment on record.

When: from the first day of last month (so the rules have a complete month to judge) to `now`.

How, honestly: the model costs ~70–100 ms a photo on this machine, and the demo seed may add
only seconds. So the ordinary history is **bulk-inserted** (`CheckIn` rows valid by
construction, as the pit seed inserts readings: accepted, inside the geofence with metres of
GPS jitter, GCJ-02 as a WeChat mini-program reports, a plausible face distance, no photo file),
and everything a check needs to see goes through **the real `checkin.check_in`** with a real
photo on the fake clock: today's entries so far (and exits after 17:00), the impostors (another
identity's face → 人证不符, rejected, to review; one of them confirmed as faked by the district
through `services.decide_review`), the GPS spoofer's fixes with no jitter, and the 身兼多岗
项目经理's morning dash between his two sites (impossible travel).
Leave and stand-ins (requested by the party, approved by the 建设单位: `services.request_*`,
`decide_*`) and a stoppage (filed, approved by the district) go through the services too; then
every past day is closed (`services.close_day`) and the rules run once (`detectors.sync`), so
the events and orders of 考勤不足 (last month), 考勤预警, 资质过期, 配备不足, 身兼多岗 and
冒名顶替 are the real ones. Service decisions carry no actor (as the worker's jobs): the
simulated 建设单位 and 监督站 users are the order history's to make (`orders.py`).

Absence patterns (per person, drawn once): most attend ~95 % of days; about a quarter are
patchy (~70–80 %: missed days, short days of 3–4.5 h); a few are mostly away (~50 %); Sundays
are missed more often. At least one Class I and one Class II post ends last month below 80 %.
Determinism: `city.rng_for(seed, "attendance")`, people in resident-id order; the same seed
and `now` give the same check-ins, days and events.
"""

from __future__ import annotations

import datetime
import math
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from smartsite.attendance import checkin, detectors, enrolment, faces, services
from smartsite.attendance.choices import CaseStatus, Datum, Outcome
from smartsite.attendance.identity import HttpIdentitySource
from smartsite.attendance.models import AttendanceDay, CheckIn, Enrolment, ReviewCase
from smartsite.core import gcj02
from smartsite.core.choices import ProjectStatus, QualificationKind, RoleKind
from smartsite.core.models import Person, PostAssignment, Project, Qualification, Role
from smartsite.simulator.attendance import photos
from smartsite.simulator.city import rng_for
from smartsite.simulator.identity_service import IdentityService
from smartsite.simulator.users import DEMO_DOMAIN, demo_password_hash
from smartsite.workorders.models import Event

__all__ = ["MAX_PEOPLE", "SeedReport", "centre", "pick_projects", "position", "seed_attendance"]

DAY = datetime.timedelta(days=1)
#: People enrolled (each costs the model once for the enrolment and once at the 公安人脸库).
MAX_PEOPLE = {"demo": 40, "city": 60}
EXTRA_PROJECTS = {"demo": 3, "city": 5}
CONSTRUCTOR = (QualificationKind.CONSTRUCTOR_1, QualificationKind.CONSTRUCTOR_2)
#: Kinds of day a person's plan can hold.
VALID, SHORT, ABSENT, LEAVE, STOPPED = "valid", "short", "absent", "leave", "stopped"


@dataclass
class SeedReport:
    projects: int = 0
    people: int = 0
    enrolled: int = 0
    checkins_bulk: int = 0
    checkins_real: int = 0
    days_closed: int = 0
    leaves: int = 0
    stand_ins: int = 0
    stoppages: int = 0
    review_cases: int = 0
    events: dict[str, int] = field(default_factory=dict)
    planted: dict[str, list[str]] = field(default_factory=dict)  # role → resident ids
    seconds: float = 0.0
    model_seconds: float = 0.0  # enrolments and check-ins through the face model
    rules_seconds: float = 0.0  # detectors.sync over the whole city

    def summary(self) -> str:
        ev = "、".join(f"{detectors.RULE_NAMES.get(k, k)} {v}"
                      for k, v in sorted(self.events.items()))
        return (f"{self.projects} 个项目 {self.people} 名关键岗位人员的考勤（人脸录入 {self.enrolled}），"
                f"打卡 {self.checkins_bulk + self.checkins_real:,} 次（经打卡服务与人脸模型 "
                f"{self.checkins_real} 次），请假 {self.leaves}、顶岗 {self.stand_ins}、停工 "
                f"{self.stoppages}，待复核 {self.review_cases}；规则事件：{ev or '无'}"
                f"（人脸录入与打卡 {self.model_seconds:.1f} 秒，全市规则 {self.rules_seconds:.1f} 秒）")


@dataclass
class _Person:
    assignment: PostAssignment
    identity: str
    profile: str = "steady"  # steady | patchy | away
    plan: dict = field(default_factory=dict)  # date → VALID / SHORT / ABSENT / LEAVE / STOPPED
    spoofer: bool = False

    @property
    def person(self) -> Person:
        return self.assignment.person


# ---------------------------------------------------------------- where


def centre(project: Project) -> tuple[float, float]:
    """The centre (WGS-84) of a project's geofence."""
    coords = project.geofence["coordinates"][0][:-1]
    return (sum(c[0] for c in coords) / len(coords), sum(c[1] for c in coords) / len(coords))


def position(rng: random.Random, project: Project, spread_m: float = 25.0
             ) -> tuple[float, float, float, float]:
    """(GCJ-02 lng, lat as a phone reports them; WGS-84 lng, lat) a few metres around the
    site's centre."""
    lng, lat = centre(project)
    coords = project.geofence["coordinates"][0]
    half = (max(c[1] for c in coords) - min(c[1] for c in coords)) / 2 * 111_320
    spread_m = min(spread_m, half / 4)  # inside even a small site's fence
    dy, dx = rng.gauss(0, spread_m), rng.gauss(0, spread_m)
    lat += dy / 111_320
    lng += dx / (111_320 * math.cos(math.radians(lat)))
    g_lng, g_lat = gcj02.wgs84_to_gcj02(lng, lat)
    return round(g_lng, 6), round(g_lat, 6), lng, lat


# ---------------------------------------------------------------- who


def _pm_project() -> int | None:
    return (Role.objects.filter(user__username="pm", user__email__endswith=DEMO_DOMAIN)
            .values_list("project", flat=True).first())


def pick_projects(rng: random.Random, scale: str, today: datetime.date) -> dict[str, list[int]]:
    """The projects whose key-post people are simulated, by why they were picked."""
    live = Project.objects.filter(status=ProjectStatus.ACTIVE)
    current = PostAssignment.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=today), start_date__lte=today,
        project__in=live, post__key_post__post_class="I")
    out: dict[str, list[int]] = {}
    pm = _pm_project()
    out["pm"] = [pm] if pm else []
    by_person: dict[int, list[int]] = {}
    for person, project in current.values_list("person", "project").order_by("project"):
        by_person.setdefault(person, []).append(project)
    multi = sorted(p for p in by_person.values() if len(set(p)) > 1)
    out["multiple_posts"] = sorted(set(multi[0]))[:2] if multi else []
    expired = []
    for a in current.filter(post__code="project_manager").select_related("person"):
        quals = Qualification.objects.filter(person=a.person_id, kind__in=CONSTRUCTOR)
        if quals.exists() and not quals.filter(expires_on__gte=today).exists():
            expired.append(a.project_id)
    out["expired"] = sorted(expired)[:1]
    taken = {p for ps in out.values() for p in ps}
    pool = sorted(p for p in live.filter(start_date__lte=today - 60 * DAY)
                  .values_list("pk", flat=True) if p not in taken)
    out["other"] = rng.sample(pool, min(EXTRA_PROJECTS.get(scale, 3), len(pool)))
    return out


def _people(projects: list[int], today: datetime.date, limit: int) -> list[PostAssignment]:
    """The current key-post assignments of `projects`, whole projects in that order while the
    people stay within `limit` (the first project always); a person on two of them once (his
    first project's post). Every key post of a simulated project is someone's: a project's
    days are closed for all its key posts."""
    rows = (PostAssignment.objects.filter(project__in=projects, post__key_post__isnull=False)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=today), start_date__lte=today)
            .select_related("person", "post__key_post", "project"))
    by_project: dict[int, list[PostAssignment]] = {p: [] for p in projects}
    for a in sorted(rows, key=lambda a: (a.post.key_post.post_class, a.post.code,
                                         a.person.resident_id)):
        by_project[a.project_id].append(a)
    out, seen = [], set()
    for project in projects:
        new = [a for a in by_project[project] if a.person_id not in seen]
        if out and len(out) + len(new) > limit:
            continue
        for a in new:
            seen.add(a.person_id)
            out.append(a)
    return out


# ---------------------------------------------------------------- the plan


def _plan(rng: random.Random, people: list[_Person], first: datetime.date,
          last: datetime.date) -> None:
    """Each person's day kinds from `first` to `last` (inclusive)."""
    for p in people:
        absent, short = {"steady": (0.03, 0.02), "patchy": (0.14, 0.1),
                         "away": (0.4, 0.1)}[p.profile]
        day = first
        while day <= last:
            sunday = 2.5 if day.weekday() == 6 else 1.0
            r = rng.random()
            p.plan[day] = (ABSENT if r < absent * sunday else
                           SHORT if r < absent * sunday + short else VALID)
            day += DAY


def _times(rng: random.Random, day: datetime.date, kind: str
           ) -> tuple[datetime.datetime, datetime.datetime | None]:
    """Entry and exit (aware) of a day of `kind`."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(7, 20)))
    entry = start + datetime.timedelta(minutes=rng.randint(0, 95), seconds=rng.randint(0, 59))
    if kind == SHORT:
        hours = rng.uniform(2.5, 4.9) if rng.random() < 0.85 else None  # no exit at all
    else:
        hours = rng.uniform(8.6, 10.8)
    return entry, (entry + datetime.timedelta(hours=hours) if hours else None)


# ---------------------------------------------------------------- writing


def _bulk_row(rng, p: _Person, project: Project, direction: str, at, *, stand_in=None,
              person: Person | None = None, fixed=None) -> CheckIn:
    g_lng, g_lat, lng, lat = fixed or position(rng, project)
    return CheckIn(project=project, person=person or p.person, assignment=p.assignment,
                   stand_in=stand_in, client_id=str(uuid.UUID(int=rng.getrandbits(128))),
                   direction=direction, device_time=at - datetime.timedelta(
                       seconds=rng.randint(0, 4)),
                   at=at, lng_raw=g_lng, lat_raw=g_lat, datum=Datum.GCJ02,
                   accuracy_m=round(rng.uniform(5, 35), 1), lng=lng, lat=lat,
                   device_id=f"sim-{(person or p.person).resident_id[-6:]}",
                   face_distance=round(rng.uniform(0.08, 0.36), 4),
                   outcome=Outcome.ACCEPTED, reasons=[])


class _Real:
    """Check-ins through the real service (the face model on a real photo)."""

    def __init__(self, rng: random.Random, report: SeedReport):
        self.rng, self.report = rng, report

    def __call__(self, person: Person, project: Project, direction: str, at, identity: str,
                 *, fixed=None, accuracy: float | None = None):
        g_lng, g_lat, _, _ = fixed or position(self.rng, project)
        payload = {"client_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
                   "direction": direction, "lng": g_lng, "lat": g_lat, "datum": "gcj02",
                   "accuracy_m": accuracy if accuracy is not None
                   else round(self.rng.uniform(5, 35), 1),
                   "device_time": (at - datetime.timedelta(seconds=2)).isoformat(),
                   "device_id": f"sim-{person.resident_id[-6:]}"}
        started = time.monotonic()
        result = checkin.check_in(person=person, project=project, payload=payload,
                                  photo=photos.variant(identity, self.rng), at=at)
        self.report.model_seconds += time.monotonic() - started
        self.report.checkins_real += 1
        return result.checkin


def _enrol(people: list[_Person], rng: random.Random, now, report: SeedReport,
           checked: set[int]) -> None:
    """Each person's reference photo through the real enrolment. The 公安人脸库 (a local
    service in this process) holds the identity's original photo for the people of the
    `checked` projects only — each comparison costs the model once more — and answers "no
    record" (无法比对, still enrolled) for the others."""
    service = IdentityService()
    originals = {i: faces.encode(photos.original(i).read_bytes(), max_bytes=5 << 20).encoding
                 for i in photos.IDENTITIES}
    for p in people:
        if p.assignment.project_id in checked:
            service.encodings[p.person.resident_id] = originals[p.identity]
    # the city's regulator login enrols (a district 监督站 may only enrol its district's people)
    officer = get_user_model().objects.filter(username="city",
                                              email__endswith=DEMO_DOMAIN).first()
    started = time.monotonic()
    with service:
        source = HttpIdentitySource(service.url)
        for k, p in enumerate(people):
            at = now - datetime.timedelta(days=45, hours=k % 9, minutes=k)
            enrolment.enrol(person=p.person, photo=photos.variant(p.identity, rng),
                            actor=officer, at=at, source=source)
            report.enrolled += 1
    report.model_seconds += time.monotonic() - started


def seed_attendance(*, seed: int, scale: str = "demo", now: datetime.datetime | None = None
                    ) -> SeedReport:
    """Seed the key-post attendance of a few projects up to `now` (default: the clock)."""
    started = time.monotonic()
    now = (now or timezone.now()).replace(microsecond=0)
    today = timezone.localtime(now).date()
    first = (today.replace(day=1) - DAY).replace(day=1)
    rng = rng_for(seed, "attendance")
    photo_rng = rng_for(seed, "attendance-photos")
    report = SeedReport()
    picked = pick_projects(rng, scale, today)
    order = [p for key in ("pm", "multiple_posts", "expired", "other") for p in picked[key]]
    order = list(dict.fromkeys(order))
    projects = {p.pk: p for p in Project.objects.filter(pk__in=order)}
    assignments = _people(order, today, MAX_PEOPLE.get(scale, 40))
    people = [_Person(a, photos.identity_of(a.person.resident_id)) for a in assignments]
    report.projects = len({a.project_id for a in assignments})
    report.people = len(people)
    if not people:
        return report

    # -- roles: who is patchy, who spoofs, who is impersonated -----------------------
    ordered = sorted(people, key=lambda p: p.person.resident_id)
    for p in ordered:
        r = rng.random()
        p.profile = "away" if r < 0.08 else "patchy" if r < 0.32 else "steady"
    pm_project = picked["pm"][0] if picked["pm"] else None
    planted: dict[str, list[str]] = {}
    for p in people:
        if p.assignment.project_id == pm_project:
            p.profile = "steady"  # the demo login's own team: the pm's page works
            if p.assignment.post.code == "project_manager":
                p.identity = "obama"  # the phone check-in demo: hold up obama2.jpg
                planted["demo_login"] = [p.person.resident_id]
    others = [p for p in ordered if p.assignment.project_id != pm_project]
    low_i = next((p for p in others if p.assignment.post.key_post.post_class == "I"), None)
    low_ii = next((p for p in others if p.assignment.post.key_post.post_class == "II"), None)
    for p in (low_i, low_ii):
        if p is not None:
            p.profile = "away"
    planted["below_rate"] = [p.person.resident_id for p in (low_i, low_ii) if p]
    free = [p for p in others if p.profile == "steady"]
    spoofer = free[0] if free else None
    impostees = free[1:3]
    if spoofer:
        spoofer.spoofer = True
        planted["spoofer"] = [spoofer.person.resident_id]
    planted["impersonated"] = [p.person.resident_id for p in impostees]
    multi = picked["multiple_posts"]
    dasher = next((p for p in people if len(multi) == 2 and p.assignment.project_id == multi[0]
                   and PostAssignment.objects.filter(person=p.person, project=multi[1]).exists()),
                  None)
    if dasher:
        dasher.profile = "steady"
        planted["multiple_posts"] = [dasher.person.resident_id]
    _plan(rng, people, first, today)
    impostor_days = {}
    for k, p in enumerate(impostees):
        day = today - DAY * (3 + 2 * k)
        if day >= first and day >= p.assignment.start_date:
            impostor_days[p.person.pk] = day
            p.plan[day] = ABSENT  # the holder was not there: someone else clocked in for him

    with transaction.atomic():
        _demo_checkin_login(next((p for p in people if p.person.resident_id
                                  in planted.get("demo_login", [])), None))
        _users(people)
        _enrol(people, photo_rng, now, report, set(picked["pm"]))

        # -- leave, stand-ins, a stoppage: through the services, before the days close --
        month_start = first
        leave_people = [p for p in ordered if p.profile == "steady" and p not in impostees
                        and p is not spoofer and p is not dasher][:3]
        for k, p in enumerate(leave_people):
            start = month_start + DAY * (6 + 7 * k)
            end = start + DAY * (1 + k % 2)
            a = p.assignment
            if start <= a.start_date:
                continue
            at = timezone.make_aware(datetime.datetime.combine(start - 2 * DAY,
                                                               datetime.time(16, 10 + k)))
            leave = services.request_leave(None, a, start_date=start, end_date=end, now=at,
                                           reason=rng.choice(["家中有事", "参加公司安全培训",
                                                              "身体不适就医", "参加继续教育"]))
            services.decide_leave(None, leave, approve=True, now=at + datetime.timedelta(hours=3),
                                  note="建设单位项目负责人审核同意")
            report.leaves += 1
            for d in rates_days(start, end):
                p.plan[d] = LEAVE
            if (k == 0 and a.post.code == "project_manager") or k == 1:
                standin = _stand_in_for(a, start, end)
                if standin is not None:
                    s = services.request_stand_in(None, a, person=standin, start_date=start,
                                                  end_date=end, reason="请假期间顶岗", now=at)
                    services.decide_stand_in(None, s, approve=True, note="同意顶岗",
                                             now=at + datetime.timedelta(hours=3))
                    report.stand_ins += 1
                    p.plan["stand_in"] = (s, standin)
        simulated = {p.assignment.project_id for p in people}
        stop_project = next((pid for pid in picked["other"] + picked["expired"]
                             if pid in simulated and pid != pm_project), None)
        if stop_project:
            s_start = month_start + DAY * 17
            s_end = s_start + 2 * DAY
            at = timezone.make_aware(datetime.datetime.combine(s_start - DAY,
                                                               datetime.time(10, 0)))
            stoppage = services.file_stoppage(None, projects[stop_project], start_date=s_start,
                                              end_date=s_end, now=at,
                                              reason="区安全质量监督站检查发现模板支撑体系隐患，停工整改")
            services.decide_stoppage(None, stoppage, approve=True, now=at + DAY / 4)
            report.stoppages += 1
            for p in people:
                if p.assignment.project_id == stop_project:
                    for d in rates_days(s_start, s_end):
                        p.plan[d] = STOPPED

        # -- the ordinary history, bulk ---------------------------------------------------
        real = _Real(photo_rng, report)
        rows = []
        spoof_fix = position(rng, projects[spoofer.assignment.project_id]) if spoofer else None
        for p in people:
            project = projects[p.assignment.project_id]
            for day, kind in sorted((d, k) for d, k in p.plan.items()
                                    if isinstance(d, datetime.date)):
                if day >= today or kind in (ABSENT, LEAVE, STOPPED):
                    if kind == LEAVE and "stand_in" in p.plan and day < today:
                        s, standin = p.plan["stand_in"]
                        entry, exit_ = _times(rng, day, VALID)
                        for direction, t in (("entry", entry), ("exit", exit_)):
                            rows.append(_bulk_row(rng, p, project, direction, t, stand_in=s,
                                                  person=standin))
                    continue
                if day < p.assignment.start_date:
                    continue
                entry, exit_ = _times(rng, day, kind)
                fixed = spoof_fix if p.spoofer and day >= today - 4 * DAY else None
                rows.append(_bulk_row(rng, p, project, "entry", entry, fixed=fixed))
                if exit_ is not None:
                    rows.append(_bulk_row(rng, p, project, "exit", exit_, fixed=fixed))
        _judge_qualifications(rows)
        CheckIn.objects.bulk_create(rows, batch_size=2000)
        report.checkins_bulk = len(rows)

        # -- what the checks must see: the real service on the fake clock ---------------
        yesterday = today - DAY
        confirm = []
        for k, p in enumerate(impostees):
            day = impostor_days.get(p.person.pk)
            if day is None:
                continue
            at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(8, 41 + k)))
            other = "biden" if p.identity == "obama" else "obama"
            row = real(p.person, projects[p.assignment.project_id], "entry", at, other)
            if k == 0:
                confirm.append(row)
        if dasher is not None and len(multi) == 2:
            morning = timezone.make_aware(datetime.datetime.combine(yesterday,
                                                                    datetime.time(7, 35)))
            if morning < now:
                real(dasher.person, projects[multi[0]], "entry", morning, dasher.identity)
                real(dasher.person, projects[multi[1]], "entry",
                     morning + datetime.timedelta(minutes=14), dasher.identity)
        if spoofer is not None:
            at = timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(20, 5)))
            if at < now:
                real(spoofer.person, projects[spoofer.assignment.project_id], "exit", at,
                     spoofer.identity, fixed=spoof_fix)
        # today so far: entries (and exits after 17:00) through the real path
        local_now = timezone.localtime(now)
        for p in people:
            kind = p.plan.get(today)
            if kind not in (VALID, SHORT) or today < p.assignment.start_date:
                continue
            entry, exit_ = _times(rng, today, kind)
            project = projects[p.assignment.project_id]
            fixed = spoof_fix if p.spoofer else None
            if entry <= now:
                real(p.person, project, "entry", entry, p.identity, fixed=fixed)
            if exit_ is not None and exit_ <= now and local_now.hour >= 17:
                real(p.person, project, "exit", exit_, p.identity, fixed=fixed)

        # -- the district confirms one impostor; the other waits in the review queue ------
        for row in confirm:
            case = ReviewCase.objects.filter(checkin=row, status=CaseStatus.OPEN).first()
            if case is not None:
                services.decide_review(None, case, confirmed=True,
                                       note="调取现场视频核实，打卡人非本人，系他人代打卡",
                                       now=row.at + DAY / 3)

        # -- close the days, run the rules ---------------------------------------------
        pids = sorted({p.assignment.project_id for p in people})
        day = first
        while day < today:
            close_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 30)))
            report.days_closed += services.close_day(day, close_at, project_ids=pids)
            day += DAY
        rules_started = time.monotonic()
        detectors.sync(now)
        report.rules_seconds = time.monotonic() - rules_started
        report.review_cases = ReviewCase.objects.filter(status=CaseStatus.OPEN).count()
        report.events = dict(Counter(Event.objects.filter(scenario="attendance")
                                     .values_list("rule", flat=True)))
    report.planted = planted
    report.seconds = time.monotonic() - started
    return report


def _judge_qualifications(rows: list[CheckIn]) -> None:
    """What the check-in decides about qualifications (`checkin.qualification_reason`), for
    the bulk rows of the holders themselves: no certificate valid that day → rejected. (The
    city registers some 施工员/质量员/技术负责人 with no certificate at all: they cannot
    clock in, and their month shows it.)"""
    people = {r.person_id for r in rows if r.stand_in is None}
    held: dict[int, list] = {p: [] for p in people}
    for person, expires in Qualification.objects.filter(person__in=people).values_list(
            "person", "expires_on"):
        held[person].append(expires)
    for r in rows:
        if r.stand_in is not None:
            continue
        day = timezone.localtime(r.at).date()
        expiries = held[r.person_id]
        if any(e is None or e >= day for e in expiries):
            continue
        r.outcome = Outcome.REJECTED
        r.reasons = [{"code": "no_qualification",
                      "message": "资格证书已过期，不能履职打卡" if expiries else "未登记有效的资格证书"}]


def rates_days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + DAY * i for i in range((last - first).days + 1)]


def _stand_in_for(a: PostAssignment, start, end) -> Person | None:
    """Someone not on the project holding a certificate of a kind the holder holds, valid
    over the stand-in (the contractor's or supervisor's bench first)."""
    kinds = set(Qualification.objects.filter(person=a.person_id).values_list("kind", flat=True))
    on_project = PostAssignment.objects.filter(project=a.project_id).values("person")
    candidates = (Qualification.objects.filter(kind__in=kinds, expires_on__gte=end,
                                               issued_on__lte=start)
                  .exclude(person__in=on_project)
                  .order_by("person__employer_id", "person__resident_id"))
    same = candidates.filter(person__employer=a.person.employer_id).first()
    chosen = same or candidates.first()
    return chosen.person if chosen else None


def _users(people: list[_Person]) -> None:
    """A login per simulated key-post person (the login name is the 身份证号, as the check-in
    page expects; no usable password, no e-mail): the live demo checks in as them."""
    User = get_user_model()
    existing = set(User.objects.filter(username__in=[p.person.resident_id for p in people])
                   .values_list("username", flat=True))
    User.objects.bulk_create([
        User(username=p.person.resident_id, first_name=p.person.name[:150], email="",
             password="!simulated")
        for p in people if p.person.resident_id not in existing])


def _demo_checkin_login(p: _Person | None) -> None:
    """The demo login of the `pm` project's 项目经理 himself, for the phone check-in page: his
    login name is his 身份证号 (checkin.person_of), the demo password."""
    if p is None:
        return
    User = get_user_model()
    from smartsite.core import audit
    from smartsite.core.choices import AuditAction, PartyRole

    a = p.assignment
    username = p.person.resident_id
    if User.objects.filter(username=username).exists():
        return
    user = User(username=username, email=f"{username}@{DEMO_DOMAIN}",
                first_name=f"项目经理{p.person.name}（手机打卡）"[:150],
                password=demo_password_hash())
    user.save()
    audit.record(None, user, AuditAction.CREATE,
                 audit.diff(None, {"username": username, "full_name": user.first_name}))
    contractor = a.project.parties.filter(role=PartyRole.CONTRACTOR).first()
    role = Role(user=user, kind=RoleKind.PROJECT, project=a.project,
                enterprise=contractor.enterprise if contractor else None,
                party_role=PartyRole.CONTRACTOR, post=a.post)
    role.full_clean()
    role.save()
    audit.record(None, role, AuditAction.GRANT, audit.diff(None, audit.snapshot(role)))


def seeded() -> bool:
    return Enrolment.objects.exists() or AttendanceDay.objects.exists()
