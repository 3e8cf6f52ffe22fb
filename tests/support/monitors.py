"""Monitors and readings for tests: a registered monitor and packets' worth of values."""

from __future__ import annotations

import datetime

from smartsite.dust import services
from smartsite.dust.readings import MonitorInfo, reading_row

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


def add_monitor(project, mn: str = "31TEST0000000000000000A1", password: str = "123456", **extra):
    return services.register_monitor(project=project, mn=mn, password=password, **extra)


def info(monitor) -> MonitorInfo:
    return MonitorInfo(monitor.id, monitor.mn, monitor.password, monitor.active,
                       1000.0 if monitor.particulate_unit == "mg" else 1.0, monitor.project_id,
                       monitor.project.district_id)


def dust_values(pm10: float = 80, pm25: float = 40, noise: float = 60, flag: str = "N") -> dict:
    return {"a34002": {"Rtd": str(pm10), "Flag": flag}, "a34004": {"Rtd": str(pm25), "Flag": flag},
            "a34001": {"Rtd": str(pm10 * 1.6), "Flag": flag}, "LA": {"Rtd": str(noise), "Flag": flag},
            "a01007": {"Rtd": "2.1", "Flag": "N"}, "a01008": {"Rtd": "135", "Flag": "N"},
            "a01001": {"Rtd": "12.5", "Flag": "N"}, "a01002": {"Rtd": "63", "Flag": "N"}}


def row(monitor, at: datetime.datetime, cn: int = 2011, now: datetime.datetime | None = None,
        **values):
    local = at.astimezone(SHANGHAI).replace(tzinfo=None)
    items = dust_values(**values)
    if cn != 2011:  # device-side means carry Avg instead of Rtd
        items = {code: {("Avg" if k == "Rtd" else k): v for k, v in f.items()}
                 for code, f in items.items()}
    return reading_row(info(monitor), cn, local, items, now=now or NOW)
