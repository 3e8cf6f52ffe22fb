"""Live view: one ffmpeg per watched camera turns its RTSP stream into HLS on disk.

All state is on disk, so any number of web processes (gunicorn workers) and the worker agree:

    <data dir>/video/hls/<camera id>/
        lock          flock()ed while a process starts or stops this camera's ffmpeg
        ffmpeg.json   {"pid", "start_ticks", "started_at"}: the running ffmpeg, identified by
                      its pid *and* its start time in /proc (a reused pid never matches)
        watched       touched on every playlist fetch; its mtime is "last watched"
        ffmpeg.log    ffmpeg's stderr (why a start failed, credentials blanked when shown)
        index.m3u8, seg000001.ts …   the live playlist and its segments

The first playlist fetch starts ffmpeg; `reap_idle()` stops every ffmpeg whose playlist
nobody fetched for VIDEO_LIVE_IDLE_SECONDS. The playlist view calls it (throttled), and so
does `smartsite worker` (job `video.live_reap`), so an abandoned stream stops even when no
one opens another page. ffmpeg runs detached (its own session, reparented away from the web
process), so a web worker's restart neither kills a stream others watch nor leaves zombies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from smartsite.video import ffmpeg as ff

log = logging.getLogger(__name__)

PLAYLIST = "index.m3u8"
SEGMENT_PATTERN = "seg%06d.ts"
_last_reap = 0.0


def root() -> Path:
    return Path(settings.DATA_DIR) / "video" / "hls"


def camera_dir(camera_id: int) -> Path:
    return root() / str(int(camera_id))


@contextlib.contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------- processes by pid file


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass(frozen=True)
class Running:
    pid: int
    start_ticks: int
    started_at: float


def read_pidfile(path: Path) -> Running | None:
    """The process the pid file names, if that very process still runs."""
    try:
        data = json.loads(path.read_text())
        running = Running(int(data["pid"]), int(data["start_ticks"]), float(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return running if _start_ticks(running.pid) == running.start_ticks else None


def spawn_detached(argv: list[str], log_path: Path, pidfile: Path, env: dict | None = None) -> Running:
    """Start `argv` in its own session, reparented away from us (no zombie in a web worker),
    stderr to `log_path`; record it in `pidfile`."""
    launcher = subprocess.run(
        ["/bin/sh", "-c", 'exec 0</dev/null; "$@" >"$SMARTSITE_LOG" 2>&1 & echo $!', "sh", *argv],
        capture_output=True, text=True, start_new_session=True, timeout=10,
        env={**os.environ, **(env or {}), "SMARTSITE_LOG": str(log_path)})
    pid = int(launcher.stdout.strip())
    ticks = None
    for _ in range(50):  # /proc shows it at once; be patient on a loaded machine
        ticks = _start_ticks(pid)
        if ticks is not None:
            break
        time.sleep(0.01)
    running = Running(pid, ticks if ticks is not None else -1, time.time())
    tmp = pidfile.with_suffix(".tmp")
    tmp.write_text(json.dumps(running.__dict__))
    tmp.replace(pidfile)
    return running


def terminate(running: Running, *, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; only if it is still that process."""
    if _start_ticks(running.pid) != running.start_ticks:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if _start_ticks(running.pid) != running.start_ticks:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(running.pid, signal.SIGKILL)


# ---------------------------------------------------------------- live streams


def running(camera_id: int) -> Running | None:
    return read_pidfile(camera_dir(camera_id) / "ffmpeg.json")


