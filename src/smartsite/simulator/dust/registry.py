"""The simulated city's dust registry beyond the monitors themselves, and the day of rule runs
its back-filled data would have seen.

`plant(seed, monitors, the_plan, now)` (called by `monitors.seed_monitors` right after the
registration) gives every monitor
    a position inside its site's geofence where its location says (东侧围挡 near the east
    side, 大门 on a side, 材料堆场 inside …);
    an annual inspection (年检) with its certificate number: most passed and valid for another
    2–11 months, a few expiring within 30 days (a warning), a few expired, a few with none
    (未年检 orders);
    linked sprays: most monitors a fog cannon (雾炮, `SB1`), a third of those also the
    hoarding spray (围挡喷淋, `SB2`); every monitor with a planted dust burst has one (most
    start within minutes of the burst, `Plan.spray_fails` never do: 喷雾未联动).
Rows are written in bulk (valid by construction, as in `city`), with one audit "import"
entry per model; there is no query per monitor.

`replay(now, hours, bursts)` runs the time-dependent dust rules (exceedance, 喷雾未联动) on
the fake clock after each planted burst of the back-filled day, so the bursts have their
events and orders whatever the hour the demo starts (the exceedance rule judges the calendar
day and recovers an hour after a burst), and then every rule once at `now`, as the worker
does when it starts. A pass reads the day's means of every monitor, so there are only a few
(one per hour in which a burst ended, and one after the last).

Determinism: the same seed, city and `now` give the same rows.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.db import transaction

from smartsite.core import audit
from smartsite.core.choices import AuditAction
from smartsite.dust.models import Inspection, Monitor, SprayDevice
from smartsite.simulator.city import rng_for

__all__ = [
    "DUE_SHARE",
    "EXPIRED_SHARE",
    "NO_INSPECTION_SHARE",
    "REPLAYED_RULES",
    "plant",
    "position",
    "replay",
    "reported_position",
]

NO_INSPECTION_SHARE = 0.015  # monitors with no annual inspection recorded
EXPIRED_SHARE = 0.02  # whose last annual inspection has expired
DUE_SHARE = 0.03  # whose inspection expires within 30 days (a warning, no order yet)
SPRAY_SHARE = 0.88  # monitors with a linked fog cannon
SECOND_SPRAY_SHARE = 0.35  # of those, also the hoarding spray
INSPECTION_BODIES = ("上海市计量测试技术研究院", "上海市质量监督检验技术研究院",
                     "上海市环境监测中心")
#: The rules whose findings depend on when they ran (the calendar day, a burst's hour).
REPLAYED_RULES = ("exceedance", "spray_unlinked")
REPLAY_AFTER = datetime.timedelta(minutes=16)  # past the hour: its quarters are in
LOCAL = datetime.timedelta(hours=8)  # Shanghai, no DST
#: Degrees the device reporting a position outside its site is away from where it is
#: registered (~1.2 km east, ~0.45 km north: outside any simulated site).
OUTSIDE_OFFSET = (0.012, 0.004)

#: Where on the site a location lies: (east, north) towards the fence; None: anywhere inside.
_SIDES = {"东南": (1, -1), "西北": (-1, 1), "东": (1, 0), "西": (-1, 0), "南": (0, -1),
          "北": (0, 1)}


def _direction(location: str, rng) -> tuple[int, int] | None:
    for word, side in _SIDES.items():
        if word in location:
            return side
    if "出入口" in location or "大门" in location:
        return rng.choice([(1, 0), (-1, 0), (0, 1), (0, -1)])  # a gate is on some side
    return None


def position(geofence: dict, location: str, rng) -> tuple[float, float]:
    """A point of the (convex, square) geofence: towards the side its location names, just
    inside the hoarding; else somewhere inside. Rounded to 1e-6° (~0.1 m)."""
    ring = geofence["coordinates"][0][:-1]
    cx = sum(x for x, _ in ring) / len(ring)
    cy = sum(y for _, y in ring) / len(ring)
    side = _direction(location, rng)
    if side is None:  # inside: a convex combination of the centre and a corner
        corner = rng.choice(ring)
        f = rng.uniform(0.0, 0.6)
    else:  # near the side: the boundary point most in that direction
        points = ring + [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                         for a, b in zip(ring, ring[1:] + ring[:1], strict=True)]
        corner = max(points, key=lambda q: (q[0] - cx) * side[0] * 0.86 + (q[1] - cy) * side[1])
        f = rng.uniform(0.8, 0.92)
    return (round(cx + f * (corner[0] - cx), 6), round(cy + f * (corner[1] - cy), 6))


def reported_position(monitor: Monitor, the_plan) -> tuple[float, float] | None:
    """The position a monitor's device reports (our HJ 212 profile's Lng/Lat items): where it
    is registered, but for the planted device that was moved off its site."""
    if monitor.longitude is None:
        return None
    if monitor.mn == the_plan.outside:
        return (round(monitor.longitude + OUTSIDE_OFFSET[0], 6),
                round(monitor.latitude + OUTSIDE_OFFSET[1], 6))
    return monitor.longitude, monitor.latitude


def _ranked(seed: int, monitors: list[Monitor], stream: str) -> list[Monitor]:
    from smartsite.simulator.dust.monitors import _key

    return sorted(monitors, key=lambda m: _key(seed, stream, m.mn))


def _share(n: int, share: float) -> int:
    return max(1, round(n * share))


def plant(seed: int, monitors: list[Monitor], the_plan, now: datetime.datetime) -> Counter:
    """Positions, annual inspections and linked sprays of `monitors` (all freshly registered,
    with their projects). Returns what was planted, counted."""
    from smartsite.simulator.dust.monitors import PLANT_MIN

    rng = rng_for(seed, "dust:registry")
    today = now.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date()
    monitors = sorted(monitors, key=lambda m: m.mn)
    out: Counter = Counter()
    for m in monitors:
        if m.project.geofence:
            m.longitude, m.latitude = position(m.project.geofence, m.location, rng)
            out["positioned"] += 1

    # 年检: ranked by hash, so the planted few do not move when a monitor is added.
    ranked = _ranked(seed, monitors, "inspection")
    planted = len(monitors) >= PLANT_MIN
    n_none = _share(len(ranked), NO_INSPECTION_SHARE) if planted else 0
    n_expired = _share(len(ranked), EXPIRED_SHARE) if planted else 0
    n_due = _share(len(ranked), DUE_SHARE) if planted else 0
    fate = {}
    for i, m in enumerate(ranked):
        fate[m.mn] = ("none" if i < n_none else "expired" if i < n_none + n_expired
                      else "due" if i < n_none + n_expired + n_due else "valid")
    inspections = []
    for index, m in enumerate(monitors):
        kind = fate[m.mn]
        days = {"expired": -rng.randint(3, 120), "due": rng.randint(1, 30),
                "valid": rng.randint(61, 335), "none": 0}[kind]
        body = rng.choice(INSPECTION_BODIES)
        if kind == "none":
            continue
        expires = today + datetime.timedelta(days=days)
        inspected = expires - datetime.timedelta(days=365)
        inspections.append(Inspection(
            monitor=m, kind="annual", inspected_on=inspected, expires_on=expires, body=body,
            certificate_no=f"JD{inspected:%Y}-{31000 + index:05d}", passed=True))
        out[f"inspection_{kind}"] += 1
    out["inspection_none"] = n_none

    sprays = []
    for m in monitors:
        linked = m.mn in the_plan.exceed or rng.random() < SPRAY_SHARE
        second = rng.random() < SECOND_SPRAY_SHARE
        if not linked:
            continue
        gate = "大门" in m.location or "出入口" in m.location
        sprays.append(SprayDevice(monitor=m, kind="fog_cannon", sb_code="SB1",
                                  name="大门雾炮" if gate else "1号雾炮机"))
        if second:
            sprays.append(SprayDevice(monitor=m, kind="spray", sb_code="SB2", name="围挡喷淋"))
    out["sprays"] = len(sprays)
    out["monitors_with_spray"] = len({s.monitor.mn for s in sprays})

    with transaction.atomic():
        Monitor.objects.bulk_update(monitors, ["longitude", "latitude"], batch_size=1000)
        Inspection.objects.bulk_create(inspections, batch_size=1000)
        SprayDevice.objects.bulk_create(sprays, batch_size=1000)
        for rows in (inspections, sprays):
            if rows:
                audit.record(None, rows[0], AuditAction.IMPORT,
                             {"simulated": [None, len(rows)]}, project=rows[0].monitor.project)
    return out


def replay(now: datetime.datetime, hours: int, bursts: list[tuple[int, int]]) -> Counter:
    """The dust rules over the `hours` before `now`: `REPLAYED_RULES` on the fake clock an
    hour and a quarter after each hour in which a planted burst ended (it is judged then) and
    two hours after the last one (recovered by then), then every rule once at `now`
    (`rules.run_due(force=True)`, as the worker does when it starts). `bursts` are the
    planted (local minute of day, minutes) pairs. Returns the open dust events by rule."""
    from smartsite.dust import detectors, rules
    from smartsite.dust.models import DustRule
    from smartsite.workorders.choices import OPEN_EVENT_STATES
    from smartsite.workorders.models import Event

    rules.load_rules()
    enabled = set(DustRule.objects.filter(enabled=True, code__in=REPLAYED_RULES)
                  .values_list("code", flat=True))
    codes = [code for code in REPLAYED_RULES if code in enabled]
    begin = now - datetime.timedelta(hours=hours)
    ends = []
    day = (begin + LOCAL).date()
    while day <= (now + LOCAL).date():
        midnight = datetime.datetime.combine(day, datetime.time(), datetime.UTC) - LOCAL
        ends += [midnight + datetime.timedelta(minutes=start + minutes)
                 for start, minutes in bursts]
        day += datetime.timedelta(days=1)
    hour = datetime.timedelta(hours=1)
    passes = {e.replace(minute=0, second=0, microsecond=0) + hour + REPLAY_AFTER
              for e in ends if begin + hour <= e}
    if passes:
        passes.add(max(passes) + hour)
    for t in sorted(t for t in passes if t < now):
        ctx = detectors.Context(t)
        for code in codes:
            detectors.sync(code, detectors.DETECTORS[code](ctx, rules.params(code)), t)
    rules.run_due(now, force=True)
    return Counter(Event.objects.filter(scenario="dust", state__in=OPEN_EVENT_STATES)
                   .values_list("rule", flat=True))
