"""The `smartsite` command as an operator meets it: real processes, real sockets, real signals."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

SMARTSITE = [sys.executable, "-m", "smartsite.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


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


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_")}
    env["SMARTSITE_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_help_lists_the_commands():
    out = subprocess.run([*SMARTSITE, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "serve", "migrate", "seed", "devices", "manage"):
        assert command in out


def test_demo_starts_prints_logins_serves_pages_and_stops_on_ctrl_c(env, tmp_path):
    port = _free_port()
    demo = Running([*SMARTSITE, "demo", "--port", str(port)], env)
    try:
        url = demo.wait_for(r"已启动：http://", seconds=300)  # the city is generated first
        assert f"http://127.0.0.1:{port}/" in url
        # the HJ 212 gateway the simulated monitors talk to (2120 unless that port is taken)
        gateway = int(re.search(r"HJ 212 网关：127\.0\.0\.1:(\d+)", url).group(1))
        assert _port_open(gateway)
        demo.wait_for(r"按 Ctrl-C 停止")
        output = "".join(demo.lines)
        assert "已生成模拟城市" in output
        assert re.search(r"已登记 \d{3} 台扬尘噪声监测设备.*补录近 24 小时数据", output)
        for username in ("city", "jingan", "pudong", "contractor", "pm", "chief", "monitor"):
            assert re.search(rf"\s{username}\n", output), username
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10) as page:
            assert page.status == 200 and "登录" in page.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/echarts/echarts.min.js",
                                    timeout=10) as asset:
            assert asset.status == 200
    finally:
        code = demo.interrupt()
    assert code == 0
    assert not _port_open(port), "the web server outlived Ctrl-C"
    assert not _port_open(gateway), "the HJ 212 gateway outlived Ctrl-C"
    assert (tmp_path / "data" / "smartsite.sqlite3").exists()

    again = Running([*SMARTSITE, "demo", "--port", str(port)], env)
    try:
        again.wait_for(r"已启动：http://")
        assert "沿用已有数据" in "".join(again.lines)
        assert "已生成模拟城市" not in "".join(again.lines)
    finally:
        assert again.interrupt() == 0


def test_demo_reports_a_busy_port_and_exits(env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*SMARTSITE, "demo", "--port", str(port)], env=env,
                                capture_output=True, text=True, timeout=180)
    assert result.returncode != 0
    assert "端口" in result.stderr


def test_serve_runs_against_postgresql(env, pg_database):
    port = _free_port()
    env["SMARTSITE_DATABASE_URL"] = pg_database
    server = Running([*SMARTSITE, "serve", "--migrate", "--port", str(port)], env)
    try:
        server.wait_for(r"serving on http://")
        deadline = time.monotonic() + 30
        while not _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        # a web worker's first request imports the app: 6–8 s on a loaded 2-core machine
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=60) as page:
            assert page.status == 200
    finally:
        assert server.interrupt() == 0
    assert not _port_open(port)


def test_killing_the_demo_with_sigkill_takes_its_web_server_down_too(env, seeded_data_dir):
    env["SMARTSITE_DATA_DIR"] = str(seeded_data_dir)  # the demo city seeded once per session
    port = _free_port()
    demo = Running([*SMARTSITE, "demo", "--port", str(port)], env)
    demo.wait_for(r"按 Ctrl-C 停止")
    gateway = int(re.search(r"HJ 212 网关：127\.0\.0\.1:(\d+)", "".join(demo.lines)).group(1))
    assert _port_open(port) and _port_open(gateway)
    demo.proc.kill()  # no chance to clean up
    demo.proc.wait(10)
    deadline = time.monotonic() + 15
    while (_port_open(port) or _port_open(gateway)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _port_open(port), "the web server outlived a kill -9 of smartsite demo"
    assert not _port_open(gateway), "the HJ 212 gateway outlived a kill -9 of smartsite demo"
