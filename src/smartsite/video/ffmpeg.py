"""ffmpeg and ffprobe (Debian's `ffmpeg` package) as the video engine: the input arguments of
a camera, a one-frame grab, probing, and turning ffmpeg's complaints into Chinese messages.

Credentials go into the RTSP URL only on ffmpeg's command line (it has no other way to take
them); every text that leaves this module passes `scrub()`, which blanks them.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

from smartsite.core.errors import DomainError
from smartsite.video import network

log = logging.getLogger(__name__)

NOT_INSTALLED = "服务器未安装 ffmpeg，无法播放、录制或抓拍视频（Debian：apt-get install ffmpeg）"


class CameraError(DomainError):
    """The camera could not be reached or refused us; nothing was changed."""

    code, status = "video.camera", 409


def binary(name: str | None = None) -> str | None:
    """The full path of ffmpeg (or of ffprobe beside it), or None when it is not installed."""
    configured = settings.VIDEO_FFMPEG
    if name is None:
        return shutil.which(configured)
    found = shutil.which(configured)
    if found:
        sibling = Path(found).with_name(name)
        if sibling.exists():
            return str(sibling)
    return shutil.which(name)


def require() -> str:
    path = binary()
    if path is None:
        raise CameraError(NOT_INSTALLED, code="video.ffmpeg_missing")
    return path


def source_url(camera) -> str:
    """The camera's RTSP URL for ffmpeg only: its host resolved now and checked against the
    camera network policy (video.network) and replaced by the checked address, so ffmpeg
    connects exactly there; with the (decrypted) credentials."""
    parts = urlsplit(camera.rtsp_url.strip())
    try:
        user, password = camera.username, camera.password
    except Exception as exc:  # InvalidToken: the key changed
        raise CameraError("无法解密该摄像头的用户名和密码（密钥已更换），请在编辑页重新填写") from exc
    default_port = 322 if parts.scheme.lower() == "rtsps" else 554
    host = network.checked_address(parts.hostname or "", parts.port or default_port, CameraError)
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" if user or password \
        else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def input_args(camera) -> list[str]:
    """Read the camera over RTSP-over-TCP (no UDP ports to open through site firewalls), with
    a socket timeout so a dead camera ends ffmpeg instead of hanging it."""
    timeout_us = str(settings.VIDEO_RTSP_TIMEOUT_SECONDS * 1_000_000)
    return ["-rtsp_transport", "tcp", "-timeout", timeout_us, "-i", source_url(camera)]


_USERINFO = re.compile(r"(rtsps?://)[^/@\s]*@", re.IGNORECASE)


def scrub(text: str, camera=None) -> str:
    """`text` with any credentials blanked (URL userinfo, and the camera's password itself)."""
    text = _USERINFO.sub(r"\1***@", text or "")
    if camera is not None:
        try:
            secret = camera.password
        except Exception:
            secret = ""
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


#: One message for every way of not getting video from an address (refused, timed out,
#: unreachable, not an RTSP server, cut off): the reason goes to the log, not to the user, so the
#: message cannot tell an open port from a closed one.
UNREACHABLE = "无法从摄像头读取视频：摄像头离线、地址或端口有误，或该地址不是 RTSP 视频流"


def explain(stderr: str, camera=None) -> str:
    """A Chinese message for why ffmpeg could not read a camera."""
    text = stderr or ""
    low = text.lower()
    if "401" in text or "unauthorized" in low or "authorization failed" in low:
        return "摄像头拒绝了用户名或密码（RTSP 401），请检查摄像头的用户名和密码"
    if "404" in text and "not found" in low:
        return "摄像头上没有这个视频流路径（RTSP 404），请检查视频流地址"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    log.info("camera %s unreadable: %s", getattr(camera, "pk", None),
             scrub(lines[-1], camera)[:300] if lines else "ffmpeg gave no reason")
    return UNREACHABLE


def grab_frame(camera, dest: Path) -> None:
    """One JPEG frame from the camera into `dest` (written whole or not at all)."""
    ffmpeg = require()
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    argv = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", *input_args(camera),
            "-an", "-frames:v", "1", "-q:v", "3", "-f", "image2", "-update", "1", "-y",
            str(partial)]
    limit = settings.VIDEO_RTSP_TIMEOUT_SECONDS * 2 + 5
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=limit,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        partial.unlink(missing_ok=True)
        log.info("camera %s: no frame within %s s", getattr(camera, "pk", None), limit)
        raise CameraError(UNREACHABLE) from exc
    if done.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        raise CameraError(explain(done.stderr, camera))
    partial.replace(dest)


def probe(path: Path) -> dict:
    """{"width", "height", "duration", "codec"} of a media file (ffprobe), {} if unreadable."""
    ffprobe = binary("ffprobe")
    if ffprobe is None:
        return {}
    try:
        done = subprocess.run(
            [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
             "stream=codec_name,width,height:format=duration", "-of", "json", str(path)],
            capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        data = json.loads(done.stdout or "{}")
    except (subprocess.TimeoutExpired, ValueError):
        return {}
    stream = (data.get("streams") or [{}])[0]
    try:
        duration = float((data.get("format") or {}).get("duration") or 0)
    except ValueError:
        duration = 0.0
    return {"width": stream.get("width", 0), "height": stream.get("height", 0),
            "codec": stream.get("codec_name", ""), "duration": duration}


def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
