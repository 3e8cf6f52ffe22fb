"""The simulated city's dust/noise monitors: registered on its sites, with the last day of
readings, and the curves their devices keep following while the demo runs.

Curves
    `sample(profile, t)` is what a monitor measures at `t` (seconds since the epoch): a pure
    function of the city seed, the monitor's MN and `t`, so the back-fill and the live device
    (`devices`) draw the same curve and a restarted device carries on where it was. The
    back-fill draws it a day at a time as arrays (`samples`: bit for bit `sample`'s values).
    Shanghai in late November: particulate with a morning and an evening peak over a regional
    haze that drifts over hours, plus the site's own dust while work goes on (07:00–18:00,
    less at lunch; no work at night); noise from ~60 dB(A) by day to ~48 at night;
    temperature 8–15 ℃ (coldest before dawn), humidity the other way round, a light
    northerly wind, ~102.4 kPa. A few sites (`Plan.exceed`) raise a dust burst every day that
    puts a few 15-minute PM10 means above the limit in force (`DustLimit.in_force`); about a
    third run a daily zero check at night (particulate flagged C), some have a maintenance
    visit on some days (M) and a few a flaky noise-sensor link (B).

Seeding
    `seed_monitors()` registers through `dust.services.register_monitor` the monitors each
    active site needs (the 不装少装 rule's table: ~420 in the demo city) but for a few sites
    left with one, or `count` of them (one per project, the largest sites a second); MNs
    are `monitor_mn(project, index)`, so the simulated dust findings name real monitors.
    Then it back-fills `hours` of one reading a minute per monitor through
    `dust.ingest.ingest` (means included) and writes each monitor's status with
    `dust.ingest.save_status`. A few monitors are stopped (停用, no data for days) and the
    device that will lose its link (`Plan.outage`) has already been silent for half an hour.

Determinism: registrations draw from `city.rng_for(seed, "dust")` in permit-number order;
the curves hash the seed and the MN; so the same seed and `now` give the same monitors and
readings.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import gc
import hashlib
import itertools
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import AuditAction, ProjectStatus
from smartsite.core.models import Project
from smartsite.dust import ingest, services
from smartsite.dust.choices import Particulate, ParticulateUnit
from smartsite.dust.metrics import METRICS, REALTIME_CN
from smartsite.dust.models import DustLimit, Monitor
from smartsite.hj212.handlers import StatusUpdate
from smartsite.simulator import names
from smartsite.simulator.city import rng_for

__all__ = ["CODES", "HOURS", "Plan", "Profile", "SeedReport", "cp_values", "dead_minutes",
           "load_profiles", "plan", "pm10_ug", "profile", "sample", "samples", "seed_monitors",
           "spray_running"]

#: Hours of readings `seed_monitors` back-fills by default.
HOURS = 24
BATCH = 400000  # readings per ingest transaction
#: One HJ 212 code per stored column, in `metrics.METRICS` order.
CODES = tuple(m.codes[0] for m in METRICS)
_PARTICULATE = tuple(m.particulate for m in METRICS)
_DIGITS = (1, 1, 1, 1, 1, 0, 1, 1, 2)  # decimals a device sends per column (µg/m³ for dust)

UTC = datetime.UTC
LOCAL_OFFSET = 8 * 3600  # Shanghai, no DST
EXCEED_SHARE = 0.02  # monitors with a daily dust burst above the limit
STOPPED_SHARE = 0.008  # registered but stopped (停用)
MG_SHARE = 0.18  # monitors set up to report mg/m³
OUTAGE_SILENT_MINUTES = 35  # how long the outage device has been quiet when seeding ends
SHORT_SHARE = 0.03  # of the sites that need two or more monitors: only one installed (不装少装)
#: The planted tampering, dead and spray-failure cases need a city-sized fleet (a handful of
#: monitors in a test keeps only the three device roles).
PLANT_MIN = 20
DEAD_SHARE = 0.01  # monitors silent for hours (no power on site): offline at start
SPRAY_FAIL_SHARE = 0.4  # of the bursting monitors: their linked fog cannon never starts
FLAT_PM10 = 38.0  # µg/m³ the flat-line device sends for ever
SPRAY_HOLD = 10  # minutes a linked spray keeps running after the last high 3-minute mean

LOCATIONS = names.Weighted(
    ["大门出入口", "主出入口洗车平台旁", "东侧围挡", "西侧围挡", "南侧围挡", "北侧围挡（临近居民区）",
     "东南角围挡", "西北角围挡", "土方作业区", "塔吊下", "材料堆场"],
    [6, 4, 2, 2, 2, 3, 1, 1, 2, 1, 1])
VENDOR_TEMPLATES = ("上海{z}环境科技有限公司", "江苏{z}环保仪器有限公司", "深圳市{z}电子科技有限公司",
                    "杭州{z}智能科技有限公司", "北京{z}环境监测技术有限公司", "上海{z}仪器仪表有限公司")


# ---------------------------------------------------------------- hashing


def monitor_mn(project, index: int = 0) -> str:
    """A stable 24-character HJ 212 device code (MN) for a project's `index`-th monitor."""
    digest = hashlib.sha256(f"{project.permit_no}:{index}".encode()).hexdigest().upper()
    return f"31{digest[:22]}"


