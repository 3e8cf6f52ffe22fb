"""Registering, changing and deleting cameras over /api/v1: the page's validation in the page's
words (field-level 422, nothing changed), credentials that go in and never come out (no
response, no audit entry). Who may write what is in tests/core/test_matrix.py."""

from __future__ import annotations

import html
import re

import pytest
from support.api import Api

from smartsite.core.models import AuditEntry
from smartsite.dust.models import Monitor
from smartsite.video import services
from smartsite.video.models import Camera

pytestmark = pytest.mark.django_db

URL = "rtsp://58.246.120.10:554/Streaming/Channels/101"  # never connected to in these tests
FORM = {"name": "北门", "location": "北门口", "rtsp_url": URL, "onvif_host": "",
        "onvif_port": "", "username": "", "password": ""}


@pytest.fixture
def api_as(client):
    return lambda user: Api(client, user)


def _rows():
    return list(Camera.objects.order_by("pk").values())


def _json(form: dict, project) -> dict:
    """The page's form as an API body (empty optional fields left out)."""
    out = {"project": project.pk}
    for key, value in form.items():
        if key == "onvif_port":
            if value:
                out[key] = int(value)
        elif key in ("ptz_capable", "record", "active"):
            out[key] = value == "on"
        elif key == "monitor":
            out[key] = int(value)
        else:
            out[key] = value
    return out


def _page_errors(response, field) -> list[str]:
    found = re.findall(rf'<p class="error" data-field="{field}">(.*?)</p>',
                       response.content.decode())
    return [html.unescape(text) for text in found]


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": ""}, "name"),
    ({"rtsp_url": ""}, "rtsp_url"),
    ({"rtsp_url": "http://58.246.120.10/stream"}, "rtsp_url"),
    ({"rtsp_url": "rtsp://[58.246.120.10/stream"}, "rtsp_url"),
    ({"rtsp_url": "rtsp:///stream"}, "rtsp_url"),
    ({"onvif_host": "http://58.246.120.10/onvif"}, "onvif_host"),
    ({"ptz_capable": "on"}, "onvif_host"),
    ({"onvif_host": "58.246.120.10", "onvif_port": "70000"}, "onvif_port"),
    ({"password": "p" * 101}, "password"),
    ({"username": "u" * 101}, "username"),
    ({"monitor": "MONITOR_B"}, "monitor"),  # the city sees it, but it is project B's
])
def test_the_api_refuses_what_the_page_refuses_in_the_same_words(cast, login, api_as, changes,
                                                                  field):
    if changes.get("monitor") == "MONITOR_B":
        other = Monitor.objects.create(mn="31PD00000000000000000B01", password="123456",
                                       project=cast.project_b)
        changes = {"monitor": str(other.pk)}
    form = {**FORM, **changes}
    page = login(cast.city).post("/cameras/add/", {**form, "project": cast.project_a.pk})
    assert page.status_code == 422
    page_messages = _page_errors(page, field)
    assert page_messages, page.content.decode()[:3000]
    messages = api_as(cast.city).refused("post", "/cameras", _json(form, cast.project_a), field)
    assert messages == page_messages
    assert _rows() == []


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": None}, "name", "必填"),
    ({"project": "静安甲项目"}, "project", "应为整数"),
    ({"onvif_port": "八十"}, "onvif_port", "应为整数"),
    ({"ptz_capable": "yes please"}, "ptz_capable", "应为布尔值"),
    ({"secret": "x"}, "secret", "不是可接受的字段"),
    ({"rtsp_url": "rtsp://58.246.120.10/\x00"}, "rtsp_url", "空字符"),
])
def test_a_bad_registration_is_a_field_level_422(cast, api_as, changes, field, message):
    body = {**_json(FORM, cast.project_a), **changes}
    body = {k: v for k, v in body.items() if v is not None}
    messages = api_as(cast.contractor_a).refused("post", "/cameras", body, field)
    assert any(message in m for m in messages), messages
    assert _rows() == []


def test_a_monitor_the_user_cannot_see_is_not_found_like_one_that_does_not_exist(cast, api_as):
    hidden = Monitor.objects.create(mn="31PD00000000000000000B01", password="123456",
                                    project=cast.project_b)
    api = api_as(cast.contractor_a)
    body = _json(FORM, cast.project_a)
    assert api.refused("post", "/cameras", {**body, "monitor": hidden.pk}, "monitor") == [
        f"未找到编号为 {hidden.pk} 的监测设备"]
    assert _rows() == []


