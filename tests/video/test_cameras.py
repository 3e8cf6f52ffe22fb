"""Registering cameras: validation with Chinese messages, encrypted credentials that never
show (pages, API, audit), permissions and scope (404 outside it)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from smartsite.core.errors import Forbidden
from smartsite.core.models import AuditEntry
from smartsite.dust.models import Monitor
from smartsite.video import services
from smartsite.video.models import Camera

pytestmark = pytest.mark.django_db

FORM = {"name": "北门", "location": "北门口", "rtsp_url": "rtsp://10.1.2.3:554/Streaming/101",
        "onvif_host": "", "onvif_port": "", "username": "", "password": ""}


def post_form(client, project, **changes):
    return client.post("/cameras/add/", {**FORM, "project": project.pk, **changes})


def monitor(project, mn):
    return Monitor.objects.create(mn=mn, password="123456", project=project)


def test_contractor_registers_a_camera_and_the_credentials_are_stored_encrypted(cast, login):
    client = login(cast.contractor_a)
    response = post_form(client, cast.project_a,
                         rtsp_url="rtsp://admin:Sup3r-Secret@10.1.2.3:554/Streaming/101")
    camera = Camera.objects.get()
    assert response.status_code == 302 and response.url == f"/cameras/{camera.pk}/"
    assert camera.rtsp_url == "rtsp://10.1.2.3:554/Streaming/101"  # userinfo taken out
    assert (camera.username, camera.password) == ("admin", "Sup3r-Secret")
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM video_camera")
        row = " ".join(str(v) for v in cur.fetchone())
    assert "Sup3r-Secret" not in row and "admin:" not in row
    entry = AuditEntry.objects.get(model="video.camera")
    assert "Sup3r-Secret" not in str(entry.changes) and "secret" not in str(entry.changes)
    assert entry.changes["credentials"] == [None, "已设置"]
    page = client.get(camera.get_absolute_url()).content.decode()
    assert "Sup3r-Secret" not in page and "已设置（加密保存）" in page
    edit = client.get(f"/cameras/{camera.pk}/edit/").content.decode()
    assert "Sup3r-Secret" not in edit
    api = client.get(f"/api/v1/cameras/{camera.pk}").json()
    assert api["has_credentials"] is True and "Sup3r-Secret" not in str(api)
    assert api["rtsp_url"] == "rtsp://10.1.2.3:554/Streaming/101"


def test_a_blank_password_on_edit_keeps_the_stored_one_and_a_new_one_is_audited(cast, login):
    camera = services.register_camera(project=cast.project_a, name="北门", rtsp_url=FORM["rtsp_url"],
                                      username="admin", password="old-pass", actor=cast.contractor_a)
    client = login(cast.contractor_a)
    client.post(f"/cameras/{camera.pk}/edit/", {**FORM, "project": cast.project_a.pk,
                                                "name": "北门（新）"})
    camera.refresh_from_db()
    assert camera.name == "北门（新）" and camera.password == "old-pass"
    client.post(f"/cameras/{camera.pk}/edit/", {**FORM, "project": cast.project_a.pk,
                                                "password": "new-pass"})
    camera.refresh_from_db()
    assert camera.password == "new-pass" and camera.username == "admin"
    last = AuditEntry.objects.filter(model="video.camera").order_by("-pk").first()
    assert last.changes["credentials"] == ["已设置", "已更改"]
    assert "new-pass" not in str(last.changes)


@pytest.mark.parametrize("url", ["http://10.1.2.3/stream", "10.1.2.3:554/stream", "ftp://x/y",
                                 "rtmp://10.1.2.3/live"])
def test_a_camera_url_that_is_not_rtsp_is_refused_and_nothing_is_saved(cast, login, url):
    response = post_form(login(cast.contractor_a), cast.project_a, rtsp_url=url)
    assert response.status_code == 422
    assert "摄像头地址必须以 rtsp:// 或 rtsps:// 开头" in response.content.decode()
    assert not Camera.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services.register_camera(project=cast.project_a, name="x", rtsp_url=url)
    assert exc.value.message_dict["rtsp_url"] == ["摄像头地址必须以 rtsp:// 或 rtsps:// 开头"]


@pytest.mark.parametrize("url", ["rtsp://admin:pw@[::1/stream", "rtsp://10.1.2.3:99999/stream",
                                 "rtsp://10.1.2.3:abc/stream"])
def test_a_malformed_camera_url_is_refused_on_the_field_not_500(cast, login, url):
    response = post_form(login(cast.contractor_a), cast.project_a, rtsp_url=url)
    assert response.status_code == 422
    assert "摄像头地址格式有误" in response.content.decode()
    assert not Camera.objects.exists()


def test_rtsps_is_accepted(cast):
    camera = services.register_camera(project=cast.project_a, name="加密流",
                                      rtsp_url="rtsps://cam.example.cn:322/live")
    assert camera.rtsp_url == "rtsps://cam.example.cn:322/live"


def test_a_monitor_of_another_project_is_refused(cast, login):
    other = monitor(cast.project_b, "31PD00000000000000000B01")
    own = monitor(cast.project_a, "31JA00000000000000000A01")
    # The city regulator may manage both projects, so the choice is offered: the rule refuses it.
    response = post_form(login(cast.city), cast.project_a, monitor=other.pk)
    assert response.status_code == 422
    assert "只能关联本项目的监测设备" in response.content.decode()
    assert not Camera.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services.register_camera(project=cast.project_a, name="x", rtsp_url=FORM["rtsp_url"],
                                 monitor=other)
    assert exc.value.message_dict["monitor"] == ["只能关联本项目的监测设备"]
    camera = services.register_camera(project=cast.project_a, name="x", rtsp_url=FORM["rtsp_url"],
                                      monitor=own)
    assert camera.monitor == own


def test_the_linked_monitor_shows_everywhere_and_a_deleted_one_leaves_no_link(cast, login):
    own = monitor(cast.project_a, "31JA00000000000000000A01")
    monitor(cast.project_a, "31JA00000000000000000A02")
    client = login(cast.contractor_a)
    response = post_form(client, cast.project_a, monitor=own.pk)
    camera = Camera.objects.get()
    assert response.status_code == 302 and camera.monitor == own
    page = client.get(f"/cameras/{camera.pk}/").content.decode()
    assert f'关联监测设备 <a href="{own.get_absolute_url()}"><code>{own.mn}</code></a>' in page
    assert own.mn in client.get("/cameras/").content.decode()
    assert client.get(f"/api/v1/cameras/{camera.pk}").json()["monitor_mn"] == own.mn
    edit = client.get(f"/cameras/{camera.pk}/edit/").content.decode()
    assert f'<option value="{own.pk}" selected>{own.mn}（静安甲项目）</option>' in edit
    history = AuditEntry.objects.get(model="video.camera", object_id=str(camera.pk))
    assert history.changes["monitor"] == [None, own.pk]
    own.delete()
    camera.refresh_from_db()
    assert camera.monitor is None and camera.monitor_id is None
    assert client.get(f"/api/v1/cameras/{camera.pk}").json()["monitor_mn"] is None


def test_ptz_needs_an_onvif_address(cast, login):
    response = post_form(login(cast.contractor_a), cast.project_a, ptz_capable="on")
    assert response.status_code == 422
    assert "云台控制需要填写 ONVIF 地址" in response.content.decode()


def test_contractor_b_cannot_register_a_camera_on_project_a(cast, login):
    response = post_form(login(cast.contractor_b), cast.project_a)
    assert response.status_code == 422
    assert "只能选择您有权登记摄像头的项目" in response.content.decode()
    with pytest.raises(Forbidden):
        services.register_camera(project=cast.project_a, name="x", rtsp_url=FORM["rtsp_url"],
                                 actor=cast.contractor_b)
    assert not Camera.objects.exists()


def test_district_regulator_registers_in_its_district_only(cast):
    services.register_camera(project=cast.project_a, name="静安", rtsp_url=FORM["rtsp_url"],
                             actor=cast.district)
    with pytest.raises(Forbidden):
        services.register_camera(project=cast.project_b, name="浦东", rtsp_url=FORM["rtsp_url"],
                                 actor=cast.district)


def test_the_list_shows_a_project_s_cameras_to_its_people_and_the_city(cast, login):
    services.register_camera(project=cast.project_a, name="甲项目北门", rtsp_url=FORM["rtsp_url"])
    services.register_camera(project=cast.project_b, name="乙项目南门", rtsp_url=FORM["rtsp_url"])
    page = login(cast.manager_a).get("/cameras/").content.decode()
    assert "甲项目北门" in page and "乙项目南门" not in page
    page = login(cast.city).get(f"/cameras/?project={cast.project_b.pk}").content.decode()
    assert "乙项目南门" in page and "甲项目北门" not in page
    assert login(cast.city).get("/api/v1/cameras").json()["count"] == 2


def test_delete_keeps_cameras_whose_snapshots_are_evidence(cast, login, tmp_path):
    from django.utils import timezone

    from smartsite.video.models import Snapshot
    from smartsite.workorders.services import raise_event

    camera = services.register_camera(project=cast.project_a, name="北门", rtsp_url=FORM["rtsp_url"])
    event = raise_event(scenario="dust", rule="test", project=cast.project_a, dedup_key="k",
                        title="扬尘超标")
    Snapshot.objects.create(camera=camera, event=event, taken_at=timezone.now(), file="x.jpg")
    client = login(cast.contractor_a)
    response = client.post(f"/cameras/{camera.pk}/delete/", follow=True)
    assert "不能删除" in response.content.decode()
    assert Camera.objects.filter(pk=camera.pk).exists()
    Snapshot.objects.all().delete()
    client.post(f"/cameras/{camera.pk}/delete/")
    assert not Camera.objects.filter(pk=camera.pk).exists()
