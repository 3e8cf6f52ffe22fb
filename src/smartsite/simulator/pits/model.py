"""What a simulated Shanghai pit is and how its points move: pure (no database).

A pit (`PitPlan`) is dug in layers down to its strut levels and then to H, each layer dug in
a few days and followed by the strut's construction (concrete struts cure ~two weeks, steel
ones take days), then the cushion and the base slab. A deformation point follows

    value(t) = sign × F × (0.8 × e(t)^1.2 + 0.2 × (1 − exp(−t / 25 d)))  + noise

with e(t) the excavated share of H (linear while a layer is dug, flat while a strut is
built) and F its movement at completion: 30–60 mm of deep horizontal displacement for H of
8–25 m, less at the wall top and behind the wall — 1–3 mm/d while digging, creep after.
Strut forces grow after their strut is built to 35–50 % of the design value. Instrument
noise (σ per instrument, `NOISE`) is a hash of the point and the time, so a value is the same
on every run. Planted behaviour (`PointPlan.extra_rate`): a point that accelerates over the
last days (a leak, over-excavation) — the yellow, red and drifting pits.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import math
import random
from dataclasses import dataclass, field, replace

from smartsite.pits.choices import ITEM_PREFIX, Item, Retaining, Support

__all__ = ["NOISE", "PitPlan", "PointPlan", "plan_pit", "point_value", "profile"]

DAY = datetime.timedelta(days=1)

#: Instrument and σ (mm, kN for forces) of each item's readings. The fabrication detectors'
#: stated precisions (pits/detectors.py) are at most these, so honest noise never looks
#: too smooth.
NOISE = {
    Item.WALL_TOP_HORIZONTAL: ("全站仪（0.5″，0.6 mm + 1 ppm）", 0.25),
    Item.WALL_TOP_VERTICAL: ("电子水准仪（每千米往返 0.3 mm）", 0.15),
    Item.GROUND_SETTLEMENT: ("电子水准仪（每千米往返 0.3 mm）", 0.15),
    Item.COLUMN_VERTICAL: ("电子水准仪（每千米往返 0.3 mm）", 0.15),
    Item.DEEP_HORIZONTAL: ("伺服加速度计式测斜仪（0.02 mm/500 mm）", 0.25),
    Item.STRUT_FORCE: ("振弦式轴力计 + 频率读数仪", 12.0),
    Item.GROUNDWATER: ("钢尺水位计", 5.0),
}
DECIMALS = {Item.STRUT_FORCE: 1, Item.GROUNDWATER: 0}


@dataclass(frozen=True)
class PointPlan:
    code: str
    item: str
    x: float
    y: float
    final: float  # movement at completion (mm; kN for a strut: its final force)
    automated: bool = False
    tube_depth: float | None = None
    design_value: float | None = None
    alarm_cumulative: float | None = None
    alarm_rate: float | None = None
    installed: float = -10.0  # day (from the excavation's start) its readings begin
    base: float = 0.0  # the instrument's reading before any movement
    extra_rate: float = 0.0  # planted: mm/d more from `extra_from` on
    extra_from: float = 1e9
    smooth_from: float = 1e9  # fabricated: no noise from this day on
    noise_key: str = ""

    @property
    def sigma(self) -> float:
        return NOISE[self.item][1]


@dataclass(frozen=True)
class PitPlan:
    code: str
    name: str
    depth: float  # H, m
    safety_grade: int
    environment_grade: int
    retaining: str
    support: str
    outline: list
    layers: tuple  # ((start day, dig days, depth to (m), strut name or ""), …)
    slab_day: float
    points: tuple[PointPlan, ...] = field(default=())

    def depth_at(self, t: float) -> float:
        """The excavation depth (m) reached on day `t` of the excavation."""
        reached = 0.0
        for start, dig, to, _ in self.layers:
            if t <= start:
                break
            reached = reached + (to - reached) * min(1.0, (t - start) / dig)
            if t < start + dig:
                break
        return reached

    def share(self, t: float) -> float:
        return self.depth_at(t) / self.depth

    def stages(self) -> list[tuple[float, str, float, bool]]:
        """(day, name, depth reached (m), base slab cast) of each construction stage."""
        out = [(-4.0, "围护结构完成，开挖前测定初始值", 0.0, False)]
        for n, (start, dig, to, strut) in enumerate(self.layers, 1):
            out.append((start, f"第{n}层土方开挖（至 -{to:.1f} m）", to, False))
            if strut:
                out.append((start + dig, f"{strut}施工", to, False))
        out.append((self.slab_day - 3, "垫层施工", self.depth, False))
        out.append((self.slab_day, "底板浇筑", self.depth, True))
        return out


# ---------------------------------------------------------------- values


def _unit(key: str, t: float) -> float:
    digest = hashlib.blake2b(f"{key}:{t:.5f}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") + 0.5) / 2**64


def _gauss(key: str, t: float) -> float:
    """A standard normal draw, the same for the same key and time (Box–Muller)."""
    u1, u2 = _unit(key, t), _unit(key + "'", t)
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def trend(pit: PitPlan, point: PointPlan, t: float) -> float:
    """The point's movement on day `t` without noise (relative to `base`)."""
    if point.item == Item.STRUT_FORCE:
        if t < point.installed:
            return 0.0
        below = max(0.0, pit.share(t) - pit.share(point.installed)) / max(
            1e-6, 1 - pit.share(point.installed))
        return point.final * (0.25 * (1 - math.exp(-(t - point.installed) / 4)) + 0.75 * below)
    tt = max(t, 0.0)
    shape = 0.8 * pit.share(tt) ** 1.2 + 0.2 * (1 - math.exp(-tt / 25))
    value = point.final * shape
    if t > point.extra_from:
        value += math.copysign(point.extra_rate * (t - point.extra_from), point.final or 1)
    return value


