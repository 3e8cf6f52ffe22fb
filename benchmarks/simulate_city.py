"""Time the simulated city at demo and city scale (design.md §5: a ratio, not an absolute).

    .venv/bin/python benchmarks/simulate_city.py            # demo, then city
    .venv/bin/python benchmarks/simulate_city.py --demo-only

Each scale is built into a fresh temporary SQLite database (the embedded default of
`smartsite demo`), inside a transaction that is rolled back. Prints seconds, rows and
projects/s per scale, and the ratio of city-scale to demo-scale throughput: about 1 means
the build scales linearly; well below 1 means something grows faster than the city.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20231001)
    parser.add_argument("--demo-only", action="store_true", help="skip the city scale (~1 min)")
    args = parser.parse_args(argv)

    data_dir = tempfile.mkdtemp(prefix="smartsite-bench-")
    os.environ["SMARTSITE_DATA_DIR"] = data_dir
    os.environ.pop("SMARTSITE_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsite.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from smartsite.core import reference
    from smartsite.simulator import city

    call_command("migrate", interactive=False, verbosity=0)
    reference.load_all()

    rates = {}
    for scale in ("demo",) if args.demo_only else ("demo", "city"):
        with transaction.atomic():
            started = time.perf_counter()
            report = city.build_city(seed=args.seed, scale=scale)
            seconds = time.perf_counter() - started
            transaction.set_rollback(True)
        rows = sum(report.counts[k] for k in ("enterprises", "projects", "parties", "people",
                                             "qualifications", "assignments"))
        rates[scale] = report.counts["projects"] / seconds
        print(f"{scale:>5}: {seconds:6.1f} s  {report.counts['projects']:>6,} projects  "
              f"{rows:>8,} rows  {rates[scale]:7.1f} projects/s  {rows / seconds:8.0f} rows/s")
        print(f"       {report.summary()}")
    if "city" in rates:
        print(f"ratio city/demo throughput: {rates['city'] / rates['demo']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
