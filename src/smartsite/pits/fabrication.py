"""Monitoring data that looks fabricated, for a district's review (issue [7/10]).

Pure: no Django, no I/O. Each detector takes plain series and returns `Finding`s with their
evidence (JSON-ready: dates as ISO strings, numbers rounded); none decides anything, a
reviewer does. Fabricated monitoring data is an offence (《上海市建设工程质量和安全管理条例》),
so the defaults are set for no false alarm on honest surveys (noise ±0.3–2 mm, drift 1–3 mm/d
with creep; tests/pits/test_fabrication.py) at the cost of missing clumsy-but-noisy fakes.

A series is a sequence of (date or datetime, value) in any order, one value per survey; the
caller names each series (e.g. "project/point") and reads values in the instrument's unit.
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import NormalDist

REPEATED_VALUE = "repeated_value"  # one point: the same value survey after survey
COPIED_SURVEY = "copied_survey"  # a whole survey equal to an earlier one
TOO_SMOOTH = "too_smooth"  # far less scatter than the instrument can achieve
DUPLICATE_SERIES = "duplicate_series"  # two series with the same increments (maybe offset)
UNCHECKED_SURVEY = "unchecked_survey"  # surveys on days no monitoring staff was on site

DAY = datetime.timedelta(days=1)
TRIM = 0.9  # the share of deviations kept by `noise_estimate`
# E|Z| over the TRIM share of Gaussian |Z| nearest 0: 2(φ(0) − φ(z))/TRIM, z the (1 + TRIM)/2 quantile.
TRIMMED_MEAN_ABS = 2 * (NormalDist().pdf(0) - NormalDist().pdf(NormalDist().inv_cdf((1 + TRIM) / 2))) / TRIM

Series = Sequence[tuple[datetime.date, float]]


@dataclass(frozen=True)
class Finding:
    kind: str  # one of the constants above
    subjects: tuple[str, ...]  # the series (or, for a copied survey, the dates) concerned
    evidence: dict


def _day(at: datetime.date) -> float:
    """Days on one scale for dates and (wall-clock) datetimes alike."""
    if isinstance(at, datetime.datetime):
        return at.toordinal() + (at - at.replace(hour=0, minute=0, second=0, microsecond=0)) / DAY
    return float(at.toordinal())


def _iso(at: datetime.date) -> str:
    return at.isoformat()


def _sorted(series: Series) -> list[tuple[datetime.date, float]]:
    points = sorted(series, key=lambda p: _day(p[0]))
    for at, value in points:
        if not math.isfinite(value):
            raise ValueError(f"{_iso(at)} 的数值不是有限数:{value!r}")
    return points


def repeated_values(series: Mapping[str, Series], *, min_run: int = 5,
                    decimals: int = 2) -> list[Finding]:
    """Runs of at least `min_run` consecutive surveys with exactly the same value (to
    `decimals`) on one point. A value that truly moves 1–3 mm a day never repeats; a stable
    point read to 0.1 mm with ±0.3 mm noise repeats a reading about one time in ten, so a run
    of 5 (four repeats in a row) comes by chance about once in 10⁴ surveys."""
    found = []
    for name, raw in series.items():
        points = _sorted(raw)
        start = 0
        for i in range(1, len(points) + 1):
            if i < len(points) and round(points[i][1], decimals) == round(points[start][1], decimals):
                continue
            if i - start >= min_run:
                found.append(Finding(REPEATED_VALUE, (name,), {
                    "value": round(points[start][1], decimals), "surveys": i - start,
                    "from": _iso(points[start][0]), "to": _iso(points[i - 1][0])}))
            start = i
    return found


def copied_surveys(surveys: Mapping[datetime.date, Mapping[str, float]], *, min_points: int = 5,
                   min_share: float = 0.8, decimals: int = 2) -> list[Finding]:
    """Surveys (date → {point: value}) of which at least `min_share` of the points read on an
    earlier date too, and at least `min_points` of them, carry exactly that date's values.
    One finding per copied survey, naming the most similar earlier date."""
    dates = sorted(surveys, key=_day)
    rounded = {d: {p: round(v, decimals) for p, v in surveys[d].items()} for d in dates}
    found = []
    for i, date in enumerate(dates):
        best = None
        for earlier in dates[:i]:
            shared = rounded[date].keys() & rounded[earlier].keys()
            same = sorted(p for p in shared if rounded[date][p] == rounded[earlier][p])
            if len(same) >= min_points and len(same) >= min_share * len(shared) and (
                    best is None or len(same) > len(best[1])):
                best = (earlier, same, len(shared))
        if best:
            earlier, same, shared = best
            found.append(Finding(COPIED_SURVEY, (_iso(date), _iso(earlier)), {
                "date": _iso(date), "copied_from": _iso(earlier), "points": shared,
                "identical": len(same), "share": round(len(same) / shared, 3),
                "identical_points": same}))
    return found


def noise_estimate(series: Series) -> float | None:
    """The scatter (σ) of the values around a smooth curve, robustly. Each interior value's
    deviation from the straight line through its two neighbours is scaled to σ (for white
    noise its variance is σ²(1 + w₀² + w₂²), w the interpolation weights: 1.5σ² for even
    spacing, the second difference's 6σ² / 4); then the mean absolute deviation from their
    median over the 90 % nearest to it (a few wild values do not hide a smooth series), made
    consistent for Gaussian noise. A trend's own curvature only adds to it: an honest series
    never looks smoother for its trend. None with fewer than 3 values."""
    points = _sorted(series)
    scaled = []
    for (t0, y0), (t1, y1), (t2, y2) in zip(points, points[1:], points[2:], strict=False):
        a, b, c = _day(t0), _day(t1), _day(t2)
        if not a < b < c:
            continue
        w0, w2 = (c - b) / (c - a), (b - a) / (c - a)
        scaled.append((y1 - w0 * y0 - w2 * y2) / math.sqrt(1 + w0 * w0 + w2 * w2))
    if not scaled:
        return None
    centre = statistics.median(scaled)
    nearest = sorted(abs(r - centre) for r in scaled)[:max(1, int(len(scaled) * TRIM))]
    return statistics.fmean(nearest) / TRIMMED_MEAN_ABS


def too_smooth(series: Mapping[str, Series], precision: float | Mapping[str, float], *,
               ratio: float = 0.25, min_length: int = 20) -> list[Finding]:
    """Series whose scatter is below `ratio` × the instrument's stated precision (its 中误差,
    a standard deviation, e.g. 0.3 mm for a level; one number, or one per series).

    Needs `min_length` surveys. Of 20,000 simulated honest series of 20 surveys (σ = 1, creep,
    every day or two) none was estimated below 0.29σ, so a quarter of the precision leaves a
    margin; a desk-made curve read to 0.1 mm scatters ~0.03 mm. A series of a point declared
    noise-free (precision 0) or without a precision is never judged."""
    if not 0 < ratio < 1:
        raise ValueError(f"比例应在 0 与 1 之间:{ratio!r}")
    found = []
    for name, raw in series.items():
        stated = precision.get(name) if isinstance(precision, Mapping) else precision
        if stated is None or stated == 0:
            continue
        if not (math.isfinite(stated) and stated > 0):
            raise ValueError(f"{name} 的仪器精度应为非负数:{stated!r}")
        points = _sorted(raw)
        if len(points) < min_length:
            continue
        sigma = noise_estimate(points)
        if sigma is not None and sigma < ratio * stated:
            found.append(Finding(TOO_SMOOTH, (name,), {
                "noise": round(sigma, 4), "precision": stated, "ratio": round(sigma / stated, 3),
                "threshold": ratio, "surveys": len(points),
                "from": _iso(points[0][0]), "to": _iso(points[-1][0])}))
    return found


def duplicate_series(series: Mapping[str, Series], *, window: int = 10, decimals: int = 2,
                     min_distinct: int = 3) -> list[Finding]:
    """Pairs of series sharing a stretch of at least `window` identical consecutive increments
    (to `decimals`): a copy, whatever the offset in value or in dates.

    Every window of increments is hashed once (a dict from the increments to where they
    occur), so many series are compared in one pass. Windows with fewer than `min_distinct`
    different increments (a point at rest) are left to `repeated_values`. Chance matches: two
    honest increments agree to 0.01 mm with probability ~0.01 (noise ≥ 0.3 mm), ten in a row
    ~10⁻²⁰; at 0.1 mm ~0.1 and ~10⁻¹⁰ — keep `window` ≥ 10 when values are read to 0.1 mm."""
    if window < 2:
        raise ValueError(f"比较窗口至少 2 个增量:{window!r}")
    sorted_series = {name: _sorted(raw) for name, raw in series.items()}
    where: dict[tuple, list[tuple[str, int]]] = defaultdict(list)
    for name, points in sorted_series.items():
        steps = [round(round(b[1], decimals) - round(a[1], decimals), decimals)
                 for a, b in pairwise(points)]
        for j in range(len(steps) - window + 1):
            key = tuple(steps[j:j + window])
            if len(set(key)) >= min_distinct:
                where[key].append((name, j))
    starts: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    for places in where.values():
        for i, (a, ja) in enumerate(places):
            for b, jb in places[i + 1:]:
                if a != b:
                    (a1, j1), (b1, k1) = sorted([(a, ja), (b, jb)])
                    starts[(a1, b1, k1 - j1)].add(j1)
    found = []
    for (a, b, shift), js in sorted(starts.items()):
        for first, last in _runs(sorted(js)):
            pa, pb = sorted_series[a], sorted_series[b]
            length = last - first + window  # increments
            span_a = pa[first:first + length + 1]
            span_b = pb[first + shift:first + shift + length + 1]
            offset = statistics.fmean(vb - va for (_, va), (_, vb) in zip(span_a, span_b, strict=True))
            found.append(Finding(DUPLICATE_SERIES, (a, b), {
                "increments": length, "offset": round(offset, decimals),
                "a_from": _iso(span_a[0][0]), "a_to": _iso(span_a[-1][0]),
                "b_from": _iso(span_b[0][0]), "b_to": _iso(span_b[-1][0]),
                "whole": length == len(pa) - 1 == len(pb) - 1}))
    return found


def _runs(numbers: Sequence[int]) -> Iterable[tuple[int, int]]:
    """[1, 2, 3, 7, 8] → (1, 3), (7, 8)."""
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            yield start, prev
            start = n
        prev = n
    yield start, prev


def unchecked_survey_dates(survey_dates: Collection[datetime.date],
                           check_in_dates: Collection[datetime.date]) -> list[datetime.date]:
    """The survey dates on which none of the monitoring staff checked in on site (face
    recognition, 沪建规范〔2024〕13号 第三十三条), ascending. Local (Asia/Shanghai) calendar
    dates, not datetimes: a UTC timestamp would fall on the wrong day before 08:00."""
    for at in (*survey_dates, *check_in_dates):
        if isinstance(at, datetime.datetime) or not isinstance(at, datetime.date):
            raise ValueError(f"应为当地日期(不是时间):{at!r}")
    return sorted(set(survey_dates) - set(check_in_dates))