def point_value(pit: PitPlan, point: PointPlan, t: float) -> float:
    """What the instrument reads on day `t`, rounded as a report gives it."""
    value = point.base + trend(pit, point, t)
    if t < point.smooth_from:
        sigma = point.sigma
        if point.item == Item.STRUT_FORCE:
            sigma = max(sigma, 0.01 * abs(value))
        value += sigma * _gauss(point.noise_key or point.code, t)
    return round(value, DECIMALS.get(point.item, 2))


def profile(pit: PitPlan, point: PointPlan, t: float, *, step: float = 1.0,
            peak: float | None = None) -> list[tuple[float, float]]:
    """An inclinometer survey: (depth m, cumulative displacement mm) from the top down to the
    fixed toe, bulging a little below the excavation level; its largest value is the
    point's value at `t`."""
    length = point.tube_depth or 2 * pit.depth
    top = trend(pit, point, t)
    centre = min(0.8 * length, pit.depth_at(max(t, 0)) + 0.15 * pit.depth)
    width = 0.35 * length
    rows = []
    n = int(length / step)
    for i in range(n + 1):
        z = i * step
        shape = math.exp(-((z - centre) / width) ** 2) * (1 - (z / length) ** 4)
        noise = 0.0 if t >= point.smooth_from else 0.15 * _gauss(f"{point.noise_key}:{z}", t)
        rows.append((round(z, 1), round(top * shape + noise, 2)))
    # the largest value is the point's value in the series (with its own noise): `peak`
    i = max(range(len(rows)), key=lambda k: abs(rows[k][1]))
    rows[i] = (rows[i][0], point_value(pit, point, t) if peak is None else peak)
    return rows


# ---------------------------------------------------------------- plans


