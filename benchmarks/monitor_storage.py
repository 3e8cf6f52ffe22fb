"""Monitor data at city scale (issue #5): do the pages' queries stay fast as the partitioned
reading and mean tables fill up? Timed at 1 day of data and again at `--days`.

    .venv/bin/python benchmarks/monitor_storage.py              # 3 days, ~6 min here
    .venv/bin/python benchmarks/monitor_storage.py --days 7 --runs 21
    .venv/bin/python benchmarks/monitor_storage.py --keep       # keep the database afterwards
    .venv/bin/python benchmarks/monitor_storage.py --days 2 --hours 6 --runs 3 --no-year
                                                  # 6 h of each day: sizes extrapolated

Creates the PostgreSQL database `smartsite_bench_<pid>` (dropped at the end unless --keep),
runs `smartsite migrate`, builds the simulated city at "city" scale (5,000 projects in the 16
districts) and registers `--monitors` monitors (4,500) on as many projects with one bulk
INSERT, and a 区监督站 user for each district. Data is generated in PostgreSQL, not through
the gateway: for each Shanghai day, one reading a minute per monitor (~6.5 M rows, time-major
as the gateway writes them: every monitor's minute, then the next minute) with
generate_series (minute means are these rows grouped, `dust.minutes`), then the day's
15-minute means with `dust.minutes`' own aggregate expressions, and the hour and day means
from those as `dust.ingest.roll_up` builds them. PM10 wanders around a per-monitor level, and
about 1 % of monitor-hours carry a dust episode above the DB31/964-2016 limit, so a
district's exceedance list has a few hundred rows.

The query day is the last day generated (yesterday, Shanghai time); it is loaded first and
timed (stage "1 day"), then the `--days - 1` days before it are loaded and the same queries
are timed again (stage "N days"), and once more after the partitions of a year are added
empty (stage "N d + year": daily reading partitions 400 days back, `partitions.apply_retention`
applied, as a production database holds them). Timed, each
`--runs` times (median, p95):

* chart: `dust.selectors.minute_series(monitor, now)` — a monitor's 24 h of minute means,
  the live panel's chart (now = the end of the query day);
* exceedances: what the 超标时段 page runs for a 区监督站 user — `selectors.exceedances()`
  for the day and the DB31/964-2016 PM10 limit, its per-monitor counts
  (`exceedance_counts`) and the first page of 50 rows with monitor, project and district;
* raw readings: one monitor's 24 h of `Reading` rows, oldest first (the natural ORM query);
* baseline: one monitor fetched by primary key (the round trip and ORM floor);
* with `--rules`: each dust detector (`dust.detectors`, issue #6) over the whole city at the
  query day's last minute — what `smartsite worker` runs on its interval (detection only; no
  inspections or spray devices are registered here, so `inspection` finds every monitor).

"warm" repeats the same monitor (浦东新区's station for the district list) on one connection;
"cold-ish" opens a new database connection each run (catalog and plan caches empty) and, for
the monitor queries, takes another monitor each time, so its pages are not in PostgreSQL's
shared buffers (128 MB here) — the OS page cache may still hold them: the machine is shared and
it is not dropped. The district list's cold-ish runs repeat 浦东新区 (its pages stay cached).
EXPLAIN (ANALYZE, BUFFERS) summaries are printed for each query at each stage; sizes per day
at the end, and bytes per reading by table and by index beside a baseline built in the same
run — the query day's readings in a bare table (no index, no partitions), as stored and in
the old layout (double values) — first as written, then after the worker's compaction of
closed days (`partitions.compact_closed`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

SERVER = "postgres://postgres@127.0.0.1:5432"
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC
DAY = datetime.timedelta(days=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="days of data in the end (≥ 2)")
    parser.add_argument("--monitors", type=int, default=4500)
    parser.add_argument("--runs", type=int, default=15, help="runs per query and mode")
    parser.add_argument("--seed", type=int, default=20231001)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL (no database)")
    parser.add_argument("--jobs", type=int, default=2, help="connections generating data at once")
    parser.add_argument("--hours", type=int, default=24,
                        help="hours of each day loaded (its last ones; sizes per day are "
                             "extrapolated linearly, bytes per reading are measured)")
    parser.add_argument("--no-year", action="store_true",
                        help="skip the last stage (a year of empty partitions added)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--rules", action="store_true",
                        help="also time the dust rules' detectors over the city (issue #6)")
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days must be at least 2 (the first stage is 1 day)")

    db_name = f"smartsite_bench_{os.getpid()}"
    url = f"{args.server.rstrip('/')}/{db_name}"
    data_dir = tempfile.mkdtemp(prefix="smartsite-bench-storage-")
    env = {"SMARTSITE_DATABASE_URL": url, "SMARTSITE_DATA_DIR": data_dir,
           "DJANGO_SETTINGS_MODULE": "smartsite.settings"}
    os.environ.update(env)
    _database(args.server, db_name, create=True)
    try:
        StorageBench(args, db_name).run()
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.keep:
            print(f"kept database {db_name} ({url})")
        else:
            _database(args.server, db_name, create=False)
    return 0


def _database(server: str, name: str, *, create: bool) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {name}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# One hour of readings for every monitor in `bench_monitor`, time-major (each minute for every
# monitor, then the next minute); minute means are these rows grouped (`dust.minutes`). PM10
# around the monitor's level, a slow swing, noise, and an episode (+90 µg/m³) for about 1 % of
# monitor-hours; pressure is not reported ('-' flag).
HOUR_SQL = """
        INSERT INTO dust_reading (monitor_id, cn, data_time, received_at, flags, pm25, pm10, tsp,
                                  noise, wind_speed, wind_dir, temperature, humidity, pressure)
        SELECT id, 2011, t, t + interval '3 seconds', 'NNNNNNNN-',
               round((pm10 * 0.52)::numeric, 1), pm10, round((pm10 * 1.6)::numeric, 1), noise,
               wind_speed, wind_dir, temperature, humidity, NULL
          FROM generate_series(%(t0)s::timestamptz, %(t0)s::timestamptz + interval '59 minutes',
                               interval '1 minute') AS t
         CROSS JOIN LATERAL (
            SELECT m.id,
                   round((m.base + 12 * sin(extract(epoch FROM t) / 13751) + 8 * random()
                          + CASE WHEN (m.id * 37 + floor(extract(epoch FROM t) / 3600)::int * 11)
                                      %% 97 = 0 THEN 90 ELSE 0 END)::numeric, 1)::float8 AS pm10,
                   round((52 + 12 * random())::numeric, 1)::float8 AS noise,
                   round((3 * random())::numeric, 1)::float8 AS wind_speed,
                   floor(360 * random())::float8 AS wind_dir,
                   round((12 + 4 * random())::numeric, 1)::float8 AS temperature,
                   round((55 + 20 * random())::numeric, 1)::float8 AS humidity
              FROM bench_monitor m) v"""


class StorageBench:
    def __init__(self, args, db_name: str):
        self.args, self.db_name = args, db_name
        self.results: dict[str, dict[str, tuple[float, float]]] = {}  # stage -> what -> (p50, p95)
        self.load_seconds: list[float] = []

    # ------------------------------------------------------------ setup

    def run(self) -> None:
        args = self.args
        print(f"monitor storage benchmark: {args.monitors:,} monitors, one reading a minute, "
              f"{args.days} days; database {self.db_name}; {os.cpu_count()} CPUs, "
              f"load average {_load()}", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "smartsite.cli", "migrate"], check=True,
                       stdout=subprocess.DEVNULL)
        import django

        django.setup()
        from smartsite.simulator import city

        city.build_city(seed=args.seed, scale="city")
        self.register(args.monitors)
        print(f"setup: migrate, city, {args.monitors:,} monitors, 16 district users "
              f"{time.perf_counter() - started:5.1f} s", flush=True)

        today = datetime.datetime.now(SHANGHAI).date()
        self.day = today - DAY  # the query day: yesterday in Shanghai
        self.now = datetime.datetime.combine(today, datetime.time(), SHANGHAI)  # its end
        days = [self.day - k * DAY for k in range(args.days)]
        self.prepare_partitions(days[-1], self.day)

        self.load_day(self.day)
        self.measure("1 day")
        for day in days[1:]:
            self.load_day(day)
        self.measure(f"{args.days} days")
        if not args.no_year:
            self.year_of_partitions()
            self.measure(f"{args.days} d + year")
        self.report()

    def register(self, n: int) -> None:
        from django.contrib.auth import get_user_model
        from django.db import connection

        from smartsite.core import services as core_services
        from smartsite.core.choices import AgencyKind, RegionLevel, RoleKind
        from smartsite.core.models import Agency, Project
        from smartsite.dust.models import Monitor

        rng = random.Random(self.args.seed)
        projects = list(Project.objects.order_by("pk").values_list("pk", "district_id"))
        if len(projects) < n:
            projects = [projects[i % len(projects)] for i in range(n)]
        chosen = rng.sample(projects, n)
        Monitor.objects.bulk_create(
            [Monitor(mn=f"3101STORE{i:015d}", password="123456", project_id=pk,
                     location="大门口") for i, (pk, _district) in enumerate(chosen)],
            batch_size=2000)
        with connection.cursor() as cur:  # the monitors the generator fills, with a level each
            cur.execute("""
                CREATE TABLE bench_monitor AS
                SELECT id, 25 + (id * 7919 % 450) / 10.0 AS base FROM dust_monitor
                 WHERE mn LIKE '3101STORE%%' ORDER BY id""")
        User = get_user_model()
        city = User.objects.filter(is_superuser=True).first() or User.objects.get(username="city")
        self.district_users = {}
        for agency in Agency.objects.filter(kind=AgencyKind.SUPERVISION_STATION,
                                            region__level=RegionLevel.DISTRICT).select_related("region"):
            user = User.objects.create_user(f"bench_{agency.region_id}",
                                            first_name=agency.name)
            core_services.grant_role(user, actor=city, kind=RoleKind.DISTRICT, agency=agency)
            self.district_users[agency.region.name] = user.pk
        by_district: dict[int, list[int]] = {}
        for pk, district in Monitor.objects.filter(mn__startswith="3101STORE").values_list(
                "pk", "project__district_id"):
            by_district.setdefault(district, []).append(pk)
        self.monitor_ids = sorted(pk for pks in by_district.values() for pk in pks)
        from smartsite.core.models import Region

        self.district_monitors = {Region.objects.get(pk=d).name: len(p)
                                  for d, p in by_district.items()}

    def prepare_partitions(self, first: datetime.date, last: datetime.date) -> None:
        from smartsite.dust.partitions import ensure_partitions

        since = datetime.datetime.combine(first, datetime.time(), SHANGHAI).astimezone(UTC).date()
        until = datetime.datetime.combine(last + DAY, datetime.time(), SHANGHAI).astimezone(UTC).date()
        ensure_partitions(since, until)

    # ------------------------------------------------------------ data

    def load_day(self, day: datetime.date) -> None:
        """One Shanghai day: readings an hour at a time (time-major; `--jobs` hours at once on
        their own connections), then the day's 15-minute means from the readings and the
        hour and day means from those (as `dust.ingest.roll_up` does)."""
        from concurrent.futures import ThreadPoolExecutor

        from django.db import connection, connections, transaction

        from smartsite.dust import minutes
        from smartsite.dust.ingest import _bucket_sql

        names, aggregates = minutes.aggregates(exact=True)
        cols, aggs = ", ".join(names), ", ".join(aggregates)
        start = datetime.datetime.combine(day, datetime.time(), SHANGHAI)
        end = start + DAY
        started = time.perf_counter()

        def hour(k: int) -> None:
            try:
                with connection.cursor() as cur, transaction.atomic():
                    cur.execute("SET LOCAL work_mem = '256MB'")
                    cur.execute(HOUR_SQL, {"t0": start + datetime.timedelta(hours=k)})
            finally:
                connections.close_all()  # this thread's connection

        with ThreadPoolExecutor(self.args.jobs) as pool:
            list(pool.map(hour, range(24 - self.args.hours, 24)))
        with connection.cursor() as cur:
            with transaction.atomic():
                cur.execute("SET LOCAL work_mem = '256MB'")
                cur.execute(f"""
                    INSERT INTO dust_periodmean (monitor_id, period, bucket, {cols})
                    SELECT monitor_id, 900, {_bucket_sql(900)}, {aggs} FROM dust_reading
                     WHERE data_time >= %(start)s AND data_time < %(end)s AND cn = 2011
                     GROUP BY 1, 2, 3 ORDER BY 3, 1""", {"start": start, "end": end})
                sums = ", ".join(
                    f"sum({c})" if c.startswith(("n_", "sum_", "samples")) else f"max({c})"
                    for c in names)
                for period in (3600, 86400):
                    cur.execute(f"""
                        INSERT INTO dust_periodmean (monitor_id, period, bucket, {cols})
                        SELECT monitor_id, {period},
                               date_bin('{period} seconds', bucket,
                                        TIMESTAMPTZ '2000-01-01 00:00:00+08'), {sums}
                          FROM dust_periodmean
                         WHERE period = 900 AND bucket >= %(start)s AND bucket < %(end)s
                         GROUP BY 1, 2, 3 ORDER BY 3, 1""", {"start": start, "end": end})
            generated = time.perf_counter() - started
            for table in ("dust_reading", "dust_periodmean"):
                cur.execute(f"VACUUM ANALYZE {table}")
            cur.execute("SELECT count(*) FROM dust_reading WHERE data_time >= %s AND data_time < %s",
                        [start, end])
            rows = cur.fetchone()[0]
        seconds = time.perf_counter() - started
        self.load_seconds.append(seconds)
        print(f"data: {day} (Shanghai) {rows:,} readings + 15-min/hour/day means in "
              f"{seconds:5.1f} s ({generated:.1f} s generating with {self.args.jobs} connections, "
              f"the rest VACUUM ANALYZE; {rows / generated:,.0f} readings/s)", flush=True)

    def year_of_partitions(self) -> None:
        """The partitions a year in production holds (dust.partitions: daily readings kept
        `READING_RETENTION_DAYS`, monthly period means), created empty before the data,
        retention applied as the worker does."""
        from django.conf import settings

        from smartsite.dust.partitions import apply_retention, ensure_partitions

        started = time.perf_counter()
        days = min(settings.READING_RETENTION_DAYS, 400) or 400
        today = datetime.datetime.now(UTC).date()
        created = ensure_partitions(today - datetime.timedelta(days=days - 2), today)
        dropped = apply_retention()
        print(f"\npartitions: {len(created)} created empty (a year back), retention dropped "
              f"{sum(dropped.values())}, in {time.perf_counter() - started:.1f} s", flush=True)

    # ------------------------------------------------------------ queries

    def queries(self):
        """name -> (warm fn, cold fn(i), explain fn): each fn runs the query as a page does."""
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.db.models import Count

        from smartsite.dust import minutes, selectors
        from smartsite.dust.choices import Particulate
        from smartsite.dust.models import DustLimit, Monitor, Reading

        User = get_user_model()
        limit = DustLimit.in_force(Particulate.PM10, self.day)
        if limit is None:
            raise SystemExit("no PM10 limit in force: reference data missing")
        since = self.now - DAY
        pudong = self.district_users["浦东新区"]
        warm_monitor = Monitor.objects.filter(project__district__name="浦东新区",
                                              mn__startswith="3101STORE").order_by("pk").first()
        rng = random.Random(self.args.seed + len(self.results))
        cold_monitors = rng.sample(self.monitor_ids, self.args.runs + 1)

        def chart(monitor):
            return selectors.minute_series(monitor, self.now)

        def exceedance_page(user):
            qs = selectors.exceedances(user, self.day, limit)
            counts = selectors.exceedance_counts(qs)
            rows = list(qs[:50])
            for row in rows:  # what the columns read
                _ = (row.monitor.mn, row.monitor.project.name, row.monitor.project.district.name)
            return counts, rows

        def raw(monitor):
            return list(Reading.objects.filter(monitor=monitor, data_time__gte=since,
                                               data_time__lt=self.now).order_by("data_time"))

        def by_pk(monitor):
            return Monitor.objects.get(pk=monitor.pk)

        def fresh_monitor(i):
            connection.close()
            return Monitor.objects.get(pk=cold_monitors[i])

        def fresh_user(i):
            connection.close()
            return User.objects.get(pk=pudong)

        def pudong_user():
            return User.objects.get(pk=pudong)

        exceedance_qs = selectors.exceedances(pudong_user(), self.day, limit)
        rule_queries = {}
        if self.args.rules:
            from smartsite.dust import detectors, rules

            at = self.now - datetime.timedelta(minutes=1)  # the query day's last minute

            def detect(code, fresh=False):
                if fresh:
                    connection.close()
                return detectors.DETECTORS[code](detectors.Context(at), rules.params(code))

            rule_queries = {f"rule {code}: detection, city": (
                lambda c=code: detect(c), lambda i, c=code: detect(c, fresh=True), [])
                for code in detectors.DETECTORS}
        return {
            **rule_queries,
            "chart: minute_series, 24 h": (
                lambda: chart(warm_monitor), lambda i: chart(fresh_monitor(i)),
                [minutes.subquery([warm_monitor.pk], since, self.now, columns=selectors.HEADLINE,
                                  after=True, through=True)]),
            "exceedances: 浦东新区, 15-min, page 1": (
                lambda: exceedance_page(pudong_user()), lambda i: exceedance_page(fresh_user(i)),
                [exceedance_qs.order_by().values_list("monitor_id").annotate(n=Count("bucket")),
                 exceedance_qs[:50]]),
            "raw readings: 1 monitor, 24 h": (
                lambda: raw(warm_monitor), lambda i: raw(fresh_monitor(i)),
                [Reading.objects.filter(monitor=warm_monitor, data_time__gte=since,
                                        data_time__lt=self.now).order_by("data_time")]),
            "baseline: Monitor by pk": (
                lambda: by_pk(warm_monitor), lambda i: by_pk(fresh_monitor(i)), []),
        }

    def measure(self, stage: str) -> None:
        from django.db import connection

        runs = self.args.runs
        print(f"\nstage {stage} ({self.partitions()}); query day {self.day}, "
              f"load average {_load()}:", flush=True)
        out = self.results.setdefault(stage, {})
        for name, (warm, cold, explains) in self.queries().items():
            warm()  # one warm-up
            warm_ms = []
            for _ in range(runs):
                t = time.perf_counter()
                result = warm()
                warm_ms.append((time.perf_counter() - t) * 1000)
            cold_ms = []
            for i in range(runs):
                t = time.perf_counter()
                cold(i)
                cold_ms.append((time.perf_counter() - t) * 1000)
            connection.close()
            size = _size(result)
            out[name] = (statistics.median(warm_ms), percentile(warm_ms, 95),
                         statistics.median(cold_ms), percentile(cold_ms, 95))
            print(f"  {name:<40} warm p50 {out[name][0]:7.1f} ms p95 {out[name][1]:7.1f} ms | "
                  f"cold-ish p50 {out[name][2]:7.1f} ms p95 {out[name][3]:7.1f} ms  ({size})",
                  flush=True)
            for qs in explains:
                print("     EXPLAIN " + explain_summary(qs), flush=True)

    def partitions(self) -> str:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("""
                SELECT p.relname, count(*) FROM pg_inherits i
                  JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE p.relname IN ('dust_reading', 'dust_periodmean')
                   AND c.relkind = 'r' GROUP BY 1 ORDER BY 1""")
            counts = ", ".join(f"{t} {n}" for t, n in cur.fetchall())
            cur.execute("SELECT sum(reltuples)::bigint FROM pg_class c JOIN pg_inherits i "
                        "ON i.inhrelid = c.oid WHERE i.inhparent = 'dust_reading'::regclass")
            readings = cur.fetchone()[0] or 0
        return f"{readings / 1e6:.1f} M readings; partitions: {counts}"

    # ------------------------------------------------------------ report

    def report(self) -> None:
        from django.db import connection

        args = self.args
        stages = list(self.results)
        first = stages[0]
        for mode, at in (("warm", 0), ("cold-ish", 2)):
            print(f"\n{'median ms, ' + mode:<40}" + "".join(f"{st:>14}" for st in stages)
                  + "".join(f"{'÷ ' + first + ' (' + st + ')':>24}" for st in stages[1:]))
            for name in self.results[first]:
                cells = [self.results[st][name][at] for st in stages]
                print(f"{name:<40}" + "".join(f"{c:>14.1f}" for c in cells)
                      + "".join(f"{c / cells[0]:>24.2f}" for c in cells[1:]))
        print("(÷: time at that stage over time at 1 day; ~1 means the query does not grow with "
              "the days and partitions kept)")

        with connection.cursor() as cur:
            cur.execute("""
                SELECT p.relname, sum(pg_total_relation_size(c.oid)), sum(pg_relation_size(c.oid))
                  FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                  JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE p.relname IN ('dust_reading', 'dust_periodmean')
                 GROUP BY 1 ORDER BY 1""")
            sizes = [(table, int(size), int(heap)) for table, size, heap in cur.fetchall()]
            cur.execute("SHOW data_directory")
            data_dir = cur.fetchone()[0]
        total = sum(s[1] for s in sizes)
        print(f"\ndisk per day ({args.days} days of {args.hours} h, {args.monitors:,} monitors, "
              "one reading a minute; table + indexes):")
        for table, size, heap in sizes:
            days = args.days * args.hours / 24
            print(f"  {table:<18} {size / days / 2**20:8.0f} MB/day "
                  f"(table {heap / days / 2**20:.0f}, indexes {(size - heap) / days / 2**20:.0f})")
        per_day = total / args.days * 24 / args.hours
        print(f"  {'all':<18} {per_day / 2**20:8.0f} MB/day → 30 days {per_day * 30 / 2**30:.0f} GB, "
              f"a year as retained (readings 400 days, period means longer) ≈ "
              f"{self.year_estimate(sizes) / 2**30:.0f} GB")
        try:
            free = shutil.disk_usage(data_dir).free
            print(f"  free on the database's disk now: {free / 2**30:.0f} GB")
        except OSError:
            pass
        self.bytes_per_reading("as written (every partition still open)", baseline=True)
        from django.db import connection

        from smartsite.dust.partitions import compact_closed

        started = time.perf_counter()
        compacted = compact_closed(datetime.datetime.now(UTC) + 30 * DAY)  # every day closed
        print(f"\ncompacted {len(compacted)} closed reading partitions (the worker's "
              f"partitions.compact_closed) in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE dust_reading")
        self.bytes_per_reading("the closed days, as the worker leaves them")
        load = statistics.mean(self.load_seconds)
        print(f"\ngeneration: {load:.0f} s per day on average here → 30 days would take "
              f"~{load * 30 / 60:.0f} min (and ~{per_day * 30 / 2**30:.0f} GB)")
        print(f"machine: {os.cpu_count()} CPUs, load average {_load()}")

    def bytes_per_reading(self, label: str, *, baseline: bool = False) -> None:
        """Disk per stored reading, by table and by index (all partitions), beside the same
        readings in a bare table (no index, no partitions) built in this run: of the query
        day's rows as stored, and as the old layout (double values, columns in the model's
        order) would store them."""
        from django.db import connection

        values = ("pm25", "pm10", "tsp", "noise", "wind_speed", "wind_dir", "temperature",
                  "humidity", "pressure")
        start = datetime.datetime.combine(self.day, datetime.time(), SHANGHAI)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM dust_reading")
            readings = cur.fetchone()[0]
            cur.execute("""
                SELECT p.relname, 'table', sum(pg_table_size(c.oid))
                  FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                  JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE p.relname IN ('dust_reading', 'dust_periodmean') GROUP BY 1
                UNION ALL
                SELECT t.relname, pi.relname, sum(pg_relation_size(ci.oid))
                  FROM pg_class t JOIN pg_inherits i ON i.inhparent = t.oid
                  JOIN pg_index x ON x.indrelid = i.inhrelid
                  JOIN pg_class ci ON ci.oid = x.indexrelid
                  JOIN pg_inherits ii ON ii.inhrelid = ci.oid
                  JOIN pg_class pi ON pi.oid = ii.inhparent
                 WHERE t.relname IN ('dust_reading', 'dust_periodmean') GROUP BY 1, 2
                 ORDER BY 1, 2 DESC""")
            parts = [(table, what, int(size)) for table, what, size in cur.fetchall()]
            bare = {}
            layouts = {
                "as stored": "SELECT * FROM dust_reading",
                "old layout (double values, bigint monitor)": (
                    "SELECT monitor_id::bigint AS monitor_id, cn, data_time, received_at, flags, "
                    + ", ".join(f"{v}::double precision AS {v}" for v in values)
                    + " FROM dust_reading"),
            }
            for name, select in layouts.items() if baseline else ():
                cur.execute("DROP TABLE IF EXISTS bench_bare")
                cur.execute(f"CREATE TABLE bench_bare AS {select} "
                            "WHERE data_time >= %s AND data_time < %s", [start, start + DAY])
                cur.execute("SELECT count(*), pg_table_size('bench_bare') FROM bench_bare")
                n, size = cur.fetchone()
                bare[name] = size / n
            cur.execute("DROP TABLE IF EXISTS bench_bare")
        per_day = self.args.monitors * 1440
        print(f"\nbytes per reading, {label} ({readings:,} readings, {self.args.days} days; "
              f"{self.args.monitors:,} monitors × 1,440 = {per_day / 1e6:.2f} M readings a day):")
        total = 0.0
        for table, what, size in parts:
            total += size
            print(f"  {table:<16} {what:<28} {size / readings:7.1f} B  "
                  f"{size / readings * per_day / 2**20:6.0f} MB/day")
        print(f"  {'all':<45} {total / readings:7.1f} B  {total / readings * per_day / 2**30:6.2f} "
              f"GB/day (city scale); 400 days ≈ {total / readings * per_day * 400 / 2**40:.2f} TB")
        for name, size in bare.items():
            print(f"  baseline: the query day's readings in a bare table, {name}: "
                  f"{size:.1f} B/reading (all ÷ baseline {total / readings / size:.2f})")

    def year_estimate(self, sizes) -> float:
        from django.conf import settings

        days = {"dust_reading": settings.READING_RETENTION_DAYS,
                "dust_periodmean": min(365, settings.PERIOD_MEAN_RETENTION_DAYS)}
        loaded = self.args.days * self.args.hours / 24
        return sum(size / loaded * min(365, days[t]) for t, size, _heap in sizes)


def explain_summary(qs) -> str:
    """One line: execution and planning time, rows, buffers, partitions touched, plan nodes."""
    import json

    from django.db import connection

    sql, params = qs if isinstance(qs, tuple) else qs.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        doc = cur.fetchone()[0]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    top = doc[0]
    relations, nodes = set(), []

    def walk(node):
        kind = node["Node Type"]
        if node.get("Index Name"):
            kind += f" {node['Index Name']}"
        elif node.get("Relation Name"):
            kind += f" {node['Relation Name']}"
        if node.get("Relation Name"):
            relations.add(node["Relation Name"])
        nodes.append(kind)
        for child in node.get("Plans", []):
            walk(child)

    plan = top["Plan"]
    walk(plan)
    kinds: dict[str, int] = {}
    for kind in nodes:
        short = kind.split(" dust_")[0] if kind.startswith(("Index", "Bitmap", "Seq")) else kind
        kinds[short] = kinds.get(short, 0) + 1
    shape = ", ".join(f"{k}×{n}" if n > 1 else k for k, n in kinds.items())
    return (f"{top['Execution Time']:.1f} ms (+ planning {top['Planning Time']:.1f} ms), "
            f"{plan['Actual Rows']} rows, buffers hit {plan.get('Shared Hit Blocks', 0)} "
            f"read {plan.get('Shared Read Blocks', 0)}, {len(relations)} relations: {shape}")


def _size(result) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{k} {len(v)} points" for k, v in result.items())
    if isinstance(result, tuple):
        counts, rows = result
        return f"{sum(counts.values())} periods of {len(counts)} monitors, {len(rows)} rows shown"
    if isinstance(result, list):
        return f"{len(result)} rows"
    return "1 row"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
