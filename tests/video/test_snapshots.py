"""Snapshots with real ffmpeg: a manual 抓拍 is a real JPEG of the test pattern; an event's
snapshot is requested durably, taken by the worker, shown on the order page, retried with
backoff and given up with the reason when the camera stays offline."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from support.rtsp_server import SMPTE_BARS
from support.video import closed_port, rgb_frame

from smartsite.dust.models import Monitor
from smartsite.video import jobs, services
from smartsite.video.choices import RequestState
from smartsite.video.models import Snapshot, SnapshotRequest
from smartsite.workorders.services import open_order, raise_event

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def assert_is_the_test_pattern(path):
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"  # a whole JPEG
    pixels = rgb_frame(path)
    width, y = 320, 40  # the seven 75 % bars fill the top two thirds
    for i, expected in enumerate(SMPTE_BARS):
        x = int((i + 0.5) * width / 7)
        got = pixels[(y * width + x) * 3:(y * width + x) * 3 + 3]
        assert all(abs(g - e) <= 24 for g, e in zip(got, expected, strict=True)), (i, tuple(got))


def dust_event(project, mn="", title="PM10 15 分钟均值超标"):
    return raise_event(scenario="dust", rule="exceedance", project=project, subject=mn,
                       dedup_key=f"dust:test:{mn or title}", title=title, severity="warning")


def test_the_snapshot_button_grabs_a_jpeg_of_the_test_pattern(camera, cast, login, tmp_path):
    client = login(cast.manager_a)
    response = client.post(f"/cameras/{camera.pk}/snapshots/", follow=True)
    assert "已抓拍" in response.content.decode()
    snapshot = Snapshot.objects.get()
    assert (snapshot.width, snapshot.height) == (320, 240) and snapshot.taken_by == cast.manager_a
    assert_is_the_test_pattern(services.snapshot_file(snapshot))
    image = client.get(f"/cameras/snapshots/{snapshot.pk}.jpg")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert login(cast.contractor_b).get(f"/cameras/snapshots/{snapshot.pk}.jpg").status_code == 404


def test_a_snapshot_of_an_offline_camera_says_why_and_keeps_nothing(cast, login, ffmpeg_installed):
    camera = services.register_camera(project=cast.project_a, name="离线",
                                      rtsp_url=f"rtsp://127.0.0.1:{closed_port()}/live")
    response = login(cast.manager_a).post(f"/cameras/{camera.pk}/snapshots/", follow=True)
    assert "抓拍失败：无法从摄像头读取视频：摄像头离线" in response.content.decode()
    assert not Snapshot.objects.exists()


def test_the_api_takes_and_lists_snapshots(camera, cast, login):
    client = login(cast.district)
    created = client.post(f"/api/v1/cameras/{camera.pk}/snapshots")
    assert created.status_code == 201, created.content
    assert created.json()["width"] == 320
    listed = client.get(f"/api/v1/cameras/{camera.pk}/snapshots").json()
    assert listed["count"] == 1 and listed["items"][0]["image"].endswith(".jpg")


def test_an_event_prefers_the_camera_linked_to_its_monitor(camera, cast, rtsp):
    monitor = Monitor.objects.create(mn="31JA00000000000000000A01", password="123456",
                                     project=cast.project_a)
    other = services.register_camera(project=cast.project_a, name="南门", rtsp_url=rtsp.url("cam2"))
    services.update_camera(camera, monitor=monitor)
    event = dust_event(cast.project_a, mn=monitor.mn)
    requests = services.request_snapshot(event)
    assert [r.camera for r in requests] == [camera]
    assert services.request_snapshot(event) == requests  # asked twice: still one
    unlinked = dust_event(cast.project_a, title="未联动")
    assert {r.camera for r in services.request_snapshot(unlinked)} == {camera, other}
    assert services.request_snapshot(dust_event(cast.project_b)) == []  # no camera there


def test_the_worker_takes_the_event_snapshot_and_the_order_page_shows_it(camera, cast, login):
    event = dust_event(cast.project_a)
    assert jobs.request_for_new_events() == 1  # the worker notices the new dust event
    assert jobs.request_for_new_events() == 0
    assert services.take_due_snapshots() == 1
    request = SnapshotRequest.objects.get(event=event)
    assert request.state == RequestState.DONE and request.attempts == 1
    snapshot = request.snapshot
    assert snapshot.event == event and snapshot.source == "event"
    assert_is_the_test_pattern(services.snapshot_file(snapshot))
    assert services.take_due_snapshots() == 0  # idempotent: nothing left
    event.refresh_from_db()
    order_id = event.order_id or open_order(scenario="dust", kind="exceedance", project=event.project,
                                            title=event.title, events=[event]).pk
    page = login(cast.district).get(f"/orders/{order_id}/").content.decode()
    assert f"/cameras/snapshots/{snapshot.pk}.jpg" in page and "现场抓拍" in page


def test_an_offline_camera_is_retried_with_backoff_then_given_up(cast, settings, ffmpeg_installed):
    camera = services.register_camera(project=cast.project_a, name="离线",
                                      rtsp_url=f"rtsp://127.0.0.1:{closed_port()}/live")
    event = dust_event(cast.project_a)
    now = timezone.now()
    services.request_snapshot(event, now=now)
    assert services.take_due_snapshots(now=now) == 1
    request = SnapshotRequest.objects.get()
    assert request.state == RequestState.PENDING and request.attempts == 1
    assert "离线" in request.last_error
    assert request.due_at == now + datetime.timedelta(seconds=30)
    assert services.take_due_snapshots(now=now + datetime.timedelta(seconds=10)) == 0  # not yet
    later = now + datetime.timedelta(seconds=31)
    assert services.take_due_snapshots(now=later) == 1
    request.refresh_from_db()
    assert request.attempts == 2 and request.due_at == later + datetime.timedelta(seconds=60)
    assert services.take_due_snapshots(now=later + datetime.timedelta(seconds=61)) == 1
    request.refresh_from_db()
    assert request.state == RequestState.FAILED and request.attempts == 3
    assert request.last_error.startswith("已尝试 3 次，放弃：无法从摄像头读取视频：摄像头离线")
    assert not Snapshot.objects.exists()
    assert camera.snapshot_requests.count() == 1