def _outline(rng: random.Random, area: float) -> list[list[float]]:
    ratio = rng.uniform(1.0, 2.8)
    width = math.sqrt(area / ratio)
    length = area / width
    w, ln = round(width, 1), round(length, 1)
    if rng.random() < 0.3:  # an L: a corner left out
        cw, cl = round(w * rng.uniform(0.3, 0.5), 1), round(ln * rng.uniform(0.3, 0.5), 1)
        return [[0.0, 0.0], [w, 0.0], [w, ln - cl], [w - cw, ln - cl], [w - cw, ln], [0.0, ln]]
    return [[0.0, 0.0], [w, 0.0], [w, ln], [0.0, ln]]


def _along(outline: list, every: float, offset: float = 0.0):
    """Points every ~`every` m along the outline, `offset` m outside it: (x, y, side length,
    outward normal)."""
    corners = [*outline, outline[0]]
    # orientation (counter-clockwise outlines have outward normals on the right)
    area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(corners))
    sign = 1 if area2 > 0 else -1
    for a, b in itertools.pairwise(corners):
        dx, dy = b[0] - a[0], b[1] - a[1]
        side = math.hypot(dx, dy)
        n = max(1, round(side / every))
        nx, ny = sign * dy / side, -sign * dx / side
        for k in range(n):
            s = (k + 0.5) / n
            yield (round(a[0] + dx * s + nx * offset, 1), round(a[1] + dy * s + ny * offset, 1),
                   side, (nx, ny))


def plan_pit(rng: random.Random, *, code: str, site_area: float, deep_bias: float = 0.0
             ) -> PitPlan:
    """A plausible Shanghai pit for a site of `site_area` m²."""
    depth = round(min(25.0, max(8.0, rng.lognormvariate(math.log(11.5 + deep_bias), 0.3))), 1)
    area = min(16_000.0, max(900.0, site_area * rng.uniform(0.3, 0.55)))
    outline = _outline(rng, area)
    if depth >= 15:
        retaining, support = Retaining.DIAPHRAGM_WALL, Support.CONCRETE_STRUT
    elif depth >= 10:
        retaining = rng.choice([Retaining.DIAPHRAGM_WALL, Retaining.BORED_PILE,
                                Retaining.BORED_PILE])
        support = rng.choice([Support.CONCRETE_STRUT, Support.MIXED_STRUT])
    else:
        retaining = rng.choice([Retaining.SMW, Retaining.BORED_PILE])
        support = rng.choice([Support.STEEL_STRUT, Support.CONCRETE_STRUT])
    safety = 1 if depth >= 12 else 2
    environment = rng.choice([1, 2, 2]) if depth >= 12 else rng.choice([2, 3])
    levels = 2 if depth < 10 else 3 if depth < 16 else 4 if depth < 21 else 5
    layers, day = [], 0.0
    struts = [round(1.0 + (depth - 2.0) * (j + 1) / (levels + 1) * 1.0, 1) for j in range(levels)]
    targets = [*[s + 0.5 for s in struts], depth]
    dig_scale = math.sqrt(area / 4000)
    for n, to in enumerate(targets):
        dig = round(max(3.0, rng.uniform(4, 8) * dig_scale), 1)
        strut = f"第{n + 1}道{'钢筋混凝土' if _concrete(support, n) else '钢'}支撑" \
            if n < levels else ""
        layers.append((day, dig, round(min(to, depth), 1), strut))
        build = rng.uniform(10, 16) if strut and _concrete(support, n) else rng.uniform(3, 6)
        day += dig + (build if strut else 0)
    slab_day = round(day + rng.uniform(4, 8), 1)
    pit = PitPlan(code=code, name=f"{code[-1]}号基坑" if code[-1].isdigit() else code,
                  depth=depth, safety_grade=safety, environment_grade=environment,
                  retaining=retaining, support=support, outline=outline,
                  layers=tuple(layers), slab_day=slab_day)
    return replace(pit, points=tuple(_points(rng, pit, struts, levels)))


def _concrete(support: str, level: int) -> bool:
    return support == Support.CONCRETE_STRUT or (support == Support.MIXED_STRUT and level == 0)


