"""`smartsite seed` on an empty data directory writes the demo city and two weeks of orders;
the chains verify, and live findings and the worker run against it (SQLite, real processes).
Apart from test_orders.py so that xdist can run it beside that module's history builds (both
are long); the seeded directory is made once per run (`seeded_demo`, tests/conftest.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def test_seed_then_verify_simulate_and_worker_commands(seeded_demo, seeded_data_dir):
    """`smartsite seed` writes the history; the chains verify; live findings and the worker
    run against it (SQLite, real processes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_")}
    env["SMARTSITE_DATA_DIR"] = str(seeded_data_dir)  # a copy of what `smartsite seed` wrote

    def run(*argv):
        return subprocess.run([sys.executable, "-m", "smartsite.cli", *argv], env=env,
                              capture_output=True, text=True, timeout=300)

    seeded = seeded_demo[1]  # `smartsite seed` on an empty data directory, once per session
    assert seeded.returncode == 0, seeded.stderr
    assert re.search(r"已模拟近 14 天的事件与工单：\d+ 个事件、\d+ 张工单", seeded.stdout)
    verified = run("verify-orders")
    assert verified.returncode == 0 and "哈希链完整" in verified.stdout, verified.stdout
    live = run("simulate", "--every", "0", "--count", "2", "--seed", "3")
    assert live.returncode == 0 and "已产生 2 个模拟事件" in live.stdout, live.stderr
    worker = run("worker", "--once")
    assert worker.returncode == 0, worker.stderr
    assert run("verify-orders").returncode == 0
    again = run("seed")  # data kept: no second history
    assert again.returncode == 0 and "已模拟" not in again.stdout