_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_U8 = 1 / 256
_floor = math.floor


def _key(*parts) -> int:
    """A 64-bit key of `parts`, the same on every run."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _unit(key: int, i: int) -> float:
    """A uniform number in [0, 1) for (key, i)."""
    return _mix(key + i * _GOLDEN) * 5.421010862427522e-20  # / 2**64


def _smooth(key: int, x: float) -> float:
    """Value noise in [-1, 1]: random at the integers, smoothly interpolated between."""
    i = math.floor(x)
    f = x - i
    a = _unit(key, i)
    f = f * f * (3.0 - 2.0 * f)
    return 2.0 * (a + (_unit(key, i + 1) - a) * f) - 1.0


# ---------------------------------------------------------------- the day's shape


def _bump(h: float, centre: float, width: float) -> float:
    d = (h - centre + 12.0) % 24.0 - 12.0  # around the clock
    return math.exp(-0.5 * (d / width) ** 2)


def _ramp(h: float, a: float, b: float) -> float:
    return min(1.0, max(0.0, (h - a) / (b - a)))


def _activity(h: float) -> float:
    """Site work, 0..1: 07:00–18:00 with a lunch break; no work at night (夜间禁止施工)."""
    day = _ramp(h, 6.5, 7.5) * (1.0 - _ramp(h, 17.5, 18.5))
    lunch = 1.0 - 0.55 * _ramp(h, 11.75, 12.0) * (1.0 - _ramp(h, 13.0, 13.25))
    return day * lunch


def _noise_weight(h: float) -> float:
    """Day 1, evening (traffic, clearing up) 0.35, night 0."""
    return max(_activity(h), 0.35 * _ramp(h, 17.5, 18.5) * (1.0 - _ramp(h, 21.5, 22.0)))


def _temperature_shape(h: float) -> float:
    """-1 at 06:30 (coldest), +1 at 14:30, warming over 8 h and cooling over 16 h."""
    since = (h - 6.5) % 24.0
    if since <= 8.0:
        return -math.cos(math.pi * since / 8.0)
    return math.cos(math.pi * (since - 8.0) / 16.0)


def _tables():
    hours = [m / 60.0 for m in range(1440)]
    pm = tuple(0.88 + 0.22 * _bump(h, 8.5, 1.8) + 0.30 * _bump(h, 21.5, 2.6)
               - 0.10 * _bump(h, 15.0, 2.5) for h in hours)
    return (pm, tuple(map(_activity, hours)), tuple(map(_noise_weight, hours)),
            tuple(map(_temperature_shape, hours)),
            tuple(0.8 + 0.35 * _bump(h, 14.0, 3.5) for h in hours))


_PM_CYCLE, _ACTIVITY, _NOISE, _TEMPERATURE, _WIND = _tables()


@functools.lru_cache(maxsize=8192)
def _regional(region: int, minute: int) -> tuple[float, float, float, float, float]:
    """What the whole city shares in one minute: haze factor, temperature drift (℃), wind
    speed (m/s), wind direction (°) and pressure (kPa), each drifting over hours."""
    t = minute * 60.0
    return (1.0 + 0.22 * _smooth(region + 1, t / 10800.0),
            1.6 * _smooth(region + 2, t / 21600.0),
            2.3 + 0.9 * _smooth(region + 3, t / 7200.0),
            330.0 + 40.0 * _smooth(region + 4, t / 10800.0),
            102.45 + 0.35 * _smooth(region + 5, t / 43200.0))


# ---------------------------------------------------------------- a monitor's curve


@dataclass(frozen=True)
class Plan:
    """Which monitors of the city do something special (chosen by hash rank, so the seeding
    and a later device fleet agree without storing anything)."""

    exceed: frozenset[str] = frozenset()
    impostor_target: str | None = None  # a second device sends with this MN and a wrong PW
    outage: str | None = None  # its link drops now and then (it keeps measuring, re-sends)
    noisy: str | None = None  # a garbage line now and then, sometimes a frame with a bad CRC
    spray_fails: frozenset[str] = frozenset()  # bursting monitors whose fog cannon never starts
    flat: str | None = None  # PM10 stuck at FLAT_PM10 for ever (a tampered sensor)
    copier: str | None = None  # relays `copy_source`'s data: another site's values
    copy_source: str | None = None
    outside: str | None = None  # reports a position far outside its site
    dead: frozenset[str] = frozenset()  # silent for hours when seeding ends; no live device


def plan(seed: int, monitors: Iterable[tuple]) -> Plan:
    """The `Plan` for monitors given as (MN, active) or (MN, active, project id, unit); the
    copy pair needs the last two (two sites, one unit)."""
    monitors = list(monitors)
    active = sorted(m[0] for m in monitors if m[1])
    exceed = sorted(active, key=lambda mn: _key(seed, "exceed", mn))
    exceed = exceed[:max(1, round(len(exceed) * EXCEED_SHARE))]
    roles = [*sorted(active, key=lambda mn: _key(seed, "device", mn))[:3], None, None, None]
    the_plan = Plan(exceed=frozenset(exceed), impostor_target=roles[0], outage=roles[1],
                    noisy=roles[2])
    if len(active) < PLANT_MIN:
        return the_plan
    fails = sorted(exceed, key=lambda mn: _key(seed, "spray", mn))
    taken = set(exceed) | set(roles[:3])
    free = [mn for mn in sorted(active, key=lambda mn: _key(seed, "tamper", mn))
            if mn not in taken]
    where = {m[0]: (m[2], m[3]) for m in monitors if len(m) >= 4}
    flat, outside, copier, *rest = free

    def fits(mn: str) -> bool:  # another site, the same unit (so the stored values match)
        if copier not in where or mn not in where:
            return True
        return where[mn][0] != where[copier][0] and where[mn][1] == where[copier][1]

    source = next((mn for mn in rest if fits(mn)), None)
    rest = [mn for mn in rest if mn != source]
    dead = rest[:max(2, round(len(active) * DEAD_SHARE))]
    return dataclasses.replace(
        the_plan, spray_fails=frozenset(fails[:max(1, round(len(fails) * SPRAY_FAIL_SHARE))]),
        flat=flat, outside=outside, copier=copier if source else None, copy_source=source,
        dead=frozenset(dead))


def dead_minutes(seed: int, mn: str) -> int:
    """How long a dead monitor (`Plan.dead`) has been silent when seeding ends: 1.5–20 h."""
    return 90 + _key(seed, "dead", mn) % 1110


@dataclass(frozen=True, slots=True)
class Profile:
    """One monitor's site: how dusty and loud it is, its instruments' habits."""

    mn: str
    scale: float  # what the device's particulate numbers are multiplied by to get µg/m³
    region: int
    noise_key: int
    jitter_key: int
    day_key: int
    level: float  # site background factor
    fine: float  # PM2.5 / PM10 of the background
    tsp_ratio: float
    dust: float  # PM10 the site's work adds at full activity, µg/m³
    day_db: float
    night_db: float
    exposure: float  # wind
    warmth: float  # ℃ above the regional temperature
    damp: float  # % humidity offset
    burst_start: int = -1  # local minute of day of the daily dust burst (-1: none)
    burst_minutes: int = 0
    burst: float = 0.0  # µg/m³ added during the burst
    zero_check: int = -1  # local minute of day of the nightly zero check (-1: none)
    flaky_noise: float = 0.0  # share of noise values flagged B
    flat: float = 0.0  # particulate stuck at this PM10 (µg/m³) when > 0 (`Plan.flat`)
    twin: Profile | None = None  # sends this profile's data instead (`Plan.copier`)
    trigger: float = 100.0  # PM10 (µg/m³) whose 3-minute mean starts the linked sprays
    spray_delay: int = 2  # minutes the linked spray controller lags the readings
    spray_fails: bool = False  # the linked sprays never start (`Plan.spray_fails`)


def profile(seed: int, mn: str, *, unit: str = ParticulateUnit.UG, the_plan: Plan = Plan(),
            limit: float | None = None) -> Profile:
    """The `Profile` of monitor `mn` of city `seed`. `limit` is the PM10 limit in force
    (µg/m³) the planted bursts go above."""
    rng = random.Random(_key(seed, "profile", mn))
    extra = {}
    if mn in the_plan.exceed:
        quarters = rng.choice((1, 2, 2, 3, 4))
        extra = dict(burst_start=rng.randrange(9 * 4, 15 * 4) * 15, burst_minutes=quarters * 15,
                     burst=(limit or 100.0) * rng.uniform(1.2, 2.0))
    if rng.random() < 0.35:
        extra["zero_check"] = rng.randrange(60, 240)
    if rng.random() < 0.05:
        extra["flaky_noise"] = rng.uniform(0.01, 0.04)
    if mn == the_plan.flat:
        extra.update(flat=FLAT_PM10, zero_check=-1)
    extra.update(trigger=limit or 100.0, spray_delay=2 + _key(seed, "spray", mn) % 3,
                 spray_fails=mn in the_plan.spray_fails)
    return Profile(
        mn=mn, scale=1000.0 if unit == ParticulateUnit.MG else 1.0, region=_key(seed, "region"),
        noise_key=_key(seed, "noise", mn), jitter_key=_key(seed, "jitter", mn),
        day_key=_key(seed, "day", mn),
        level=min(1.15, max(0.85, rng.gauss(1.0, 0.08))), fine=rng.uniform(0.56, 0.68),
        tsp_ratio=rng.uniform(1.45, 1.8), dust=min(30.0, 16.0 * math.exp(rng.gauss(0, 0.35))),
        day_db=rng.uniform(57.0, 65.0), night_db=rng.uniform(45.0, 50.0),
        exposure=rng.uniform(0.7, 1.3), warmth=rng.uniform(-0.4, 0.9),
        damp=rng.uniform(-4.0, 4.0), **extra)


@functools.lru_cache(maxsize=65536)
def _maintenance(day_key: int, day: int) -> int:
    """Local minute of day a maintenance visit starts on `day` (days since the epoch in
    Shanghai), or a day's length when there is none (4 % of days)."""
    if _unit(day_key, day) < 0.04:
        return 570 + int(_unit(day_key + 1, day) * 300)
    return 1440


