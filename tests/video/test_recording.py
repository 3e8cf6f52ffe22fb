"""Recording with real ffmpeg (segments named by their UTC start) and 事件回放: an HLS VOD
playlist of the segments overlapping a range, clear messages for bad or empty ranges,
retention, and `smartsite video-recorder` as a process that stops cleanly."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone
from support.db import database_url
from support.video import ffmpeg_pids, ffprobe

from smartsite.video import recorder, services

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def local(moment: datetime.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def record(camera, seconds_wanted: int = 3) -> list[recorder.Segment]:
    """Run the recorder until `seconds_wanted` finished segments exist, then stop it."""
    services.update_camera(camera, record=True)
    rec = recorder.Recorder()
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            rec.step()
            if len(recorder.segments(camera.pk)) >= seconds_wanted:
                break
            time.sleep(0.5)
    finally:
        rec.stop_all()
    return recorder.segments(camera.pk)


def test_recording_then_playback_of_a_range(camera, cast, login, tmp_path):
    before = ffmpeg_pids()
    found = record(camera)
    assert ffmpeg_pids() <= before  # the recorder's ffmpeg is gone
    assert len(found) >= 3
    for i, seg in enumerate(found):
        assert seg.name == seg.start.strftime("%Y%m%dT%H%M%SZ.ts")
        # cut on the clock (every 2 s, at the next key frame: a loaded machine may cut one a
        # frame or two early): only the first and the last (stopped) may be much shorter
        assert 0 < seg.duration < 5 and (i in (0, len(found) - 1) or seg.duration >= 0.5)
        assert abs((seg.start - timezone.now()).total_seconds()) < 120
    client = login(cast.manager_a)
    query = {"start": local(found[0].start - datetime.timedelta(minutes=1)),
             "end": local(timezone.now() + datetime.timedelta(minutes=1))}
    page = client.get(f"/cameras/{camera.pk}/playback/", query)
    assert page.status_code == 200
    assert f"{len(found)} 段录像" in page.content.decode()
    playlist = client.get(f"/cameras/{camera.pk}/playback/index.m3u8", query)
    assert playlist.status_code == 200
    text = playlist.content.decode()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    urls = [line for line in text.splitlines() if line.endswith(".ts")]
    assert len(urls) == len(found) and text.count("#EXTINF:") == len(found)
    media = client.get(urls[0])
    assert media.status_code == 200
    path = tmp_path / "rec.ts"
    path.write_bytes(b"".join(media.streaming_content))
    assert ffprobe(path)["streams"][0]["codec_name"] == "h264"
    assert login(cast.contractor_b).get(urls[0]).status_code == 404
    # Only the segments overlapping a narrower range.
    middle = found[1]
    narrow = recorder.overlapping(camera.pk, middle.start + datetime.timedelta(seconds=0.2),
                                  middle.end - datetime.timedelta(seconds=0.2))
    assert narrow == [middle]


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2025-03-01T10:00", "2025-03-01T09:00", "结束时间必须晚于开始时间"),
    ("2025-03-01T10:00", "2025-03-01T10:00", "结束时间必须晚于开始时间"),
    ("2025-03-01T00:00", "2025-03-02T01:00", "一次最多回放 24 小时"),
    ("2025-13-01T00:00", "2025-03-02T01:00", "开始时间格式应为 YYYY-MM-DD HH:MM"),
    ("", "2025-03-02T01:00", "请填写开始时间"),
    ("2999-01-01T00:00", "2999-01-01T01:00", "开始时间不能晚于现在"),
])
def test_a_bad_range_gets_a_clear_message(camera, cast, login, start, end, message):
    client = login(cast.manager_a)
    page = client.get(f"/cameras/{camera.pk}/playback/", {"start": start, "end": end})
    assert page.status_code == 400 and message in page.content.decode()
    playlist = client.get(f"/cameras/{camera.pk}/playback/index.m3u8", {"start": start, "end": end})
    assert playlist.status_code == 400 and message in playlist.json()["message"]


def test_a_range_without_recordings_says_so(camera, cast, login):
    client = login(cast.manager_a)
    query = {"start": "2025-03-01T10:00", "end": "2025-03-01T11:00"}
    page = client.get(f"/cameras/{camera.pk}/playback/", query).content.decode()
    assert "该摄像头未开启录像，没有可回放的视频" in page
    services.update_camera(camera, record=True)
    page = client.get(f"/cameras/{camera.pk}/playback/", query).content.decode()
    assert "该时段没有录像" in page
    assert client.get(f"/cameras/{camera.pk}/playback/index.m3u8", query).status_code == 404


def test_retention_removes_old_segments(camera, settings):
    found = record(camera, 1)
    assert found
    settings.VIDEO_RECORD_RETENTION_DAYS = 30
    assert recorder.apply_retention() == 0
    later = timezone.now() + datetime.timedelta(days=31)
    assert recorder.apply_retention(now=later) >= len(found)
    assert recorder.segments(camera.pk) == []


@pytest.mark.django_db(transaction=True)
def test_the_video_recorder_command_records_and_stops_on_sigterm(cast, rtsp, tmp_path):
    camera = services.register_camera(project=cast.project_a, name="录像", rtsp_url=rtsp.url(),
                                      username="admin", password="Cam-Pa55!", record=True)
    env = {**os.environ, "SMARTSITE_DATABASE_URL": database_url(),
           "SMARTSITE_DATA_DIR": str(tmp_path), "SMARTSITE_VIDEO_RECORD_SEGMENT_SECONDS": "2",
           "SMARTSITE_SECRET_KEY": _secret_key(), "SMARTSITE_CAMERA_ALLOWED_NETWORKS": "127.0.0.0/8"}
    before = ffmpeg_pids()
    proc = subprocess.Popen([sys.executable, "-m", "smartsite.cli", "video-recorder",
                             "--interval", "0.5"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        directory = tmp_path / "video" / "recordings" / str(camera.pk)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(list(directory.glob("*.ts"))) < 2:
            time.sleep(0.3)
        assert len(list(directory.glob("*.ts"))) >= 2, proc.stdout.read() if proc.poll() else ""
        assert ffmpeg_pids() - before  # its ffmpeg runs
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert not (ffmpeg_pids() - before)


def _secret_key() -> str:
    from django.conf import settings

    return settings.SECRET_KEY
