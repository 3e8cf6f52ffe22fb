"""Real parts for the video tests: ffmpeg, an RTSP server on loopback serving a generated test
pattern (support.rtsp_server), and an ONVIF device speaking SOAP (support.onvif_device).
No ffmpeg process outlives a test: live streams are stopped and the server kills its own."""

from __future__ import annotations

import shutil

import pytest
from conftest import require_service
from support.onvif_device import OnvifDevice
from support.rtsp_server import RtspServer

USER, PASSWORD = "admin", "Cam-Pa55!"


@pytest.fixture(autouse=True)
def video_settings(settings, tmp_path):
    """A data directory of the test's own and short timings; the cameras here live on loopback
    and on 10.x, which a deployment allows as its private camera network (by default both are
    refused: test_network.py)."""
    settings.DATA_DIR = tmp_path
    settings.CAMERA_ALLOWED_NETWORKS = ["127.0.0.0/8", "10.0.0.0/8"]
    settings.VIDEO_HLS_SEGMENT_SECONDS = 1
    settings.VIDEO_RECORD_SEGMENT_SECONDS = 2
    settings.VIDEO_LIVE_IDLE_SECONDS = 30
    settings.VIDEO_LIVE_START_SECONDS = 20
    settings.VIDEO_RTSP_TIMEOUT_SECONDS = 3
    settings.VIDEO_ONVIF_TIMEOUT_SECONDS = 3
    settings.VIDEO_SNAPSHOT_BACKOFF_SECONDS = 30
    settings.VIDEO_SNAPSHOT_MAX_ATTEMPTS = 3
    yield settings
    from smartsite.video import live

    live.stop_all()


@pytest.fixture(scope="session")
def ffmpeg_installed():
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        require_service("ffmpeg", "apt-get install ffmpeg")
    return True


@pytest.fixture
def rtsp(ffmpeg_installed):
    server = RtspServer(user=USER, password=PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def onvif():
    device = OnvifDevice(user=USER, password=PASSWORD).start()
    yield device
    device.stop()


@pytest.fixture
def camera(cast, rtsp, onvif):
    """A PTZ camera on project A, registered by its contractor with the right credentials."""
    from smartsite.video import services

    return services.register_camera(
        project=cast.project_a, name="东门塔吊", location="东门", rtsp_url=rtsp.url("cam1"),
        username=USER, password=PASSWORD, onvif_host="127.0.0.1", onvif_port=onvif.port,
        ptz_capable=True, actor=cast.contractor_a)
