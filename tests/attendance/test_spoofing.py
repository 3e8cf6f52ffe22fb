"""attendance.spoofing: pure signals over a person's recent check-ins. No database."""

from __future__ import annotations

import datetime

from smartsite.attendance import spoofing

T0 = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)
SQUARE = (121.4691633, 31.2323443)  # 人民广场
HONGQIAO = (121.3197, 31.1940)  # 虹桥, ~15 km west


def fix(pk, project, minutes, where, raw=None, sha=""):
    raw = raw or where
    return spoofing.Fix(pk, project, T0 + datetime.timedelta(minutes=minutes), where[0], where[1],
                        raw[0], raw[1], sha)


def test_fifteen_km_in_five_minutes_between_two_sites_is_impossible():
    found = spoofing.impossible_travel(fix(1, 1, 0, SQUARE), fix(None, 2, 5, HONGQIAO),
                                       max_kmh=120)
    assert found.signal == "impossible_travel"
    assert 14 < found.evidence["distance_km"] < 16 and found.evidence["speed_kmh"] > 120


def test_fifteen_km_in_an_hour_is_possible():
    assert spoofing.impossible_travel(fix(1, 1, 0, SQUARE), fix(None, 2, 60, HONGQIAO),
                                      max_kmh=120) is None


def test_the_same_site_or_a_short_hop_is_never_impossible_travel():
    assert spoofing.impossible_travel(fix(1, 1, 0, SQUARE), fix(None, 1, 1, HONGQIAO),
                                      max_kmh=120) is None
    near = (SQUARE[0] + 0.005, SQUARE[1])  # ~480 m: GPS error can do that
    assert spoofing.impossible_travel(fix(1, 1, 0, SQUARE), fix(None, 2, 0, near),
                                      max_kmh=120) is None


def test_identical_raw_coordinates_three_times_have_no_jitter():
    raw = (121.473706123, 31.230419456)
    recent = [fix(1, 1, 0, SQUARE, raw), fix(2, 1, 600, SQUARE, raw)]
    found = spoofing.no_jitter(recent, fix(None, 1, 1200, SQUARE, raw))
    assert found.signal == "no_jitter" and found.evidence["checkins"] == [1, 2]
    assert spoofing.no_jitter(recent[:1], fix(None, 1, 1200, SQUARE, raw)) is None


def test_fixes_that_wander_by_a_metre_have_jitter():
    recent = [fix(1, 1, 0, SQUARE, (121.4737061, 31.2304194)),
              fix(2, 1, 600, SQUARE, (121.4737072, 31.2304188))]
    assert spoofing.no_jitter(recent, fix(None, 1, 1200, SQUARE, (121.4737055, 31.2304201))) is None


def test_the_same_photo_bytes_are_found_in_check_ins_and_enrolments():
    found = spoofing.same_photo("ab" * 32, [(7, 3), (9, 4)], [2])
    assert found.evidence["checkins"] == [7, 9] and found.evidence["people"] == [3, 4]
    assert "录入的人脸照片" in found.message
    assert spoofing.same_photo("ab" * 32, [], []) is None
