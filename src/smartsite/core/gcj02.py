"""GCJ-02 ("Mars coordinates", the datum of Chinese web maps and many phones) ↔ WGS-84.

Phones in China often report positions in GCJ-02, which in Shanghai lies about 470 m from the
WGS-84 position the geofences use (core/geo.py). This module converts between the two.

Written here from the published formula (docs/research/attendance.md §3), as implemented
alike by googollee/eviltransform, wandergis/coordtransform, Artoria2e5/PRCoords and
hujiulong/gcoord: the Krasovsky 1940 ellipsoid (a = 6378245 m, e² = 0.00669342162296594323),
two polynomial + sine series in metres over (lng − 105, lat − 35), turned into degrees at the
point's latitude. GCJ-02 = WGS-84 + offset. The inverse has no closed form: it is found by
fixed-point iteration (guess ← guess + (gcj − forward(guess))), to well under 0.01 m.

Outside the rough box of China the formula is not applied (points come back unchanged), as in
every implementation above; `in_china` is that box.

Pure Python: no Django, no I/O. Order of arguments: (lng, lat), as in GeoJSON.
"""

from __future__ import annotations

import math

__all__ = ["gcj02_to_wgs84", "in_china", "offset_m", "wgs84_to_gcj02"]

A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
EE = 0.00669342162296594323  # its first eccentricity squared (f = 1/298.3)

# The rough box of China every implementation above uses (eviltransform, PRCoords, gcoord).
LNG_MIN, LNG_MAX = 72.004, 137.8347
LAT_MIN, LAT_MAX = 0.8293, 55.8271

# The inverse stops when a step moves the guess less than this (degrees; about 0.1 mm).
INVERSE_TOLERANCE_DEG = 1e-9
INVERSE_MAX_STEPS = 30


def in_china(lng: float, lat: float) -> bool:
    """Whether the point lies in the rough box of China where GCJ-02 applies."""
    return LNG_MIN <= lng <= LNG_MAX and LAT_MIN <= lat <= LAT_MAX


def _lat_m(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def _lng_m(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def _offset_deg(lng: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 offset (dlng, dlat) in degrees at a WGS-84 point."""
    x, y = lng - 105.0, lat - 35.0
    rad = lat / 180.0 * math.pi
    magic = 1.0 - EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = _lat_m(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * math.pi)
    dlng = _lng_m(x, y) * 180.0 / (A / sqrt_magic * math.cos(rad) * math.pi)
    return dlng, dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """WGS-84 (lng, lat) → GCJ-02 (lng, lat); unchanged outside China's box."""
    if not in_china(lng, lat):
        return lng, lat
    dlng, dlat = _offset_deg(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """GCJ-02 (lng, lat) → WGS-84 (lng, lat), by iteration to about 0.1 mm; unchanged outside
    China's box."""
    if not in_china(lng, lat):
        return lng, lat
    guess_lng, guess_lat = lng, lat
    for _ in range(INVERSE_MAX_STEPS):
        fwd_lng, fwd_lat = wgs84_to_gcj02(guess_lng, guess_lat)
        step_lng, step_lat = lng - fwd_lng, lat - fwd_lat
        guess_lng += step_lng
        guess_lat += step_lat
        if abs(step_lng) < INVERSE_TOLERANCE_DEG and abs(step_lat) < INVERSE_TOLERANCE_DEG:
            break
    return guess_lng, guess_lat


def offset_m(lng: float, lat: float) -> float:
    """How far (m, roughly: a local flat-earth estimate) GCJ-02 puts a WGS-84 point."""
    glng, glat = wgs84_to_gcj02(lng, lat)
    dy = (glat - lat) * math.pi / 180.0 * 6371008.8
    dx = (glng - lng) * math.pi / 180.0 * 6371008.8 * math.cos(math.radians(lat))
    return math.hypot(dx, dy)
