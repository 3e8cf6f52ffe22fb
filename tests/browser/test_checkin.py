"""The phone check-in page in headless Chromium on a phone viewport: Chromium's fake camera
plays a real photo (obama2.jpg, made into a Y4M video with ffmpeg here), Playwright's
geolocation puts the phone at 人民广场, and the real face model on the live server decides."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from support.attendance import SQUARE_WGS, build_site
from support.faces import photo_path

from smartsite.attendance.models import CheckIn

from .conftest import CHROMIUM, _open, sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Check-In-2026"


def _y4m(image: str, target: Path) -> Path:
    """A 640×480 Y4M clip of one photo, letterboxed (what Chromium's fake camera plays)."""
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i", photo_path(image), "-t", "1",
         "-r", "5", "-vf", "scale=640:480:force_original_aspect_ratio=decrease,"
                           "pad=640:480:(ow-iw)/2:(oh-ih)/2", "-pix_fmt", "yuv420p", str(target)],
        check=True, timeout=60)
    return target


@pytest.fixture
def camera_phone(tmp_path, live_server, browser):
    """A phone page whose browser's camera shows obama2.jpg: a second Chromium with the fake
    camera's flags, launched by the session's Playwright (one per thread is allowed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    clip = _y4m("obama2.jpg", tmp_path / "camera.y4m")
    camera = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}"])
    lng, lat = SQUARE_WGS
    context, page, problems = _open(
        camera, live_server, viewport={"width": 390, "height": 844}, is_mobile=True,
        has_touch=True, device_scale_factor=2, permissions=["geolocation", "camera"],
        geolocation={"longitude": lng, "latitude": lat, "accuracy": 15})
    yield page
    context.close()
    camera.close()
    assert not problems, problems


def test_a_key_post_person_checks_in_on_a_phone_with_camera_and_position(cast, camera_phone,
                                                                          shot):
    build_site(cast)
    get_user_model().objects.create_user(cast.person_a.resident_id, password=PASSWORD)
    page = camera_phone
    sign_in(page, cast.person_a.resident_id, PASSWORD)
    page.goto("/attendance/checkin/")
    wait_until(page, "() => document.getElementById('camera').dataset.ready === '1'")
    wait_until(page, "() => document.getElementById('position').dataset.ready === '1'")
    assert "精度约 15 米" in page.locator("#position").inner_text()
    entry = page.locator("button[data-direction=entry]")
    assert entry.is_enabled()
    entry.click()
    outcome = wait_until(page, "() => document.getElementById('result').dataset.outcome", timeout=60)
    shot(page, "attendance-checkin-phone")
    assert outcome == "accepted", page.locator("#result").inner_text()
    assert "打卡成功" in page.locator("#result").inner_text()
    row = CheckIn.objects.get()
    assert row.person == cast.person_a and row.direction == "entry" and row.datum == "wgs84"
    assert row.accuracy_m == 15 and row.face_distance <= 0.6
    assert len(row.client_id) == 36  # crypto.randomUUID()
    recent = page.locator("#recent").inner_text()
    assert "进场" in recent and timezone.localtime(row.at).strftime("%H:%M") in recent

    # the exit: a new client id, the same person, counted separately
    page.locator("button[data-direction=exit]").click()
    wait_until(page, "() => document.querySelectorAll('#recent li').length === 2", timeout=60)
    assert CheckIn.objects.count() == 2
    assert set(CheckIn.objects.values_list("direction", flat=True)) == {"entry", "exit"}
