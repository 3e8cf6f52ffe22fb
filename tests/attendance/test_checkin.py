"""attendance.checkin: the real model on real photos, the geofence on real Shanghai coordinates
with GCJ-02, and every bad input (a clear message, nothing stored or counted twice)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from support.attendance import LUJIAZUI_WGS, SQUARE_GCJ, SQUARE_WGS, payload
from support.clock import CLOCK_AT
from support.faces import photo

from smartsite.attendance.checkin import CheckInRefused, check_in, person_of
from smartsite.attendance.choices import Outcome, RequestStatus, Signal
from smartsite.attendance.faces import PhotoRejected
from smartsite.attendance.models import CheckIn, ReviewCase, StandIn
from smartsite.core import gcj02, geo
from smartsite.core.models import PostAssignment, Qualification

pytestmark = pytest.mark.django_db
AT = CLOCK_AT


def clock_in(cast, *, project=None, image="obama2.jpg", at=AT, person=None, **fields):
    return check_in(person=person or cast.person_a, project=project or cast.project_a,
                    payload=payload(**fields), photo=photo(image), at=at)


def codes(row) -> set[str]:
    return {r["code"] for r in row.reasons}


def refused(exc_type, cast, **kwargs):
    with pytest.raises(exc_type) as info:
        clock_in(cast, **kwargs)
    assert not CheckIn.objects.exists()
    return info.value


# ---------------------------------------------------------------- accepted


def test_a_gcj02_fix_at_the_site_with_the_enrolled_face_is_accepted(site):
    result = clock_in(site)
    row = result.checkin
    assert result.created and row.outcome == Outcome.ACCEPTED and row.reasons == []
    assert row.face_distance <= 0.6
    # stored as reported, and converted to WGS-84 within a metre of the published point
    assert (row.lng_raw, row.lat_raw, row.datum) == (*SQUARE_GCJ, "gcj02")
    assert geo.metres_outside(geo.square_geofence(*SQUARE_WGS, 2), row.lng, row.lat) < 1
    assert row.assignment.person == site.person_a and row.stand_in is None
    assert row.photo.read() == photo("obama2.jpg")


def test_a_wgs84_fix_at_the_site_is_accepted_as_is(site):
    row = clock_in(site, lng=SQUARE_WGS[0], lat=SQUARE_WGS[1], datum="wgs84").checkin
    assert row.outcome == Outcome.ACCEPTED and (row.lng, row.lat) == SQUARE_WGS


def test_a_resent_check_in_returns_the_first_result_and_counts_once(site):
    first = clock_in(site)
    again = check_in(person=site.person_a, project=site.project_a,
                     payload=payload(client_id=first.checkin.client_id, direction="exit"),
                     photo=photo("biden.jpg"), at=AT + datetime.timedelta(minutes=5))
    assert not again.created and again.checkin.pk == first.checkin.pk
    assert again.checkin.outcome == Outcome.ACCEPTED and again.checkin.direction == "entry"
    assert CheckIn.objects.count() == 1


# ---------------------------------------------------------------- faces


def test_someone_elses_face_is_rejected_and_goes_to_review(site):
    row = clock_in(site, image="biden.jpg").checkin
    assert row.outcome == Outcome.REJECTED and "face_mismatch" in codes(row)
    assert row.face_distance > 0.6
    assert "人脸与录入照片不一致" in row.reasons[0]["message"]
    case = ReviewCase.objects.get(checkin=row)
    assert case.signal == Signal.FACE_MISMATCH and case.evidence["distance"] > 0.6


@pytest.mark.parametrize(("image", "code", "words"), [
    ("no_face.jpg", "photo.no_face", "未检测到人脸"),
    ("two_faces.jpg", "photo.many_faces", "检测到多张人脸"),
])
def test_a_photo_without_exactly_one_face_is_refused_and_nothing_is_stored(site, image, code, words):
    error = refused(PhotoRejected, site, image=image)
    assert error.code == code and words in error.message


def test_a_20_mb_photo_is_refused_and_nothing_is_stored(site):
    with pytest.raises(PhotoRejected) as info:
        check_in(person=site.person_a, project=site.project_a, payload=payload(),
                 photo=photo("obama2.jpg") + b"\0" * 20_000_000, at=AT)
    assert info.value.status == 413 and "照片过大" in info.value.message
    assert not CheckIn.objects.exists()


def test_a_file_that_is_not_an_image_is_refused(site):
    with pytest.raises(PhotoRejected) as info:
        check_in(person=site.person_a, project=site.project_a, payload=payload(),
                 photo=b"<html>not a photo</html>", at=AT)
    assert "图片" in info.value.message and not CheckIn.objects.exists()


def test_without_an_enrolment_the_check_in_is_rejected(site):
    row = clock_in(site, person=site.person_b, project=site.project_b,
                   lng=LUJIAZUI_WGS[0], lat=LUJIAZUI_WGS[1], datum="wgs84").checkin
    assert row.outcome == Outcome.REJECTED and "no_enrolment" in codes(row)


# ---------------------------------------------------------------- position


def test_a_gcj02_flag_on_wgs84_numbers_lands_about_470_m_away_and_is_rejected(site):
    row = clock_in(site, lng=SQUARE_WGS[0], lat=SQUARE_WGS[1], datum="gcj02").checkin
    assert row.outcome == Outcome.REJECTED and codes(row) == {"outside_geofence"}
    message = row.reasons[0]["message"]
    assert "不在项目电子围栏内" in message and "坐标系标注可能有误" in message
    distance = int(message.split("距围栏约 ")[1].split(" 米")[0])
    assert 300 < distance < 500  # ~470 m from the centre, the square's half side is 100 m


def test_a_wgs84_flag_on_gcj02_numbers_is_rejected_too(site):
    row = clock_in(site, datum="wgs84").checkin
    assert row.outcome == Outcome.REJECTED and "outside_geofence" in codes(row)
    assert "按 GCJ-02 解读则在围栏内" in row.reasons[0]["message"]


def north_of_the_fence(metres: float) -> tuple[float, float]:
    """A WGS-84 point `metres` north of the site square's north edge."""
    lng, lat = SQUARE_WGS
    return lng, lat + (100 + metres) / 111_320


