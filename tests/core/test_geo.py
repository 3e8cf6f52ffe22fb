"""core.geo: Shanghai's boundaries and site geofences. No database, no settings needed."""

from __future__ import annotations

import csv
import json
import math
import random
from importlib import resources

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from smartsite.core import geo

# Points checked against an independent WGS-84 source (Tianditu's CGCS2000 district
# boundaries): each lies at least 400 m inside its district.
JINGAN = (121.4550, 31.2750)  # 大宁, 静安区
PUDONG = (121.5900, 31.2000)  # 张江, 浦东新区
EAST_CHINA_SEA = (122.5000, 31.0000)
SUZHOU = (120.5850, 31.2990)  # 苏州 city centre, Jiangsu
BEIJING = (116.3975, 39.9087)  # 天安门


def square(lon: float, lat: float, half: float = 0.0005) -> list[list[float]]:
    return [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]


def polygon(ring: list[list[float]]) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def message_of(value) -> str:
    with pytest.raises(ValidationError) as info:
        geo.parse_geofence(value)
    (message,) = info.value.messages
    return message


def code_of(value) -> str:
    with pytest.raises(ValidationError) as info:
        geo.parse_geofence(value)
    return info.value.code


# --------------------------------------------------------------------------- boundary data


def test_the_sixteen_districts_match_regions_csv() -> None:
    text = resources.files("smartsite.core").joinpath("data").joinpath("regions.csv") \
        .read_text("utf-8")
    districts = [r["name"] for r in csv.DictReader(text.splitlines()) if r["level"] == "district"]
    assert len(districts) == 16
    assert list(geo.district_shapes()) == districts  # same names, code order
    for name, geom in geo.district_shapes().items():
        assert geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon"), name
        assert geo.shanghai_outline().covers(geom), name


def test_shanghai_is_about_its_real_size() -> None:
    # Shanghai's land area is 6,341 km²; the map includes tidal flats and estuary islands.
    land = sum(geo.area_m2(g) for g in geo.district_shapes().values()) / 1e6
    assert 6_300 < land < 7_600
    assert geo.area_m2(geo.shanghai_outline()) / 1e6 > land


def test_district_of_known_points() -> None:
    assert geo.district_of(*JINGAN) == "静安区"
    assert geo.district_of(*PUDONG) == "浦东新区"
    assert geo.district_of(121.4737, 31.2304) == "黄浦区"  # 人民广场
    assert geo.district_of(121.7000, 31.5000) == "崇明区"  # 长兴岛
    assert geo.district_of(121.2100, 31.0300) == "松江区"


@pytest.mark.parametrize("lonlat", [EAST_CHINA_SEA, SUZHOU, BEIJING])
def test_points_outside_shanghai(lonlat) -> None:
    assert geo.district_of(*lonlat) is None
    assert not geo.shanghai_outline().covers(Point(*lonlat))


@pytest.mark.parametrize("bad", [(math.nan, 31.2), (121.5, math.inf), ("121.5", 31.2)])
def test_district_of_rejects_non_numbers(bad) -> None:
    assert geo.district_of(*bad) is None


# --------------------------------------------------------------------------- parse_geofence


def test_a_100_m_square_in_pudong_is_accepted_with_its_area() -> None:
    fence = geo.square_geofence(*PUDONG, 100)
    for value in (fence, json.dumps(fence), json.dumps(fence).encode(),
                  {"type": "Feature", "properties": {}, "geometry": fence},
                  {"type": "FeatureCollection",
                   "features": [{"type": "Feature", "properties": {}, "geometry": fence}]}):
        geom = geo.parse_geofence(value)
        assert geom.geom_type == "Polygon"
        assert geo.area_m2(geom) == pytest.approx(10_000, rel=0.01)
        lon, lat = geo.centroid_lonlat(geom)
        assert (lon, lat) == pytest.approx(PUDONG, abs=1e-6)
        assert geo.district_of(lon, lat) == "浦东新区"


def test_area_matches_the_spherical_formula() -> None:
    # An independent check of area_m2: a 0.001° cell on the authalic sphere.
    lon, lat, d = 121.5, 31.2, 0.001
    r = 6_371_007.2
    expected = r * r * math.radians(d) * (math.sin(math.radians(lat + d))
                                          - math.sin(math.radians(lat)))
    geom = shape(polygon(square(lon + d / 2, lat + d / 2, d / 2)))
    assert geo.area_m2(geom) == pytest.approx(expected, rel=0.005)


