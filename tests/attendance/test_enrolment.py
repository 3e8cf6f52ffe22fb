"""attendance.enrolment and the identity protocol, against the local 公安人脸库 service
(smartsite.simulator.identity_service) over real HTTP, with the real model on real photos."""

from __future__ import annotations

import pytest
from support.faces import photo

from smartsite.attendance import enrolment
from smartsite.attendance.choices import IdentityResult
from smartsite.attendance.faces import PhotoRejected
from smartsite.attendance.identity import HttpIdentitySource, configured_source
from smartsite.attendance.models import Enrolment
from smartsite.core.errors import Forbidden
from smartsite.core.models import AuditEntry
from smartsite.simulator.identity_service import IdentityService

pytestmark = pytest.mark.django_db


@pytest.fixture
def police(cast):
    """The local face database: 张三 (person_a) on record with obama.jpg, token "t0ken"."""
    with IdentityService({cast.person_a.resident_id: photo("obama.jpg")}, token="t0ken") as srv:
        yield srv


@pytest.fixture
def identity_settings(settings, police):
    settings.IDENTITY_URL = police.url
    settings.IDENTITY_TOKEN = "t0ken"
    return settings


def test_a_district_officer_enrols_a_matching_photo_and_it_becomes_active(cast, identity_settings):
    done = enrolment.enrol(person=cast.person_a, photo=photo("obama2.jpg"), actor=cast.district)
    row = done.enrolment
    assert row.active and row.identity_result == IdentityResult.MATCHED
    assert 0 < row.identity_distance <= 0.6
    assert len(row.encoding) == 128 and row.photo.read() == photo("obama2.jpg")
    assert "一致" in done.message
    assert AuditEntry.objects.filter(model="attendance.enrolment", object_id=str(row.pk)).exists()


def test_a_photo_of_someone_else_is_kept_inactive_as_a_mismatch(cast, identity_settings):
    first = enrolment.enrol(person=cast.person_a, photo=photo("obama.jpg"),
                            actor=cast.district).enrolment
    done = enrolment.enrol(person=cast.person_a, photo=photo("biden.jpg"), actor=cast.district)
    assert done.enrolment.identity_result == IdentityResult.MISMATCH
    assert not done.enrolment.active and "人证不符" in done.message
    first.refresh_from_db()
    assert first.active  # check-ins keep comparing with the matching photo


def test_a_new_matching_enrolment_retires_the_old_one(cast, identity_settings):
    first = enrolment.enrol(person=cast.person_a, photo=photo("obama.jpg"), actor=cast.city)
    second = enrolment.enrol(person=cast.person_a, photo=photo("obama3.jpg"), actor=cast.city)
    first.enrolment.refresh_from_db()
    assert not first.enrolment.active and second.enrolment.active
    assert Enrolment.objects.filter(person=cast.person_a, active=True).count() == 1


def test_a_person_without_a_record_is_enrolled_as_unavailable(cast, identity_settings):
    done = enrolment.enrol(person=cast.person_b, photo=photo("biden.jpg"), actor=cast.city)
    assert done.enrolment.identity_result == IdentityResult.UNAVAILABLE
    assert done.enrolment.active and "没有该身份证号" in done.message


def test_without_an_identity_source_the_enrolment_says_it_was_not_checked(cast, settings):
    settings.IDENTITY_URL = ""
    done = enrolment.enrol(person=cast.person_a, photo=photo("obama.jpg"), actor=cast.district)
    assert done.enrolment.identity_result == IdentityResult.UNAVAILABLE
    assert "未配置" in done.message


def test_a_wrong_token_is_reported_not_raised(cast, police):
    answer = HttpIdentitySource(police.url, token="wrong").compare(cast.person_a.resident_id,
                                                                   photo("obama.jpg"))
    assert answer.result == IdentityResult.UNAVAILABLE and "拒绝访问" in answer.message


def test_a_source_that_is_down_is_reported_not_raised(cast):
    service = IdentityService()
    url = service.url  # bound, never started, then closed: nothing listens there
    service._server.server_close()
    answer = HttpIdentitySource(url, timeout=2).compare(cast.person_a.resident_id, b"x")
    assert answer.result == IdentityResult.UNAVAILABLE and "无法连接" in answer.message


def test_the_configured_source_is_the_http_client(identity_settings, police):
    source = configured_source()
    assert isinstance(source, HttpIdentitySource) and source.base_url == police.url


@pytest.mark.parametrize("name", ["no_face.jpg", "two_faces.jpg"])
def test_an_unusable_photo_is_refused_and_nothing_is_stored(cast, identity_settings, police, name):
    with pytest.raises(PhotoRejected):
        enrolment.enrol(person=cast.person_a, photo=photo(name), actor=cast.district)
    assert not Enrolment.objects.exists()
    assert police.requests == 0


@pytest.mark.parametrize("who", ["contractor_a", "manager_a", "street", "nobody"])
def test_only_regulators_enrol(cast, identity_settings, who):
    with pytest.raises(Forbidden):
        enrolment.enrol(person=cast.person_a, photo=photo("obama.jpg"),
                        actor=getattr(cast, who))
    assert not Enrolment.objects.exists()


def test_a_district_officer_cannot_enrol_people_of_another_district(cast, identity_settings):
    with pytest.raises(Forbidden):  # person_b works on project B in 浦东新区; the officer is 静安
        enrolment.enrol(person=cast.person_b, photo=photo("biden.jpg"), actor=cast.district)


# ---------------------------------------------------------------- the API


def _enrol_over_api(client, person, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/attendance/enrolments", {
        "person": person.pk, "photo": SimpleUploadedFile("p.jpg", photo(name), "image/jpeg")})


def test_a_district_officer_enrols_over_the_api(cast, identity_settings, login):
    response = _enrol_over_api(login(cast.district), cast.person_a, "obama2.jpg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["identity_result"] == "matched" and body["active"] and "一致" in body["message"]


def test_the_api_refuses_a_photo_with_two_faces_on_the_photo_field(cast, identity_settings, login):
    response = _enrol_over_api(login(cast.district), cast.person_a, "two_faces.jpg")
    assert response.status_code == 422 and "photo" in response.json()["errors"]
    assert not Enrolment.objects.exists()


def test_a_contractor_may_not_enrol_over_the_api(cast, identity_settings, login):
    response = _enrol_over_api(login(cast.contractor_a), cast.person_a, "obama.jpg")
    assert response.status_code == 403 and not Enrolment.objects.exists()


# ---------------------------------------------------------------- the page


def test_a_district_officer_enrols_on_the_page(cast, identity_settings, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login(cast.district)
    url = f"/attendance/people/{cast.person_a.pk}/enrol/"
    assert "尚未录入" in client.get(url).content.decode()
    response = client.post(url, {"photo": SimpleUploadedFile("p.jpg", photo("obama3.jpg"),
                                                             "image/jpeg")}, follow=True)
    text = response.content.decode()
    assert "与公安人脸库照片一致" in text and "启用" in text
    assert Enrolment.objects.get().active


def test_the_page_says_why_a_photo_is_refused(cast, identity_settings, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = login(cast.district).post(
        f"/attendance/people/{cast.person_a.pk}/enrol/",
        {"photo": SimpleUploadedFile("p.jpg", photo("no_face.jpg"), "image/jpeg")})
    assert response.status_code == 400 and "未检测到人脸" in response.content.decode()
    assert not Enrolment.objects.exists()