def _argv(camera, directory: Path) -> list[str]:
    video = (["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "50"]
             if settings.VIDEO_LIVE_TRANSCODE else ["-c:v", "copy"])
    return [ff.require(), "-hide_banner", "-loglevel", "warning", "-nostdin",
            *ff.input_args(camera), "-an", "-sn", "-dn", *video,
            "-f", "hls", "-hls_time", str(settings.VIDEO_HLS_SEGMENT_SECONDS),
            "-hls_list_size", "6", "-hls_flags", "delete_segments+omit_endlist+temp_file",
            "-hls_segment_filename", str(directory / SEGMENT_PATTERN), str(directory / PLAYLIST)]


def _clear_media(directory: Path) -> None:
    for path in directory.iterdir():
        if path.suffix in (".ts", ".m3u8", ".tmp") or path.name.endswith(".m3u8.tmp"):
            path.unlink(missing_ok=True)


def watch(camera) -> Running:
    """Note that someone watches `camera` and make sure its ffmpeg runs (started if not)."""
    directory = camera_dir(camera.pk)
    with _locked(directory):
        marker = directory / "watched"
        marker.touch()
        now = time.time()  # the process's clock, as idle_seconds reads it (not the kernel's)
        os.utime(marker, (now, now))
        current = running(camera.pk)
        if current is not None:
            return current
        _clear_media(directory)
        argv = _argv(camera, directory)
        log.info("live view: starting ffmpeg for camera %s", camera.pk)
        return spawn_detached(argv, directory / "ffmpeg.log", directory / "ffmpeg.json")


def stop(camera_id: int) -> bool:
    """Stop a camera's live ffmpeg and remove its segments; True if one was running."""
    directory = camera_dir(camera_id)
    if not directory.exists():
        return False
    with _locked(directory):
        current = running(camera_id)
        if current is not None:
            terminate(current)
        (directory / "ffmpeg.json").unlink(missing_ok=True)
        _clear_media(directory)
    return current is not None


def idle_seconds(camera_id: int, now: float | None = None) -> float | None:
    try:
        watched = (camera_dir(camera_id) / "watched").stat().st_mtime
    except OSError:
        return None
    return (now or time.time()) - watched


def reap_idle(*, idle: float | None = None, now: float | None = None) -> int:
    """Stop every live ffmpeg nobody watched for `idle` seconds (VIDEO_LIVE_IDLE_SECONDS);
    returns how many were stopped. Safe to call from any process at any time."""
    idle = settings.VIDEO_LIVE_IDLE_SECONDS if idle is None else idle
    base = root()
    if not base.exists():
        return 0
    stopped = 0
    for directory in base.iterdir():
        if not directory.name.isdigit():
            continue
        camera_id = int(directory.name)
        since = idle_seconds(camera_id, now)
        current = running(camera_id)
        if current is None:
            if since is not None and since > idle and any(directory.glob("*.ts")):
                with _locked(directory):
                    _clear_media(directory)  # leftovers of an ffmpeg that died
            continue
        if since is None or since > idle:
            log.info("live view: camera %s unwatched for %.0f s, stopping ffmpeg", camera_id,
                     since or 0)
            stopped += stop(camera_id)
    return stopped


def maybe_reap() -> None:
    """`reap_idle()` at most every few seconds per process (called on playlist fetches)."""
    global _last_reap
    now = time.monotonic()
    if now - _last_reap >= 5:
        _last_reap = now
        reap_idle()


def stop_all() -> int:
    base = root()
    if not base.exists():
        return 0
    return sum(stop(int(d.name)) for d in base.iterdir() if d.name.isdigit())


# ---------------------------------------------------------------- what the views serve


class LiveError(ff.CameraError):
    code = "video.live"


def playlist(camera, *, wait: float | None = None) -> str:
    """The live playlist text, starting ffmpeg if needed and waiting (up to
    VIDEO_LIVE_START_SECONDS) for its first segments. Raises LiveError with the reason
    (ffmpeg missing, camera offline, wrong password …)."""
    if not camera.active:
        raise LiveError("该摄像头已停用")
    ff.require()
    started = watch(camera)
    maybe_reap()
    directory = camera_dir(camera.pk)
    path = directory / PLAYLIST
    wait = settings.VIDEO_LIVE_START_SECONDS if wait is None else wait

    def ready() -> bool:
        return path.exists() or running(camera.pk) is None

    ff.wait_for(ready, wait, step=0.2)
    if path.exists():
        return path.read_text()
    if running(camera.pk) is None:
        reason = ff.explain(_log_text(directory), camera)
        with _locked(directory):
            if read_pidfile(directory / "ffmpeg.json") is None:
                (directory / "ffmpeg.json").unlink(missing_ok=True)
        raise LiveError(reason)
    waited = time.time() - started.started_at
    raise LiveError(f"摄像头已连接，但 {waited:.0f} 秒内还没有画面，请稍后重试", code="video.live_starting")


def _log_text(directory: Path) -> str:
    try:
        return (directory / "ffmpeg.log").read_text(errors="replace")[-4000:]
    except OSError:
        return ""


def segment_path(camera_id: int, name: str) -> Path | None:
    """The file of a live segment `name` (already checked against seg\\d+.ts), if present."""
    path = camera_dir(camera_id) / name
    return path if path.is_file() else None


def remove_camera(camera_id: int) -> None:
    stop(camera_id)
    shutil.rmtree(camera_dir(camera_id), ignore_errors=True)
