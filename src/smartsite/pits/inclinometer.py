"""Inclinometer (测斜) depth profiles: deep horizontal displacement (GB 50497-2019 §6.4 practice).

Pure: no Django, no I/O. A traversing probe is lowered to the bottom of a tube fixed in stable
ground and read every L metres (usually 0.5 m) on the way up, once with its wheels facing the
expected movement (A0) and once turned 180° (A180).

Reading convention (checked with the search tool, not copied): a reading is K·sin θ, θ the
tilt of the probe from the vertical and K the instrument constant in reading units per unit
sine (e.g. digits; K = 1 when readings are plain sines). A reading belongs to the depth of the
probe's top wheels and describes the L metres below it (Durham Geo/Slope Indicator note "why
cable marks are read at the top wheels"). Turning the probe negates the tilt term but not the
probe's zero offset b: A0 = K·sin θ + b, A180 = −K·sin θ + b, so (A0 − A180)/2 = K·sin θ and
b = (A0 + A180)/2 ("checksum") cancels — RST Instruments MEMS Digital Inclinometer manual,
"mean deviation" (A+ − A−)/2; Geokon GK-604D manual appendix E, deflection = M·RINT·(A+ − A−)/2;
Soil Instruments digital inclinometer manual, Inc = (A+ − A−)/2·G. Hence per interval

    deviation [mm] = 1000 · L [m] · (A0 − A180) / (2·K)

and the tube's position at depth d (its "absolute" or cumulative deviation) is the sum of the
deviations of the readings at d and below: the tube's bottom, L under the deepest reading, is
fixed. A survey's displacement is its position minus the baseline position (the mean of the
first N surveys, N chosen by the caller). Positive = towards A0 (the excavation, by the usual
installation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

SPACING_TOLERANCE = 1e-6  # m; depths are metres with at most a few decimals


@dataclass(frozen=True)
class Profile:
    """Values per depth (mm), depths ascending (m, from the top of the tube), with the largest
    |value| and its depth (the shallowest one on a tie)."""

    depths: tuple[float, ...]
    values: tuple[float, ...]
    max_abs: float = field(init=False)
    max_depth: float = field(init=False)

    def __post_init__(self):
        if not self.depths or len(self.depths) != len(self.values):
            raise ValueError("测斜剖面的深度与数值应一一对应且不为空")
        i = max(range(len(self.values)), key=lambda j: (abs(self.values[j]), -j))
        object.__setattr__(self, "max_abs", abs(self.values[i]))
        object.__setattr__(self, "max_depth", self.depths[i])

    def at(self, depth: float) -> float:
        for d, v in zip(self.depths, self.values, strict=True):
            if abs(d - depth) <= SPACING_TOLERANCE:
                return v
        raise KeyError(depth)


def fmt_depth(depth: float) -> str:
    """12.5 → "12.5", 3 → "3.0", 0.25 → "0.25" (for messages)."""
    text = f"{depth:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _number(value, what: str, depth: float) -> float:
    if value is None:
        gap = f"的读数缺少 {what}" if what.startswith("A") else f"缺少{what}"
        raise ValueError(f"深度 {fmt_depth(depth)} m {gap}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"深度 {fmt_depth(depth)} m 的 {what} 不是数值:{value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"深度 {fmt_depth(depth)} m 的 {what} 不是有限数:{value!r}")
    return number


def _depth(value) -> float:
    try:
        depth = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"深度不是数值:{value!r}") from None
    if not math.isfinite(depth) or depth < 0:
        raise ValueError(f"深度应为非负有限数:{value!r}")
    return depth


def _positive(value: float, what: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{what}应为正数:{value!r}")
    return float(value)


def _check_depths(depths: Sequence[float], interval: float) -> None:
    """Ascending depths: no duplicates, every step exactly `interval` (m)."""
    if not depths:
        raise ValueError("测斜剖面没有任何深度的读数")
    for upper, lower in pairwise(depths):
        step = lower - upper
        if abs(step) <= SPACING_TOLERANCE:
            raise ValueError(f"深度 {fmt_depth(lower)} m 的读数重复")
        if abs(step - interval) > SPACING_TOLERANCE:
            raise ValueError(
                f"深度 {fmt_depth(upper)} m 与 {fmt_depth(lower)} m 的间距为 {fmt_depth(step)} m,"
                f"应为 {fmt_depth(interval)} m(缺测或间距不规则)")


def _sorted_rows(rows: Iterable[Sequence], width: int) -> list[tuple]:
    out = []
    for row in rows:
        if len(row) != width:
            raise ValueError(f"每行应有 {width} 项(深度与读数):{tuple(row)!r}")
        out.append((_depth(row[0]), *row[1:]))
    out.sort(key=lambda r: r[0])
    return out


def deviations(rows: Iterable[Sequence], *, k: float, interval: float = 0.5) -> Profile:
    """Each interval's lateral deviation (mm) from rows (depth m, A0, A180), any order.

    A missing reading (None) or a non-finite one raises ValueError naming the depth."""
    k = _positive(k, "仪器常数 K ")
    interval = _positive(interval, "测读间距 L ")
    table = _sorted_rows(rows, 3)
    depths = [r[0] for r in table]
    _check_depths(depths, interval)
    values = []
    for depth, a0, a180 in table:
        a0 = _number(a0, "A0", depth)
        a180 = _number(a180, "A180", depth)
        values.append(1000.0 * interval * (a0 - a180) / (2.0 * k))
    return Profile(tuple(depths), tuple(values))


def cumulate(increments: Profile) -> Profile:
    """The tube's position (mm) at each depth: the sum of the deviations at that depth and
    below (the bottom is fixed)."""
    total = 0.0
    positions = []
    for value in reversed(increments.values):
        total += value
        positions.append(total)
    return Profile(increments.depths, tuple(reversed(positions)))


def position(rows: Iterable[Sequence], *, k: float, interval: float = 0.5) -> Profile:
    """A survey's position profile (mm) from rows (depth m, A0, A180)."""
    return cumulate(deviations(rows, k=k, interval=interval))


