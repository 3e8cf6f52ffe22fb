"""The scenario contract: how an app plugs into the platform (design.md §2).

Every app that adds something the platform shows or runs — a scenario such as dust (扬尘监测),
or a service every scenario uses such as video or the work-order engine — declares it once,
in `<app>/declaration.py`, as a module-level `DECLARATION`:

    DECLARATION = Declaration(
        app="dust", name="扬尘监测", scenario="dust",
        reference=(("dust_limits", "smartsite.dust.reference.load_limits"), ...),
        checks={"dust.valid_data_24h": "smartsite.dust.checks.valid_data_24h"},
        jobs=(Job("dust.rules", every=timedelta(minutes=1), run="smartsite.dust.rules.run_due"),),
        nav=(NavEntry("扬尘总览", "dust:dashboard", order=20),), ...)

`CoreConfig.ready()` imports every installed app's `declaration` module (Django's
`autodiscover_modules`, as the admin finds `admin.py`), and the platform iterates the
declarations instead of naming apps: the worker runs the declared jobs
(`core.scheduler`), the header shows the declared nav, `smartsite migrate` loads the declared
reference data, the loop engine finds checks and evidence panels, the gateway finds packet
handlers, and the centers find indicators. Functions are named by dotted path and imported
when first used, so declaring costs nothing and `core` imports no other app.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache

from django.utils.module_loading import import_string

#: Where an app's links can appear on another app's pages (`Link.place`).
PLACES = {
    "project": "a project's page (the project is passed as the URL's argument)",
    "policies": "the loop-policy list (闭环策略)",
}
#: Scopes and periods an indicator can be asked for (`Indicator.scopes`, `.period`).
SCOPES = ("city", "district", "project")
PERIODS = ("now", "day", "month")


@dataclass(frozen=True)
class Job:
    """A periodic job for `smartsite worker` (core.scheduler).

    `run` is a dotted path to a function without arguments that returns how much work it
    found (an int; None counts as 0). The scheduler runs it at most every `every` (zero: every
    round of the worker), keeps its last run in a `JobRun` row (so an interval survives a
    restart), and, if `exclusive`, holds a lease on that row while it runs, so two workers
    never run it at once — jobs that claim their own rows with SKIP LOCKED (timers, the
    outbox) are not exclusive and may run on any number of workers. `drain`: work found means
    more may be waiting, so the worker starts its next round at once instead of sleeping.
    `group` names the kind of worker meant to run it; `SMARTSITE_WORKER_JOBS` selects jobs by
    name or by group (docs/operations.md)."""

    name: str
    run: str
    every: datetime.timedelta = datetime.timedelta(0)
    group: str = "default"
    exclusive: bool = True
    drain: bool = False
    lease: datetime.timedelta = datetime.timedelta(minutes=10)
    #: jobs of all apps run in this order within a round (e.g. the rules that open orders
    #: before the timers, the timers before the outbox that delivers their messages).
    order: int = 50
    description: str = ""


@dataclass(frozen=True)
class NavEntry:
    """An item of the page header. `visible` is a dotted path to `fn(user, grant) -> bool`
    (None: every signed-in user); `order` sorts the items of all apps."""

    label: str
    url_name: str
    order: int
    visible: str | None = None


@dataclass(frozen=True)
class Link:
    """A button another app's page shows (`place`, one of PLACES), e.g. "扬尘监测" on a
    project's page. `visible` as in NavEntry."""

    place: str
    label: str
    url_name: str
    order: int
    visible: str | None = None


@dataclass(frozen=True)
class Indicator:
    """A number with a unit over a scope and a period, for the dashboards and the centers.

    `compute` is a dotted path to `fn(user, scope, obj, start, end) -> int | float | None`:
    `scope` one of SCOPES, `obj` the district (core.Region) or project or None for the city,
    `start`/`end` the period's bounds (aware datetimes; equal for "now"). It reads through
    `scoped(user, ...)` like any page."""

    code: str
    name: str
    unit: str
    compute: str
    scopes: tuple[str, ...] = SCOPES
    period: str = "day"
    description: str = ""


@dataclass(frozen=True)
class CameraDevice:
    """A scenario's device that a camera can be linked to (关联监测设备, video.links): its
    model ("app_label.Model", with a `project`), the field whose value the scenario's events
    carry as `Event.subject` (so they are photographed by the linked cameras first), and what
    the camera form says under the choice."""

    model: str
    code: str
    help_text: str = ""


