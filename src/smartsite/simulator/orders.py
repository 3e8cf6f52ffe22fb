"""Two weeks of the event center and the disposal center, made through the real services.

`simulate_history(seed=…, now=…)` replays the past `days` on a fake clock: scenarios report
findings with `workorders.services.raise_event`, regulators open orders by hand with
`open_order`, the people whose turn it is act with `act`, and the worker's
`fire_due_timers` fires every reminder, automatic check and deadline at its due time. So every
order has a valid hash-chained history, every escalation happened because a timer really
ran out, and every action was taken by a user who really was in court
(`courts.court_users`, `permissions.allowed_actions`) — the demo logins where the court is
theirs, otherwise a simulated member of that organisation (an unusable password; the
project's registered post holder by name where there is one).

What happens is the scenarios' (`scenarios.py`): each brings its stories — a kind of
finding, and a generator that acts on a `Case` at the fake clock and yields how long until
its next step — how often they are picked, how they tend to end, and the cases timed so
that each demo login finds work. This module runs them and knows no scenario: see
`simulator/dust/stories.py`, `attendance.py`, `pits/stories.py` for what the history shows per
shipped loop policy (each scenario's `fixtures/loop_policies.json`).

Who finds what on logging in: `pm` an exceedance to dispose, `chief` an absence and a pit
warning to verify, `jingan` orders to verify (one overdue), the `squad_*` login large-loop
orders of its street (one overdue), `contractor` everything in its PMs' courts. No shipped
policy names the 市住建委, a 区建管委 or a 监测单位 as a court, so `city`, `pudong` and
`monitor` hold no ball; they see the orders and warnings of their scope.

Determinism: everything is drawn from `city.rng_for(seed, "orders")` (and two side streams)
and every time is an offset from `now`, so the same seed and `now` on the same city give the
same events, orders, titles, states and (in a fresh database) numbers.

`live_event()` / `run_live()` keep new findings arriving while the demo runs
(`smartsite simulate`).
"""

from __future__ import annotations

import datetime
import functools
import heapq
import itertools
import logging
import random
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import (
    AgencyKind,
    AuditAction,
    PartyRole,
    ProjectStatus,
    RoleKind,
)
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import Agency, Post, PostAssignment, Project, ProjectParty, Role
from smartsite.lifecycle import stop_on_signals
from smartsite.simulator import names, scenarios
from smartsite.simulator.users import DEMO_DOMAIN
from smartsite.workorders import services
from smartsite.workorders.choices import Action, LoopLevel, OrderState
from smartsite.workorders.models import (
    Event,
    LegalBasis,
    Notification,
    OrderAction,
    OrderAttachment,
    Timer,
    WorkOrder,
)
from smartsite.workorders.permissions import REGULATOR_ACTIONS

__all__ = [
    "HISTORY_DAYS",
    "SIM_PREFIX",
    "Case",
    "D",
    "H",
    "HistoryReport",
    "live_event",
    "local",
    "run_live",
    "simulate_history",
    "site_photo",
]

log = logging.getLogger(__name__)

#: Simulated members of organisations have usernames with this prefix, no usable password and
#: no e-mail address (so nothing is queued to mail them).
SIM_PREFIX = "sim_"

H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)
#: How far back `simulate_history` starts by default.
HISTORY_DAYS = 14

#: The post a simulated user of a party holds when the court names the party only.
PARTY_POST = {PartyRole.CONTRACTOR: "project_manager",
              PartyRole.SUPERVISOR: "chief_supervising_engineer",
              PartyRole.OWNER: "owner_lead"}

#: What people write in every scenario's stories (UI text: Simplified Chinese), with
#: the scenarios' own words (`Scenario.texts`). `{name}`, `{post}`, `{point}` are filled in.
TEXT = {
    "squad.accept": ["中队已接单，安排队员前往现场。", "已接单，今日内到场核实。"],
}


@functools.cache
def _texts() -> dict[str, list[str]]:
    out = dict(TEXT)
    for scenario in scenarios.scenarios():
        out.update(scenario.texts)
    return out