@pytest.mark.parametrize(("outside_m", "accuracy", "outcome"), [
    (25, 10, Outcome.ACCEPTED),   # within the 30 m minimum buffer
    (45, 10, Outcome.REJECTED),   # beyond it
    (45, 60, Outcome.ACCEPTED),   # the buffer grows with the reported accuracy
    (90, 95, Outcome.ACCEPTED),
])
def test_the_geofence_buffer_is_the_larger_of_30_m_and_the_accuracy(site, outside_m, accuracy,
                                                                    outcome):
    lng, lat = north_of_the_fence(outside_m)
    row = clock_in(site, lng=lng, lat=lat, datum="wgs84", accuracy_m=accuracy).checkin
    assert row.outcome == outcome, row.reasons


def test_an_accuracy_worse_than_100_m_goes_to_review(site):
    lng, lat = north_of_the_fence(120)
    row = clock_in(site, lng=lng, lat=lat, datum="wgs84", accuracy_m=150).checkin
    assert row.outcome == Outcome.REVIEW and codes(row) == {"accuracy"}
    assert ReviewCase.objects.get(checkin=row).signal == Signal.ACCURACY


@pytest.mark.parametrize("where", [(2.2945, 48.8584), (139.7671, 35.6812), (0.0, 0.0)])
def test_coordinates_outside_china_are_refused(site, where):
    error = refused(CheckInRefused, site, lng=where[0], lat=where[1])
    assert error.code == "checkin.outside_china" and "不在中国境内" in error.message


def test_a_project_without_a_geofence_goes_to_review(site):
    site.project_a.geofence = None
    site.project_a.save()
    row = clock_in(site).checkin
    assert row.outcome == Outcome.REVIEW and codes(row) == {"no_geofence"}


# ---------------------------------------------------------------- the post


def test_a_project_the_person_is_not_registered_on_is_refused(site):
    error = refused(CheckInRefused, site, project=site.project_b,
                    lng=LUJIAZUI_WGS[0], lat=LUJIAZUI_WGS[1], datum="wgs84")
    assert error.code == "checkin.not_registered" and "未在该项目报建登记" in error.message


def test_an_ended_assignment_no_longer_lets_the_person_check_in(site):
    PostAssignment.objects.filter(person=site.person_a).update(end_date=datetime.date(2026, 1, 31))
    refused(CheckInRefused, site)


def test_an_expired_certificate_rejects_the_check_in(site):
    Qualification.objects.filter(person=site.person_a).update(expires_on=datetime.date(2026, 1, 1))
    row = clock_in(site).checkin
    assert row.outcome == Outcome.REJECTED and codes(row) == {"no_qualification"}
    assert "资格证书已过期" in row.reasons[0]["message"]


def test_an_approved_stand_in_with_the_same_certificate_checks_in_for_the_post(site):
    from smartsite.attendance.enrolment import enrol
    from smartsite.attendance.identity import NotConfigured

    holder = PostAssignment.objects.get(person=site.person_a, project=site.project_a)
    stand = site.person_b
    Qualification.objects.create(person=stand, kind="constructor_1", number="沪1312025000002",
                                 issuer="住房和城乡建设部", expires_on=datetime.date(2030, 1, 1))
    enrol(person=stand, photo=photo("biden.jpg") + b"\0", actor=site.city,  # other bytes
          source=NotConfigured())
    standin = StandIn.objects.create(assignment=holder, person=stand, start_date=AT.date(),
                                     end_date=AT.date(), status=RequestStatus.REQUESTED)
    refused(CheckInRefused, site, person=stand, image="biden.jpg")  # not approved yet
    StandIn.objects.filter(pk=standin.pk).update(status=RequestStatus.APPROVED)
    row = clock_in(site, person=stand, image="biden.jpg").checkin
    assert row.outcome == Outcome.ACCEPTED and row.stand_in_id == standin.pk
    assert row.assignment == holder