def test_a_multipolygon_with_two_sites_is_accepted() -> None:
    a = geo.square_geofence(*PUDONG, 80)["coordinates"]
    b = geo.square_geofence(PUDONG[0] + 0.01, PUDONG[1], 80)["coordinates"]
    geom = geo.parse_geofence({"type": "MultiPolygon", "coordinates": [a, b]})
    assert geom.geom_type == "MultiPolygon"
    assert geo.area_m2(geom) == pytest.approx(2 * 6_400, rel=0.01)


def test_a_polygon_with_a_hole_is_accepted() -> None:
    lon, lat = PUDONG
    outer, hole = square(lon, lat, 0.002), square(lon, lat, 0.0005)[::-1]
    geom = geo.parse_geofence({"type": "Polygon", "coordinates": [outer, hole]})
    assert len(geom.interiors) == 1


def test_a_bow_tie_is_rejected_with_the_reason() -> None:
    lon, lat = PUDONG
    d = 0.001
    bow_tie = [[lon, lat], [lon + d, lat + d], [lon + d, lat], [lon, lat + d], [lon, lat]]
    message = message_of(polygon(bow_tie))
    assert message.startswith("电子围栏不是有效的多边形：")
    assert "Self-intersection" in message
    assert code_of(polygon(bow_tie)) == "invalid_polygon"


def test_a_site_in_beijing_is_outside_shanghai() -> None:
    assert message_of(geo.square_geofence(*BEIJING, 100)) == "电子围栏超出上海市范围"


@pytest.mark.parametrize("lonlat", [EAST_CHINA_SEA, SUZHOU])
def test_sites_in_the_sea_or_in_suzhou_are_outside_shanghai(lonlat) -> None:
    assert code_of(geo.square_geofence(*lonlat, 100)) == "outside_shanghai"


def test_a_site_straddling_the_border_is_outside_shanghai() -> None:
    # 安亭 (嘉定区) is about 1.3 km from 昆山 (Jiangsu): 1 km square fits, a 4 km one does not.
    assert geo.parse_geofence(geo.square_geofence(121.14, 31.32, 1_000))
    assert code_of(geo.square_geofence(121.14, 31.32, 4_000)) == "outside_shanghai"


def test_a_point_is_not_a_geofence() -> None:
    message = message_of({"type": "Point", "coordinates": list(PUDONG)})
    assert "Polygon 或 MultiPolygon" in message and "Point" in message


@pytest.mark.parametrize("text", ['{"type": "Polygon", ', "not json", "[1, 2", "{'a': 1}"])
def test_malformed_json_is_rejected(text) -> None:
    assert message_of(text).startswith("电子围栏不是合法的 GeoJSON")
    assert code_of(text) == "invalid_geojson"


@pytest.mark.parametrize(("value", "code"), [
    ("", "empty"),
    ([1, 2, 3], "invalid_geojson"),
    ({"type": "Polygon"}, "invalid_geojson"),
    ({"type": "Polygon", "coordinates": []}, "empty"),
    ({"type": "MultiPolygon", "coordinates": []}, "empty"),
    ({"type": "Feature", "geometry": None}, "empty"),
    ({"type": "Polygon", "coordinates": [[[121.5, "31.2"]] * 4]}, "invalid_geojson"),
    ({"type": "Polygon", "coordinates": [[[121.5, math.nan]] * 4]}, "invalid_geojson"),
    ({"type": "Polygon", "coordinates": [[[121.5, 31.2, 0, 9]] * 4]}, "invalid_geojson"),
    ({"type": "Polygon", "coordinates": [[[True, 31.2]] * 4]}, "invalid_geojson"),
    ({"type": "Circle", "coordinates": [121.5, 31.2]}, "invalid_geojson"),
    ({"type": "LineString", "coordinates": square(*PUDONG)}, "geometry_type"),
    ({"type": "FeatureCollection", "features": []}, "feature_count"),
])
def test_structural_errors(value, code) -> None:
    assert code_of(value) == code


