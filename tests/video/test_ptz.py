"""PTZ against the ONVIF device simulator (real SOAP over HTTP, WS-Security checked): moves
change its position, presets are listed, reached and saved; wrong credentials, an offline or
silent device, a camera without PTZ and bad speeds get clear messages and change nothing."""

from __future__ import annotations

import time

import pytest
from support.gateway import wait_for
from support.onvif_device import OnvifDevice
from support.video import closed_port

from smartsite.core.models import AuditEntry
from smartsite.video import services

pytestmark = pytest.mark.django_db


def ptz(client, camera, **data):
    return client.post(f"/cameras/{camera.pk}/ptz/", data, HTTP_ACCEPT="application/json")


def test_holding_right_pans_the_camera_and_releasing_stops_it(camera, cast, login, onvif):
    client = login(cast.manager_a)
    response = ptz(client, camera, action="move", pan="0.5", tilt="0", zoom="0")
    assert response.status_code == 200 and response.json() == {"ok": True, "message": "云台转动中"}
    assert wait_for(lambda: onvif.position[0] > 0.1, timeout=10)  # it turns
    assert ptz(client, camera, action="stop").json()["message"] == "已停止"
    pan, tilt, zoom = onvif.position
    assert pan > 0.1 and tilt == 0 and zoom == 0
    assert not onvif.moving
    assert "ContinuousMove" in onvif.calls and "Stop" in onvif.calls
    assert not onvif.refused  # every call carried a valid UsernameToken


def test_a_lost_stop_still_ends_the_move(camera, cast, login, onvif):
    services.ptz_move(camera, actor=cast.manager_a, zoom=1)
    assert wait_for(lambda: not onvif.moving, timeout=10)  # the move carries a 2 s Timeout
    assert 0.9 <= onvif.position[2] <= 1.0


def test_presets_are_listed_reached_and_saved(camera, cast, login, onvif):
    client = login(cast.district)
    panel = client.get(f"/cameras/{camera.pk}/ptz/presets/").content.decode()
    assert "大门" in panel and "材料堆场" in panel
    assert ptz(client, camera, action="goto", token="2").status_code == 200
    assert onvif.position == (-0.5, 0.2, 0.3)
    api = client.get(f"/api/v1/cameras/{camera.pk}/ptz/presets").json()
    assert {"token": "1", "name": "大门"} in api
    saved = client.post(f"/api/v1/cameras/{camera.pk}/ptz/presets", {"name": "塔吊"},
                        content_type="application/json")
    assert saved.status_code == 201 and saved.json() == {"token": "3", "name": "塔吊"}
    assert onvif.presets["3"] == ("塔吊", (-0.5, 0.2, 0.3))
    assert AuditEntry.objects.filter(model="video.camera", changes__preset__1="塔吊（3）").exists()
    moved = client.post(f"/api/v1/cameras/{camera.pk}/ptz/presets/1/goto")
    assert moved.status_code == 200 and onvif.position == (0.5, 0.0, 0.0)


def test_wrong_onvif_credentials_say_so_and_nothing_moves(cast, login, onvif, rtsp):
    camera = services.register_camera(project=cast.project_a, name="错密码", rtsp_url=rtsp.url(),
                                      username="admin", password="wrong", onvif_host="127.0.0.1",
                                      onvif_port=onvif.port, ptz_capable=True)
    response = ptz(login(cast.manager_a), camera, action="move", pan="0.5")
    assert response.status_code == 409
    assert response.json()["message"] == "摄像头拒绝了 ONVIF 用户名或密码"
    assert onvif.refused and "ContinuousMove" not in onvif.calls
    assert onvif.position == (0.0, 0.0, 0.0)


def test_ptz_to_an_offline_camera_says_so(cast, login, rtsp):
    port = closed_port()
    camera = services.register_camera(project=cast.project_a, name="离线", rtsp_url=rtsp.url(),
                                      onvif_host="127.0.0.1", onvif_port=port, ptz_capable=True)
    started = time.monotonic()
    response = login(cast.manager_a).post(f"/api/v1/cameras/{camera.pk}/ptz/move",
                                          {"pan": 0.5}, content_type="application/json")
    assert response.status_code == 409
    assert response.json() == {"code": "video.ptz_offline", "field": None,
                               "message": f"无法连接摄像头（ONVIF 127.0.0.1:{port}）或在 3 秒内没有响应："
                                          "摄像头离线、地址或端口有误，或该端口不是 ONVIF 服务"}
    assert time.monotonic() - started < 3


def test_a_silent_camera_times_out_quickly(cast, login, rtsp, settings):
    settings.VIDEO_ONVIF_TIMEOUT_SECONDS = 1
    silent = OnvifDevice(hang=True).start()
    try:
        camera = services.register_camera(project=cast.project_a, name="无响应", rtsp_url=rtsp.url(),
                                          onvif_host="127.0.0.1", onvif_port=silent.port,
                                          ptz_capable=True)
        started = time.monotonic()
        response = ptz(login(cast.manager_a), camera, action="stop")
        assert response.status_code == 409
        assert "1 秒内没有响应" in response.json()["message"]
        assert time.monotonic() - started < 5
    finally:
        silent.stop()


def test_a_camera_without_ptz_refuses_before_calling_anything(cast, login, onvif, rtsp):
    camera = services.register_camera(project=cast.project_a, name="枪机", rtsp_url=rtsp.url(),
                                      onvif_host="127.0.0.1", onvif_port=onvif.port)
    response = ptz(login(cast.manager_a), camera, action="move", pan="0.5")
    assert response.status_code == 409 and "不支持云台控制" in response.json()["message"]
    assert onvif.calls == []


@pytest.mark.parametrize(("data", "message"), [
    ({"action": "move", "pan": "5"}, "速度应在 -1 到 1 之间"),
    ({"action": "move", "pan": "left"}, "速度应在 -1 到 1 之间"),
    ({"action": "move"}, "请至少给出一个方向"),
    ({"action": "spin"}, "未知的云台指令"),
    ({"action": "set", "name": ""}, "预置位名称应为 1–40 个字符"),
])
def test_bad_ptz_input_is_refused_and_nothing_is_sent(camera, cast, login, onvif, data, message):
    response = ptz(login(cast.manager_a), camera, **data)
    assert response.status_code == 400 and message in response.json()["message"]
    assert onvif.calls == []


def test_the_api_checks_speeds_too(camera, cast, login, onvif):
    response = login(cast.manager_a).post(f"/api/v1/cameras/{camera.pk}/ptz/move", {"tilt": 2},
                                          content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"]["tilt"] == ["速度应在 -1 到 1 之间"]
    assert onvif.calls == []


def test_only_operators_may_steer(camera, cast, login, onvif):
    # The owner's people see nothing; a user with no role sees nothing either.
    assert ptz(login(cast.nobody), camera, action="stop").status_code == 404
    assert ptz(login(cast.contractor_b), camera, action="stop").status_code == 404
    assert onvif.calls == []
