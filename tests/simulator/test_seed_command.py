"""The demo city and two weeks of orders, as seeding writes them on an empty data directory
(`smartsite demo` and `smartsite seed` both run `cli._seed`; the session's first demo run made
this one: `seeded_demo`, tests/conftest.py): the chains verify, live findings and the worker
run against it, and `smartsite seed` keeps existing data (SQLite, real processes). Apart from
test_orders.py so that xdist can run it beside that module's history builds (both are long)."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def test_seed_then_verify_simulate_and_worker_commands(seeded_demo, seeded_data_dir):
    """Seeding wrote the history; the chains verify; live findings and the worker run against
    it (SQLite, real processes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_")}
    env["SMARTSITE_DATA_DIR"] = str(seeded_data_dir)  # a copy of what seeding wrote

    def run(*argv):
        return subprocess.run([sys.executable, "-m", "smartsite.cli", *argv], env=env,
                              capture_output=True, text=True, timeout=300)

    seeded = seeded_demo[1]  # `smartsite demo` on an empty data directory, once per session
    assert seeded["returncode"] == 0, seeded["stdout"]
    assert re.search(r"已模拟近 14 天的事件与工单：\d+ 个事件、\d+ 张工单", seeded["stdout"])
    verified = run("verify-orders")
    assert verified.returncode == 0 and "哈希链完整" in verified.stdout, verified.stdout
    live = run("simulate", "--every", "0", "--count", "2", "--seed", "3")
    assert live.returncode == 0 and "已产生 2 个模拟事件" in live.stdout, live.stderr
    worker = run("worker", "--once")
    assert worker.returncode == 0, worker.stderr
    assert run("verify-orders").returncode == 0
    again = run("seed")  # data kept: no second history
    assert again.returncode == 0 and "已模拟" not in again.stdout
