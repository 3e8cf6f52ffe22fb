"""Where monitors stand and how many a site needs.

A monitor belongs inside its site's geofence or on its boundary (at a gate or on the hoarding):
a point more than the `outside_site` rule's tolerance outside the fence is refused at
registration and, when a device reports such a position, flagged as possible tampering.
How many monitors a site must have is the `missing_monitor` rule's table (by site area),
with the specification it cites.
"""

from __future__ import annotations

import math

from shapely.geometry import shape

from smartsite.core import geo


def tolerance_m() -> float:
    from smartsite.dust import rules

    return float(rules.params("outside_site")["tolerance_m"])


def position_problem(project, lon, lat) -> str:
    """A Chinese message if (lon, lat) cannot be this project's monitor position, else ""."""
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lon, lat)):
        return "经纬度必须是数字"
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return "经纬度超出范围（经度 −180–180，纬度 −90–90）"
    if geo.district_of(lon, lat) is None:
        return f"位置（{lon:.6f}, {lat:.6f}）不在上海市范围内"
    if not project.geofence:
        return ""  # nothing to compare with; the project page asks for a geofence
    outside = geo.metres_outside(project.geofence, lon, lat)
    allowed = tolerance_m()
    if outside > allowed:
        return (f"位置在项目“{project}”电子围栏外 {outside:.0f} 米（允许在围挡边界 {allowed:g} 米以内），"
                "监测设备应安装在工地内或出入口、围挡边界")
    return ""


def required_monitors(project, params: dict | None = None) -> int:
    """How many monitors the project must have, from the `missing_monitor` rule's table:
    [[area_m2_from, count], …], the last row whose lower bound the site area reaches."""
    from smartsite.dust import rules

    params = params or rules.params("missing_monitor")
    area = float(project.site_area_m2 or 0)
    if not area and project.geofence:
        area = geo.area_m2(shape(project.geofence))  # (stored fences were checked on save)
    required = params["minimum"]
    for lower, count in params["by_area"]:
        if area >= lower:
            required = max(required, count)
    return required