@dataclass(frozen=True)
class Declaration:
    """What one app brings to the platform. `scenario` is the code its events, orders and
    loop policies carry (`Event.scenario`); None for a service app (video, work orders)."""

    app: str
    name: str
    scenario: str | None = None
    #: (key, dotted loader) pairs, run in order by `smartsite migrate` and the demo; each
    #: loader is idempotent and returns how many rows its fixture holds.
    reference: tuple[tuple[str, str], ...] = ()
    #: automatic verification checks the loop policies name: check name → dotted function
    #: `fn(order, at) -> bool` (workorders.checks).
    checks: dict[str, str] = field(default_factory=dict)
    #: dotted `fn(request, order) -> str`: the evidence panel on an order's phone page.
    panel: str | None = None
    jobs: tuple[Job, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    links: tuple[Link, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    #: (URL prefix, urlconf module) mounted by `smartsite.urls`, and the dotted django-ninja
    #: Router mounted at /api/v1/ by `smartsite.api`.
    urls: tuple[str, str] | None = None
    api_router: str | None = None
    #: dotted function that registers the app's HJ 212 / MQTT packet handlers
    #: (hj212.handlers), called once before a gateway starts.
    packet_handlers: str | None = None
    #: dotted module holding `ROUTES`, the app's expectations for the permission matrix.
    access: str | None = None
    #: whether video takes a camera snapshot of this scenario's new events.
    snapshots: bool = False
    #: the scenario's device a camera can be linked to (video.links), if any.
    camera_device: CameraDevice | None = None
    #: dotted `fn(project_id, person_ids, start, end) -> {person id: set of dates}`: the local
    #: (Shanghai) days each person was verified on that project's site between the dates
    #: (inclusive), for the people it tracks (the others are left out: nothing is known of
    #: them). Other apps' rules read it through `presence()` — pits flags surveys on days
    #: its monitoring staff were never on site. At most one app provides it.
    presence: str | None = None


_DECLARATIONS: dict[str, Declaration] = {}


def register(declaration: Declaration) -> Declaration:
    """Add an app's declaration (discovery calls this; so may a test standing in for an app).
    Names must be unique across apps: two jobs or checks with one name are refused."""
    _check_unique(declaration)
    _DECLARATIONS[declaration.app] = declaration
    resolve.cache_clear()
    return declaration


def unregister(app: str) -> None:
    _DECLARATIONS.pop(app, None)
    resolve.cache_clear()


def _check_unique(new: Declaration) -> None:
    for other in _DECLARATIONS.values():
        if other.app == new.app:
            continue
        for kind, mine, theirs in (
                ("job", {j.name for j in new.jobs}, {j.name for j in other.jobs}),
                ("check", set(new.checks), set(other.checks)),
                ("indicator", {i.code for i in new.indicators},
                 {i.code for i in other.indicators}),
                ("scenario", {new.scenario} - {None}, {other.scenario} - {None}),
                ("presence", {"presence"} if new.presence else set(),
                 {"presence"} if other.presence else set())):
            if mine & theirs:
                raise ValueError(f"{new.app} declares {kind} {sorted(mine & theirs)} that "
                                 f"{other.app} already declares")
    for link in new.links:
        if link.place not in PLACES:
            raise ValueError(f"{new.app}: unknown link place {link.place!r} (one of {PLACES})")
    for indicator in new.indicators:
        if indicator.period not in PERIODS or not set(indicator.scopes) <= set(SCOPES):
            raise ValueError(f"{new.app}: indicator {indicator.code} has a period or scope "
                             f"outside {PERIODS} / {SCOPES}")


def discover() -> None:
    """Import every installed app's `declaration` module and register its DECLARATION."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    for config in apps.get_app_configs():
        name = f"{config.name}.declaration"
        if find_spec(name) is not None:
            register(import_module(name).DECLARATION)
    for declaration in declarations():  # once, before any gateway starts (idempotent)
        if declaration.packet_handlers:
            resolve(declaration.packet_handlers)()


def declarations() -> list[Declaration]:
    """Every app's declaration, in INSTALLED_APPS order."""
    return list(_DECLARATIONS.values())


def scenarios() -> list[Declaration]:
    """The declarations of scenarios (apps whose events carry a scenario code)."""
    return [d for d in _DECLARATIONS.values() if d.scenario]


def scenario_names() -> dict[str, str]:
    """Scenario code → its Chinese name (扬尘监测 …)."""
    return {d.scenario: d.name for d in scenarios()}


def jobs() -> list[Job]:
    """Every declared job, in the order a worker's round runs them."""
    return sorted((job for d in _DECLARATIONS.values() for job in d.jobs),
                  key=lambda job: job.order)


def nav_entries() -> list[NavEntry]:
    return sorted((e for d in _DECLARATIONS.values() for e in d.nav), key=lambda e: e.order)


def links(place: str) -> list[Link]:
    return sorted((link for d in _DECLARATIONS.values() for link in d.links
                   if link.place == place), key=lambda link: link.order)


def indicators() -> list[Indicator]:
    return [i for d in _DECLARATIONS.values() for i in d.indicators]


def checks() -> dict[str, str]:
    return {name: path for d in _DECLARATIONS.values() for name, path in d.checks.items()}


def panel(scenario: str) -> Callable | None:
    for d in _DECLARATIONS.values():
        if d.scenario == scenario and d.panel:
            return resolve(d.panel)
    return None


def presence(project_id: int, person_ids, start: datetime.date,
             end: datetime.date) -> dict[int, set[datetime.date]] | None:
    """Who of `person_ids` was verified on the project's site on which days (`Declaration.
    presence`); None when no installed app keeps attendance."""
    for d in _DECLARATIONS.values():
        if d.presence:
            return resolve(d.presence)(project_id, list(person_ids), start, end)
    return None


def reference_loaders() -> Iterator[tuple[str, Callable]]:
    for d in _DECLARATIONS.values():
        for key, path in d.reference:
            yield key, resolve(path)


@cache
def resolve(path: str):
    """The object a dotted path names (imported once)."""
    return import_string(path)


def period_bounds(period: str, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """The (start, end) an indicator's `period` covers at `now`: "now" → (now, now); "day" →
    since Shanghai's midnight; "month" → since the 1st of the Shanghai month."""
    from django.utils import timezone

    if period == "now":
        return now, now
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        start = start.replace(day=1)
    return start, now


def indicator_values(user, scope: str, obj, now: datetime.datetime) -> list[tuple[Indicator, object]]:
    """Every declared indicator that applies to `scope`, computed for `user` at `now`. One
    failing indicator shows as None rather than taking the page down."""
    import logging

    values = []
    for indicator in indicators():
        if scope not in indicator.scopes:
            continue
        start, end = period_bounds(indicator.period, now)
        try:
            value = resolve(indicator.compute)(user, scope, obj, start, end)
        except Exception:
            logging.getLogger(__name__).exception("indicator %s failed", indicator.code)
            value = None
        values.append((indicator, value))
    return values
