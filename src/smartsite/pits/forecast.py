"""Time to alarm: "at this rate, yellow in ~N days" for one monitoring point.

Pure: no Django, no I/O, no wall clock. The trend of the point's recent cumulative values
(the last `window` before its latest reading) is fitted by least squares, as a straight line,
or as a parabola when its curvature is significant (rate and its change: creep that speeds
up). The estimate is the first moment within `horizon` at which the fitted trend reaches the
alarm value on either side (values may be negative, as settlement is: |value| = alarm).

Uncertainty: the trend's confidence band (the fit's standard errors, Student's t) gives the
interval: the earliest moment is where the band's near edge reaches the alarm, the latest
where its far edge does (None when that is beyond the horizon). It is the uncertainty of the
trend's crossing, the day a smooth curve through the readings would cross; a single reading
may cross a little earlier or later by the instrument's noise.

No false alarms from noise: a straight-line trend whose rate is not significant at `level`
is "flat"; a parabola is used only when its curvature is significant at `curvature_level`.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

DAY = datetime.timedelta(days=1)
GRID_STEPS = 3000  # the band is scanned on this many steps over the horizon

CROSSED = "crossed"  # the latest reading is at or beyond the alarm value
APPROACHING = "approaching"  # the trend reaches the alarm value within the horizon
BEYOND_HORIZON = "beyond_horizon"  # moving towards it, but not within the horizon (or levelling)
RECEDING = "receding"  # |value| is decreasing
FLAT = "flat"  # no significant rate
TOO_FEW = "too_few"  # fewer than `min_points` readings in the window


@dataclass(frozen=True)
class Forecast:
    outcome: str  # one of the constants above
    crossing_at: datetime.datetime | None  # estimate (APPROACHING) or first reading over (CROSSED)
    days: float | None  # from `now` to crossing_at
    earliest: datetime.datetime | None  # the interval (APPROACHING only)
    latest: datetime.datetime | None  # None: beyond the horizon
    kind: str | None  # "linear" | "quadratic"; None when nothing was fitted
    rate: float | None  # value units per day at the latest reading (mm/d), signed
    acceleration: float | None  # per day² (mm/d²); 0.0 for a straight line
    target: float | None  # the signed alarm value the trend heads for (±alarm)
    points: int  # readings in the window
    level: float  # the interval's confidence level


def t_quantile(level: float, df: int) -> float:
    """Two-sided Student t quantile (e.g. 0.95, 10 → 2.228), by the Cornish–Fisher expansion in
    the normal quantile (Abramowitz & Stegun 26.7.5); within 0.002 of the tables for df ≥ 3."""
    z = NormalDist().inv_cdf((1 + level) / 2)
    if df <= 0:
        return math.inf
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class _Fit:
    coef: np.ndarray  # c0 + c1·x + c2·x² (x in days, 0 at the latest reading)
    cov: np.ndarray
    df: int

    def value(self, x):
        return np.polyval(self.coef[::-1], x)

    def se(self, x):
        powers = np.vander(np.atleast_1d(x), len(self.coef), increasing=True)
        return np.sqrt(np.einsum("ij,jk,ik->i", powers, self.cov, powers))

    def z(self, i: int) -> float:
        """|coefficient| / its standard error (inf for a noise-free fit of a non-zero one)."""
        se = math.sqrt(max(self.cov[i, i], 0.0))
        size = abs(float(self.coef[i]))
        if se == 0:
            return math.inf if size > 1e-12 else 0.0
        return size / se


def _fit(x: np.ndarray, y: np.ndarray, degree: int) -> _Fit:
    design = np.vander(x, degree + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    df = len(x) - degree - 1
    residual = y - design @ coef
    s2 = float(residual @ residual) / df
    cov = s2 * np.linalg.inv(design.T @ design)
    return _Fit(coef, cov, df)


def _first_reach(xs: np.ndarray, curve: np.ndarray, target: float) -> float | None:
    """The first x where `curve` reaches `target` from the side it starts on (interpolated)."""
    sign = 1.0 if target > 0 else -1.0
    over = sign * curve >= sign * target
    if not over.any():
        return None
    i = int(np.argmax(over))
    if i == 0:
        return float(xs[0])
    x0, x1, c0, c1 = xs[i - 1], xs[i], curve[i - 1], curve[i]
    return float(x0 + (x1 - x0) * (target - c0) / (c1 - c0))


def forecast(
    series: Iterable[tuple[datetime.datetime, float]],
    alarm: float,
    *,
    window: datetime.timedelta = datetime.timedelta(days=14),
    horizon: datetime.timedelta = datetime.timedelta(days=30),
    min_points: int = 5,
    min_points_quadratic: int = 7,
    level: float = 0.95,
    curvature_level: float = 0.99,
    now: datetime.datetime | None = None,
) -> Forecast:
    """When the point's cumulative value (|value|) will reach `alarm` (> 0) at its recent trend.

    `series`: (time, cumulative value) in any order. `window`: how far back from the latest
    reading the trend is fitted. `horizon`: how far ahead an estimate is given. `now`: the
    moment `days` counts from (default: the latest reading)."""
    if not (math.isfinite(alarm) and alarm > 0):
        raise ValueError(f"预警值应为正数:{alarm!r}")
    if min_points < 3 or min_points_quadratic < 4:
        raise ValueError("趋势拟合至少需要 3 个点(抛物线 4 个)")
    points = sorted(series, key=lambda p: p[0])
    for at, value in points:
        if not math.isfinite(value):
            raise ValueError(f"{at.isoformat()} 的数值不是有限数:{value!r}")

    def result(outcome, **fields) -> Forecast:
        base = dict(crossing_at=None, days=None, earliest=None, latest=None, kind=None, rate=None,
                    acceleration=None, target=None, points=0, level=level)
        return Forecast(outcome=outcome, **(base | fields))

    if not points:
        return result(TOO_FEW)
    last_at = points[-1][0]
    now = last_at if now is None else now

    def days_from_now(at):
        return (at - now) / DAY

    if abs(points[-1][1]) >= alarm:
        first = len(points) - 1
        while first > 0 and abs(points[first - 1][1]) >= alarm:
            first -= 1
        crossed_at = points[first][0]
        return result(CROSSED, crossing_at=crossed_at, days=days_from_now(crossed_at),
                      target=math.copysign(alarm, points[-1][1]))

    recent = [(at, value) for at, value in points if at >= last_at - window]
    if len({at for at, _ in recent}) < min_points:
        return result(TOO_FEW, points=len(recent))
    x = np.array([(at - last_at) / DAY for at, _ in recent])
    y = np.array([value for _, value in recent], dtype=float)

    line = _fit(x, y, 1)
    if line.z(1) <= t_quantile(level, line.df):
        return result(FLAT, kind="linear", rate=float(line.coef[1]), acceleration=0.0,
                      points=len(recent))
    fits = [line]
    if len(recent) >= min_points_quadratic:
        fits.append(_fit(x, y, 2))
    curved = len(fits) == 2 and fits[1].z(2) > t_quantile(curvature_level, fits[1].df)
    fit, kind = (fits[1], "quadratic") if curved else (line, "linear")
    rate = float(fit.coef[1])
    acceleration = 2 * float(fit.coef[2]) if curved else 0.0
    current = float(fit.coef[0])
    common = dict(kind=kind, rate=rate, acceleration=acceleration, points=len(recent))

    xs = np.linspace(0.0, horizon / DAY, GRID_STEPS + 1)
    reaches = [(x_at, target) for target in (alarm, -alarm)
               if (x_at := _first_reach(xs, fit.value(xs), target)) is not None]
    if not reaches:
        outcome = RECEDING if rate * current < 0 or (rate == 0 and acceleration * current < 0) \
            else BEYOND_HORIZON
        return result(outcome, **common)
    x_cross, target = min(reaches)
    x_cross = _exact_root(fit, target, x_cross)
    # The interval: the band of the chosen fit; its early end also the other fit's (a straight
    # line may miss an acceleration too weak to be significant yet), its late end also the
    # line's when the parabola was chosen (its curvature may be noise that passed the test).
    # Simulated coverage of the true crossing at level 0.95: see tests/pits/test_forecast.py.
    edges = [_band_reach(f, xs, target, level) for f in fits]
    near = min(e[0] for e in edges if e[0] is not None)
    late = [edges[-1 if curved else 0][1], *([edges[0][1]] if curved else [])]
    far = None if None in late else max(late)
    crossing_at = last_at + x_cross * DAY
    return result(
        APPROACHING, crossing_at=crossing_at, days=days_from_now(crossing_at),
        earliest=last_at + min(near, x_cross) * DAY,
        latest=None if far is None else last_at + max(far, x_cross) * DAY,
        target=target, **common)


def _band_reach(fit: _Fit, xs: np.ndarray, target: float, level: float):
    """Where the near and the far edge of the fit's confidence band first reach `target`."""
    trend = fit.value(xs)
    band = t_quantile(level, fit.df) * fit.se(xs)
    sign = 1.0 if target > 0 else -1.0
    return _first_reach(xs, trend + sign * band, target), _first_reach(xs, trend - sign * band, target)


def _exact_root(fit: _Fit, target: float, near: float) -> float:
    """The root of trend(x) = target closest to the grid's estimate (x ≥ 0)."""
    coef = fit.coef.astype(float).copy()
    coef[0] -= target
    roots = np.roots(coef[::-1])
    real = [float(r.real) for r in roots if abs(r.imag) < 1e-9 and r.real >= 0]
    return min(real, key=lambda r: abs(r - near)) if real else near
