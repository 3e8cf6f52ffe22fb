"""From a device's packet to a storable reading: which values, in which unit, valid or not.

Pure functions over plain data (the codec's `Packet.values()` and `Packet.data_time()`), so
the TCP gateway and the MQTT path refuse exactly the same things with the same messages. The
gateway reaches them through the handlers of `dust.packets`.
"""

from __future__ import annotations

import datetime
import math
import re
import string
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings

from smartsite.dust.ingest import NoiseDayRow, ReadingRow, SprayRow
from smartsite.dust.metrics import DATA_CNS, METRICS, NO_VALUE, REALTIME_CN
from smartsite.hj212 import handlers

#: HJ 212-2017 CN 2021: the running state of pollution-control facilities, `SBn-RS=` with
#: 0 关闭, 1 运行, 2 校准, 3 维护, 4 报警, 5 反吹. Our spray and fog cannons report here.
FACILITY_STATE_CN = 2021
FACILITY_STATES = {"0": "关闭", "1": "运行", "2": "校准", "3": "维护", "4": "报警", "5": "反吹"}
_FACILITY = re.compile(r"^SB[0-9]{1,3}$")
#: Our profile's position items (docs/hj212.md): WGS-84 degrees, e.g. `Lng-Rtd=121.47`.
POSITION_CODES = ("Lng", "Lat")

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUTURE_TOLERANCE = datetime.timedelta(hours=1)  # device clocks drift; an hour ahead is not data
_SLOT = {code: (m, i) for i, m in enumerate(METRICS) for code in m.codes}  # code → metric, column


class BadReading(handlers.BadPacket):
    """The packet is well-formed HJ 212 but its data cannot be stored (message says why)."""


class NoValues(BadReading, handlers.NoValues):
    """The packet carries none of the values we store (only codes we ignore)."""


#: HJ 212-2017 表 4 has noise-specific suffixes: `-Data` (the value over the packet's period),
#: `-DayData` and `-NightData` (over the local day and night), used with the sound codes of
#: 表 B.3 in minute, hour and day uploads (附录 C 表 C.26–C.28). `Leq-Data` of a minute or hour
#: upload is that period's equivalent level: the same quantity as our noise column.
NOISE_PERIOD = ("Leq", "Data")
#: A day upload's day/night figures → `NoiseDay` columns, in order of preference. The
#: standard's example writes Ld-DayData / Ln-NightData / Ldn-Data (表 C.28); devices that send
#: the Leq of each half (`Leq-DayData`, `Leq-NightData`) mean the same.
NOISE_DAY = {
    "day_leq": (("Ld", "DayData"), ("Leq", "DayData")),
    "night_leq": (("Ln", "NightData"), ("Leq", "NightData")),
    "ldn": (("Ldn", "Data"),),
    "day_max": (("LMx", "DayData"),),
    "night_max": (("LMx", "NightData"),),
}
DAY_CN = 2031
_NOISE = next(m for m in METRICS if m.column == "noise")


@dataclass(frozen=True, slots=True)
class MonitorInfo:
    """What the gateway keeps in memory per registered monitor."""

    id: int
    mn: str
    password: str
    active: bool
    particulate_scale: float  # 1000 when the monitor reports mg/m³
    project_id: int
    district_id: int | None
    sprays: dict[str, int] = field(default_factory=dict)  # SBn code → linked spray device id


def _data_time(local_time: datetime.datetime | None, now: datetime.datetime) -> datetime.datetime:
    """The packet's DataTime as aware UTC, or BadReading (missing, before 2000, in the future,
    older than the retention)."""
    if local_time is None:
        raise BadReading("CP has no DataTime")
    if local_time.year < 2000:  # (and year 1 would not survive the conversion to UTC)
        raise BadReading(f"DataTime {local_time:%Y-%m-%d %H:%M:%S} is before 2000")
    data_time = local_time.replace(tzinfo=SHANGHAI).astimezone(datetime.UTC)
    if data_time > now + FUTURE_TOLERANCE:
        raise BadReading(f"DataTime {local_time:%Y-%m-%d %H:%M:%S} is in the future")
    keep = settings.READING_RETENTION_DAYS  # 0: kept for ever
    if keep > 0 and data_time < now - datetime.timedelta(days=keep):
        raise BadReading(f"DataTime {local_time:%Y-%m-%d %H:%M:%S} is older than the "
                         f"{settings.READING_RETENTION_DAYS} days readings are kept")
    return data_time


def spray_rows(monitor: MonitorInfo, local_time: datetime.datetime | None,
               values: dict[str, dict[str, str]], *, now: datetime.datetime) -> list[SprayRow]:
    """The facility states of a CN 2021 packet, one row per linked spray device. Every `SBn`
    must be registered on the monitor (so a typo is refused, not silently dropped)."""
    data_time = _data_time(local_time, now)
    rows = []
    for code, items in values.items():
        if not _FACILITY.match(code):
            continue
        state = items.get("RS")
        if state is None:
            continue  # e.g. SB1-RT (running time) only
        if state not in FACILITY_STATES:
            raise BadReading(f"{code}-RS={state!r} is not a facility state (0–5)")
        device = monitor.sprays.get(code)
        if device is None:
            raise BadReading(f"{code} is not a spray/fog cannon linked to this monitor")
        rows.append(SprayRow(device, data_time, state == "1"))
    if not rows:
        raise BadReading("CN=2021 carries no SBn-RS facility state")
    return rows


