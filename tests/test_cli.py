"""The `smartsite` command as an operator meets it: real processes, real sockets, real signals."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request

import pytest
from django.db import connection
from support.processes import SMARTSITE, Running, clean_env
from support.processes import free_port as _free_port
from support.processes import port_open as _port_open


@pytest.fixture
def env(tmp_path):
    return clean_env(tmp_path / "data")


def test_help_lists_the_commands():
    out = subprocess.run([*SMARTSITE, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "serve", "migrate", "seed", "devices", "manage"):
        assert command in out


def test_demo_starts_prints_logins_serves_pages_and_stops_on_ctrl_c(seeded_demo, seeded_data_dir,
                                                                    env):
    # The session ran `smartsite demo` on an empty data directory once (tests/conftest.py
    # `seeded_demo`): the city is generated, the logins printed, pages and the gateway answer
    # while it runs, and Ctrl-C stops every process it started.
    data, run = seeded_demo
    assert "error" not in run, run.get("error", "") + run["stdout"]
    output = run["stdout"]
    assert f"http://127.0.0.1:{run['port']}/" in run["started"]
    assert f"HJ 212 网关：127.0.0.1:{run['hj212_port']}" in run["started"]
    assert run["gateway_open"]
    assert "已生成模拟城市" in output
    assert re.search(r"已登记 \d{3} 台扬尘噪声监测设备.*补录近 24 小时数据", output)
    for username in ("city", "jingan", "pudong", "contractor", "pm", "chief", "monitor"):
        assert re.search(rf"\s{username}\n", output), username
    assert run["login"] == [200, True]
    assert run["asset"] == 200
    assert run["returncode"] == 0
    assert run["web_closed"], "the web server outlived Ctrl-C"
    assert run["gateway_closed"], "the HJ 212 gateway outlived Ctrl-C"
    assert (data / "smartsite.sqlite3").exists()

    env["SMARTSITE_DATA_DIR"] = str(seeded_data_dir)  # started again on what it left
    again = Running([*SMARTSITE, "demo", "--port", str(_free_port()), "--hj212-port",
                     str(_free_port())], env)
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


@pytest.mark.postgres
def test_serve_runs_against_postgresql(env, pg_database, db):
    # `db`: the engine of the pass decides where it runs (tests/conftest.py) — in the
    # PostgreSQL pass, which is shorter than the SQLite one
    if connection.vendor != "postgresql":
        pytest.skip("migrates and serves a PostgreSQL database of its own: runs in the "
                    "PostgreSQL pass")
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


def test_static_files_are_collected_again_only_when_a_source_changed(tmp_path, settings):
    # A demo restart skips WhiteNoise's compression of every file when nothing changed,
    # and never serves a stale file when something did.
    from smartsite import cli

    source, root = tmp_path / "src", tmp_path / "root"
    source.mkdir()
    (source / "app.js").write_text("one();" * 100)
    settings.STATICFILES_DIRS = [source]
    settings.STATIC_ROOT = root
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    cli._collectstatic()
    assert (root / "app.js").read_text() == "one();" * 100
    assert (root / "app.js.gz").exists()
    (root / "app.js.gz").unlink()
    cli._collectstatic()  # nothing changed: nothing done
    assert not (root / "app.js.gz").exists()
    (source / "app.js").write_text("two();" * 100)
    os.utime(source / "app.js", ns=(1, 1))  # a new size and time, whatever the clock says
    cli._collectstatic()
    assert (root / "app.js").read_text() == "two();" * 100
    assert (root / "app.js.gz").exists()