def test_a_feature_collection_needs_exactly_one_feature() -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": polygon(square(*PUDONG))}
    message = message_of({"type": "FeatureCollection", "features": [feature, feature]})
    assert "恰好包含 1 个要素" in message and "2 个" in message


def test_rings_must_be_closed_and_long_enough() -> None:
    ring = square(*PUDONG)
    assert "未闭合" in message_of(polygon(ring[:-1]))
    assert code_of(polygon(ring[:-1])) == "ring_not_closed"
    assert code_of(polygon([ring[0], ring[1], ring[0]])) == "ring_too_short"
    assert "至少需要 4 个坐标点" in message_of(polygon([ring[0], ring[1], ring[0]]))


def test_swapped_axes_and_projected_coordinates_are_explained() -> None:
    swapped = [[lat, lon] for lon, lat in square(*PUDONG)]
    assert "经纬度写反了" in message_of(polygon(swapped))
    utm = [[x * 1e4, y * 1e4] for x, y in square(*PUDONG)]
    assert code_of(polygon(utm)) == "coordinate_range"


def test_only_wgs84_is_accepted() -> None:
    fence = geo.square_geofence(*PUDONG, 100)
    assert geo.parse_geofence({**fence, "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}})
    gcj = {**fence, "crs": {"type": "name", "properties": {"name": "GCJ-02"}}}
    assert "WGS-84" in message_of(gcj)


def test_absurd_areas_are_rejected() -> None:
    assert "面积过小" in message_of(geo.square_geofence(*PUDONG, 3))
    assert code_of(geo.square_geofence(*PUDONG, 3)) == "too_small"
    assert "面积过大" in message_of(geo.square_geofence(*PUDONG, 7_500))
    assert code_of(geo.square_geofence(*PUDONG, 7_500)) == "too_large"
    assert geo.parse_geofence(geo.square_geofence(*PUDONG, 5))  # 25 m²: a small pit


def test_to_geojson_round_trips() -> None:
    geom = geo.parse_geofence(geo.square_geofence(*JINGAN, 150))
    data = geo.to_geojson(geom)
    assert data["type"] == "Polygon"
    assert json.loads(json.dumps(data)) == data  # plain lists and floats
    again = geo.parse_geofence(data)
    assert again.normalize().equals_exact(geom.normalize(), tolerance=1e-7)
    assert shape(data).exterior.is_ccw  # RFC 7946 orientation


# --------------------------------------------------------------------------- simulator helpers


@pytest.mark.parametrize("name", ["黄浦区", "静安区", "浦东新区", "崇明区", "金山区", "青浦区"])
def test_random_points_fall_in_their_district(name) -> None:
    district = geo.district_shapes()[name]
    for seed in range(8):
        lon, lat = geo.random_point_in_district(name, random.Random(seed))
        assert district.covers(Point(lon, lat))
        assert geo.district_of(lon, lat) == name


def test_random_points_are_deterministic_per_seed() -> None:
    first = [geo.random_point_in_district("徐汇区", random.Random(s)) for s in range(5)]
    again = [geo.random_point_in_district("徐汇区", random.Random(s)) for s in range(5)]
    assert first == again
    assert len(set(first)) == 5


def test_random_points_honour_the_margin() -> None:
    rng = random.Random(7)
    district = geo.district_shapes()["长宁区"]
    for _ in range(10):
        lon, lat = geo.random_point_in_district("长宁区", rng, margin_m=300)
        fence = shape(geo.square_geofence(lon, lat, 400))  # 283 m to a corner
        assert district.covers(fence)


def test_unknown_district() -> None:
    with pytest.raises(KeyError):
        geo.random_point_in_district("南汇区", random.Random(0))  # merged into 浦东 in 2009


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1),
       name=st.sampled_from(list(geo.district_shapes())),
       area=st.floats(800, 400_000))
def test_simulated_sites_are_valid_geofences(seed, name, area) -> None:
    """What the simulator does: a square of the site's area around a random point."""
    lon, lat = geo.random_point_in_district(name, random.Random(seed))
    geom = geo.parse_geofence(geo.square_geofence(lon, lat, math.sqrt(area)))
    assert geo.area_m2(geom) == pytest.approx(area, rel=0.001)
    assert geo.centroid_lonlat(geom) == pytest.approx((lon, lat), abs=1e-6)
