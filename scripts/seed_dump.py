"""Seed the demo city as `smartsite demo` does on its first start, at a fixed clock, and dump
every table: to check that a change to the seed leaves its data as it was.

    .venv/bin/python scripts/seed_dump.py /tmp/a --dump a.txt            # this checkout
    PYTHONPATH=/path/to/other/src .venv/bin/python scripts/seed_dump.py /tmp/b --dump b.txt
    cmp a.txt b.txt

DATA_DIR must not exist yet (a fresh SQLite database, as on a first start). The clock stands
still at `--at` (time-machine), so the same code gives the same rows, primary keys included;
only what is random by design is left out of the dump: password hashes (salted) and the
secret key. Prints the CPU seconds (process time) of the migrations and of each piece of the
seed (`cli._seed`: the city, each scenario, the order history).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import os
import re
import sys
import time
from pathlib import Path

SALTED = re.compile(r"'(pbkdf2_sha256\$\d+\$[^']*|md5\$[^']*|![A-Za-z0-9]{40})'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--dump", type=Path, help="write the dump of every table here")
    parser.add_argument("--at", default="2026-12-07T09:30:00+00:00", help="the fixed clock")
    parser.add_argument("--seed", type=int, default=None, help="default: the demo's")
    args = parser.parse_args(argv)
    if args.data_dir.exists():
        parser.error(f"{args.data_dir} exists: the seed starts from an empty data directory")
    os.environ["SMARTSITE_DATA_DIR"] = str(args.data_dir)
    os.environ.pop("SMARTSITE_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsite.settings")
    import time_machine

    with time_machine.travel(datetime.datetime.fromisoformat(args.at), tick=False):
        return _run(args)


def _run(args) -> int:
    import django

    django.setup()
    from smartsite import cli
    from smartsite.simulator import city, orders, scenarios

    print(f"code: {Path(cli.__file__).parent}", file=sys.stderr)
    seconds: dict[str, float] = {}

    def timed(name, func):
        def call(*a, **kw):
            started = time.process_time()
            try:
                return func(*a, **kw)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.process_time() - started
        return call

    timed("migrate", cli._migrate)()
    city.build_city = timed("city", city.build_city)
    orders.simulate_history = timed("orders", orders.simulate_history)
    wrapped = tuple(dataclasses.replace(s, seed=timed(s.code, s.seed)) if s.seed else s
                    for s in scenarios.scenarios())
    scenarios.scenarios = lambda: wrapped
    timed("seed", cli._seed)(args.seed if args.seed is not None else cli.DEMO_SEED, "demo",
                             quiet=True)
    for name, value in seconds.items():
        print(f"{name:>10} {value:6.1f} s CPU")
    if args.dump:
        _dump(args.dump, args.data_dir)
    return 0


def _dump(target: Path, data_dir: Path) -> None:
    """Every table's rows (as text, sorted), and a digest of every file the seed left in the
    data directory (photos …)."""
    from django.db import connection

    with open(target, "w") as out, connection.cursor() as cur:
        for table in sorted(connection.introspection.table_names()):
            cur.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            rows = cur.fetchall()
            out.write(f"== {table} {columns} {len(rows)}\n")
            out.writelines(sorted(SALTED.sub("'<salted>'", repr(row)) + "\n" for row in rows))
        for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(data_dir).as_posix()
            if relative == "secret_key" or relative.startswith(("smartsite.sqlite3", "static/")):
                continue
            out.write(f"file {relative} {hashlib.sha256(path.read_bytes()).hexdigest()}\n")


if __name__ == "__main__":
    sys.exit(main())
