"""Geography: Shanghai's boundaries, site geofences (电子围栏) and a few helpers.

Everything is WGS-84 longitude/latitude (EPSG:4326, GeoJSON order [lon, lat]). The district
boundaries in core/data were decoded from the vendored ECharts map and converted from
GCJ-02 to WGS-84 by scripts/vendor_geo.py; they are generalised (about 100 m), which is
why the Shanghai outline used for "is this site in Shanghai" is buffered by 300 m. (The
source also counts the Jiangsu enclaves on northern Chongming Island as 崇明区.)

Pure Python and shapely/pyproj: no models, no settings.
"""

from __future__ import annotations

import json
import math
import random
from functools import cache
from importlib import resources
from typing import Any

import shapely
from django.core.exceptions import ValidationError
from pyproj import Geod, Proj, Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

Geofence = Polygon | MultiPolygon

MIN_AREA_M2 = 10.0
MAX_AREA_M2 = 50_000_000.0  # 50 km²
# Random site points stay this far inside Shanghai's outer edge (coast, provincial border),
# so that a site square of up to ~700 m around them still lies within the outline.
EDGE_CLEARANCE_M = 500.0
METRIC_CRS = "EPSG:32651"  # WGS 84 / UTM zone 51N: 120-126 deg E, all of Shanghai
COORD_DECIMALS = 7  # about 1 cm
WGS84_CRS_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326", "CRS84", "WGS84",
}

_GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------- loaders


def _read_features(name: str) -> list[dict[str, Any]]:
    text = resources.files("smartsite.core").joinpath("data").joinpath(name).read_text("utf-8")
    return json.loads(text)["features"]


@cache
def _districts() -> dict[str, Geofence]:
    shapes = {}
    for feature in sorted(_read_features("shanghai_districts.geojson"),
                          key=lambda f: f["properties"]["code"]):
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        shapes[feature["properties"]["name"]] = geom
    return shapes


@cache
def shanghai_outline() -> Geofence:
    """Shanghai: the union of its districts, buffered by 300 m (a prepared geometry)."""
    (feature,) = _read_features("shanghai_outline.geojson")
    geom = shape(feature["geometry"])
    shapely.prepare(geom)
    return geom


def district_shapes() -> dict[str, Geofence]:
    """District name (as in regions.csv, e.g. "静安区") -> boundary, in code order."""
    return dict(_districts())


@cache
def _to_metric() -> Transformer:
    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


@cache
def _metric_proj() -> Proj:
    return Proj(METRIC_CRS)


@cache
def _to_lonlat() -> Transformer:
    return Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def _metric(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, _to_metric().transform, interleaved=False)


def _lonlat(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, _to_lonlat().transform, interleaved=False)


# --------------------------------------------------------------------------- measures


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres, measured on the WGS-84 ellipsoid (geodesic, exact)."""
    area, _perimeter = _GEOD.geometry_area_perimeter(geom)
    return abs(area)


def centroid_lonlat(geom: BaseGeometry) -> tuple[float, float]:
    """The centroid as (lon, lat), rounded to about 1 cm."""
    c = geom.centroid
    return round(c.x, COORD_DECIMALS), round(c.y, COORD_DECIMALS)


def district_of(lon: float, lat: float) -> str | None:
    """The district containing the point, or None outside Shanghai's districts."""
    if not (isinstance(lon, int | float) and isinstance(lat, int | float)
            and math.isfinite(lon) and math.isfinite(lat)):
        return None
    point = Point(lon, lat)
    for name, geom in _districts().items():
        if geom.covers(point):
            return name
    return None


# --------------------------------------------------------------------------- geofences


