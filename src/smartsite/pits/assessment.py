"""Assess a point's series against its 预警值 and a pit's points into a proposed colour.

Pure (no database): `services.assess_pit` feeds it the rows and stores what it returns, and
the benchmark calls it on 55,000 points. GB 50497-2019 chapter 8 as the assessment reads it
(docs/pits.md has the citations; the numbers are `Parameter` rows):

* the cumulative 预警值 of a deformation item is the smaller of the table's absolute value
  and its percentage of the design depth H (a designer's value for the point replaces both);
* a rate alarm fires when the rate between the last two surveys reaches the rate value, or
  when the last `consecutive` rates all exceed `watch_fraction` (70 %) of it;
* after the base slab is cast, rates should stay under `after_slab_fraction` (70 %) of the
  rate value: a rate above that, between two surveys after the slab, is a warning;
* forces and pressures are judged as a percentage of the point's design value.

Levels: normal, watch (≥ 70 % of a 预警值), warning (a 预警值 reached), over (the cumulative
and the rate 预警值 both reached, or a force at its full design value). The pit's proposal:
red when a point is over, yellow when one is at warning, else green.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from smartsite.pits.choices import COLOUR_ORDER, LEVEL_ORDER, Colour, Level, Measure

__all__ = ["Finding", "Limits", "Params", "Proposal", "assess_point", "propose", "resolve_limits"]


@dataclass(frozen=True)
class Params:
    watch_fraction: float = 0.7
    consecutive: int = 3
    after_slab_fraction: float = 0.7
    baseline_surveys: int = 3


@dataclass(frozen=True)
class Limits:
    """A point's 预警值: `cumulative` in mm (deformation, water, crack) or in % of the design
    value (force); `rate` in mm/d. `source` says where they come from."""

    measure: str
    cumulative: float | None
    rate: float | None
    source: str


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    cumulative: float | None  # mm, or % of the design value for a force
    rate: float | None  # per day, between the last two surveys
    baseline: float | None
    reasons: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Proposal:
    colour: str
    reasons: list[dict] = field(default_factory=list)


def resolve_limits(*, measure: str, item: str, grade: int, retaining: str, depth_m: float,
                   rows: Iterable, design_cumulative=None, design_rate=None) -> Limits:
    """The 预警值 of a point: the designer's where given, else the table row for the item,
    the pit's grade and retaining type (`structure` lists the retaining codes a row applies
    to; an empty one applies to every type), at the stricter end of its range. `rows` are
    AlarmValue-like objects."""
    rows = [r for r in rows if r.item == item and r.grade == grade]
    exact = [r for r in rows if retaining in r.structure.split()]
    # Rows for surroundings name the protected object (a pressure pipe, an old building):
    # without a designer's value the strictest of them applies.
    row = (exact or [r for r in rows if not r.structure]
           or sorted(rows, key=lambda r: (r.cumulative_mm_lo is None, r.cumulative_mm_lo or 0))
           or [None])[0]
    source = "设计值" if design_cumulative is not None or design_rate is not None else ""
    if row is not None and not source:
        source = row.code
    cumulative = _f(design_cumulative)
    rate = _f(design_rate)
    if row is not None:
        if cumulative is None:
            if measure == Measure.FORCE:
                cumulative = _f(row.design_pct_lo)
            else:
                options = [_f(row.cumulative_mm_lo)]
                if row.cumulative_pct_h_lo is not None and measure == Measure.DEFORMATION:
                    options.append(float(row.cumulative_pct_h_lo) / 100 * depth_m * 1000)
                options = [o for o in options if o is not None]
                cumulative = min(options) if options else None
        if rate is None and measure != Measure.FORCE:
            rate = _f(row.rate_lo)
    return Limits(measure, cumulative, rate, source)


def assess_point(series: Sequence[tuple[datetime.datetime, float]], limits: Limits,
                 params: Params = Params(), *, baseline: float | None = None,
                 design_value: float | None = None,
                 slab_cast_at: datetime.datetime | None = None) -> Finding:
    """The level of a point after its latest reading. `series` is (measured_at, value) in
    time order; `baseline` None means the mean of its first `baseline_surveys` values."""
    if not series:
        return Finding(Level.NORMAL, None, None, baseline, ({"code": "no_data", "text": "暂无数据"},))
    if limits.measure == Measure.FORCE:
        return _force(series[-1][1], limits, params, design_value)
    if limits.measure == Measure.CRACK:
        return _absolute(series[-1][1], limits, params)
    if baseline is None:
        if len(series) < params.baseline_surveys:
            return Finding(Level.NORMAL, None, None, None, (
                {"code": "baseline",
                 "text": f"初始值测定中（已测 {len(series)}/{params.baseline_surveys} 次）"},))
        baseline = sum(v for _, v in series[:params.baseline_surveys]) / params.baseline_surveys
    cumulative = [(at, value - baseline) for at, value in series]
    rates = [(b[0], (b[1] - a[1]) / _days(a[0], b[0]))
             for a, b in itertools.pairwise(cumulative) if b[0] > a[0]]
    reasons: list[dict] = []
    level = Level.NORMAL
    now_cum = cumulative[-1][1]
    cum_level = _against(abs(now_cum), limits.cumulative, params.watch_fraction)
    if cum_level != Level.NORMAL:
        reasons.append(_reason("cumulative", cum_level, abs(now_cum), limits.cumulative, "mm",
                               params.watch_fraction))
        level = _worse(level, cum_level)
    rate_level = Level.NORMAL
    now_rate = rates[-1][1] if rates else None
    if now_rate is not None and limits.rate:
        rate_level = _against(abs(now_rate), limits.rate, params.watch_fraction)
        if rate_level != Level.NORMAL:
            reasons.append(_reason("rate", rate_level, abs(now_rate), limits.rate, "mm/d",
                                   params.watch_fraction))
        recent = [abs(r) for _, r in rates[-params.consecutive:]]
        if (rate_level == Level.WATCH and len(recent) == params.consecutive
                and all(r > params.watch_fraction * limits.rate for r in recent)):
            rate_level = Level.WARNING
            reasons.append({"code": "rate_sustained", "level": Level.WARNING,
                            "text": f"变化速率连续 {params.consecutive} 次超过预警值的"
                                    f" {params.watch_fraction:.0%}（{limits.rate:g} mm/d）"})
        if (slab_cast_at is not None and rate_level != Level.WARNING and len(cumulative) >= 2
                and cumulative[-2][0] >= slab_cast_at
                and abs(now_rate) >= params.after_slab_fraction * limits.rate):
            rate_level = Level.WARNING
            reasons.append({"code": "rate_after_slab", "level": Level.WARNING,
                            "text": f"底板浇筑后变化速率 {abs(now_rate):.2f} mm/d 未降至预警值的"
                                    f" {params.after_slab_fraction:.0%} 以下"})
        level = _worse(level, rate_level)
    if cum_level == Level.WARNING and rate_level == Level.WARNING:
        level = Level.OVER
        reasons.append({"code": "both", "level": Level.OVER,
                        "text": "累计值和变化速率均达到预警值"})
    return Finding(level, now_cum, now_rate, baseline, tuple(reasons))


def propose(findings: Iterable[tuple[str, Finding]]) -> Proposal:
    """The pit's colour from its points' findings ((point code, finding) pairs)."""
    colour = Colour.GREEN
    reasons = []
    for code, finding in findings:
        if LEVEL_ORDER[finding.level] < LEVEL_ORDER[Level.WARNING]:
            continue
        point_colour = Colour.RED if finding.level == Level.OVER else Colour.YELLOW
        if COLOUR_ORDER[point_colour] > COLOUR_ORDER[colour]:
            colour = point_colour
        for reason in finding.reasons:
            if LEVEL_ORDER[reason.get("level", Level.NORMAL)] >= LEVEL_ORDER[Level.WARNING]:
                reasons.append({"point": code, **reason})
    return Proposal(colour, reasons)


# ---------------------------------------------------------------- helpers


def _force(value: float, limits: Limits, params: Params, design_value) -> Finding:
    if not design_value:
        return Finding(Level.NORMAL, None, None, None, (
            {"code": "no_design_value", "text": "缺少设计值，无法按设计值百分比评估"},))
    pct = value / float(design_value) * 100
    level = _against(pct, limits.cumulative, params.watch_fraction)
    reasons = []
    if pct >= 100:
        level = Level.OVER
        reasons.append({"code": "design_value", "level": Level.OVER,
                        "text": f"达到设计值的 {pct:.0f}%"})
    elif level != Level.NORMAL:
        reasons.append(_reason("force", level, pct, limits.cumulative, "%", params.watch_fraction))
    return Finding(level, pct, None, None, tuple(reasons))


def _absolute(value: float, limits: Limits, params: Params) -> Finding:
    level = _against(abs(value), limits.cumulative, params.watch_fraction)
    reasons = ((_reason("width", level, abs(value), limits.cumulative, "mm",
                        params.watch_fraction),) if level != Level.NORMAL else ())
    return Finding(level, value, None, None, reasons)


def _against(magnitude: float, limit: float | None, watch: float) -> str:
    if not limit:
        return Level.NORMAL
    if magnitude >= limit:
        return Level.WARNING
    if magnitude >= watch * limit:
        return Level.WATCH
    return Level.NORMAL


LABELS = {"cumulative": "累计变化", "rate": "变化速率", "force": "内力", "width": "裂缝宽度"}


def _reason(code: str, level: str, value: float, limit: float, unit: str,
            watch: float = Params.watch_fraction) -> dict:
    verb = "达到预警值" if level == Level.WARNING else f"超过预警值的 {watch:.0%}"
    return {"code": code, "level": level, "value": round(value, 3), "limit": limit,
            "text": f"{LABELS[code]} {value:.2f} {unit} {verb}（{limit:g} {unit}）"}


def _worse(a: str, b: str) -> str:
    return a if LEVEL_ORDER[a] >= LEVEL_ORDER[b] else b


def _days(a: datetime.datetime, b: datetime.datetime) -> float:
    return (b - a).total_seconds() / 86400


def _f(value) -> float | None:
    return None if value is None else float(value)