# ---------------------------------------------------------------- spoofing


def test_the_same_photo_bytes_twice_go_to_review(site):
    first = clock_in(site).checkin
    second = clock_in(site, at=AT + datetime.timedelta(hours=6), direction="exit").checkin
    assert first.outcome == Outcome.ACCEPTED
    assert second.outcome == Outcome.REVIEW and "same_photo" in codes(second)
    case = ReviewCase.objects.get(checkin=second, signal=Signal.SAME_PHOTO)
    assert case.evidence["checkins"] == [first.pk]


def test_the_enrolment_photo_sent_as_a_check_in_goes_to_review(site):
    row = clock_in(site, image="obama.jpg").checkin
    assert row.outcome == Outcome.REVIEW and "same_photo" in codes(row)


def test_three_fixes_with_identical_raw_coordinates_go_to_review(site):
    images = ["obama2.jpg", "obama3.jpg", "obama2.jpg"]
    rows = []
    for day, image in enumerate(images):
        # re-encode so the bytes differ: only the coordinates repeat
        data = photo(image) + bytes([day])
        rows.append(check_in(person=site.person_a, project=site.project_a,
                             payload=payload(lng=121.47370612, lat=31.23041945), photo=data,
                             at=AT + datetime.timedelta(days=day)).checkin)
    assert [r.outcome for r in rows[:2]] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert rows[2].outcome == Outcome.REVIEW and codes(rows[2]) == {"no_jitter"}


def test_two_sites_3_km_apart_within_a_minute_is_impossible_travel(site):
    PostAssignment.objects.create(project=site.project_b, person=site.person_a,
                                  post=PostAssignment.objects.first().post,
                                  start_date=datetime.date(2025, 5, 1))
    clock_in(site)
    row = clock_in(site, project=site.project_b, image="obama3.jpg",
                   lng=LUJIAZUI_WGS[0], lat=LUJIAZUI_WGS[1], datum="wgs84",
                   at=AT + datetime.timedelta(minutes=1)).checkin
    assert row.outcome == Outcome.REVIEW and codes(row) == {"impossible_travel"}
    evidence = ReviewCase.objects.get(checkin=row).evidence
    assert evidence["speed_kmh"] > 120 and 3 < evidence["distance_km"] < 4
    later = check_in(person=site.person_a, project=site.project_a, payload=payload(),
                     photo=photo("obama2.jpg") + b"\0", at=AT + datetime.timedelta(hours=2))
    assert later.checkin.outcome == Outcome.ACCEPTED  # 3.5 km in 2 h is a walk


# ---------------------------------------------------------------- the payload and the user


@pytest.mark.parametrize(("fields", "field"), [
    ({"client_id": "short"}, "client_id"),
    ({"client_id": "有中文的编号12345"}, "client_id"),
    ({"direction": "in"}, "direction"),
    ({"lng": "东经121度"}, "lng"),
    ({"lat": None}, "lat"),
    ({"lng": float("nan")}, "lng"),
    ({"lng": 200.0}, "lng"),
    ({"datum": "bd09"}, "datum"),
    ({"accuracy_m": -5}, "accuracy_m"),
    ({"device_time": "昨天"}, "device_time"),
    ({"device_time": "2026-11-25T08:00:00"}, "device_time"),
])
def test_a_bad_field_is_named_and_nothing_is_stored(site, fields, field):
    error = refused(CheckInRefused, site, **fields)
    assert error.field == field and error.status == 422


def test_a_user_whose_login_is_the_resident_id_checks_in_as_that_person(site):
    user = get_user_model().objects.create_user(site.person_a.resident_id.lower(), password="x")
    assert person_of(user) == site.person_a
    row = check_in(user=user, project=site.project_a, payload=payload(), photo=photo("obama2.jpg"),
                   at=AT).checkin
    assert row.person == site.person_a and row.outcome == Outcome.ACCEPTED


def test_a_user_linked_to_no_person_is_told_so(site):
    with pytest.raises(CheckInRefused) as info:
        check_in(user=site.nobody, project=site.project_a, payload=payload(),
                 photo=photo("obama2.jpg"), at=AT)
    assert info.value.code == "checkin.no_person" and "未关联" in info.value.message


def test_the_gcj02_conversion_used_is_core_gcj02():
    lng, lat = gcj02.gcj02_to_wgs84(*SQUARE_GCJ)
    assert abs(lng - SQUARE_WGS[0]) < 1e-5 and abs(lat - SQUARE_WGS[1]) < 1e-5