def _invalid(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _load(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseGeometry):
        return mapping(value)
    if isinstance(value, bytes | bytearray):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid("电子围栏不是合法的 GeoJSON：不是 UTF-8 文本", "invalid_geojson") from exc
    if isinstance(value, str):
        if not value.strip():
            raise _invalid("电子围栏为空", "empty")
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _invalid(f"电子围栏不是合法的 GeoJSON：JSON 解析失败（第 {exc.lineno} 行"
                           f"第 {exc.colno} 列：{exc.msg}）", "invalid_geojson") from exc
    if not isinstance(value, dict):
        raise _invalid("电子围栏不是合法的 GeoJSON：应为一个 JSON 对象", "invalid_geojson")
    return value


def _crs_name(obj: dict[str, Any]) -> str | None:
    crs = obj.get("crs")
    if crs is None:
        return None
    try:
        return str(crs["properties"]["name"])
    except (TypeError, KeyError):
        return str(crs)


def _geometry(obj: dict[str, Any]) -> dict[str, Any]:
    """The one geometry of a geometry object, a Feature or a one-feature FeatureCollection."""
    crs = _crs_name(obj)
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise _invalid("电子围栏不是合法的 GeoJSON：FeatureCollection 缺少 features 数组",
                           "invalid_geojson")
        if len(features) != 1:
            raise _invalid(f"电子围栏的 FeatureCollection 应恰好包含 1 个要素，实际为 "
                           f"{len(features)} 个", "feature_count")
        obj = features[0]
        if not isinstance(obj, dict):
            raise _invalid("电子围栏不是合法的 GeoJSON：要素应为 JSON 对象", "invalid_geojson")
        crs = _crs_name(obj) or crs
        kind = obj.get("type")
    if kind == "Feature":
        geometry = obj.get("geometry")
        if geometry is None:
            raise _invalid("电子围栏为空：要素没有几何图形", "empty")
        if not isinstance(geometry, dict):
            raise _invalid("电子围栏不是合法的 GeoJSON：geometry 应为 JSON 对象", "invalid_geojson")
        crs = _crs_name(geometry) or crs
        obj = geometry
        kind = obj.get("type")
    if crs is not None and crs not in WGS84_CRS_NAMES:
        raise _invalid(f"电子围栏必须使用 WGS-84 经纬度坐标（EPSG:4326），不支持坐标系 {crs}",
                       "crs")
    if kind in ("Polygon", "MultiPolygon"):
        return obj
    if kind in ("Point", "MultiPoint", "LineString", "MultiLineString", "GeometryCollection"):
        raise _invalid(f"电子围栏必须是多边形（Polygon 或 MultiPolygon），而不是 {kind}",
                       "geometry_type")
    raise _invalid(f"电子围栏不是合法的 GeoJSON：未知的类型“{kind}”", "invalid_geojson")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _rings(kind: str, coordinates: Any) -> list[list[list[tuple[float, float]]]]:
    """Check the coordinate structure; return polygons as lists of rings of (lon, lat)."""
    def seq(v: Any) -> bool:
        return isinstance(v, list | tuple)

    malformed = _invalid(f"电子围栏不是合法的 GeoJSON：{kind} 的 coordinates 结构不正确",
                         "invalid_geojson")
    if not seq(coordinates):
        raise malformed
    polygons = [coordinates] if kind == "Polygon" else list(coordinates)
    if not polygons or all(seq(p) and not p for p in polygons):
        raise _invalid("电子围栏为空", "empty")
    out = []
    for polygon in polygons:
        if not seq(polygon) or not polygon:
            raise malformed
        rings = []
        for ring in polygon:
            if not seq(ring) or not all(seq(p) for p in ring):
                raise malformed
            for p in ring:
                if len(p) not in (2, 3) or not all(_is_number(v) for v in p):
                    raise _invalid("电子围栏不是合法的 GeoJSON：每个坐标应为 [经度, 纬度] 数值对",
                                   "invalid_geojson")
            if len(ring) < 4:
                raise _invalid(f"电子围栏的每个环至少需要 4 个坐标点（首尾相同），有一个环只有 "
                               f"{len(ring)} 个", "ring_too_short")
            if tuple(ring[0][:2]) != tuple(ring[-1][:2]):
                raise _invalid("电子围栏的环未闭合：首尾坐标必须相同", "ring_not_closed")
            rings.append([(float(p[0]), float(p[1])) for p in ring])
        out.append(rings)
    points = [p for rings in out for ring in rings for p in ring]
    if all(-90 <= x <= 90 and 90 < y <= 180 for x, y in points):
        raise _invalid("电子围栏的坐标顺序应为 [经度, 纬度]，看起来经纬度写反了", "axis_order")
    if not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in points):
        raise _invalid("电子围栏坐标超出经纬度范围：请使用 WGS-84 经纬度（度），而不是投影坐标",
                       "coordinate_range")
    return out


