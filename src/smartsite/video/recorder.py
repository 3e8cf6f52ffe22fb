"""Recording (录像) and playback (事件回放).

`smartsite video-recorder` runs `Recorder.run()`: one ffmpeg per active camera with
recording on, writing MPEG-TS segments with the segment muxer (video copied, not re-encoded):

    <data dir>/video/recordings/<camera id>/
        20250301T083000Z.ts …   segments named by their UTC start time
        list-<run>.csv          ffmpeg's list of finished segments of one run (name,start,end)

A camera whose ffmpeg exits (offline, wrong password) is retried with a growing pause; a
camera switched off (record off, inactive, deleted) is stopped within one round. Segments
older than VIDEO_RECORD_RETENTION_DAYS are deleted once an hour. One recorder per data
directory (a lock file); it keeps no state in the database.

Playback builds an HLS VOD playlist of the finished segments overlapping a time range.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import fcntl
import itertools
import logging
import math
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from smartsite.lifecycle import stop_on_signals
from smartsite.video import ffmpeg as ff

log = logging.getLogger(__name__)

NAME_FORMAT = "%Y%m%dT%H%M%SZ"
SEGMENT_RE = re.compile(r"^(\d{8}T\d{6}Z)\.ts$")
UTC = datetime.UTC


def root() -> Path:
    return Path(settings.DATA_DIR) / "video" / "recordings"


def camera_dir(camera_id: int) -> Path:
    return root() / str(int(camera_id))


# ---------------------------------------------------------------- the recorder


@dataclass
class _Child:
    camera_id: int
    proc: subprocess.Popen | None = None
    url_key: str = ""
    failures: int = 0
    retry_at: float = 0.0
    log_path: Path | None = None
    last_error: str = ""


@dataclass
class Recorder:
    """Keeps one segmenting ffmpeg per camera that should record."""

    interval: float = 5.0
    children: dict[int, _Child] = field(default_factory=dict)
    _retention_due: float = 0.0

    def argv(self, camera, directory: Path) -> list[str]:
        run = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        return [ff.require(), "-hide_banner", "-loglevel", "warning", "-nostdin",
                *ff.input_args(camera), "-an", "-sn", "-dn", "-c:v", "copy",
                "-f", "segment", "-segment_time", str(settings.VIDEO_RECORD_SEGMENT_SECONDS),
                "-segment_atclocktime", "1", "-segment_format", "mpegts", "-strftime", "1",
                "-segment_list", str(directory / f"list-{run}.csv"),
                "-segment_list_type", "csv", str(directory / "%Y%m%dT%H%M%SZ.ts")]

    def wanted(self) -> dict[int, object]:
        from smartsite.video.models import Camera

        return {c.pk: c for c in Camera.objects.filter(active=True, record=True)}

    def step(self, now: float | None = None) -> None:
        """One round: start what should record, restart what died, stop what should not."""
        now = now or time.monotonic()
        wanted = self.wanted()
        for camera_id in list(self.children):
            if camera_id not in wanted:
                self._stop(self.children.pop(camera_id))
        for camera_id, camera in wanted.items():
            child = self.children.setdefault(camera_id, _Child(camera_id))
            key = f"{camera.rtsp_url}|{camera.username_secret}|{camera.password_secret}"
            if child.proc is not None and child.proc.poll() is None:
                if key != child.url_key:  # address or credentials changed: restart
                    self._stop(child)
                else:
                    continue
            if child.proc is not None:  # it ended by itself
                child.failures += 1
                child.last_error = ff.explain(_tail(child.log_path), camera)
                child.retry_at = now + min(300, 5 * 2 ** min(child.failures, 6))
                log.warning("recorder: camera %s stopped (%s); retry in %.0f s", camera_id,
                            child.last_error, child.retry_at - now)
                child.proc = None
            if now < child.retry_at:
                continue
            directory = camera_dir(camera_id)
            directory.mkdir(parents=True, exist_ok=True)
            child.log_path = directory / "ffmpeg.log"
            try:
                argv = self.argv(camera, directory)
            except ff.CameraError as exc:
                child.last_error = exc.message
                child.retry_at = now + 60
                continue
            with open(child.log_path, "ab") as err:
                child.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=err,
                                              env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
            child.url_key = key
            log.info("recorder: recording camera %s (pid %s)", camera_id, child.proc.pid)
        if now >= self._retention_due:
            self._retention_due = now + 3600
            removed = apply_retention()
            if removed:
                log.info("recorder: removed %d segments past retention", removed)

    def _stop(self, child: _Child) -> None:
        proc = child.proc
        child.proc = None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # ffmpeg closes the current segment and the list on SIGTERM
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for child in self.children.values():
            self._stop(child)

    def run(self, *, once: bool = False) -> None:
        """Loop until SIGTERM / Ctrl-C (or one round with `once`); one recorder per data dir."""
        root().mkdir(parents=True, exist_ok=True)
        with open(root() / "recorder.lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SystemExit("另一个 smartsite video-recorder 正在使用该数据目录") from None
            try:
                with stop_on_signals() as stop:
                    while not stop.requested:
                        close_old_connections()
                        try:
                            self.step()
                        except Exception:  # the database away: try again next round
                            log.exception("recorder: round failed")
                        if once:
                            break
                        for _ in range(int(self.interval * 10)):
                            if stop.requested:
                                break
                            time.sleep(0.1)
            finally:
                self.stop_all()


def _tail(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 4000))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def apply_retention(now: datetime.datetime | None = None) -> int:
    """Delete segments that started before the retention window; returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.VIDEO_RECORD_RETENTION_DAYS)
    base = root()
    if not base.exists():
        return 0
    removed = 0
    for directory in base.iterdir():
        if not directory.is_dir():
            continue
        for path in directory.glob("*.ts"):
            start = _start_of(path.name)
            if start is not None and start < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        for listing in directory.glob("list-*.csv"):
            if not any((directory / name).exists() for name in _listed(listing)):
                with contextlib.suppress(OSError):
                    if listing.stat().st_mtime < time.time() - 3600:
                        listing.unlink()
    return removed