# ---------------------------------------------------------------- photos


def site_photo(rng: random.Random, width: int = 96, height: int = 72) -> bytes:
    """A small real PNG (8-bit RGB) of a building site: sky, a building under construction
    with a green dust net, the ground with a little dust. About 1 KB."""
    sky = (rng.randint(150, 200), rng.randint(180, 215), rng.randint(215, 245))
    ground = bytes((rng.randint(120, 160), rng.randint(95, 125), rng.randint(65, 95)))
    net = bytes((rng.randint(30, 70), rng.randint(120, 160), rng.randint(60, 90)))
    concrete, floor = bytes((rng.randint(150, 180),) * 3), bytes((110, 110, 110))
    dust = bytes((200, 190, 170))
    horizon = rng.randint(height * 5 // 10, height * 7 // 10)
    x0, x1 = rng.randint(5, width // 3), rng.randint(width // 2, width - 5)
    top = rng.randint(8, horizon - 15)
    netted = rng.randint(top, horizon - 5)
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        if y >= horizon:
            row = bytearray(ground * width)
            for x in rng.sample(range(width), 3):
                row[3 * x:3 * x + 3] = dust
        else:
            shade = y * 30 // horizon
            row = bytearray(bytes((sky[0] - shade, sky[1] - shade, sky[2] - shade // 2)) * width)
            if y >= top:
                wall = net if y >= netted else floor if (y - top) % 6 == 0 else concrete
                row[3 * x0:3 * (x1 + 1)] = wall * (x1 + 1 - x0)
        raw += row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- time


def local(at: datetime.datetime) -> datetime.datetime:
    """`at` in Shanghai time."""
    return timezone.localtime(at)


# ---------------------------------------------------------------- the report


@dataclass
class HistoryReport:
    """What `simulate_history` made."""

    events: int = 0
    orders: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    closed_by_level: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    actions: int = 0
    timers_fired: int = 0
    attachments: int = 0
    media_bytes: int = 0
    users_created: int = 0
    penalties: int = 0
    #: story steps that found the order no longer allowing them (a deadline came first)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        states = "、".join(f"{OrderState(s).label} {self.by_state[s]}" for s in OrderState.values
                          if s in self.by_state)
        closed = "、".join(f"{LoopLevel(lv).label} {self.closed_by_level.get(lv, 0)}"
                          for lv in LoopLevel.values)
        return (f"{self.events} 个事件、{self.orders} 张工单（{states}；逾期 {self.overdue}；"
                f"已闭环：{closed}）")


# ---------------------------------------------------------------- the simulation


class Case:
    """One finding and what people do about it, as a generator of waits (timedeltas)."""

    def __init__(self, sim: _Sim, project, kind: str, fate: str, rng: random.Random):
        self.sim, self.project, self.kind, self.fate, self.rng = sim, project, kind, fate, rng
        story = scenarios.story(kind).run
        self.order: WorkOrder | None = None
        self.event: Event | None = None
        self.issuer = None
        self.vars: dict[str, str] = {}
        self.work = True
        self.steps: Iterator[datetime.timedelta] = story(self)
        sim.cases.append(self)

    # -- time -------------------------------------------------------------------------

    def wait(self, lo_hours: float, hi_hours: float) -> datetime.timedelta:
        """A wait of lo–hi hours. People act in working hours (08:00–20:00 local): a wait
        ending at night ends the next morning instead — except in the demo logins' cases,
        which are timed against `now` and must stay within their deadlines."""
        now = self.sim.clock
        target = now + datetime.timedelta(seconds=round(self.rng.uniform(lo_hours, hi_hours)
                                                        * 3600))
        if self.work:
            there = local(target)
            if there.hour >= 20 or there.hour < 8:
                day = there.date() + datetime.timedelta(days=1 if there.hour >= 20 else 0)
                start = datetime.datetime.combine(day, datetime.time(8), there.tzinfo)
                target = start + datetime.timedelta(minutes=self.rng.randint(0, 100))
                target = target.astimezone(datetime.UTC)  # (see services: hash of `at`)
        return target - now

    def before_now(self, lo_hours: float, hi_hours: float) -> datetime.timedelta:
        """The wait until lo–hi hours before `now` (none if that has passed)."""
        target = self.sim.now - datetime.timedelta(
            seconds=round(self.rng.uniform(lo_hours, hi_hours) * 3600))
        return max(datetime.timedelta(0), target - self.sim.clock)

    # -- findings ----------------------------------------------------------------------

    def raise_event(self, make: Callable) -> bool:
        args = make(self.rng, self.project, self.sim.clock)
        event = services.raise_event(**args, occurred_at=self.sim.clock, now=self.sim.clock)
        if event.count > 1:  # the same condition was already open: it was counted there
            return False
        self.event, self.args = event, args
        self.sim.events += 1
        if event.order_id:
            self.order = WorkOrder.objects.get(pk=event.order_id)
        return True

    def repeat(self, evidence: dict) -> None:
        """The condition is seen again (with this `evidence`): the open event counts it (no
        new order)."""
        args = dict(self.args, evidence=evidence)
        services.raise_event(**args, occurred_at=self.sim.clock, now=self.sim.clock)

    def open_by_hand(self, scenario: str, kind: str, title: str, description: str) -> None:
        self.issuer = self.sim.regulator(self.project)
        self.order = services.open_order(scenario=scenario, kind=kind, project=self.project,
                                         title=title, actor=self.issuer,
                                         description=description, now=self.sim.clock)

    # -- actions -----------------------------------------------------------------------

    def text(self, key: str) -> str:
        return self.rng.choice(_texts()[key]).format(**self.vars)

    def do(self, action: str, key: str, *, photos: int = 0, to_level: str = "",
           optional: bool = False) -> bool:
        """Take `action` as someone entitled to it now; False (and noted, unless `optional`)
        if nobody is. An order already closed ends its story quietly (an automatic check
        may close an order before its handler's next step)."""
        order = self.order
        order.refresh_from_db()
        if order.state in (OrderState.CLOSED, OrderState.CANCELLED):
            return False
        if action == Action.CANCEL:
            actor = self.issuer
        elif action in REGULATOR_ACTIONS:
            actor = self.sim.regulator(order.project)
        else:
            actor = self.sim.court_actor(order)
        files = [SimpleUploadedFile(f"现场照片{i + 1}.png", site_photo(self.sim.photo_rng),
                                    content_type="image/png") for i in range(photos)]
        try:
            if actor is None:
                raise DomainError("没有可办理的人员")
            # The service refuses anyone not in court (or not the issuer / a regulator).
            services.act(order, action, actor, version=order.version, comment=self.text(key),
                         files=files, to_level=to_level, now=self.sim.clock)
        except (DomainError, Forbidden) as exc:
            if not optional:
                self.sim.skipped.append(f"{order.number} {self.fate} {action}: {exc.message}")
            return False
        return True


    def accept(self) -> None:
        """接单: the officer takes the order on the phone (where the service has that step)."""
        if "accept" in Action.values:
            self.do("accept", "squad.accept", optional=True)

    def penalise(self, note: str) -> None:
        """立案处罚 by the street's squad under the scenario's first active legal basis, with a
        fine inside the basis's range (both from the data); `note`: the key of its words."""
        order = self.order
        order.refresh_from_db()
        basis = (LegalBasis.objects.filter(scenario=order.scenario, active=True)
                 .order_by("code").first())
        squad = Agency.objects.filter(kind=AgencyKind.ENFORCEMENT_SQUAD,
                                      region=order.project.street_id).first()
        actor = self.sim._actors.get(("agency", squad.pk)) if squad else None
        if basis is None or actor is None:
            return
        steps = int((basis.max_amount - basis.min_amount) // 5000)
        amount = basis.min_amount + 5000 * self.rng.randint(0, min(steps, 6))
        self.sim.penalties += 1
        district = order.project.district.name.removesuffix("新区").removesuffix("区")
        number = (f"沪{district}城管罚决字〔{local(self.sim.clock):%Y}〕"
                  f"第{self.sim.penalties + 40:04d}号")
        try:
            services.record_penalty(order, actor, version=order.version, basis=basis,
                                    amount=amount, decision_number=number,
                                    decided_on=local(self.sim.clock).date(),
                                    note=self.text(note), now=self.sim.clock)
        except (DomainError, Forbidden) as exc:
            self.sim.skipped.append(f"{order.number} {self.fate} penalty: {exc.message}")


class _Sim:
    def __init__(self, seed: int, now: datetime.datetime):
        from smartsite.simulator.city import rng_for

        self.rng = rng_for(seed, "orders")
        self.people_rng = rng_for(seed, "order-actors")
        self.photo_rng = rng_for(seed, "order-photos")
        self.now = now
        self.clock = now
        self.queue: list = []
        self.cases: list[Case] = []
        self.tick = itertools.count()
        self.events = 0
        self.fired = 0
        self.users_created = 0
        self.penalties = 0
        self.skipped: list[str] = []
        self._actors: dict[tuple, object] = {}
        self._stations: dict[int, Agency] = {}

    # -- who ----------------------------------------------------------------------------
    # An actor is found by the court's key: ("agency", agency pk) or ("party", project pk,
    # party role, post code). A demo login holding that role acts itself; otherwise one
    # simulated member per court, made in bulk before the clock starts.

    @staticmethod
    def _party_key(project_id: int, party_role: str, post_code: str) -> tuple:
        return ("party", project_id, party_role, post_code or PARTY_POST.get(party_role, ""))

    def prepare_actors(self) -> None:
        """One member for every organisation the planned cases can pass through (their
        project's parties, district station, street squad), unless a demo login is one."""
        User = get_user_model()
        for role in (Role.objects.filter(user__email__endswith=f"@{DEMO_DOMAIN}",
                                          user__is_active=True)
                     .select_related("user", "post").order_by("user_id", "pk")):
            if role.agency_id:
                self._actors.setdefault(("agency", role.agency_id), role.user)
            elif role.kind == RoleKind.PROJECT:
                key = self._party_key(role.project_id, role.party_role,
                                      role.post.code if role.post_id else "")
                self._actors.setdefault(key, role.user)
        projects = {c.project.pk: c.project for c in self.cases}
        parties = {(pp.project_id, pp.role): pp.enterprise for pp in ProjectParty.objects
                   .filter(project__in=list(projects)).select_related("enterprise")}
        holders: dict[tuple, str] = {}
        for a in (PostAssignment.objects.filter(project__in=list(projects), end_date__isnull=True,
                                                post__code__in=list(PARTY_POST.values()))
                  .select_related("person", "post").order_by("start_date", "pk")):
            holders.setdefault((a.project_id, a.post.code), a.person.name)
        agencies = {(a.kind, a.region_id): a for a in Agency.objects.filter(
            kind__in=[AgencyKind.SUPERVISION_STATION, AgencyKind.ENFORCEMENT_SQUAD]
        ).select_related("region")}
        self._stations = {region: a for (kind, region), a in agencies.items()
                          if kind == AgencyKind.SUPERVISION_STATION}
        posts = {p.code: p for p in Post.objects.filter(code__in=list(PARTY_POST.values()))}
        wanted: dict[tuple, tuple[str, str, dict]] = {}
        for c in self.cases:
            p = c.project
            for kind in (AgencyKind.SUPERVISION_STATION, AgencyKind.ENFORCEMENT_SQUAD):
                if kind == AgencyKind.ENFORCEMENT_SQUAD and not scenarios.story(c.kind).large_loop:
                    continue
                region = p.district_id if kind == AgencyKind.SUPERVISION_STATION else p.street_id
                agency = agencies.get((kind, region))
                if agency is None or ("agency", agency.pk) in wanted:
                    continue
                label = "station" if kind == AgencyKind.SUPERVISION_STATION else "squad"
                wanted[("agency", agency.pk)] = (
                    f"{SIM_PREFIX}{label}_{agency.region.code}", "",
                    {"kind": RoleKind.DISTRICT if label == "station" else RoleKind.STREET,
                     "agency": agency})
            for party_role, post_code in PARTY_POST.items():
                if party_role not in scenarios.story(c.kind).parties:
                    continue
                enterprise = parties.get((p.pk, party_role))
                if enterprise is None:
                    continue
                wanted[self._party_key(p.pk, party_role, post_code)] = (
                    f"{SIM_PREFIX}{p.permit_no}_{party_role}", holders.get((p.pk, post_code), ""),
                    {"kind": RoleKind.PROJECT, "project": p, "enterprise": enterprise,
                     "party_role": party_role, "post": posts[post_code]})
        todo = sorted((key, spec) for key, spec in wanted.items() if key not in self._actors)
        users = [User(username=username, email="",
                      first_name=name or names.person_name(self.people_rng),
                      password=make_password(None))
                 for _key, (username, name, _role) in todo]
        User.objects.bulk_create(users)
        roles = [Role(user=user, **role) for user, (_key, (_u, _n, role)) in zip(users, todo,
                                                                                strict=True)]
        Role.objects.bulk_create(roles)
        for user, role, (key, _spec) in zip(users, roles, todo, strict=True):
            audit.record(None, user, AuditAction.CREATE,
                         audit.diff(None, {"username": user.username,
                                           "full_name": user.first_name}))
            audit.record(None, role, AuditAction.GRANT, audit.diff(None, audit.snapshot(role)))
            self._actors[key] = user
        self.users_created = len(users)

    def court_actor(self, order: WorkOrder):
        """A user in `order`'s court: the organisation (and role, and post) whose turn it is."""
        if order.court_agency_id:
            key = ("agency", order.court_agency_id)
        elif order.court_enterprise_id:
            key = self._party_key(order.project_id, order.court_party_role,
                                  order.court_post.code if order.court_post_id else "")
        else:
            return None
        return self._actors.get(key)

    def regulator(self, project):
        """The project's district supervision station (its staff): hand-made orders,
        suspensions, reassignments, ignored warnings."""
        station = self._stations.get(project.district_id)
        return self._actors.get(("agency", station.pk)) if station else None

    # -- time ---------------------------------------------------------------------------

    def add(self, case: Case, at: datetime.datetime) -> None:
        at = at.astimezone(datetime.UTC)  # (see services: the hash covers `at` as given)
        if at <= self.now:
            heapq.heappush(self.queue, (at, next(self.tick), case))

    def advance(self, until: datetime.datetime) -> None:
        """Run the worker up to `until`, each timer at its own due time."""
        while True:
            due = (Timer.objects.filter(fired_at__isnull=True, cancelled=False,
                                        due_at__lte=until)
                   .order_by("due_at").values_list("due_at", flat=True).first())
            if due is None:
                break
            self.clock = due
            self.fired += services.fire_due_timers(now=due)
        self.clock = until

    def run(self) -> None:
        while self.queue:
            at, _, case = heapq.heappop(self.queue)
            self.advance(at)
            try:
                wait = next(case.steps)
            except StopIteration:
                continue
            self.add(case, at + wait)
        self.advance(self.now)


# ---------------------------------------------------------------- planning
# A story (the scenarios' `Story.run`) is a generator: it acts on its case at the current
# clock and yields how long until its next step. Deadlines are the loop policies': a story
# that "waits past" one lets the worker escalate; the others act within it.


def _demo_scopes():
    """The projects the demo logins act on: the pm/chief project, 静安区, the squad's street."""
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")}
    active = Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no")
    pm_role = Role.objects.filter(user=users.get("pm")).first() if "pm" in users else None
    squad = next((u for name, u in sorted(users.items()) if name.startswith("squad_")), None)
    squad_role = Role.objects.filter(user=squad).select_related("agency").first() if squad else None
    jingan_role = (Role.objects.filter(user=users.get("jingan")).select_related("agency").first()
                   if "jingan" in users else None)
    return {
        "pm": pm_role.project if pm_role else None,
        "district": list(active.filter(district=jingan_role.agency.region_id))
        if jingan_role else [],
        "street": list(active.filter(street=squad_role.agency.region_id)) if squad_role else [],
    }


def _plan(sim: _Sim, days: int, per_day: int) -> None:
    """Queue the demo logins' cases (timed so each login finds work at `now`) and the
    random findings of each day."""
    rng, now = sim.rng, sim.now
    scopes = _demo_scopes()
    active = list(Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no"))
    reserved: set[int] = set()

    def case(kind, fate, project, hours_ago):
        reserved.add(project.pk)
        c = Case(sim, project, kind, fate, random.Random(rng.random()))
        c.work = False  # timed against `now`: no waiting for the next morning
        sim.add(c, now - datetime.timedelta(hours=hours_ago))

    def take(pool, n):
        pool = [p for p in pool if p.pk not in reserved]
        return rng.sample(pool, min(n, len(pool)))

    demo = [c for scenario in scenarios.scenarios() for c in scenario.demo_cases]
    if scopes["pm"] is not None:  # `pm`, `chief`, `contractor`, `monitor`
        for c in demo:
            if c.scope == "pm":
                case(c.kind, c.fate, scopes["pm"], c.hours_ago)
    for scope in ("district", "street"):  # `jingan`, `squad_*`: three projects, in turn
        projects = take(scopes[scope], 3)
        for c, project in zip([c for c in demo if c.scope == scope],
                              itertools.cycle(projects) if projects else [], strict=False):
            case(c.kind, c.fate, project, c.hours_ago)
    # Every outcome at least once whatever the seed: closed at each level, suspended,
    # cancelled, waiting for dispatch.
    pits = [p for p in active if p.has_pit]
    for c in demo:
        if c.scope == "any":
            for project in take(pits if scenarios.story(c.kind).needs_pit else active, 1):
                case(c.kind, c.fate, project, c.hours_ago)

    stories = scenarios.stories()
    kinds = names.Weighted(stories, [story.weight for story in stories])
    fates = {story.kind: names.Weighted(list(story.fates), story.fates.values())
             for story in stories}
    fallback = next(story for story in stories if not story.needs_pit)
    free = [p for p in active if p.pk not in reserved]
    free_pits = [p for p in free if p.has_pit]
    start = now - days * D
    for day in range(days):
        for _ in range(per_day):
            story = kinds(rng)
            pool = free_pits if story.needs_pit and free_pits else free
            if story.needs_pit and not free_pits:
                story = fallback
            project = rng.choice(pool)
            at = start + day * D + datetime.timedelta(hours=rng.uniform(0, 24))
            if story.at_hour is not None:  # e.g. checked when the day's attendance closes
                day_local = local(at)
                at = datetime.datetime.combine(day_local.date(), datetime.time(story.at_hour),
                                               day_local.tzinfo)
                at += datetime.timedelta(minutes=rng.randint(0, 30))
            if at >= now:
                continue
            c = Case(sim, project, story.kind, fates[story.kind](rng), random.Random(rng.random()))
            sim.add(c, at.replace(microsecond=0))


def simulate_history(*, seed: int, now: datetime.datetime | None = None, days: int = HISTORY_DAYS,
                     per_day: int = 3) -> HistoryReport:
    """Replay `days` of findings and work orders up to `now` (default: the real clock) into
    a database that holds a simulated city. `per_day` random findings a day, plus the cases
    that give each demo login something to do. One transaction."""
    now = (now or timezone.now()).astimezone(datetime.UTC).replace(microsecond=0)
    report = HistoryReport()
    with transaction.atomic():
        sim = _Sim(seed, now)
        first_order = WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        _plan(sim, days, per_day)
        sim.prepare_actors()
        sim.run()
        _mark_old_notifications_read(now)
        orders = WorkOrder.objects.filter(pk__gt=first_order)
        report.events = sim.events
        report.orders = orders.count()
        report.by_state = _counts(orders, "state")
        report.by_level = _counts(orders, "loop_level")
        report.closed_by_level = _counts(orders.filter(state=OrderState.CLOSED), "closed_level")
        report.overdue = orders.filter(overdue=True).exclude(
            state__in=[OrderState.CLOSED, OrderState.CANCELLED]).count()
        report.actions = OrderAction.objects.filter(order__in=orders).count()
        files = OrderAttachment.objects.filter(action__order__in=orders)
        report.attachments = files.count()
        report.media_bytes = files.aggregate(n=Sum("size"))["n"] or 0
        report.timers_fired = sim.fired
        report.users_created = sim.users_created
        report.penalties = sim.penalties
        report.skipped = sim.skipped
    return report


def _counts(qs, field_name: str) -> dict[str, int]:
    out = Counter(qs.values_list(field_name, flat=True))
    return dict(sorted(out.items()))


def _mark_old_notifications_read(now: datetime.datetime) -> None:
    """Demo users have read what reached them more than two days ago (they log in daily)."""
    cutoff = now - 2 * D
    for user in get_user_model().objects.filter(email__endswith=f"@{DEMO_DOMAIN}"):
        ids = Notification.objects.filter(user=user, created__lt=cutoff,
                                          read_at__isnull=True).values_list("pk", flat=True)
        services.mark_read(user, list(ids), now=cutoff)


# ---------------------------------------------------------------- live


def live_event(rng: random.Random, *, now: datetime.datetime | None = None) -> Event | None:
    """Raise one plausible finding now, through `raise_event` (a repeat of an open one is
    counted there). A third of them land in the demo logins' scopes. None without projects."""
    now = now or timezone.now()
    findings = [f for scenario in scenarios.scenarios() for f in scenario.findings]
    finding = names.Weighted(findings, [f.weight for f in findings])(rng)
    projects = Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no")
    if finding.needs_pit:
        projects = projects.filter(has_pit=True)
    pool = list(projects)
    if not pool:
        return None
    if rng.random() < 0.35:
        scopes = _demo_scopes()
        mine = [p for p in ([scopes["pm"]] if scopes["pm"] else []) + scopes["district"]
                + scopes["street"] if p in pool]
        pool = mine or pool
    args = finding.make(rng, rng.choice(pool), now)
    return services.raise_event(**args, occurred_at=now, now=now)


def run_live(*, every: float = 60.0, count: int = 0, seed: int | None = None) -> int:
    """`smartsite simulate`: raise a finding every `every` seconds until stopped (SIGTERM /
    Ctrl-C, or after `count` findings when count > 0). A failing round is logged and the
    loop goes on. Returns how many findings were raised. Refuses a database without the
    simulated city's demo logins, so made-up findings never reach real data."""
    from django.db import close_old_connections, connection

    if not get_user_model().objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists():
        raise DomainError("数据库中没有模拟城市（演示账号）：模拟事件只写入演示数据库")
    rng = random.Random(seed)
    raised = 0
    with stop_on_signals() as stop:
        while not stop.requested and (count <= 0 or raised < count):
            deadline = time.monotonic() + every
            while not stop.requested and time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            if stop.requested:
                break
            if not connection.in_atomic_block:
                close_old_connections()
            for scenario in scenarios.scenarios():
                if scenario.live is not None:
                    try:
                        scenario.live(rng)
                    except Exception:
                        log.exception("simulated %s data failed", scenario.code)
            try:
                event = live_event(rng)
            except Exception:
                log.exception("simulated finding failed")
                continue
            if event is not None:
                raised += 1
                log.info("finding %s: %s", event.pk, event.title)
    return raised
