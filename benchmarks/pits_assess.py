"""Deep pits at city scale (issue #14): a new survey on every pit, each reading assessed at
once, beside a bare bulk insert of the same rows in the same run.

    .venv/bin/python benchmarks/pits_assess.py                 # 1,100 pits × 50 points, SQLite
    .venv/bin/python benchmarks/pits_assess.py --pits 200      # quick run
    SMARTSITE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smartsite_bench_pits \\
        .venv/bin/python benchmarks/pits_assess.py             # on PostgreSQL (database dropped
                                                               # and recreated by migrate)

Setup (not timed): a fresh data directory, migrate, reference data, the demo city, and
`--pits` pits spread over its projects, each with `--points` points (wall-top horizontal and
vertical displacement, ground settlement, strut forces with design values) and four surveys
of history (the baseline's three and one more) written with `bulk_create`.

Timed, one new survey per pit (pits × points readings):

* bare: `Reading.objects.bulk_create` of exactly those rows, one upload row per pit, in one
  transaction (rolled back): the floor of storing them;
* surveys: `pits.services.record_survey(pit, rows)` per pit — validation (unknown points,
  units, duplicates, impossible jumps against what is stored), the insert, and the pit's
  assessment (every point's level, the proposed colour, the warning event when a pit turns
  yellow) — the path every upload takes.

Prints readings/s of both and their ratio (the issue's aim: ≥ 50 %). No asserts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import tempfile
import time

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pits", type=int, default=1100)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("SMARTSITE_DATA_DIR", tempfile.mkdtemp(prefix="pits-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "smartsite.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from smartsite.core import reference
    from smartsite.core.models import Project
    from smartsite.pits import services
    from smartsite.pits.models import Pit, Point, Reading, Upload
    from smartsite.simulator import city

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    reference.load_all()
    city.build_city(seed=args.seed, scale="demo")
    rng = random.Random(args.seed)
    projects = list(Project.objects.order_by("pk"))
    t0 = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI)
    day = datetime.timedelta(days=1)
    kinds = [("WY", "wall_top_horizontal", 0.4), ("WC", "wall_top_vertical", 0.3),
             ("DB", "ground_settlement", 0.2), ("ZL", "strut_force", 0.1)]
    pits = Pit.objects.bulk_create([
        Pit(project=projects[i % len(projects)], code=f"JK-{i + 1}", name=f"{i + 1}号基坑",
            safety_grade=1 + i % 2, environment_grade=2, design_depth_m=8 + (i % 18),
            retaining="diaphragm_wall", support="concrete_strut",
            outline=[[0, 0], [80, 0], [80, 50], [0, 50]]) for i in range(args.pits)])
    specs = []
    for prefix, item, share in kinds:
        specs += [(f"{prefix}-{n + 1:02d}", item) for n in range(round(args.points * share))]
    specs = specs[:args.points]
    points = Point.objects.bulk_create([
        Point(pit=pit, code=code, item=item, x_m=rng.uniform(0, 80), y_m=rng.uniform(0, 50),
              design_value=5000 if item == "strut_force" else None)
        for pit in pits for code, item in specs])
    uploads = Upload.objects.bulk_create([Upload(pit=pit, source="file", received_at=t0 + 4 * day)
                                          for pit in pits])
    upload_of = {u.pit_id: u for u in uploads}
    trend = {p.pk: rng.uniform(-0.8, 0.8) for p in points}

    def value(point, k):
        if point.item == "strut_force":
            return round(2000 + 40 * k + rng.gauss(0, 15), 1)
        return round(trend[point.pk] * k + rng.gauss(0, 0.2), 2)

    Reading.objects.bulk_create([Reading(point=p, measured_at=t0 + k * day, value=value(p, k),
                                         upload=upload_of[p.pit_id])
                                 for p in points for k in range(4)], batch_size=5000)
    survey_at = t0 + 4 * day
    now = survey_at + datetime.timedelta(hours=2)
    by_pit: dict[int, list] = {}
    for p in points:
        by_pit.setdefault(p.pit_id, []).append((p, value(p, 4)))
    n = len(points)
    print(f"setup: {len(pits):,} pits × {len(specs)} points, {4 * n:,} readings of history on "
          f"{connection.vendor}, {time.perf_counter() - started:.1f} s")

    # bare: the same rows, one upload per pit, one transaction, rolled back
    with transaction.atomic():
        started = time.perf_counter()
        batch = Upload.objects.bulk_create([Upload(pit=pit, source="file", received_at=now)
                                            for pit in pits])
        ups = {u.pit_id: u for u in batch}
        Reading.objects.bulk_create([Reading(point=p, measured_at=survey_at, value=v,
                                             upload=ups[p.pit_id])
                                     for rows in by_pit.values() for p, v in rows],
                                    batch_size=5000)
        bare = time.perf_counter() - started
        transaction.set_rollback(True)

    profile = None
    if os.environ.get("PITS_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = time.perf_counter()
    colours: dict[str, int] = {}
    for pit in pits:
        rows = [services.SurveyRow(p.code, survey_at, v) for p, v in by_pit[pit.pk]]
        services.record_survey(pit, rows, now=now)
    surveys = time.perf_counter() - started
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    for colour in Pit.objects.values_list("proposed_colour", flat=True):
        colours[colour] = colours.get(colour, 0) + 1
    print(f"bare bulk insert : {n:,} readings in {bare:6.2f} s = {n / bare:9,.0f} readings/s")
    print(f"record_survey    : {n:,} readings in {surveys:6.2f} s = {n / surveys:9,.0f} readings/s"
          f"  ({len(pits):,} surveys, every pit re-assessed; colours {colours})")
    print(f"ratio            : {bare / surveys:.0%} of the bare insert (aim ≥ 50 %)")


if __name__ == "__main__":
    main()
