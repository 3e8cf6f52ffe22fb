"""The camera page in headless Chromium: the live player plays the camera (the video's
currentTime advances), holding a PTZ arrow turns the simulated head, and the 抓拍 button
adds a picture."""

from __future__ import annotations

import pytest
from browser.conftest import sign_in, wait_until
from video.conftest import camera, ffmpeg_installed, onvif, rtsp, video_settings  # noqa: F401

# (Here, not in tests/video: one session of Chromium for all page tests — a second
# sync_playwright in the same run cannot start inside the first one's event loop.)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_camera_page_plays_live_video_and_steers_the_camera(page, camera, cast, onvif,  # noqa: F811
                                                                  password, shot):
    sign_in(page, "manager_a", password)
    page.goto(f"/cameras/{camera.pk}/")
    wait_until(page, "() => { const v = document.querySelector('#live-video');"
                     " return v && v.currentTime > 2; }", timeout=45)
    assert page.inner_text("#live-status") == "实时画面"
    size = page.evaluate("() => { const v = document.querySelector('#live-video');"
                         " return [v.videoWidth, v.videoHeight]; }")
    assert size == [320, 240]
    shot(page, "video-camera")

    right = page.locator("#ptz button[aria-label='右']")
    right.hover()
    page.mouse.down()
    page.wait_for_timeout(600)
    page.mouse.up()
    wait_until(page, "() => document.querySelector('#ptz-status').textContent === '已停止'")
    assert onvif.position[0] > 0.1 and not onvif.moving

    page.wait_for_selector("#presets select")
    assert "大门" in page.inner_text("#presets")

    page.click("#snapshots button.primary")
    page.wait_for_selector("#snapshots .shots img")
    loaded = page.evaluate("() => document.querySelector('#snapshots .shots img').naturalWidth")
    assert loaded == 320
