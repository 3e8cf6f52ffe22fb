"""`smartsite` child processes as an operator runs them: real processes, sockets and signals
(tests/test_cli.py, and the demo the session runs once: tests/conftest.py `seeded_demo`)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SMARTSITE = [sys.executable, "-m", "smartsite.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def clean_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_")}
    env["SMARTSITE_DATA_DIR"] = str(data_dir)
    return env


class Running:
    """A `smartsite` child whose output is read line by line until a pattern shows up."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env, start_new_session=True)
        self.lines: list[str] = []

    def wait_for(self, pattern: str, seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(self.lines)}")

    def interrupt(self, seconds: float = 20) -> int:
        self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            return self.proc.wait(seconds)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)


def first_demo(data_dir) -> dict:
    """`smartsite demo` on an empty data directory, as the README's first command runs it:
    what it printed, what answered while it ran, and how it stopped on Ctrl-C. Run once per
    session; its data directory is then the seeded demo city every other test copies."""
    port, hj212 = free_port(), free_port()
    demo = Running([*SMARTSITE, "demo", "--port", str(port), "--hj212-port", str(hj212)],
                   clean_env(data_dir))
    seen: dict = {"port": port, "hj212_port": hj212}
    try:
        seen["started"] = demo.wait_for(r"已启动：http://", seconds=300)  # the city comes first
        demo.wait_for(r"按 Ctrl-C 停止")
        seen["gateway_open"] = port_open(hj212)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=60) as page:
            seen["login"] = [page.status, "登录" in page.read().decode()]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/echarts/echarts.min.js",
                                    timeout=30) as asset:
            seen["asset"] = asset.status
    except (AssertionError, OSError) as exc:
        seen["error"] = str(exc)
    finally:
        seen["returncode"] = demo.interrupt()
    seen["web_closed"] = not port_open(port)
    seen["gateway_closed"] = not port_open(hj212)
    seen["stdout"] = "".join(demo.lines)
    return seen