def test_credentials_go_in_and_never_come_out(cast, api_as):
    api = api_as(cast.contractor_a)
    response = api.call("post", "/cameras", {
        **_json(FORM, cast.project_a),
        "rtsp_url": "rtsp://admin:Sup3r-Secret@58.246.120.10:554/Streaming/Channels/101"})
    assert response.status_code == 201, response.content
    out = response.json()
    assert "Sup3r-Secret" not in response.content.decode() and "admin" not in str(out)
    assert out["rtsp_url"] == URL and out["has_credentials"] is True
    camera = Camera.objects.get(pk=out["id"])
    assert (camera.username, camera.password) == ("admin", "Sup3r-Secret")

    response = api.call("patch", f"/cameras/{camera.pk}", {"password": "N3w-Secret"})
    assert response.status_code == 200 and "N3w-Secret" not in response.content.decode()
    camera.refresh_from_db()
    assert (camera.username, camera.password) == ("admin", "N3w-Secret")
    trail = AuditEntry.objects.filter(model="video.camera", object_id=str(camera.pk))
    text = str([e.changes for e in trail])
    assert "Sup3r-Secret" not in text and "N3w-Secret" not in text and "admin" not in text
    assert trail.get(action="update").changes == {"credentials": ["已设置", "已更改"]}
    audit = api.call("get", f"/audit?model=video.camera&object_id={camera.pk}")
    assert "Secret" not in audit.content.decode()

    response = api.call("patch", f"/cameras/{camera.pk}", {"clear_credentials": True})
    assert response.json()["has_credentials"] is False


def test_patch_changes_only_what_is_given_and_null_is_refused_where_a_value_is_required(
        cast, api_as):
    camera = services.register_camera(project=cast.project_a, name="北门", rtsp_url=URL,
                                      location="北门口", username="admin", password="pw",
                                      actor=cast.contractor_a)
    api = api_as(cast.manager_a)
    response = api.call("patch", f"/cameras/{camera.pk}", {"active": False, "onvif_port": None})
    assert response.status_code == 200, response.content
    assert (response.json()["active"], response.json()["name"], response.json()["location"]) == (
        False, "北门", "北门口")
    before = _rows()
    for field in ("name", "rtsp_url", "active", "location"):
        assert api.refused("patch", f"/cameras/{camera.pk}", {field: None}, field)
    assert _rows() == before
    camera.refresh_from_db()
    assert camera.password == "pw"  # untouched by the refused and the partial changes


def test_delete_removes_the_camera_and_says_so_in_the_audit_trail(cast, api_as):
    camera = services.register_camera(project=cast.project_a, name="北门", rtsp_url=URL)
    response = api_as(cast.district).call("delete", f"/cameras/{camera.pk}")
    assert response.status_code == 204
    assert not Camera.objects.exists()
    assert AuditEntry.objects.get(model="video.camera", action="delete").actor == cast.district
    assert api_as(cast.district).call("delete", f"/cameras/{camera.pk}").status_code == 404


def test_page_and_api_answer_a_delete_by_someone_who_sees_but_may_not_manage_with_403(
        cast, login, api_as):
    camera = services.register_camera(project=cast.project_b, name="南门", rtsp_url=URL)
    assert login(cast.street).post(f"/cameras/{camera.pk}/delete/").status_code == 403
    assert api_as(cast.street).call("delete", f"/cameras/{camera.pk}").status_code == 403
    assert Camera.objects.filter(pk=camera.pk).exists()


def test_a_camera_whose_snapshots_are_evidence_is_kept_with_a_409(cast, api_as):
    import datetime

    from smartsite.video.models import Snapshot
    from smartsite.workorders.services import raise_event

    camera = services.register_camera(project=cast.project_a, name="北门", rtsp_url=URL)
    event = raise_event(scenario="dust", rule="test", project=cast.project_a, dedup_key="k",
                        title="扬尘超标")
    Snapshot.objects.create(camera=camera, event=event, file="x.jpg",
                            taken_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    response = api_as(cast.contractor_a).call("delete", f"/cameras/{camera.pk}")
    assert response.status_code == 409
    assert response.json() == {"code": "video.camera_has_evidence", "field": None,
                               "message": "该摄像头的抓拍已作为事件证据，不能删除；如不再使用，请将其停用"}
    assert Camera.objects.filter(pk=camera.pk).exists()
    assert not AuditEntry.objects.filter(model="video.camera", action="delete").exists()