def reported_position(values: dict[str, dict[str, str]]) -> tuple[float, float] | None:
    """(longitude, latitude) from our profile's `Lng-Rtd`/`Lat-Rtd` items, or None."""
    found = [values.get(code, {}).get("Rtd") for code in POSITION_CODES]
    if found == [None, None]:
        return None
    try:
        lng, lat = (float(v) for v in found)  # (None → TypeError)
    except (TypeError, ValueError):
        raise BadReading(f"position Lng-Rtd={found[0]!r} Lat-Rtd={found[1]!r} is not a pair of "
                         "numbers") from None
    if not (math.isfinite(lng) and math.isfinite(lat) and -180 <= lng <= 180 and -90 <= lat <= 90):
        raise BadReading(f"position Lng-Rtd={found[0]} Lat-Rtd={found[1]} is outside -180–180/-90–90")
    return lng, lat


def reading_row(monitor: MonitorInfo, cn: int, local_time: datetime.datetime | None,
                values: dict[str, dict[str, str]], *, now: datetime.datetime) -> ReadingRow:
    """The row for one data packet (CN 2011/2051/2061/2031). `local_time` is the packet's
    DataTime (Beijing time, naive). Codes we do not store are ignored."""
    if cn not in DATA_CNS:
        raise BadReading(f"CN={cn} is not a data upload (expected one of {sorted(DATA_CNS)})")
    data_time = _data_time(local_time, now)
    field = "Rtd" if cn == REALTIME_CN else "Avg"
    stored: list[float | None] = [None] * len(METRICS)
    flags = [NO_VALUE] * len(METRICS)
    for code, items in values.items():
        found = _SLOT.get(code)
        if found is None:
            continue
        metric, i = found
        if stored[i] is not None:
            continue  # an earlier code of the same metric wins (e.g. LA before Leq)
        text = items.get(field)
        if text is None and cn != REALTIME_CN and code == NOISE_PERIOD[0]:
            text, shown = items.get(NOISE_PERIOD[1]), NOISE_PERIOD[1]  # Leq-Data (表 4)
        else:
            shown = field
        if text is None:
            continue  # e.g. a 2051 packet with only Min/Max
        try:
            value = float(text)
        except ValueError:
            raise BadReading(f"{code}-{shown}={text!r} is not a number") from None
        if not math.isfinite(value):
            raise BadReading(f"{code}-{shown}={text!r} is not a number")
        if metric.particulate:
            value *= monitor.particulate_scale
        if not metric.low <= value <= metric.high:
            raise BadReading(f"{code}-{shown}={text} is outside {metric.low:g}–{metric.high:g} "
                             f"{metric.unit}")
        flag = items.get("Flag", "N")
        if len(flag) != 1 or flag not in string.ascii_letters:
            raise BadReading(f"{code}-Flag={flag!r} is not a data flag")
        stored[i] = value
        flags[i] = flag.upper()
    if all(v is None for v in stored):
        raise NoValues("the packet carries none of the values we store "
                       f"({', '.join(c for m in METRICS for c in m.codes)}, Leq-Data; "
                       "in day data also Ld-DayData, Ln-NightData, Leq-DayData, Leq-NightData, "
                       "Ldn-Data, LMx-DayData, LMx-NightData)")
    return ReadingRow(monitor.id, cn, data_time, tuple(stored), "".join(flags))


def noise_day_row(monitor: MonitorInfo, cn: int, local_time: datetime.datetime | None,
                  values: dict[str, dict[str, str]], *, now: datetime.datetime
                  ) -> NoiseDayRow | None:
    """The day/night noise figures of a day upload (CN 2031), or None when it has none. The
    day is DataTime's date (a day upload's DataTime is the start of its day, 表 C.28)."""
    if cn != DAY_CN:
        return None
    found: dict[str, float] = {}
    for column, choices in NOISE_DAY.items():
        for code, suffix in choices:
            text = values.get(code, {}).get(suffix)
            if text is None:
                continue
            try:
                value = float(text)
            except ValueError:
                raise BadReading(f"{code}-{suffix}={text!r} is not a number") from None
            if not (math.isfinite(value) and _NOISE.low <= value <= _NOISE.high):
                raise BadReading(f"{code}-{suffix}={text} is outside {_NOISE.low:g}–"
                                 f"{_NOISE.high:g} {_NOISE.unit}")
            found[column] = value
            break
    if not found:
        return None
    _data_time(local_time, now)  # the same checks as any reading's time
    return NoiseDayRow(monitor.id, local_time.date(), **found)
