"""A pit's outline on its own plan (metres, local axes) and where points sit on it."""

from __future__ import annotations

import math

from shapely.geometry import Polygon


def outline_error(outline) -> str | None:
    """None for a usable outline ([[x, y], …], ≥ 3 distinct corners, finite numbers, no
    self-intersection), else the reason in Chinese."""
    if not isinstance(outline, list) or len(outline) < 3:
        return "基坑轮廓至少需要三个角点 [[x, y], …]"
    corners = []
    for n, corner in enumerate(outline, 1):
        if (not isinstance(corner, list | tuple) or len(corner) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           and math.isfinite(v) for v in corner)):
            return f"第 {n} 个角点应为 [x, y] 两个有限数值（米）"
        corners.append((float(corner[0]), float(corner[1])))
    if len(set(corners)) < 3:
        return "基坑轮廓至少需要三个不同的角点"
    polygon = Polygon(corners)
    if not polygon.is_valid:
        return "基坑轮廓自相交，请按顺序给出角点"
    if polygon.area < 1:
        return "基坑轮廓面积过小（小于 1 m²）"
    return None


def rectangle(width: float, length: float) -> list[list[float]]:
    return [[0.0, 0.0], [width, 0.0], [width, length], [0.0, length]]
