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


def ffmpeg_pids() -> set[int]:
    """Every ffmpeg process on the machine (to prove none leaked)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0]
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if cmd.endswith(b"ffmpeg") and state not in ("Z", "X"):
                out.add(int(entry))
    return out