def _points(rng, pit: PitPlan, struts: list[float], levels: int) -> list[PointPlan]:
    out: list[PointPlan] = []
    h = pit.depth
    cx_final = rng.uniform(28, 38) + (h - 8) * 1.25  # 30–60 mm by completion
    count: dict[str, int] = {}

    def add(item, x, y, final, **kw):
        count[item] = count.get(item, 0) + 1
        code = f"{ITEM_PREFIX[item]}-{count[item]:02d}"
        out.append(PointPlan(code=code, item=item, x=x, y=y, final=final, **kw))

    for x, y, _, _ in _along(pit.outline, 20):
        add(Item.WALL_TOP_HORIZONTAL, x, y, cx_final * rng.uniform(0.3, 0.5))
        add(Item.WALL_TOP_VERTICAL, x, y, cx_final * rng.uniform(-0.3, 0.25))
    for x, y, _, _ in _along(pit.outline, 40, offset=1.0):
        add(Item.DEEP_HORIZONTAL, x, y, cx_final * rng.uniform(0.75, 1.0),
            tube_depth=round(min(2 * h, h + 18), 0))
    for x, y, side, (nx, ny) in _along(pit.outline, 1e9):
        if side < 30:
            continue
        for d in (3.0, 8.0, 15.0):
            add(Item.GROUND_SETTLEMENT, round(x + nx * d, 1), round(y + ny * d, 1),
                -cx_final * rng.uniform(0.55, 0.8) * math.exp(-d / (0.9 * h)))
    xs = [c[0] for c in pit.outline]
    ys = [c[1] for c in pit.outline]
    w, ln = max(xs), max(ys)
    for k in range(max(2, min(6, round(w * ln / 1500)))):
        add(Item.COLUMN_VERTICAL, round(w * (k + 1) / (max(2, min(6, round(w * ln / 1500))) + 1), 1),
            round(ln / 2, 1), rng.uniform(4, 12))
    for j in range(levels):
        concrete = _concrete(pit.support, j)
        design = rng.choice([5000, 6000, 7000, 8000]) if concrete else rng.choice([2000, 2500, 3000])
        installed = pit.layers[j][0] + pit.layers[j][1] + (12 if concrete else 4)
        for k in range(3 if w * ln < 5000 else 4):
            add(Item.STRUT_FORCE, round(w * (k + 1) / 5, 1), round(ln * (0.3 + 0.1 * k), 1),
                design * rng.uniform(0.35, 0.48), design_value=design, installed=installed)
    for x, y, _, _ in _along(pit.outline, 1e9, offset=2.0):
        add(Item.GROUNDWATER, x, y, -rng.uniform(80, 350), base=-rng.uniform(900, 1800))
    return out


def shape_peak_rate(pit: PitPlan) -> float:
    """The fastest a deformation point of movement 1 moves (per day), on a half-day grid."""
    unit = PointPlan(code="", item=Item.WALL_TOP_HORIZONTAL, x=0, y=0, final=1.0)
    ts = [k / 2 for k in range(-2, int(2 * (pit.slab_day + 30)))]
    values = [trend(pit, unit, t) for t in ts]
    return max(abs(b - a) * 2 for a, b in itertools.pairwise(values))


def design_alarms(rng: random.Random, pit: PitPlan, point: PointPlan,
                  shape_rate: float) -> PointPlan:
    """The designer's 预警值 for a deformation point: above its predicted movement with a
    margin (an honest pit stays green), rates at 2–3 mm/d or more where the design predicts
    faster movement. Forces and water levels keep the table's defaults."""
    if point.item in (Item.STRUT_FORCE, Item.GROUNDWATER):
        return point
    cumulative = max(10.0, abs(point.final) * rng.uniform(1.35, 1.6) + 3)
    rate = max(3.0, 2.5 * abs(point.final) * shape_rate)
    return replace(point, alarm_cumulative=round(cumulative), alarm_rate=math.ceil(rate * 2) / 2)
