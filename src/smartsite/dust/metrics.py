"""What a dust/noise monitor measures: HJ 212-2017 pollutant codes → our reading columns.

Codes: the pollutant code tables of HJ 212-2017 (附录B) as listed in design.md §4. The
protocol carries no units: particulate may arrive in mg/m³ or µg/m³ (a per-monitor setting,
`Monitor.particulate_unit`) and is stored in µg/m³. Noise levels are in dB(A); their means
are energy means (equivalent continuous A-weighted level, GB 12523-2025 as in the 2011
edition), never arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    column: str  # the Reading column
    codes: tuple[str, ...]  # HJ 212 codes that feed it, in order of preference
    label: str  # UI label
    unit: str  # stored unit
    particulate: bool = False  # scaled by the monitor's unit setting
    energy_mean: bool = False  # dB values: mean of 10^(L/10)
    rolled_up: bool = True  # has minute/15-min/hour/day means (wind direction does not)
    low: float = 0.0  # a stored value outside [low, high] is not a measurement: refused
    high: float = 100_000.0


METRICS: tuple[Metric, ...] = (
    Metric("pm25", ("a34004",), "PM2.5", "µg/m³", particulate=True),
    Metric("pm10", ("a34002",), "PM10", "µg/m³", particulate=True),
    Metric("tsp", ("a34001",), "TSP", "µg/m³", particulate=True),
    Metric("noise", ("LA", "Leq"), "噪声", "dB(A)", energy_mean=True, high=200),
    Metric("wind_speed", ("a01007",), "风速", "m/s", high=100),
    Metric("wind_dir", ("a01008",), "风向", "°", rolled_up=False, high=360),
    Metric("temperature", ("a01001",), "温度", "℃", low=-60, high=90),
    Metric("humidity", ("a01002",), "湿度", "%", high=100),
    Metric("pressure", ("a01006",), "气压", "kPa", high=2000),
)
BY_COLUMN = {m.column: m for m in METRICS}
BY_CODE = {code: m for m in METRICS for code in m.codes}
ROLLED_UP = tuple(m for m in METRICS if m.rolled_up)

# HJ 212-2017 表 (数据标记): the flag each value carries. Only N (normal) counts towards
# means; the others are kept with the reading so a page can say why a value was left out.
DATA_FLAGS = {
    "N": "正常",
    "F": "停运",
    "M": "维护",
    "S": "手工输入",
    "D": "故障",
    "C": "校准",
    "T": "超测上限",
    "B": "通讯异常",
}
VALID_FLAG = "N"
NO_VALUE = "-"  # in Reading.flags: the packet carried no value for this column

# The CN whose values are real-time (Rtd); the others carry device-side means (Avg).
REALTIME_CN = 2011
DATA_CNS = {2011: "实时数据", 2051: "分钟数据", 2061: "小时数据", 2031: "日数据"}
# Rollups are ours, computed from real-time data only, so every mean is built the same way.
ROLLUP_SOURCE_CN = REALTIME_CN

PERIODS = {60: "分钟", 900: "15分钟", 3600: "小时", 86400: "日"}


def to_energy(level: float) -> float:
    return 10.0 ** (level / 10.0)


def from_energy(energy: float) -> float:
    return 10.0 * math.log10(energy) if energy > 0 else 0.0
