"""POST /api/v1/attendance/checkins and the phone page, as a key-post person's phone uses them:
signed in as the user whose login name is the person's 身份证号."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from support.attendance import SQUARE_WGS, payload
from support.faces import photo

from smartsite.attendance.models import CheckIn

pytestmark = pytest.mark.django_db
URL = "/api/v1/attendance/checkins"


@pytest.fixture
def phone(site, client):
    user = get_user_model().objects.create_user(site.person_a.resident_id, password="x")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def post(client, image="obama2.jpg", data=None, **fields):
    body = {"project": fields.pop("project", None) or 0, **payload(**fields)}
    if data is not None:
        body = data
    files = {"photo": SimpleUploadedFile("c.jpg", photo(image) if isinstance(image, str)
                                         else image, content_type="image/jpeg")}
    return client.post(URL, {**{k: v for k, v in body.items() if v is not None}, **files})


def test_a_check_in_is_stored_and_a_resend_answers_200_with_the_first(site, phone):
    fields = payload()
    first = post(phone, project=site.project_a.pk, **fields)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["outcome"] == "accepted" and body["reasons"] == [] and body["person"] == site.person_a.pk
    assert abs(body["lng"] - SQUARE_WGS[0]) < 1e-5
    again = post(phone, image="biden.jpg", project=site.project_a.pk, **fields)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert CheckIn.objects.count() == 1


def test_the_fields_may_come_as_one_json_object(site, phone):
    data = {"data": json.dumps({"project": site.project_a.pk, **payload()})}
    response = post(phone, data=data)
    assert response.status_code == 201 and response.json()["outcome"] == "accepted"


def test_a_rejected_check_in_answers_201_with_its_reasons(site, phone):
    response = post(phone, image="biden.jpg", project=site.project_a.pk)
    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "rejected" and body["review"] == ["face_mismatch"]
    assert "人脸与录入照片不一致" in body["reasons"][0]["message"]


@pytest.mark.parametrize(("image", "status", "field", "words"), [
    ("no_face.jpg", 422, "photo", "未检测到人脸"),
    ("two_faces.jpg", 422, "photo", "检测到多张人脸"),
    (b"%PDF-1.4 not a photo", 422, "photo", "不是可识别的图片"),
])
def test_an_unusable_photo_is_a_clear_4xx_and_stores_nothing(site, phone, image, status, field,
                                                              words):
    response = post(phone, image=image, project=site.project_a.pk)
    assert response.status_code == status, response.content
    assert words in json.dumps(response.json(), ensure_ascii=False)
    assert not CheckIn.objects.exists()


def test_a_20_mb_photo_is_refused_with_413(site, phone):
    big = photo("obama2.jpg") + b"\0" * 20_000_000
    response = post(phone, image=big, project=site.project_a.pk)
    assert response.status_code == 413
    assert "过大" in response.json()["message"] and not CheckIn.objects.exists()


def test_coordinates_outside_china_are_a_422_on_the_position(site, phone):
    response = post(phone, project=site.project_a.pk, lng=2.2945, lat=48.8584, datum="wgs84")
    assert response.status_code == 422
    assert "不在中国境内" in json.dumps(response.json(), ensure_ascii=False)


def test_a_project_the_person_is_not_on_and_one_that_does_not_exist_answer_alike(site, phone):
    other = post(phone, project=site.project_b.pk)
    missing = post(phone, project=999999)
    assert other.status_code == missing.status_code == 422
    assert other.json()["errors"] == missing.json()["errors"]
    assert "未在该项目报建登记" in json.dumps(other.json(), ensure_ascii=False)
    assert not CheckIn.objects.exists()


def test_a_gcj02_flag_on_wgs84_numbers_is_rejected_as_outside_the_fence(site, phone):
    response = post(phone, project=site.project_a.pk, lng=SQUARE_WGS[0], lat=SQUARE_WGS[1],
                    datum="gcj02")
    assert response.status_code == 201 and response.json()["outcome"] == "rejected"
    assert "不在项目电子围栏内" in response.json()["reasons"][0]["message"]


def test_a_user_who_is_no_key_post_person_is_told_so(site, login):
    client = login(site.manager_a)
    response = post(client, project=site.project_a.pk)
    assert response.status_code == 400 and "未关联关键岗位人员" in response.json()["message"]


def test_a_json_body_is_refused_with_a_pointer_to_multipart(site, phone):
    response = phone.post(URL, payload(), content_type="application/json")
    assert response.status_code in (415, 422)
    assert not CheckIn.objects.exists()


def test_anonymous_gets_401(site, client):
    assert post(client, project=site.project_a.pk).status_code == 401


def test_the_phone_page_lists_the_persons_posts_and_loads_its_script(site, phone):
    response = phone.get("/attendance/checkin/")
    text = response.content.decode()
    assert response.status_code == 200
    assert site.project_a.name in text and "进场打卡" in text and "离场打卡" in text
    assert "smartsite/checkin.js" in text and "<script>" not in text


def test_the_phone_page_tells_a_user_without_a_person(site, login):
    text = login(site.manager_a).get("/attendance/checkin/").content.decode()
    assert "未关联关键岗位人员" in text and "进场打卡" not in text