def parse_geofence(value: Any) -> Geofence:
    """Parse and check a site geofence; return it as a shapely Polygon or MultiPolygon.

    `value` is GeoJSON (a dict, or a str/bytes of JSON): a Polygon or MultiPolygon geometry,
    a Feature with one, or a FeatureCollection of exactly one such Feature, in WGS-84
    [lon, lat]. Raises django's ValidationError with a Chinese message (and a `code`) when
    it is not valid GeoJSON, not polygonal, empty, has unclosed or too short rings, is not
    a valid polygon (the reason from GEOS), has an absurd area for a site (not within
    10 m²-50 km²) or is not within Shanghai.
    """
    geometry = _geometry(_load(value))
    kind = geometry["type"]
    polygons = _rings(kind, geometry.get("coordinates"))
    parts = [Polygon(rings[0], rings[1:]) for rings in polygons]
    geom: Geofence = parts[0] if kind == "Polygon" else MultiPolygon(parts)
    if geom.is_empty:
        raise _invalid("电子围栏为空", "empty")
    if not geom.is_valid:
        raise _invalid(f"电子围栏不是有效的多边形：{explain_validity(geom)}", "invalid_polygon")
    area = area_m2(geom)
    if area <= MIN_AREA_M2:
        raise _invalid(f"电子围栏面积过小（{area:.1f} m²），应大于 {MIN_AREA_M2:.0f} m²",
                       "too_small")
    if area >= MAX_AREA_M2:
        raise _invalid(f"电子围栏面积过大（{area / 1e6:.1f} km²），应小于 "
                       f"{MAX_AREA_M2 / 1e6:.0f} km²", "too_large")
    if not shanghai_outline().covers(geom):
        raise _invalid("电子围栏超出上海市范围", "outside_shanghai")
    return geom


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry dict (lists, RFC 7946 ring orientation, about 1 cm precision)."""
    if isinstance(geom, Polygon | MultiPolygon):
        geom = shapely.set_precision(geom, 10 ** -COORD_DECIMALS)
        if isinstance(geom, Polygon):
            geom = orient(geom, sign=1.0)
        elif isinstance(geom, MultiPolygon):
            geom = MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])

    def plain(obj: Any) -> Any:
        if isinstance(obj, list | tuple):
            return [plain(o) for o in obj]
        return round(obj, COORD_DECIMALS) if isinstance(obj, float) else obj

    data = mapping(geom)
    return {"type": data["type"], "coordinates": plain(data["coordinates"])}


def square_geofence(lon: float, lat: float, side_m: float) -> dict[str, Any]:
    """A square site of `side_m` metres centred on (lon, lat), as a GeoJSON Polygon dict.

    The square is axis-aligned in UTM zone 51N (within 1 deg of true north in Shanghai),
    with the projection's scale at that point taken out, so its area is side_m² on the
    ground."""
    if not (_is_number(side_m) and side_m > 0):
        raise ValueError(f"side_m must be a positive number, not {side_m!r}")
    x, y = _to_metric().transform(lon, lat)
    h = side_m * math.sqrt(_metric_proj().get_factors(lon, lat).areal_scale) / 2
    square = _lonlat(box(x - h, y - h, x + h, y + h))
    return to_geojson(square)


# --------------------------------------------------------------------------- simulation


@cache
def _inland() -> BaseGeometry:
    """Shanghai less a band of EDGE_CLEARANCE_M along its outer edge (UTM metres)."""
    return _metric(shapely.unary_union(list(_districts().values()))).buffer(-EDGE_CLEARANCE_M)


@cache
def _sampling_area(name: str, margin_m: float) -> Geofence:
    """The part of a district at least `margin_m` from its border and EDGE_CLEARANCE_M from
    Shanghai's outer edge (in lon/lat)."""
    area = _metric(_districts()[name]).buffer(-margin_m).intersection(_inland())
    if area.is_empty:
        raise ValueError(f"{name} has no point {margin_m:.0f} m inside its border")
    area = _lonlat(area)
    shapely.prepare(area)
    return area


def random_point_in_district(name: str, rng: random.Random,
                             margin_m: float = 0.0) -> tuple[float, float]:
    """A uniformly random (lon, lat) inside the district, deterministic for the `rng` state.

    The point is at least `margin_m` from the district's border and EDGE_CLEARANCE_M (500 m)
    from Shanghai's outer edge, so a site around it stays within Shanghai. Unknown names
    raise KeyError."""
    if name not in _districts():
        raise KeyError(f"unknown district: {name}")
    area = _sampling_area(name, float(margin_m))
    west, south, east, north = area.bounds
    for _ in range(100_000):
        lon = round(rng.uniform(west, east), 6)
        lat = round(rng.uniform(south, north), 6)
        if area.contains(Point(lon, lat)):
            return lon, lat
    raise RuntimeError(f"could not place a point in {name}")  # pragma: no cover


# --------------------------------------------------------------------------- points and sites


def metres_outside(geofence: dict[str, Any], lon: float, lat: float) -> float:
    """How far (m) the point lies outside a stored geofence; 0 on or inside it."""
    site = _metric(shape(geofence))
    return float(site.distance(_metric(Point(lon, lat))))


def perimeter_m(geofence: dict[str, Any]) -> float:
    """The geodesic perimeter of a stored geofence in metres."""
    _area, perimeter = _GEOD.geometry_area_perimeter(shape(geofence))
    return abs(perimeter)
