"""Deep pits at city scale (issue #14): a new survey on every pit, each reading assessed at
once, beside a bare bulk insert of the same rows in the same run.

    .venv/bin/python benchmarks/pits_assess.py                 # 1,100 pits × 50 points, SQLite
    .venv/bin/python benchmarks/pits_assess.py --pits 200      # quick run
    createdb -h 127.0.0.1 -U postgres smartsite_bench_pits    # PostgreSQL: an empty database
    SMARTSITE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smartsite_bench_pits \\
        .venv/bin/python benchmarks/pits_assess.py             # (migrated here; drop it after)

Setup (not timed): a fresh data directory, migrate, reference data, the demo city, and
`--pits` pits spread over its projects, each with `--points` points (wall-top horizontal and
vertical displacement, ground settlement, strut forces with design values) and four surveys
of history (the baseline's three and one more) written with `bulk_create`, the points'
baselines stored as the assessment stores them after the third.

Timed, one new survey per pit (pits × points readings):

* bare: `Reading.objects.bulk_create` of exactly those rows, one upload row per pit, in one
  transaction (rolled back): the floor of storing them, the issue's reference;
* raw insert: the same rows as `record_surveys` inserts them (`services._insert_readings`:
  executemany on SQLite, INSERT … SELECT FROM unnest on PostgreSQL, no model instances),
  rolled back — printed so the ratio's reference is not mistaken for the real path's insert;
* record_surveys: `pits.services.record_surveys([(pit, rows), …])` over all pits (in calls
  of `--chunk` pits) — validation (unknown points, units, duplicates, impossible jumps
  against what is stored), the insert, and every pit's assessment (every point's level, the
  proposed colour, the warning event when a pit turns yellow) — the path every upload takes;
* record_survey: the same survey a day later pit by pit (`record_survey`, the one-pit case
  of the same code: an upload, API or MQTT message), for comparison.

Prints readings/s of each and their ratio to the bare insert (the issue's aim: ≥ 50 %) and
to the raw insert. On PostgreSQL the tables are vacuumed and analyzed (untimed) after the
setup and after each rolled-back insert: a live database has statistics, and the rolled-back
rows' dead index entries sit at exactly the survey's times, where record_surveys reads.
Neither reference commits; record_surveys commits its insert and its assessment.
`PITS_BENCH_PROFILE=tottime` (or cumtime) profiles the record_surveys part.
`PITS_BENCH_CLOCK=cpu` times in CPU seconds instead (this process's and, on PostgreSQL on the
same machine, its backend's from /proc): other sessions' load and the commits' waits drop
out of the ratio. No asserts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import tempfile
import time

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def cpu_clock(connection):
    """CPU seconds of this process and, on PostgreSQL, of its backend (read from
    /proc/<pid>/stat: the server must run on this machine and be readable)."""
    tick = os.sysconf("SC_CLK_TCK")

    def clock() -> float:
        used = time.process_time()
        if connection.vendor == "postgresql" and connection.connection is not None:
            pid = connection.connection.info.backend_pid
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return used

    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pits", type=int, default=1100)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1100, help="pits per record_surveys call")
    parser.add_argument("--no-single", action="store_true",
                        help="skip the pit-by-pit record_survey line")
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

    clock = cpu_clock(connection) if os.environ.get("PITS_BENCH_CLOCK") == "cpu" \
        else time.perf_counter
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

    history = {p.pk: [value(p, k) for k in range(4)] for p in points}
    Reading.objects.bulk_create([Reading(point=p, measured_at=t0 + k * day, value=v,
                                         upload=upload_of[p.pit_id])
                                 for p in points for k, v in enumerate(history[p.pk])],
                                batch_size=5000)
    for p in points:  # stored by the assessment after the third survey
        if p.item != "strut_force":
            p.baseline = round(sum(history[p.pk][:3]) / 3, 3)
    Point.objects.bulk_update(points, ["baseline"], batch_size=2000)
    survey_at = t0 + 4 * day
    now = survey_at + datetime.timedelta(hours=2)
    by_pit: dict[int, list] = {}
    for p in points:
        by_pit.setdefault(p.pit_id, []).append((p, value(p, 4)))
    n = len(points)
    print(f"setup: {len(pits):,} pits × {len(specs)} points, {4 * n:,} readings of history on "
          f"{connection.vendor}, {time.perf_counter() - started:.1f} s")

    def tidy():
        # PostgreSQL (untimed): the statistics a live database has, and the rolled-back
        # bare rows (dead index entries at exactly the survey's times, which every later
        # read of the points' latest readings would otherwise step over) vacuumed away
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table in ("pits_reading", "pits_point", "pits_upload", "pits_pit"):
                    cursor.execute(f"VACUUM ANALYZE {table}")

    tidy()
    # bare: the same rows, one upload per pit, one transaction, rolled back
    with transaction.atomic():
        started = clock()
        batch = Upload.objects.bulk_create([Upload(pit=pit, source="file", received_at=now)
                                            for pit in pits])
        ups = {u.pit_id: u for u in batch}
        Reading.objects.bulk_create([Reading(point=p, measured_at=survey_at, value=v,
                                             upload=ups[p.pit_id])
                                     for rows in by_pit.values() for p, v in rows],
                                    batch_size=5000)
        bare = clock() - started
        transaction.set_rollback(True)
    tidy()
    # the same rows as record_surveys inserts them (no model instances), rolled back
    with transaction.atomic():
        started = clock()
        batch = Upload.objects.bulk_create([Upload(pit=pit, source="file", received_at=now)
                                            for pit in pits])
        ups = {u.pit_id: u.pk for u in batch}
        services._insert_readings([(p.pk, survey_at, services._decimal(v), ups[p.pit_id], False,
                                    None, None) for rows in by_pit.values() for p, v in rows])
        raw = clock() - started
        transaction.set_rollback(True)
    tidy()

    def survey(pit, at):
        return [services.SurveyRow(p.code, at, v) for p, v in by_pit[pit.pk]]

    def colours():
        out: dict[str, int] = {}
        for colour in Pit.objects.values_list("proposed_colour", flat=True):
            out[colour] = out.get(colour, 0) + 1
        return out

    profile = None
    if os.environ.get("PITS_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = clock()
    refused = 0
    for i in range(0, len(pits), args.chunk):
        batch = [(pit, survey(pit, survey_at)) for pit in pits[i:i + args.chunk]]
        for _, outcome in services.record_surveys(batch, source="api", now=now):
            refused += isinstance(outcome, services.SurveyRejected)
    batched = clock() - started
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ["PITS_BENCH_PROFILE"]).print_stats(30)
    after_batch = colours()

    # the same survey a day later, pit by pit
    next_at, next_now = survey_at + day, now + day
    started = clock()
    if not args.no_single:
        for pit in pits:
            services.record_survey(pit, survey(pit, next_at), now=next_now)
    single = clock() - started
    print(f"bare bulk insert : {n:,} readings in {bare:6.2f} s = {n / bare:9,.0f} readings/s")
    print(f"raw insert       : {n:,} readings in {raw:6.2f} s = {n / raw:9,.0f} readings/s"
          f"  (as record_surveys inserts them; {bare / raw:.1f}× the bulk insert)")
    print(f"record_surveys   : {n:,} readings in {batched:6.2f} s = {n / batched:9,.0f} readings/s"
          f"  ({len(pits):,} surveys in calls of {args.chunk}, {refused} refused, every pit"
          f" re-assessed; colours {after_batch})")
    print(f"ratio            : {bare / batched:.0%} of the bare insert (aim ≥ 50 %),"
          f" {raw / batched:.0%} of the raw insert")
    if not args.no_single:
        print(f"record_survey    : {n:,} readings in {single:6.2f} s = {n / single:9,.0f}"
              f" readings/s  (pit by pit, a day later; colours {colours()})")
        print(f"ratio            : {bare / single:.0%} of the bare insert")

if __name__ == "__main__":
    main()
