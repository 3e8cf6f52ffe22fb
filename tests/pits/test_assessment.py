"""The assessment against GB 50497-2019's 预警值, row by row at the rows' boundaries, and the
rules of chapter 8 (cumulative = the smaller of absolute and %H, rates, three consecutive rates
above 70 %, after the base slab), without a database."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from importlib import resources
from types import SimpleNamespace

import pytest

from smartsite.pits.assessment import Limits, Params, assess_point, propose, resolve_limits
from smartsite.pits.choices import Level, Measure, measure_of

T0 = datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
EPS = 0.01


def _rows():
    rows = json.loads(resources.files("smartsite.pits").joinpath(
        "fixtures", "alarm_values.json").read_text("utf-8"))
    out = []
    for row in rows:
        fields = {k: (Decimal(v) if isinstance(v, str) and k.endswith(("_lo", "_hi")) else v)
                  for k, v in row.items()}
        out.append(SimpleNamespace(**fields))
    return out


ROWS = _rows()
DEPTH = 15.0  # H (m)


def _limits_of(row) -> Limits:
    retaining = row.structure.split()[0] if row.structure else "diaphragm_wall"
    peers = [r for r in ROWS if r.item == row.item and r.grade == row.grade]
    return resolve_limits(measure=measure_of(row.item), item=row.item, grade=row.grade,
                          retaining=retaining, depth_m=DEPTH, rows=peers)


def _series(*cumulative, start=T0, step=DAY):
    """A point at rest for its three baseline surveys, then the given cumulative values."""
    values = [0.0, 0.0, 0.0, *cumulative]
    return [(start + n * step, v) for n, v in enumerate(values)]


# Only the rows the resolver picks for their item, grade and retaining type are "used".
USED = {}
for row in ROWS:
    limits = _limits_of(row)
    if limits.source == row.code and (limits.cumulative or limits.rate):
        USED[row.code] = (row, limits)


def test_every_row_with_a_value_is_reachable_by_some_retaining_type():
    with_values = {r.code for r in ROWS
                   if any(getattr(r, f) is not None for f in
                          ("cumulative_mm_lo", "rate_lo", "design_pct_lo"))}
    # surroundings rows name protected objects, not retaining types: the strictest applies
    unreachable = with_values - set(USED)
    assert all(r.structure and not set(r.structure.split()) & {
        "diaphragm_wall", "bored_pile", "sheet_pile", "smw", "cement_wall", "soil_nail",
        "composite_soil_nail", "shotcrete", "slope"}
        for r in ROWS if r.code in unreachable), unreachable


@pytest.mark.parametrize("code", sorted(c for c, (_, lim) in USED.items() if lim.cumulative))
def test_each_row_at_its_cumulative_boundaries(code):
    row, limits = USED[code]
    limit = limits.cumulative
    if limits.measure == Measure.FORCE:
        def level(pct):
            return assess_point([(T0, pct * 10)], limits, design_value=1000).level
        assert float(row.design_pct_lo) == limit
    elif limits.measure == Measure.CRACK:
        def level(width):
            return assess_point([(T0, width)], limits).level
    else:
        # a slow drift so that the rate stays quiet: one survey a fortnight
        def level(value):
            return assess_point(_series(value, step=14 * DAY), Limits(
                limits.measure, limits.cumulative, None, limits.source)).level
        expected = [float(row.cumulative_mm_lo)] if row.cumulative_mm_lo is not None else []
        if row.cumulative_pct_h_lo is not None and limits.measure == Measure.DEFORMATION:
            expected.append(float(row.cumulative_pct_h_lo) / 100 * DEPTH * 1000)
        assert limit == pytest.approx(min(expected))  # the smaller of absolute and %H
    assert level(0.7 * limit - EPS) == Level.NORMAL
    assert level(0.7 * limit) == Level.WATCH
    assert level(limit - EPS) == Level.WATCH
    assert level(limit) in (Level.WARNING, Level.OVER)


@pytest.mark.parametrize("code", sorted(c for c, (_, lim) in USED.items() if lim.rate))
def test_each_row_at_its_rate_boundaries(code):
    row, limits = USED[code]
    rate = limits.rate
    assert rate == float(row.rate_lo)
    quiet = Limits(limits.measure, None, rate, limits.source)

    def level(*steps):
        cumulative, total = [], 0.0
        for step in steps:
            total += step
            cumulative.append(total)
        return assess_point(_series(*cumulative), quiet).level

    assert level(0.7 * rate - EPS) == Level.NORMAL
    assert level(0.7 * rate) == Level.WATCH
    assert level(rate - EPS) == Level.WATCH
    assert level(rate) == Level.WARNING
    # three consecutive rates above 70 % → warning; two are not enough
    assert level(0.71 * rate, 0.71 * rate) == Level.WATCH
    assert level(0.71 * rate, 0.71 * rate, 0.71 * rate) == Level.WARNING
    assert level(0.71 * rate, 0.5 * rate, 0.71 * rate, 0.71 * rate) == Level.WATCH


def test_the_smaller_of_absolute_and_percent_of_h_decides_by_depth():
    row = next(r for r in ROWS if r.code == "wth-pile-1")  # 20–30 mm, 0.2–0.3 %H
    shallow = resolve_limits(measure=Measure.DEFORMATION, item=row.item, grade=1,
                             retaining="diaphragm_wall", depth_m=8, rows=ROWS)
    deep = resolve_limits(measure=Measure.DEFORMATION, item=row.item, grade=1,
                          retaining="diaphragm_wall", depth_m=20, rows=ROWS)
    assert shallow.cumulative == pytest.approx(16.0)  # 0.2 % × 8 m
    assert deep.cumulative == pytest.approx(20.0)  # the absolute value is smaller
    designed = resolve_limits(measure=Measure.DEFORMATION, item=row.item, grade=1,
                              retaining="diaphragm_wall", depth_m=20, rows=ROWS,
                              design_cumulative=35, design_rate=4)
    assert (designed.cumulative, designed.rate, designed.source) == (35, 4, "设计值")


def test_after_the_base_slab_a_rate_above_70_percent_is_a_warning():
    limits = Limits(Measure.DEFORMATION, None, 2.0, "t")
    series = _series(1.0, 2.5)  # the last rate 1.5 mm/d = 75 % of 2 mm/d
    assert assess_point(series, limits).level == Level.WATCH
    slab = series[-2][0]  # cast before the last two surveys
    finding = assess_point(series, limits, slab_cast_at=slab)
    assert finding.level == Level.WARNING
    assert any(r["code"] == "rate_after_slab" for r in finding.reasons)
    late_slab = series[-1][0]  # cast between them: the rule does not apply yet
    assert assess_point(series, limits, slab_cast_at=late_slab).level == Level.WATCH


def test_a_point_waits_for_its_baseline_and_a_force_for_its_design_value():
    limits = Limits(Measure.DEFORMATION, 20.0, 2.0, "t")
    waiting = assess_point([(T0, 5.0), (T0 + DAY, 5.1)], limits)
    assert waiting.level == Level.NORMAL and waiting.cumulative is None
    assert "2/3" in waiting.reasons[0]["text"]
    force = Limits(Measure.FORCE, 70.0, None, "t")
    assert assess_point([(T0, 900.0)], force).reasons[0]["code"] == "no_design_value"
    full = assess_point([(T0, 1000.0)], force, design_value=1000)
    assert full.level == Level.OVER


def test_the_pits_colour_is_its_worst_point():
    def finding(level):
        return SimpleNamespace(level=level, reasons=({"code": "x", "level": level, "text": ""},))

    assert propose([("A", finding(Level.WATCH))]).colour == "green"
    assert propose([("A", finding(Level.WATCH)), ("B", finding(Level.WARNING))]).colour == "yellow"
    red = propose([("A", finding(Level.WARNING)), ("B", finding(Level.OVER))])
    assert red.colour == "red" and [r["point"] for r in red.reasons] == ["A", "B"]


def test_parameters_change_the_rules():
    limits = Limits(Measure.DEFORMATION, 20.0, None, "t")
    series = _series(13.0, step=14 * DAY)
    assert assess_point(series, limits).level == Level.NORMAL  # 65 % < 70 %
    assert assess_point(series, limits, Params(watch_fraction=0.6)).level == Level.WATCH
