"""Helpers of tests/video: free ports, ffprobe, decoded frames, ffmpeg processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def closed_port() -> int:
    """A loopback port nobody listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ffprobe(path: Path | str) -> dict:
    import json

    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_name,width,height:format=duration,format_name",
                           "-of", "json", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rgb_frame(jpeg: Path, width: int = 320, height: int = 240) -> bytes:
    """The JPEG decoded to raw RGB by ffmpeg."""
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", str(jpeg), "-f", "rawvideo",
                           "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) == width * height * 3
    return done.stdout


#: The test session's temporary directory (set by tests/conftest.py): ffmpeg processes of
#: other sessions or xdist workers on the machine write elsewhere.
SESSION_TMP: str | None = None


def ffmpeg_pids() -> set[int]:
    """Every ffmpeg process of this test session — one writing under its temporary directory,
    where the video tests keep their data — even one orphaned (to prove none leaked)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if argv[0].endswith(b"ffmpeg") and state not in ("Z", "X") and (
                    SESSION_TMP is None or any(SESSION_TMP.encode() in a for a in argv)):
                out.add(int(entry))
    return out
