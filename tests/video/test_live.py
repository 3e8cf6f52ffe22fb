"""Live view with real ffmpeg against the loopback RTSP server: a playable playlist with
segments, shared by every viewer, stopped after nobody watches; clear messages when the
camera is offline, refuses the password or ffmpeg is missing."""

from __future__ import annotations

import os
import time

import pytest
from support.gateway import wait_for
from support.video import closed_port, ffmpeg_pids, ffprobe

from smartsite.core import scheduler
from smartsite.video import live, services

pytestmark = pytest.mark.django_db


def worker_round() -> int:
    """One round of `smartsite worker` with the video jobs (what they found)."""
    return sum(scheduler.run(once=True, spec="video.*").values())


def test_opening_the_player_starts_a_stream_that_ffprobe_can_play(camera, cast, login, rtsp,
                                                                   tmp_path):
    client = login(cast.manager_a)
    response = client.get(f"/cameras/{camera.pk}/live/index.m3u8")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    assert text.startswith("#EXTM3U") and "#EXTINF:" in text
    segment = next(line for line in text.splitlines() if line.endswith(".ts"))
    media = client.get(f"/cameras/{camera.pk}/live/{segment}")
    assert media.status_code == 200 and media["Content-Type"] == "video/mp2t"
    path = tmp_path / "seg.ts"
    path.write_bytes(b"".join(media.streaming_content))
    info = ffprobe(path)
    assert info["streams"][0]["codec_name"] == "h264"
    assert (info["streams"][0]["width"], info["streams"][0]["height"]) == (320, 240)
    # The credentials reached the camera (it checks them), never the playlist.
    assert rtsp.plays == 1 and "Cam-Pa55" not in text


def test_a_second_viewer_shares_the_running_ffmpeg(camera, cast, login, rtsp):
    login(cast.manager_a).get(f"/cameras/{camera.pk}/live/index.m3u8")
    first = live.running(camera.pk)
    response = login(cast.district).get(f"/cameras/{camera.pk}/live/index.m3u8")
    assert response.status_code == 200
    assert live.running(camera.pk) == first
    assert rtsp.plays == 1


def test_the_stream_stops_when_nobody_fetches_the_playlist(camera, cast, login, rtsp, settings):
    before = ffmpeg_pids()
    login(cast.manager_a).get(f"/cameras/{camera.pk}/live/index.m3u8")
    running = live.running(camera.pk)
    assert running is not None and running.pid in ffmpeg_pids() - before
    assert worker_round() == 0  # watched just now: kept
    assert live.running(camera.pk) is not None
    settings.VIDEO_LIVE_IDLE_SECONDS = 1
    # what `smartsite worker` calls each round: stops it once a second has passed unwatched
    assert wait_for(lambda: worker_round() is not None and live.running(camera.pk) is None,
                    timeout=10)
    assert running.pid not in ffmpeg_pids()
    assert not list(live.camera_dir(camera.pk).glob("*.ts"))
    deadline = time.monotonic() + 10
    while rtsp.streaming and time.monotonic() < deadline:  # the camera saw the session end
        time.sleep(0.1)
    assert rtsp.streaming == 0


def test_a_stream_started_by_another_process_is_seen_and_stopped_by_its_pid_file(camera, rtsp):
    # Several web processes share the data directory: the state is the pid file on disk.
    started = live.watch(camera)
    assert os.path.exists(live.camera_dir(camera.pk) / "ffmpeg.json")
    assert live.running(camera.pk) == started
    os.utime(live.camera_dir(camera.pk) / "watched", (time.time() - 3600, time.time() - 3600))
    assert live.reap_idle() == 1
    assert started.pid not in ffmpeg_pids()


def test_wrong_password_says_so(cast, login, rtsp):
    camera = services.register_camera(project=cast.project_a, name="错误密码", rtsp_url=rtsp.url(),
                                      username="admin", password="wrong")
    response = login(cast.manager_a).get(f"/cameras/{camera.pk}/live/index.m3u8")
    assert response.status_code == 409
    body = response.json()
    assert "用户名或密码" in body["message"] and "wrong" not in body["message"]
    assert live.running(camera.pk) is None


def test_an_offline_camera_says_so(cast, login, ffmpeg_installed):
    camera = services.register_camera(project=cast.project_a, name="离线",
                                      rtsp_url=f"rtsp://127.0.0.1:{closed_port()}/live",
                                      username="admin", password="x")
    response = login(cast.manager_a).get(f"/cameras/{camera.pk}/live/index.m3u8")
    assert response.status_code == 409
    assert "离线" in response.json()["message"]


def test_without_ffmpeg_the_page_says_so_and_nothing_fails(camera, cast, login, settings):
    settings.VIDEO_FFMPEG = "/nonexistent/ffmpeg"
    client = login(cast.manager_a)
    page = client.get(camera.get_absolute_url())
    assert page.status_code == 200
    assert "服务器未安装 ffmpeg" in page.content.decode()
    response = client.get(f"/cameras/{camera.pk}/live/index.m3u8")
    assert response.status_code == 503 and "未安装 ffmpeg" in response.json()["message"]
    snap = client.post(f"/cameras/{camera.pk}/snapshots/", follow=True)
    assert snap.status_code == 200 and "未安装 ffmpeg" in snap.content.decode()


def test_segment_names_outside_the_pattern_are_404(camera, cast, login):
    client = login(cast.manager_a)
    for name in ("index.m3u8.tmp", "..%2Fffmpeg.json", "ffmpeg.log", "seg1.ts"):
        assert client.get(f"/cameras/{camera.pk}/live/{name}").status_code == 404
