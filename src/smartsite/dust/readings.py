"""From a device's packet to a storable reading: which values, in which unit, valid or not.

Pure functions over plain data (the codec's `Packet.values()` and `Packet.data_time()`), so
the TCP gateway and the MQTT path refuse exactly the same things with the same messages.
"""

from __future__ import annotations

import datetime
import math
import string
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from smartsite.dust.metrics import BY_CODE, DATA_CNS, METRICS, NO_VALUE, REALTIME_CN
from smartsite.dust.services import ReadingRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUTURE_TOLERANCE = datetime.timedelta(hours=1)  # device clocks drift; an hour ahead is not data
_INDEX = {m.column: i for i, m in enumerate(METRICS)}


class BadReading(ValueError):
    """The packet is well-formed HJ 212 but its data cannot be stored (message says why)."""


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


def reading_row(monitor: MonitorInfo, cn: int, local_time: datetime.datetime | None,
                values: dict[str, dict[str, str]], *, now: datetime.datetime) -> ReadingRow:
    """The row for one data packet (CN 2011/2051/2061/2031). `local_time` is the packet's
    DataTime (Beijing time, naive). Codes we do not store are ignored."""
    if cn not in DATA_CNS:
        raise BadReading(f"CN={cn} is not a data upload (expected one of {sorted(DATA_CNS)})")
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
    field = "Rtd" if cn == REALTIME_CN else "Avg"
    stored: list[float | None] = [None] * len(METRICS)
    flags = [NO_VALUE] * len(METRICS)
    for code, items in values.items():
        metric = BY_CODE.get(code)
        if metric is None:
            continue
        i = _INDEX[metric.column]
        if stored[i] is not None:
            continue  # an earlier code of the same metric wins (e.g. LA before Leq)
        text = items.get(field)
        if text is None:
            continue  # e.g. a 2051 packet with only Min/Max
        try:
            value = float(text)
        except ValueError:
            raise BadReading(f"{code}-{field}={text!r} is not a number") from None
        if not math.isfinite(value):
            raise BadReading(f"{code}-{field}={text!r} is not a number")
        if metric.particulate:
            value *= monitor.particulate_scale
        if not metric.low <= value <= metric.high:
            raise BadReading(f"{code}-{field}={text} is outside {metric.low:g}–{metric.high:g} "
                             f"{metric.unit}")
        flag = items.get("Flag", "N")
        if len(flag) != 1 or flag not in string.ascii_letters:
            raise BadReading(f"{code}-Flag={flag!r} is not a data flag")
        stored[i] = value
        flags[i] = flag.upper()
    if all(v is None for v in stored):
        raise BadReading("the packet carries none of the values we store "
                         f"({', '.join(c for m in METRICS for c in m.codes)})")
    return ReadingRow(monitor.id, cn, data_time, tuple(stored), "".join(flags))