def sample(p: Profile, t: float) -> tuple[tuple[float, ...], str]:
    """What monitor `p` reports at `t` (epoch seconds): values in `metrics.METRICS` order as
    the device sends them (particulate in its own unit, rounded like a data logger) and one
    HJ 212 data flag per value."""
    if p.twin is not None:
        return sample(p.twin, t)
    second = int(t)
    local = second + LOCAL_OFFSET
    m = (local // 60) % 1440
    haze, t_drift, wind_base, wind_dir, pressure = _regional(p.region, second // 60)
    j = _mix(p.jitter_key + second * _GOLDEN)  # eight uniform numbers in [0, 1), 8 bits each
    u1, u2, u3, u4, u5, u6, u7, u8 = (j & 255) * _U8, (j >> 8 & 255) * _U8, \
        (j >> 16 & 255) * _U8, (j >> 24 & 255) * _U8, (j >> 32 & 255) * _U8, \
        (j >> 40 & 255) * _U8, (j >> 48 & 255) * _U8, (j >> 56) * _U8

    act = _ACTIVITY[m]
    dust = p.dust * act * (1.0 + 0.55 * _smooth(p.noise_key, t / 1200.0)) if act else 0.0
    if p.burst_minutes and 0 <= m - p.burst_start < p.burst_minutes:
        dust += p.burst * (0.85 + 0.3 * u4)
    background = 46.0 * haze * _PM_CYCLE[m] * p.level
    pm10 = (background + dust) * (0.94 + 0.12 * u1)
    pm25 = (background * p.fine + 0.22 * dust) * (0.95 + 0.10 * u2)
    tsp = pm10 * p.tsp_ratio + 0.9 * dust
    dust_flag = "N"
    if p.zero_check >= 0 and 0 <= m - p.zero_check < 6:
        pm25, pm10, tsp, dust_flag = 1.0 + 2 * u1, 2.0 + 3 * u2, 3.0 + 4 * u2, "C"
    elif 0 <= m - _maintenance(p.day_key, local // 86400) < 40:
        dust_flag = "M"
    if p.flat:
        pm25, pm10, tsp, dust_flag = p.flat * 0.6, p.flat, p.flat * 1.6, "N"

    noise = p.night_db + (p.day_db - p.night_db) * _NOISE[m] + 4.0 * (u3 - 0.5)
    if act > 0.5 and u5 > 0.985:
        noise += 5.0 + 5.0 * u6  # a breaker, a pile driver
    noise_flag = "B" if u7 < p.flaky_noise else "N"
    wind = max(0.0, wind_base * p.exposure * _WIND[m] + 1.2 * (u5 - 0.5))
    direction = (wind_dir + 50.0 * (u6 - 0.5)) % 360.0
    temperature = 11.5 + 3.5 * _TEMPERATURE[m] + t_drift + p.warmth * (0.4 + 0.6 * act) \
        + 0.3 * (u7 - 0.5)
    humidity = min(98.0, max(25.0, 76.0 - 3.4 * (temperature - 11.5) + p.damp + 2.0 * (u8 - 0.5)))
    # Rounded like a data logger prints them (floor(x·10ⁿ + ½) / 10ⁿ is the float `round`
    # gives, at a fraction of its cost; every value here is positive).
    if p.scale != 1.0:
        # mg/m³ with three decimals: whole µg/m³ (`scale` is 1,000)
        pm25, pm10, tsp = (_floor(pm25 + 0.5) / 1000, _floor(pm10 + 0.5) / 1000,
                           _floor(tsp + 0.5) / 1000)
    else:
        pm25, pm10, tsp = (_floor(pm25 * 10 + 0.5) / 10, _floor(pm10 * 10 + 0.5) / 10,
                           _floor(tsp * 10 + 0.5) / 10)
    values = (pm25, pm10, tsp, _floor(noise * 10 + 0.5) / 10, _floor(wind * 10 + 0.5) / 10,
              float(_floor(direction + 0.5) % 360), _floor(temperature * 10 + 0.5) / 10,
              _floor(humidity * 10 + 0.5) / 10, _floor(pressure * 100 + 2.0 * u8 + 0.5) / 100)
    return values, dust_flag * 3 + noise_flag + "NNNNN"


# ---------------------------------------------------------------- a curve at once (numpy)
#
# `samples` is `sample` over consecutive minutes, as arrays: the same operations in the same
# order on IEEE doubles (and the same 64-bit integer hashing, wrapping in uint64), so every
# value is bit for bit what `sample` gives (tests/simulator/test_monitors.py compares them).
# The back-fill draws a day a minute for every monitor (~600,000 readings in the demo city):
# a few seconds of CPU in `sample`, a tenth of that here.

_U64 = np.uint64
_GOLDEN64, _U64_1, _U64_2 = _U64(_GOLDEN), _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_A_PM_CYCLE, _A_ACTIVITY, _A_NOISE, _A_TEMPERATURE, _A_WIND = (
    np.array(table, dtype=np.float64) for table in (_PM_CYCLE, _ACTIVITY, _NOISE, _TEMPERATURE,
                                                    _WIND))


def _mix64(x: np.ndarray) -> np.ndarray:
    """`_mix` of uint64 values (the products wrap as `& _M64` does)."""
    x = (x ^ (x >> _U64(30))) * _U64_1
    x = (x ^ (x >> _U64(27))) * _U64_2
    return x ^ (x >> _U64(31))


def _unit64(key: int, i: np.ndarray) -> np.ndarray:
    """`_unit(key, i)` of non-negative integers `i` (int64)."""
    return _mix64(_U64(key) + i.astype(np.uint64) * _GOLDEN64).astype(np.float64) \
        * 5.421010862427522e-20


def _smooth64(key: int, x: np.ndarray) -> np.ndarray:
    """`_smooth(key, x)` of non-negative `x`."""
    i = np.floor(x)
    f = x - i
    i = i.astype(np.int64)
    a = _unit64(key, i)
    f = f * f * (3.0 - 2.0 * f)
    return 2.0 * (a + (_unit64(key, i + 1) - a) * f) - 1.0


@functools.lru_cache(maxsize=16)
def _regional64(region: int, first_minute: int, count: int) -> tuple[np.ndarray, ...]:
    """`_regional` of `count` minutes from `first_minute`, as five arrays (shared by every
    monitor of the city)."""
    rows = [_regional(region, minute) for minute in range(first_minute, first_minute + count)]
    return tuple(np.array(column, dtype=np.float64) for column in zip(*rows, strict=True))


def samples(p: Profile, first: int, count: int, *, as_stored: bool = False
            ) -> tuple[list[tuple[float, ...]], list[str]]:
    """`sample(p, t)` for the `count` whole minutes from `first` (epoch seconds, a multiple
    of 60): the values (with `as_stored`, as `stored(p, …)` gives them) and the flags."""
    if count <= 0:
        return [], []
    source = p
    while source.twin is not None:
        source = source.twin
    values, flags = _samples(source, first, count)
    if as_stored and p.scale != 1.0:
        values = [v * p.scale if dust else v for v, dust in zip(values, _PARTICULATE, strict=True)]
    return list(zip(*(v.tolist() for v in values), strict=True)), flags


def _samples(p: Profile, first: int, count: int) -> tuple[list[np.ndarray], list[str]]:
    second = np.arange(first, first + 60 * count, 60, dtype=np.int64)
    local = second + LOCAL_OFFSET
    m = (local // 60) % 1440
    haze, t_drift, wind_base, wind_dir, pressure = _regional64(p.region, first // 60, count)
    j = _mix64(_U64(p.jitter_key) + second.astype(np.uint64) * _GOLDEN64)
    u1, u2, u3, u4, u5, u6, u7, u8 = ((j >> _U64(8 * k) & _U64(255)).astype(np.float64) * _U8
                                      for k in range(8))

    act = _A_ACTIVITY[m]
    dust = np.where(act != 0.0, p.dust * act * (1.0 + 0.55 * _smooth64(p.noise_key,
                                                                        second / 1200.0)), 0.0)
    if p.burst_minutes:
        into = m - p.burst_start
        dust = np.where((into >= 0) & (into < p.burst_minutes),
                        dust + p.burst * (0.85 + 0.3 * u4), dust)
    background = 46.0 * haze * _A_PM_CYCLE[m] * p.level
    pm10 = (background + dust) * (0.94 + 0.12 * u1)
    pm25 = (background * p.fine + 0.22 * dust) * (0.95 + 0.10 * u2)
    tsp = pm10 * p.tsp_ratio + 0.9 * dust
    dust_flag = np.full(count, "N")
    zero = np.zeros(count, dtype=bool)
    if p.zero_check >= 0:
        into = m - p.zero_check
        zero = (into >= 0) & (into < 6)
        pm25 = np.where(zero, 1.0 + 2 * u1, pm25)
        pm10 = np.where(zero, 2.0 + 3 * u2, pm10)
        tsp = np.where(zero, 3.0 + 4 * u2, tsp)
        dust_flag[zero] = "C"
    day = local // 86400
    first_day = int(day[0])
    visits = np.array([_maintenance(p.day_key, d) for d in range(first_day, int(day[-1]) + 1)],
                      dtype=np.int64)
    into = m - visits[day - first_day]
    dust_flag[~zero & (into >= 0) & (into < 40)] = "M"
    if p.flat:
        pm25, pm10, tsp = (np.full(count, p.flat * 0.6), np.full(count, p.flat),
                           np.full(count, p.flat * 1.6))
        dust_flag[:] = "N"

    noise = p.night_db + (p.day_db - p.night_db) * _A_NOISE[m] + 4.0 * (u3 - 0.5)
    noise = np.where((act > 0.5) & (u5 > 0.985), noise + (5.0 + 5.0 * u6), noise)
    noise_flag = np.where(u7 < p.flaky_noise, "B", "N")
    wind = np.maximum(0.0, wind_base * p.exposure * _A_WIND[m] + 1.2 * (u5 - 0.5))
    direction = np.remainder(wind_dir + 50.0 * (u6 - 0.5), 360.0)
    temperature = 11.5 + 3.5 * _A_TEMPERATURE[m] + t_drift + p.warmth * (0.4 + 0.6 * act) \
        + 0.3 * (u7 - 0.5)
    humidity = np.minimum(98.0, np.maximum(25.0, 76.0 - 3.4 * (temperature - 11.5) + p.damp
                                           + 2.0 * (u8 - 0.5)))
    floor = np.floor
    if p.scale != 1.0:
        pm25, pm10, tsp = (floor(pm25 + 0.5) / 1000, floor(pm10 + 0.5) / 1000,
                           floor(tsp + 0.5) / 1000)
    else:
        pm25, pm10, tsp = (floor(pm25 * 10 + 0.5) / 10, floor(pm10 * 10 + 0.5) / 10,
                           floor(tsp * 10 + 0.5) / 10)
    values = [pm25, pm10, tsp, floor(noise * 10 + 0.5) / 10, floor(wind * 10 + 0.5) / 10,
              np.remainder(floor(direction + 0.5), 360.0), floor(temperature * 10 + 0.5) / 10,
              floor(humidity * 10 + 0.5) / 10, floor(pressure * 100 + 2.0 * u8 + 0.5) / 100]
    flags = [f"{d}{d}{d}{n}NNNNN" for d, n in zip(dust_flag.tolist(), noise_flag.tolist(),
                                                   strict=True)]
    return values, flags


def pm10_ug(p: Profile, t: float) -> float:
    """The PM10 (µg/m³) monitor `p` measures at `t`."""
    return sample(p, t)[0][1] * p.scale


def spray_running(p: Profile, t: float, pm10=None) -> bool:
    """Whether `p`'s linked sprays run at `t`: the controller, `spray_delay` minutes behind
    the readings, starts them when a 3-minute mean of PM10 goes above `trigger` and stops
    them `SPRAY_HOLD` minutes after the last such mean. A pure function of `t` (the live
    device and the back-fill agree); `pm10(t)` may serve the readings from a cache."""
    if p.spray_fails:
        return False
    pm10 = pm10 or (lambda at: pm10_ug(p, at))
    base = int(t) - 60 * p.spray_delay
    pm = [pm10(base - 60 * i) for i in range(SPRAY_HOLD + 3)]
    return any(pm[j] + pm[j + 1] + pm[j + 2] > 3 * p.trigger for j in range(SPRAY_HOLD + 1))


def cp_values(values: Sequence[float], flags: str) -> dict[str, dict[str, object]]:
    """The CP items of a CN=2011 upload: {code: {"Rtd": value, "Flag": flag}}."""
    return {code: {"Rtd": v, "Flag": f} for code, v, f in zip(CODES, values, flags, strict=True)}


def stored(p: Profile, values: tuple[float, ...]) -> tuple[float, ...]:
    """The values as the gateway stores them (particulate in µg/m³, `readings.reading_row`)."""
    if p.scale == 1.0:
        return values
    return tuple(v * p.scale if dust else v for v, dust in zip(values, _PARTICULATE, strict=True))


def pm10_limit() -> float | None:
    row = DustLimit.in_force(Particulate.PM10)
    return row.limit if row is not None and row.particulate == Particulate.PM10 else None


def load_profiles(seed: int) -> tuple[Plan, dict[str, tuple[Monitor, Profile]]]:
    """The plan and every registered monitor's profile, by MN."""
    monitors = list(Monitor.objects.order_by("mn"))
    the_plan = plan(seed, [(m.mn, m.active, m.project_id, m.particulate_unit) for m in monitors])
    limit = pm10_limit()
    out = {m.mn: (m, profile(seed, m.mn, unit=m.particulate_unit, the_plan=the_plan,
                             limit=limit)) for m in monitors}
    if the_plan.copier:
        monitor, p = out[the_plan.copier]
        out[the_plan.copier] = monitor, dataclasses.replace(p, twin=out[the_plan.copy_source][1])
    return the_plan, out


# ---------------------------------------------------------------- seeding


@dataclass
class SeedReport:
    monitors: int = 0
    projects: int = 0
    stopped: int = 0
    mg: int = 0
    readings: int = 0
    hours: int = 0
    exceed: list[str] = field(default_factory=list)
    short: list[str] = field(default_factory=list)  # permit numbers of the sites left short
    planted: dict[str, int] = field(default_factory=dict)  # registry.plant's counts
    spray_states: int = 0
    events: dict[str, int] = field(default_factory=dict)  # open dust events by rule
    seconds: float = 0.0

    def summary(self) -> str:
        p = self.planted
        return (f"{self.monitors:,} 台扬尘噪声监测设备（{self.projects:,} 个在建项目，"
                f"{len(self.short)} 个少装，停用 {self.stopped} 台，{self.mg} 台以 mg/m³ 上报；"
                f"年检到期预警 {p.get('inspection_due', 0)} 台、过期 {p.get('inspection_expired', 0)}"
                f" 台、未检 {p.get('inspection_none', 0)} 台；联动喷淋雾炮 {p.get('sprays', 0)} 台），"
                f"补录近 {self.hours} 小时数据 {self.readings:,} 条、喷淋状态 {self.spray_states:,} 条"
                + (f"，回放规则后在办扬尘事件 {sum(self.events.values())} 个" if self.events else ""))


def _vendors(rng: random.Random) -> names.Weighted:
    trades = names.trade_names(rng)
    vendors = [template.format(z=trades[i]) for i, template in enumerate(VENDOR_TEMPLATES)]
    return names.Weighted(vendors, [1 / (rank + 1) ** 0.8 for rank in range(len(vendors))])


def seed_monitors(*, seed: int, scale: str = "demo", count: int | None = None,
                  hours: int = HOURS, now: datetime.datetime | None = None,
                  replay: bool = True) -> SeedReport:
    """Register monitors on the active projects — as many as each site needs by the 不装少装
    rule's table but for a few sites left with one (`SHORT_SHARE`), or, with `count`, that
    many (one per project, the largest sites a second) — with their positions, inspections
    and sprays (`registry.plant`); back-fill `hours` of readings and spray states up to
    `now` (default: the clock); then, with `replay`, run the dust rules over that day
    (`registry.replay`). For a database whose monitors table is empty; registration is
    one transaction, each batch of readings another."""
    from smartsite.dust import rules
    from smartsite.dust.siting import required_monitors
    from smartsite.simulator.dust import registry

    started = time.monotonic()
    now = (now or timezone.now()).astimezone(UTC)
    rng = rng_for(seed, "dust")
    projects = list(Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no"))
    report = SeedReport(hours=hours)
    if count is None:
        table = rules.params("missing_monitor")
        need = {p.pk: required_monitors(p, table) for p in projects}
        short = _short_sites(seed, [p for p in projects if need[p.pk] >= 2], need)
        per_project = {p.pk: 1 if p.pk in short else need[p.pk] for p in projects}
        report.short = sorted(p.permit_no for p in projects if p.pk in short)
        chosen = projects
    else:
        # One per project, the largest sites a second one (never more than two).
        chosen = projects if count >= len(projects) else sorted(rng.sample(projects, count),
                                                                key=lambda p: p.permit_no)
        largest = sorted(projects, key=lambda p: (-(p.site_area_m2 or 0), p.permit_no))
        second = {p.pk for p in largest[:max(0, count - len(chosen))]}
        per_project = {p.pk: 2 if p.pk in second else 1 for p in chosen}
    vendor = _vendors(rng)
    registered: list[Monitor] = []
    with transaction.atomic():
        for project in chosen:
            for index in range(per_project[project.pk]):
                installed = (project.start_date or now.date()) + datetime.timedelta(
                    days=rng.randint(3, 40))
                unit = ParticulateUnit.MG if rng.random() < MG_SHARE else ParticulateUnit.UG
                registered.append(services.register_monitor(
                    project=project, mn=monitor_mn(project, index),
                    password=f"{rng.randrange(10**6):06d}", location=LOCATIONS(rng),
                    vendor=vendor(rng), particulate_unit=unit,
                    installed_on=min(installed, now.date())))
        stopped = rng.sample(registered, min(len(registered), round(len(registered) * STOPPED_SHARE)))
        for monitor in stopped:
            services.update_monitor(monitor, active=False)
        if registered:
            audit.record(None, registered[0], AuditAction.IMPORT,
                         {"simulated": [None, len(registered)]})
    report.monitors, report.stopped = len(registered), len(stopped)
    report.projects = len({m.project_id for m in registered})
    report.mg = sum(m.particulate_unit == ParticulateUnit.MG for m in registered)
    the_plan, profiles = load_profiles(seed)
    report.exceed = sorted(the_plan.exceed)
    report.planted = dict(registry.plant(seed, registered, the_plan, now),
                          dead=len(the_plan.dead), spray_fails=len(the_plan.spray_fails),
                          tampering=sum(1 for mn in (the_plan.flat, the_plan.copier,
                                                     the_plan.outside) if mn))
    for monitor in registered:  # (the positions just planted)
        profiles[monitor.mn][0].longitude = monitor.longitude
        profiles[monitor.mn][0].latitude = monitor.latitude
    report.readings, report.spray_states = backfill(
        profiles.values(), the_plan, rng=rng_for(seed, "dust:stopped"), now=now, hours=hours,
        seed=seed)
    if replay:
        bursts = sorted({(p.burst_start, p.burst_minutes) for m, p in profiles.values()
                         if p.burst_minutes and m.active and m.mn not in the_plan.dead})
        report.events = dict(registry.replay(now, hours, bursts))
    report.seconds = time.monotonic() - started
    return report


def _short_sites(seed: int, candidates: list, need: dict[int, int]) -> set[int]:
    """The sites left with one monitor though they need more (不装少装): `SHORT_SHARE` of
    `candidates` (at least two), a third of them from the largest class when there is one.
    By hash rank, so the choice does not depend on the order of drawing."""
    if not candidates:
        return set()
    n = max(2, round(len(candidates) * SHORT_SHARE))
    ranked = sorted(candidates, key=lambda p: _key(seed, "short", p.permit_no))
    top = max(need[p.pk] for p in candidates)
    large = [p for p in ranked if need[p.pk] == top][:max(1, n // 3)]
    rest = [p for p in ranked if p not in large][:n - len(large)]
    return {p.pk for p in large + rest}


def backfill(monitors: Iterable[tuple[Monitor, Profile]], the_plan: Plan, *, rng: random.Random,
             now: datetime.datetime, hours: int, seed: int = 0) -> tuple[int, int]:
    """One reading a minute per monitor for the `hours` before `now` (whole minutes) through
    `ingest.ingest`, the linked sprays' states (where the window starts and at each change,
    `spray_running`), and each monitor's status (with the position its device reports).
    Stopped monitors went quiet 2–6 days ago, the dead ones 1.5–20 hours ago
    (`dead_minutes`), the outage device half an hour ago. Returns (readings, spray states)."""
    from smartsite.dust.models import SprayDevice
    from smartsite.dust.partitions import ensure_partitions
    from smartsite.simulator.dust.registry import reported_position

    end = int(now.timestamp()) // 60 * 60
    first = end - hours * 3600
    ensure_partitions((now - datetime.timedelta(hours=hours + 24)).date(),
                      (now + datetime.timedelta(days=1)).date())
    times = [(t, datetime.datetime.fromtimestamp(t, UTC)) for t in range(first, end, 60)]
    sprays: dict[int, list[int]] = {}
    for device_id, monitor_id in SprayDevice.objects.filter(active=True).values_list(
            "id", "monitor_id").order_by("id"):
        sprays.setdefault(monitor_id, []).append(device_id)
    chunk, chunks, positions = [], [], {}
    for monitor, p in monitors:
        last = end - 60
        if not monitor.active:
            last = end - rng.randint(2 * 1440, 6 * 1440) * 60
        elif monitor.mn == the_plan.outage:
            last = end - OUTAGE_SILENT_MINUTES * 60
        elif monitor.mn in the_plan.dead:
            last = end - dead_minutes(seed, monitor.mn) * 60
        positions[monitor.id] = reported_position(monitor, the_plan)
        chunk.append((monitor.id, p, last))
        if len(chunk) * len(times) >= BATCH:
            chunks.append(chunk)
            chunk = []
    chunks.append(chunk)
    pm10: dict[int, list[float]] = {}  # µg/m³ a minute, for the spray controllers

    stamps = [at for _, at in times]

    def readings(chunk) -> list[ingest.ReadingRow]:
        rows = []
        row = ingest.ReadingRow
        gc.disable()  # tens of thousands of new objects, no cycles: spare the collector
        try:
            for ident, p, last in chunk:
                count = max(0, min(len(times), (last - first) // 60 + 1))  # the minutes ≤ last
                values, flags = samples(p, first, count, as_stored=True)
                pm10[ident] = [v[1] for v in values] if ident in sprays else []
                rows += map(row, itertools.repeat(ident), itertools.repeat(REALTIME_CN),
                            stamps[:count], values, flags)
        finally:
            gc.enable()
        return rows

    total = 0
    for chunk in chunks:
        total += ingest.ingest(readings(chunk)).stored
    states = []
    for ident, p, last in (item for chunk in chunks for item in chunk):
        if ident in sprays and times and last >= first:
            states += _spray_states(p, sprays[ident], times, pm10[ident])
    spray_states = ingest.ingest(states).stored if states else 0
    ingest.roll_up_all()  # the hour and day means (the worker's job when the gateway runs)
    statuses = []
    for ident, p, last in (item for chunk in chunks for item in chunk):
        values, flags = sample(p, last)
        values = stored(p, values)
        current = {m.column: round(v, 3) for m, v in zip(METRICS, values, strict=True)}
        if positions.get(ident):
            current["lng"], current["lat"] = positions[ident]
        statuses.append(StatusUpdate(
            monitor_id=ident, last_seen=datetime.datetime.fromtimestamp(last + 2, UTC),
            last_data_time=datetime.datetime.fromtimestamp(last, UTC), values=current,
            flags={m.column: f for m, f in zip(METRICS, flags, strict=True)},
            connected=False, transport="tcp",
            packets=sum(1 for t, _ in times if t <= last)))
    with transaction.atomic():
        ingest.save_status(statuses)
    return total, spray_states


def _spray_states(p: Profile, devices: list[int], times: list, series: list[float]
                  ) -> list[ingest.SprayRow]:
    """The states a monitor's linked sprays reported over `times` (while its link was up,
    `series` long): where the window starts, then at each change. The same decisions as
    `spray_running`, from the minutes just stored."""
    first = times[0][0]

    def pm(at: int) -> float:
        i = (at - first) // 60
        return series[i] if 0 <= i < len(series) else pm10_ug(p, at)

    hot = max(series, default=0.0) > p.trigger and not p.spray_fails
    rows, before = [], None
    for t, at in times[:len(series)]:
        running = hot and spray_running(p, t, pm)
        if running != before:
            rows += [ingest.SprayRow(device, at, running) for device in devices]
            before = running
    return rows