def from_cumulative(rows: Iterable[Sequence], *, interval: float = 0.5) -> Profile:
    """A survey given directly as rows (depth m, cumulative value mm), any order, validated
    like readings. The values are taken as they come (positions, or a company's displacements
    already cumulated from the fixed bottom); compare them only with profiles of the same kind."""
    interval = _positive(interval, "测读间距 L ")
    table = _sorted_rows(rows, 2)
    depths = [r[0] for r in table]
    _check_depths(depths, interval)
    return Profile(tuple(depths), tuple(_number(v, "累计位移", d) for d, v in table))


def _same_depths(profile: Profile, reference: Profile, what: str) -> None:
    ref = set(_keyed(reference.depths))
    got = set(_keyed(profile.depths))
    for depth in profile.depths:
        if _key(depth) not in ref:
            raise ValueError(f"深度 {fmt_depth(depth)} m 不在{what}中")
    for depth in reference.depths:
        if _key(depth) not in got:
            raise ValueError(f"{what}的深度 {fmt_depth(depth)} m 本次没有读数")


def _key(depth: float) -> int:
    return round(depth * 1000)  # mm; depths are read every 0.5 m (at finest every few cm)


def _keyed(depths: Iterable[float]) -> list[int]:
    return [_key(d) for d in depths]


def baseline(surveys: Sequence[Profile], n: int) -> Profile:
    """The initial profile: the mean of the first `n` surveys (in the order given), which must
    all have the same depths."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"初始值应取至少 1 次观测的平均:{n!r}")
    if len(surveys) < n:
        raise ValueError(f"初始值需要 {n} 次观测,只有 {len(surveys)} 次")
    first = surveys[0]
    for survey in surveys[1:n]:
        _same_depths(survey, first, "第一次初始观测")
    count = len(first.depths)
    means = tuple(sum(s.values[i] for s in surveys[:n]) / n for i in range(count))
    return Profile(first.depths, means)


def displacement(survey: Profile, initial: Profile) -> Profile:
    """The survey's displacement (mm) from the initial profile, depth by depth."""
    _same_depths(survey, initial, "初始剖面")
    return Profile(
        survey.depths, tuple(v - b for v, b in zip(survey.values, initial.values, strict=True)))