# ---------------------------------------------------------------- playback


@dataclass(frozen=True)
class Segment:
    name: str
    start: datetime.datetime
    duration: float
    run: str  # the list it came from: a new run starts a discontinuity
    #: When the next segment starts, if that is earlier than start + duration: names are the
    #: wall clock at opening, durations are media time, so neighbours may overlap by a frame
    #: or a second; a range is matched against [start, end).
    next_start: datetime.datetime | None = None

    @property
    def end(self) -> datetime.datetime:
        end = self.start + datetime.timedelta(seconds=self.duration)
        return min(end, self.next_start) if self.next_start else end


def _start_of(name: str) -> datetime.datetime | None:
    match = SEGMENT_RE.match(name)
    if not match:
        return None
    return datetime.datetime.strptime(match.group(1), NAME_FORMAT).replace(tzinfo=UTC)


def _listed(listing: Path) -> dict[str, float]:
    out = {}
    try:
        with open(listing, newline="") as handle:
            for row in csv.reader(handle):
                if len(row) >= 3:
                    with contextlib.suppress(ValueError):
                        out[row[0]] = float(row[2]) - float(row[1])
    except OSError:
        pass
    return out


def segments(camera_id: int) -> list[Segment]:
    """The camera's finished segments, oldest first. A segment is finished when ffmpeg listed
    it; one that was cut short (the recorder killed) is probed once and remembered."""
    directory = camera_dir(camera_id)
    if not directory.exists():
        return []
    durations: dict[str, tuple[float, str]] = {}
    for listing in sorted(directory.glob("list-*.csv")):
        for name, duration in _listed(listing).items():
            durations[name] = (duration, listing.stem)
    out = []
    files = sorted(p for p in directory.glob("*.ts") if SEGMENT_RE.match(p.name))
    stale = time.time() - 2 * settings.VIDEO_RECORD_SEGMENT_SECONDS - 30
    for path in files:
        start = _start_of(path.name)
        if path.name in durations:
            duration, run = durations[path.name]
        elif path.stat().st_mtime < stale:  # not being written: a run that ended abruptly
            duration, run = ff.probe(path).get("duration", 0.0), "recovered"
            if duration > 0:
                with open(directory / "list-recovered.csv", "a", newline="") as handle:
                    csv.writer(handle).writerow([path.name, 0, f"{duration:.3f}"])
        else:
            continue  # still being written
        if duration > 0:
            out.append(Segment(path.name, start, duration, run))
    return [dataclasses.replace(seg, next_start=nxt.start) if nxt.start > seg.start else seg
            for seg, nxt in itertools.pairwise(out)] + out[-1:]


def overlapping(camera_id: int, start: datetime.datetime, end: datetime.datetime) -> list[Segment]:
    return [s for s in segments(camera_id) if s.start < end and s.end > start]


def vod_playlist(found: list[Segment], url_for) -> str:
    """An HLS VOD playlist of `found` (from `overlapping`); `url_for(name)` gives each URL."""
    target = max(math.ceil(s.duration) for s in found)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    previous = None
    for seg in found:
        if previous is not None and (seg.run != previous.run or seg.run == "recovered"
                                     or abs((seg.start - previous.end).total_seconds()) > 2):
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{seg.start.strftime('%Y-%m-%dT%H:%M:%S.000Z')}")
        lines.append(f"#EXTINF:{seg.duration:.3f},")
        lines.append(url_for(seg.name))
        previous = seg
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def segment_path(camera_id: int, name: str) -> Path | None:
    if not SEGMENT_RE.match(name):
        return None
    path = camera_dir(camera_id) / name
    return path if path.is_file() else None
