"""core.gcj02: GCJ-02 ↔ WGS-84 on published vectors and real Shanghai places. Pure: no database.

Vectors (docs/research/attendance.md §3.3): googollee/eviltransform's Shanghai test point and
wandergis/coordtransform's Beijing point are exact outputs of the formula; the points from
hujiulong/gcoord's `test/fixtures/china-cities.json` were read from a map service and agree
with the formula to within 1 m.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Geod

from smartsite.core import gcj02

GEOD = Geod(ellps="WGS84")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    _f, _b, dist = GEOD.inv(a[0], a[1], b[0], b[1])
    return dist


# (name, WGS-84 (lng, lat), GCJ-02 (lng, lat), tolerance in metres)
VECTORS = [
    ("eviltransform: Shanghai, Pudong", (121.5272106, 31.1774276),
     (121.531541859215, 31.17530398364597), 0.001),
    ("coordtransform: Beijing", (116.404, 39.915), (116.41024449916938, 39.91640428150164), 0.001),
    ("gcoord: 上海 黄浦区 (人民广场)", (121.4691633, 31.2323443), (121.4737061, 31.2304194), 1.0),
    ("gcoord: 苏州 姑苏区", (120.5811071, 31.3011601), (120.5852941, 31.298983), 1.0),
    ("gcoord: 嘉兴 南湖区", (120.7511656, 30.7484263), (120.755491, 30.746132), 1.0),
    ("gcoord: 南通 崇川区", (120.8900776, 31.9823396), (120.8943001, 31.980175), 1.0),
]


@pytest.mark.parametrize(("name", "wgs", "gcj", "tolerance"), VECTORS, ids=[v[0] for v in VECTORS])
def test_wgs84_to_gcj02_gives_the_published_point(name, wgs, gcj, tolerance):
    assert metres(gcj02.wgs84_to_gcj02(*wgs), gcj) <= tolerance


@pytest.mark.parametrize(("name", "wgs", "gcj", "tolerance"), VECTORS, ids=[v[0] for v in VECTORS])
def test_gcj02_to_wgs84_gives_the_published_point(name, wgs, gcj, tolerance):
    assert metres(gcj02.gcj02_to_wgs84(*gcj), wgs) <= tolerance


def test_a_gcj02_position_of_peoples_square_is_about_470_m_from_its_wgs84_position():
    # 人民广场, by the municipal government (人民大道200号): the centre of 黄浦区 in the gcoord
    # fixture. A phone's GCJ-02 fix read as if it were WGS-84 lands this far away.
    gcj = (121.4737061, 31.2304194)
    wgs = gcj02.gcj02_to_wgs84(*gcj)
    assert 450 <= metres(gcj, wgs) <= 500
    assert 450 <= gcj02.offset_m(*wgs) <= 500


def test_points_outside_china_come_back_unchanged():
    for point in [(183.0, 45.0), (2.2945, 48.8584), (-74.0445, 40.6892), (139.7671, 35.6812)]:
        assert gcj02.wgs84_to_gcj02(*point) == point
        assert gcj02.gcj02_to_wgs84(*point) == point
        assert not gcj02.in_china(*point)
    assert gcj02.in_china(121.47, 31.23)


@given(lng=st.floats(min_value=73.0, max_value=135.0),
       lat=st.floats(min_value=3.9, max_value=53.5))
def test_round_trip_returns_the_point_to_within_a_centimetre(lng, lat):
    back = gcj02.gcj02_to_wgs84(*gcj02.wgs84_to_gcj02(lng, lat))
    assert metres((lng, lat), back) < 0.01


@given(lng=st.floats(min_value=120.85, max_value=122.0),
       lat=st.floats(min_value=30.68, max_value=31.88))
def test_the_offset_across_shanghai_is_between_400_and_550_m(lng, lat):
    assert 400 < metres((lng, lat), gcj02.wgs84_to_gcj02(lng, lat)) < 550
