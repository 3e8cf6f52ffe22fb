"""HJ 212 gateway end to end (issue #5): simulated monitors → `smartsite gateway` → PostgreSQL,
each figure beside a baseline measured in the same run, on the same database.

    .venv/bin/python benchmarks/hj212_gateway.py                  # ~4 min here
    .venv/bin/python benchmarks/hj212_gateway.py --seconds 60 --window 8
    .venv/bin/python benchmarks/hj212_gateway.py --keep           # keep the database afterwards

Creates the PostgreSQL database `smartsite_bench_<pid>` (dropped at the end unless --keep),
runs `smartsite migrate`, builds the simulated city at demo scale (its projects and districts)
and registers `--monitors` monitors (4,500, the city's count) with one bulk INSERT. Then:

1. Ceiling: a bare psycopg COPY of reading rows from memory into `dust_reading` — the very
   rows the monitors send later (same monitors, DataTimes, values) — then emptied again.
   Beside it, `dust.ingest.ingest()` called directly on the same rows in batches of
   SMARTSITE_HJ212_BATCH: the gateway's database work without the gateway.
2. `smartsite gateway --no-mqtt` as a process of its own; the load generator is another
   process (this script with `loadgen`: asyncio protocols, pre-encoded frames) that opens one
   connection per monitor. Idle memory: gateway RSS with every connection open and silent
   minus its RSS before any (VmRSS, /proc/<pid>/status), per connection.
3. First packets: every connection sends one packet (the gateway records each new
   connection); time until all 9014 acknowledgements are in.
4. Ack latency: `--rate` packets/s (1,000) spread round-robin over the connections for
   `--latency-seconds`; p50/p95/p99 from write to the 9014 (acks come back in order per
   connection: the gateway acknowledges each committed batch in arrival order).
5. Sustained: every connection keeps `--window` packets unacknowledged (a new one goes out per
   9014 received) for `--warmup` + `--seconds`; packets/s acknowledged in the last
   `--seconds`, CPU of the gateway, its PostgreSQL backend, all postgres processes and the
   load generator meanwhile (/proc/<pid>/stat). Then the load generator drains, and the
   rows in `dust_reading` must equal the acknowledgements received (each packet has its own
   DataTime, so every ack is one committed row).
6. The codec alone: `benchmarks/hj212_codec.py`'s decoder loop.

Every packet is a CN 2011 upload, Flag=5 (HJ 212-2017, acknowledgement wanted) with eight
values (TSP, PM10, PM2.5, noise, temperature, humidity, wind speed and direction), ~340 bytes.
Tunables of the gateway come from the environment as in production (SMARTSITE_HJ212_BATCH,
SMARTSITE_HJ212_HIGH_WATER, …, docs/operations.md) and are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from smartsite.hj212.codec import crc16  # no Django: the load generator imports only this

HERE = Path(__file__).resolve().parent
SERVER = "postgres://postgres@127.0.0.1:5432"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
CODES = ("a34001", "a34002", "a34004", "LA", "a01001", "a01002", "a01007", "a01008")
PASSWORD = "123456"
TARGETS = {
    "packets": 20_000,  # packets/s, each ~8 values
    "idle_kb": 10.0,  # per idle connection
    "p99_ms": 100.0,  # at 1,000 packets/s
}


# ---------------------------------------------------------------- what the monitors send


def mn_of(i: int) -> str:
    return f"3101BENCH{i:015d}"


def values_of(i: int, k: int) -> tuple[float, ...]:
    """Packet k of monitor i, in CODES order: plausible values that vary a little."""
    w = (i * 7919 + k * 104729) % 1000
    pm10 = 40.0 + w % 700 / 10
    return (round(pm10 * 1.6, 1), round(pm10, 1), round(pm10 * 0.55, 1), round(55 + w % 200 / 10, 1),
            round(15 + w % 150 / 10, 1), round(40 + w % 500 / 10, 1), round(w % 80 / 10, 1),
            float(w % 360))


def data_time_of(base: datetime.datetime, k: int) -> datetime.datetime:
    """DataTime (naive Beijing time) of packet k: one a minute from `base`."""
    return base + datetime.timedelta(minutes=k)


def frame_of(i: int, k: int, base: datetime.datetime) -> bytes:
    """The encoded frame (same bytes as codec.encode(codec.data_packet(...)), checked in
    `check_frames`), built from a template: 36 µs a frame through the codec, ~4 µs here."""
    t = data_time_of(base, k)
    stamp = f"{t.year:04d}{t.month:02d}{t.day:02d}{t.hour:02d}{t.minute:02d}{t.second:02d}"
    cp = ";".join(f"{code}-Rtd={v!r},{code}-Flag=N" for code, v in zip(CODES, values_of(i, k), strict=True))
    segment = (f"QN={stamp}000;ST=39;CN=2011;PW={PASSWORD};MN={mn_of(i)};Flag=5;"
               f"CP=&&DataTime={stamp};{cp}&&").encode("ascii")
    return b"##%04d%s%04X\r\n" % (len(segment), segment, crc16(segment))


def check_frames(base: datetime.datetime) -> None:
    from smartsite.hj212 import codec

    for i, k in ((0, 0), (17, 3), (4321, 250)):
        packet = codec.data_packet(
            mn=mn_of(i), pw=PASSWORD, cn="2011", data_time=data_time_of(base, k),
            values={c: {"Rtd": v, "Flag": "N"} for c, v in zip(CODES, values_of(i, k), strict=True)})
        assert codec.encode(packet) == frame_of(i, k, base), (i, k)


def reading_rows(monitor_ids: list[int], base: datetime.datetime, packets: range):
    """The rows the gateway stores for those packets: (monitor_id, data_time UTC, values in
    metrics.METRICS order, flags) — particulate in µg/m³ as sent, no pressure."""
    from smartsite.dust.metrics import METRICS

    order = {"pm25": 2, "pm10": 1, "tsp": 0, "noise": 3, "temperature": 4, "humidity": 5,
             "wind_speed": 6, "wind_dir": 7}
    index = [order.get(m.column) for m in METRICS]
    flags = "".join("N" if j is not None else "-" for j in index)
    for k in packets:
        when = data_time_of(base, k).replace(tzinfo=SHANGHAI).astimezone(datetime.UTC)
        for i, pk in enumerate(monitor_ids):
            v = values_of(i, k)
            yield pk, when, tuple(None if j is None else v[j] for j in index), flags


# ---------------------------------------------------------------- process figures


def gateway_pids(pid: int) -> list[int]:
    """The gateway, or with --processes N the processes of its group (its children)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    return children or [pid]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as f:
                if f.read().strip() == "postgres":
                    pids.append(int(entry))
    return pids


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


class CpuWatch:
    """CPU used by groups of processes between start and stop. A group given as a callable is
    listed again at the end (postgres backends come and go; one that exited meanwhile is
    missed, one that started is counted from zero)."""

    def __init__(self, groups: dict):
        self.groups = groups
        self.start = {name: self._sample(pids) for name, pids in groups.items()}
        self.machine, self.t0 = machine_cpu(), time.perf_counter()

    @staticmethod
    def _sample(pids) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in (pids() if callable(pids) else pids)}

    def stop(self) -> dict[str, float]:
        """Cores used by each group since start, and the machine's busy share."""
        elapsed = time.perf_counter() - self.t0
        (busy0, total0), (busy1, total1) = self.machine, machine_cpu()
        out = {}
        for name, pids in self.groups.items():
            before, after = self.start[name], self._sample(pids)
            out[name] = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items()) / elapsed
        out["machine busy"] = (busy1 - busy0) / max(1, total1 - total0)
        return out


# ---------------------------------------------------------------- the load generator process


class Client(asyncio.Protocol):
    """One simulated monitor's connection: pre-encoded frames out, 9014s counted in."""

    __slots__ = ("acked", "frames", "gen", "next", "sent_at", "transport")

    def __init__(self, gen: LoadGen, frames: list[bytes]):
        self.gen, self.frames = gen, frames
        self.transport = None
        self.next = 0
        self.acked = 0
        self.sent_at: collections.deque = collections.deque()

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.gen.lost += 1

    def send(self, n: int) -> int:
        n = min(n, len(self.frames) - self.next)
        if n <= 0:
            self.gen.ran_out += 1
            return 0
        now = time.perf_counter()
        self.sent_at.extend([now] * n)
        self.transport.write(b"".join(self.frames[self.next:self.next + n]))
        self.next += n
        self.gen.sent += n
        return n

    def data_received(self, data: bytes):
        n = data.count(b"\n")  # each 9014 ends in \r\n, nothing else comes back
        if not n:
            return
        now = time.perf_counter()
        gen = self.gen
        self.acked += n
        gen.acked += n
        sent_at = self.sent_at
        latencies = gen.latencies
        for _ in range(n):
            latencies.append(now - sent_at.popleft())
        if gen.sending:
            self.send(n)


class LoadGen:
    def __init__(self, args):
        self.args = args
        self.sent = self.acked = self.lost = self.ran_out = 0
        self.sending = False
        self.latencies: list[float] = []
        self.clients: list[Client] = []
        self.frames: list[list[bytes]] = []

    def say(self, **kw):
        print(json.dumps(kw), flush=True)

    async def run(self):
        args = self.args
        base = datetime.datetime.fromisoformat(args.base)
        started = time.perf_counter()
        self.frames = [[frame_of(i, k, base) for k in range(args.per_monitor)]
                       for i in range(args.monitors)]
        self.say(event="ready", seconds=time.perf_counter() - started,
                 frames=args.monitors * args.per_monitor)
        loop = asyncio.get_running_loop()
        commands: asyncio.Queue = asyncio.Queue()

        def read_stdin():
            for line in sys.stdin:
                loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
            loop.call_soon_threadsafe(commands.put_nowait, {"cmd": "quit"})

        threading.Thread(target=read_stdin, daemon=True).start()
        while True:
            cmd = await commands.get()
            name = cmd.pop("cmd")
            if name == "quit":
                for c in self.clients:
                    c.transport.close()
                await asyncio.sleep(0.2)
                self.say(event="bye")
                return
            await getattr(self, f"do_{name}")(**cmd)

    async def do_connect(self):
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        gate = asyncio.Semaphore(256)

        async def one(frames):
            async with gate:
                _, client = await loop.create_connection(lambda: Client(self, frames), "127.0.0.1",
                                                         self.args.port)
                return client

        self.clients = await asyncio.gather(*(one(f) for f in self.frames))
        self.say(event="connected", n=len(self.clients), seconds=time.perf_counter() - started)

    async def _drain(self, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while self.acked < self.sent and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        return self.acked == self.sent

    async def do_first(self):
        started = time.perf_counter()
        self.latencies = []
        for c in self.clients:
            c.send(1)
        done = await self._drain(120)
        self.say(event="first", seconds=time.perf_counter() - started, complete=done,
                 sent=self.sent, acked=self.acked)

    async def do_latency(self, rate: float, seconds: float):
        self.latencies = []
        clients, n = self.clients, len(self.clients)
        sent, rr = 0, 0
        t0 = time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                clients[rr].send(1)
                rr = (rr + 1) % n
                sent += 1
            await asyncio.sleep(0.002)
        done = await self._drain(60)
        lat = sorted(self.latencies)
        self.say(event="latency", sent=sent, seconds=seconds, complete=done,
                 rate=sent / seconds, **_percentiles(lat))

    async def do_sustain(self, seconds: float, warmup: float, window: int):
        self.latencies = []
        self.sending = True
        for c in self.clients:
            c.send(window)
        await asyncio.sleep(warmup)
        self.say(event="window_start", acked=self.acked)
        a0, t0 = self.acked, time.perf_counter()
        per_second = []
        last = a0
        while time.perf_counter() - t0 < seconds:
            await asyncio.sleep(1.0)
            per_second.append(self.acked - last)
            last = self.acked
        a1, t1 = self.acked, time.perf_counter()
        self.sending = False
        lat = sorted(self.latencies[-200_000:])
        self.say(event="window_end", acked=a1 - a0, seconds=t1 - t0, rate=(a1 - a0) / (t1 - t0),
                 per_second=per_second, ran_out=self.ran_out, **_percentiles(lat))
        started = time.perf_counter()
        done = await self._drain(120)
        self.say(event="drained", complete=done, seconds=time.perf_counter() - started,
                 sent=self.sent, acked=self.acked, lost=self.lost)


def _percentiles(sorted_seconds: list[float]) -> dict:
    if not sorted_seconds:
        return {}
    n = len(sorted_seconds)
    at = lambda p: sorted_seconds[min(n - 1, round(p / 100 * (n - 1)))] * 1000  # noqa: E731
    return {"p50": at(50), "p95": at(95), "p99": at(99), "max": sorted_seconds[-1] * 1000, "n": n}


def loadgen_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hj212_gateway.py loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--monitors", type=int, required=True)
    parser.add_argument("--per-monitor", type=int, required=True)
    parser.add_argument("--base", required=True)
    args = parser.parse_args(argv)
    _raise_nofile()
    asyncio.run(LoadGen(args).run())
    return 0


# ---------------------------------------------------------------- the orchestrator


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Child:
    """A child process speaking JSON lines (the load generator) or logging (the gateway)."""

    def __init__(self, argv, env, log_path: Path | None = None):
        self.log = open(log_path, "w") if log_path else None  # noqa: SIM115
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.log or subprocess.STDOUT, text=True)
        self.pid = self.proc.pid

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def expect(self, event: str) -> dict:
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if msg.get("event") == event:
                return msg
        raise RuntimeError(f"load generator ended before {event!r} (exit {self.proc.wait()})")

    def stop(self, sig=signal.SIGTERM, timeout: float = 60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.log:
            self.log.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["loadgen"]:
        return loadgen_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=4500, help="registered monitors = connections")
    parser.add_argument("--seconds", type=float, default=30.0, help="sustained run, measured part")
    parser.add_argument("--warmup", type=float, default=5.0, help="sustained run, before measuring")
    parser.add_argument("--window", type=int, default=4,
                        help="packets each connection keeps unacknowledged in the sustained run")
    parser.add_argument("--rate", type=float, default=1000.0, help="packets/s of the latency run")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--max-rate", type=float, default=40_000,
                        help="packets/s the frames are prepared for (the load generator stops "
                             "a connection that runs out and says so)")
    parser.add_argument("--ceiling-packets", type=int, default=60,
                        help="packets per monitor in the COPY and ingest() baselines")
    parser.add_argument("--codec-packets", type=int, default=50_000)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL (no database)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--processes", type=int, default=1,
                        help="gateway processes sharing the port (smartsite gateway --processes)")
    parser.add_argument("--profile", type=float, default=0.0, metavar="SECONDS",
                        help="py-spy the gateway for SECONDS of the sustained run (needs py-spy)")
    args = parser.parse_args(argv)

    nofile = _raise_nofile()
    if nofile < args.monitors + 200:
        parser.error(f"open files limit {nofile} is too low for {args.monitors} connections")
    db_name = f"smartsite_bench_{os.getpid()}"
    url = f"{args.server.rstrip('/')}/{db_name}"
    data_dir = tempfile.mkdtemp(prefix="smartsite-bench-gw-")
    env = {**os.environ, "SMARTSITE_DATABASE_URL": url, "SMARTSITE_DATA_DIR": data_dir,
           "DJANGO_SETTINGS_MODULE": "smartsite.settings"}
    os.environ.update(env)
    _database(args.server, db_name, create=True)
    bench = GatewayBench(args, url, db_name, env, Path(data_dir))
    try:
        bench.run()
    finally:
        bench.cleanup()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept database {db_name} ({url}); gateway log {data_dir}/gateway.log")
        else:
            _database(args.server, db_name, create=False)
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def _database(server: str, name: str, *, create: bool) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {name}")


class GatewayBench:
    def __init__(self, args, url, db_name, env, data_dir: Path):
        self.args, self.url, self.db_name, self.env, self.data_dir = args, url, db_name, env, data_dir
        self.gateway: Child | None = None
        self.loadgen: Child | None = None
        self.rows: list[tuple[str, str, str]] = []  # (what, figure, baseline / note)
        self.figures: dict[str, float] = {}

    def cleanup(self):
        if self.loadgen is not None:
            with contextlib.suppress(Exception):
                self.loadgen.proc.stdin.close()
            self.loadgen.stop(timeout=20)
        if self.gateway is not None:
            self.gateway.stop()

    def row(self, what: str, figure: str, note: str = "") -> None:
        self.rows.append((what, figure, note))
        print(f"  {what}: {figure}" + (f"  ({note})" if note else ""), flush=True)

    # ------------------------------------------------------------ setup

    def run(self):
        args = self.args
        print(f"HJ 212 gateway benchmark: {args.monitors:,} monitors, database {self.db_name}; "
              f"{os.cpu_count()} CPUs, load average {_load()}", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "smartsite.cli", "migrate"], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        import django

        django.setup()
        from django.conf import settings

        from smartsite.simulator import city

        city.build_city(seed=20231001, scale="demo")
        self.monitor_ids = self.register_monitors(args.monitors)
        print(f"setup: migrate, demo city, {args.monitors:,} monitors registered "
              f"{time.perf_counter() - started:5.1f} s", flush=True)
        print(f"gateway settings: batch {settings.HJ212_BATCH}, high water "
              f"{settings.HJ212_HIGH_WATER}, max connections {settings.HJ212_MAX_CONNECTIONS}, "
              f"status flush every {settings.HJ212_STATUS_SECONDS} s", flush=True)
        # DataTimes one a minute, starting 12 h ago (Beijing time): all in the past, in the
        # partitions `smartsite migrate` prepared (yesterday to a week ahead, UTC days).
        now_local = datetime.datetime.now(SHANGHAI).replace(tzinfo=None, second=0, microsecond=0)
        self.base = now_local - datetime.timedelta(hours=12)
        check_frames(self.base)
        self.batch, self.high_water = settings.HJ212_BATCH, settings.HJ212_HIGH_WATER

        self.bench_ceiling()
        self.bench_gateway()
        self.bench_codec()
        self.summary()

    def register_monitors(self, n: int) -> list[int]:
        from smartsite.core.models import Project
        from smartsite.dust.models import Monitor

        projects = list(Project.objects.order_by("pk").values_list("pk", flat=True))
        Monitor.objects.bulk_create(
            [Monitor(mn=mn_of(i), password=PASSWORD, project_id=projects[i % len(projects)],
                     location=f"围挡 {i % 4 + 1} 号") for i in range(n)], batch_size=1000)
        by_mn = dict(Monitor.objects.filter(mn__startswith="3101BENCH").values_list("mn", "pk"))
        return [by_mn[mn_of(i)] for i in range(n)]

    # ------------------------------------------------------------ 1. ceiling

    def bench_ceiling(self):
        import psycopg
        from django.db import connection

        from smartsite.dust.ingest import READING_COLUMNS, ReadingRow, ingest

        args = self.args
        packets = range(args.ceiling_packets)
        rows = list(reading_rows(self.monitor_ids, self.base, packets))
        n = len(rows)
        print(f"1. baselines on the same {n:,} reading rows "
              f"({args.ceiling_packets} packets of each monitor)", flush=True)
        received = datetime.datetime.now(datetime.UTC)
        with psycopg.connect(self.url) as conn, conn.cursor() as cur:
            started = time.perf_counter()
            with cur.copy(f"COPY dust_reading ({', '.join(READING_COLUMNS)}) FROM STDIN") as copy:
                for pk, when, values, flags in rows:
                    copy.write_row((pk, 2011, when, received, flags, *values))
            conn.commit()
            copy_s = time.perf_counter() - started
            cur.execute("SELECT count(*) FROM dust_reading")
            assert cur.fetchone()[0] == n
            cur.execute("TRUNCATE dust_reading")
            conn.commit()
        self.copy_rate = n / copy_s
        self.row("bare COPY into dust_reading", f"{self.copy_rate:,.0f} rows/s",
                 f"{n:,} rows in {copy_s:.2f} s, one transaction")

        readings = [ReadingRow(pk, 2011, when, values, flags) for pk, when, values, flags in rows]
        started = time.perf_counter()
        stored = 0
        for at in range(0, n, self.batch):
            stored += ingest(readings[at:at + self.batch]).stored
        ingest_s = time.perf_counter() - started
        assert stored == n, (stored, n)
        self.ingest_rate = n / ingest_s
        from smartsite.dust.ingest import roll_up_all

        started = time.perf_counter()
        rolled = roll_up_all()
        roll_s = time.perf_counter() - started
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM dust_periodmean WHERE period = 900")
            quarters = cur.fetchone()[0]
            cur.execute("TRUNCATE dust_reading, dust_periodmean, dust_rolluppending")
        self.row(f"dust.ingest.ingest() direct, batches of {self.batch}",
                 f"{self.ingest_rate:,.0f} rows/s",
                 f"{ingest_s:.2f} s; readings + {quarters:,} 15-min means (acknowledged part); "
                 f"{self.ingest_rate / self.copy_rate:.2f} of COPY")
        self.row("hour/day rollup of those (ingest.roll_up)", f"{roll_s:.2f} s",
                 f"{rolled:,} monitor-hours; off the acknowledgement path")
        connection.close()

    # ------------------------------------------------------------ 2–5. the gateway

    def bench_gateway(self):
        args = self.args
        gw_env = {**self.env, "SMARTSITE_LOG_LEVEL": "INFO"}
        self.gateway = Child([sys.executable, "-m", "smartsite.cli", "gateway", "--host", "127.0.0.1",
                              "--port", "0", "--no-mqtt", "--processes", str(args.processes)],
                             gw_env)
        port = None
        deadline = time.monotonic() + 120
        log = open(self.data_dir / "gateway.log", "w")  # noqa: SIM115
        while time.monotonic() < deadline:
            line = self.gateway.proc.stdout.readline()
            if not line:
                raise RuntimeError("gateway exited: see " + str(self.data_dir / "gateway.log"))
            log.write(line)
            found = re.search(r"TCP 127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        if port is None:
            raise RuntimeError("gateway did not start")

        def pump():  # keep the gateway's log flowing to a file
            for line in self.gateway.proc.stdout:
                log.write(line)
            log.close()

        threading.Thread(target=pump, daemon=True).start()
        gw = self.gateway.pid
        time.sleep(3)  # a group's processes start
        gw_pids = gateway_pids(gw)

        def gw_rss() -> int:
            return sum(rss_kb(p) for p in gw_pids)

        latency_packets = int(args.rate * args.latency_seconds / args.monitors) + 2
        sustain = int(args.max_rate * (args.seconds + args.warmup) / args.monitors) + args.window + 2
        per_monitor = 1 + latency_packets + sustain
        self.loadgen = Child([sys.executable, __file__, "loadgen", "--port", str(port), "--monitors",
                              str(args.monitors), "--per-monitor", str(per_monitor),
                              "--base", self.base.isoformat()], self.env)
        lg = self.loadgen
        ready = lg.expect("ready")
        print(f"2. load generator (pid {lg.pid}) ready: {ready['frames']:,} frames pre-encoded in "
              f"{ready['seconds']:.1f} s; gateway pid {gw} on port {port}", flush=True)

        time.sleep(2)
        rss0 = gw_rss()
        lg.send(cmd="connect")
        connected = lg.expect("connected")
        time.sleep(3)
        rss1 = gw_rss()
        per_idle = (rss1 - rss0) / connected["n"]
        self.figures["idle_kb"] = per_idle
        self.row(f"gateway RSS, {connected['n']:,} idle connections",
                 f"{per_idle:.1f} KB per connection",
                 f"RSS {rss0 / 1024:.1f} MB with none, {rss1 / 1024:.1f} MB with all; "
                 f"connected in {connected['seconds']:.1f} s; kernel socket buffers not in RSS")

        lg.send(cmd="first")
        first = lg.expect("first")
        self.row(f"first packet on each of {connected['n']:,} new connections, all acknowledged",
                 f"{first['seconds']:.1f} s", "the gateway records each new connection "
                 "(MonitorConnection) on its database thread")
        if not first["complete"]:
            raise RuntimeError(f"first packets not all acknowledged: {first}")
        time.sleep(4)
        rss2 = gw_rss()
        self.row("gateway RSS after one packet on each (idle again)",
                 f"{(rss2 - rss0) / connected['n']:.1f} KB per monitor",
                 "adds live state, connection record, the monitor's last values")

        lg.send(cmd="latency", rate=args.rate, seconds=args.latency_seconds)
        lat = lg.expect("latency")
        self.figures["p99_ms"] = lat["p99"]
        self.row(f"ack latency at {lat['rate']:,.0f} packets/s over {connected['n']:,} connections",
                 f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms",
                 f"max {lat['max']:.0f} ms, {lat['n']:,} packets")
        if not lat["complete"]:
            raise RuntimeError(f"latency packets not all acknowledged: {lat}")

        time.sleep(2)
        with self._connect() as conn:
            backends = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")]
        pids = {"gateway": gw_pids, "its postgres backend": backends,
                "all postgres processes": postgres_pids, "load generator": [lg.pid]}
        lg.send(cmd="sustain", seconds=args.seconds, warmup=args.warmup, window=args.window)
        lg.expect("window_start")
        watch = CpuWatch(pids)
        load_before = _load()
        spy = None
        if args.profile:
            spy = subprocess.Popen(
                [shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"), "record",
                 "--pid", str(gw), "--duration", str(int(args.profile)), "--rate", "200",
                 "--format", "raw", "--output", "/tmp/hj212_gateway.pyspy.txt", "--threads",
                 "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        end = lg.expect("window_end")
        cpu = watch.stop()
        load_after = _load()
        rate = end["rate"]
        self.figures["packets"] = rate
        per_second = end["per_second"]
        self.row(f"sustained, {connected['n']:,} connections x window {args.window}",
                 f"{rate:,.0f} packets/s acknowledged",
                 f"{end['acked']:,} in {end['seconds']:.1f} s; per second min "
                 f"{min(per_second):,} max {max(per_second):,}; ack latency under load "
                 f"p50 {end.get('p50', 0):.0f} ms p99 {end.get('p99', 0):.0f} ms")
        self.row("ingest / COPY ceiling", f"{rate / self.copy_rate:.3f}",
                 f"ingest() direct / COPY {self.ingest_rate / self.copy_rate:.3f}; "
                 f"gateway / ingest() direct {rate / self.ingest_rate:.2f}")
        self.row("CPU during the sustained run (cores)",
                 ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if k != "machine busy"),
                 f"machine {cpu['machine busy'] * 100:.0f} % busy of {os.cpu_count()} CPUs; "
                 f"load average {load_before} → {load_after}")
        if end["ran_out"]:
            print(f"   note: {end['ran_out']} sends found no prepared frame (raise --max-rate)")
        drained = lg.expect("drained")
        if spy is not None:
            spy.wait(60)
            print("   py-spy raw samples: /tmp/hj212_gateway.pyspy.txt")
        with self._connect() as conn:
            stored = conn.execute("SELECT count(*) FROM dust_reading").fetchone()[0]
            started = time.perf_counter()  # the gateway's own rollup catches up (status flushes)
            while conn.execute("SELECT count(*) FROM dust_rolluppending").fetchone()[0] \
                    and time.perf_counter() - started < 120:
                time.sleep(0.5)
            caught_up = time.perf_counter() - started
            hours, days = conn.execute(
                "SELECT sum(samples) FILTER (WHERE period = 3600), "
                "sum(samples) FILTER (WHERE period = 86400) FROM dust_periodmean").fetchone()
        ok = drained["complete"] and stored == drained["acked"] == drained["sent"]
        rolled = hours == days == stored
        self.row("check: rows in dust_reading = acknowledgements",
                 "OK" if ok else "MISMATCH",
                 f"{stored:,} rows, {drained['acked']:,} acks of {drained['sent']:,} sent; "
                 f"drained in {drained['seconds']:.1f} s; {drained['lost']} connections lost")
        self.row("check: hour and day means hold every reading",
                 "OK" if rolled else "MISMATCH",
                 f"samples {hours or 0:,} (hours), {days or 0:,} (days); rollup caught up "
                 f"{caught_up:.1f} s after the drain")
        ok = ok and rolled
        self.row("gateway peak RSS (VmHWM)", f"{rss_kb(gw, 'VmHWM') / 1024:.0f} MB",
                 f"at most {self.high_water:,} packets wait for the database (high water)")
        lg.proc.stdin.close()
        lg.expect("bye")
        lg.stop()
        self.loadgen = None
        self.gateway.stop()
        self.gateway = None
        if not ok:
            raise SystemExit("the acknowledged packets and the stored rows differ")

    def _connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    # ------------------------------------------------------------ 6. codec

    def bench_codec(self):
        sys.path.insert(0, str(HERE))
        import hj212_codec

        data = hj212_codec.stream(self.args.codec_packets)
        seconds, packets = min((hj212_codec.run(data, 65536) for _ in range(3)), key=lambda r: r[0])
        assert packets == self.args.codec_packets
        self.codec_rate = packets / seconds
        self.row("codec alone: Decoder.feed", f"{self.codec_rate:,.0f} packets/s",
                 f"{packets:,} frames of {len(data) // packets} bytes in 64 KiB reads "
                 "(benchmarks/hj212_codec.py)")

    # ------------------------------------------------------------ summary

    def summary(self):
        f = self.figures
        print()
        print(f"{'what':<58} {'figure':>38}  note")
        for what, figure, note in self.rows:
            print(f"{what:<58} {figure:>38}  {note}")
        print()
        print("against the targets (issue #5) and ThingsBoard's published figures:")
        print(f"  sustained        {f['packets']:>9,.0f} packets/s  target ≥ {TARGETS['packets']:,}  "
              f"→ {f['packets'] / TARGETS['packets']:.2f} of target; ThingsBoard ~5,000 msg/s on "
              f"2 vCPU → {f['packets'] / 5000:.1f}×")
        print(f"  idle connection  {f['idle_kb']:>9.1f} KB        target ≤ {TARGETS['idle_kb']:.0f} KB"
              f"         ThingsBoard ~66 KB per device → {66 / max(f['idle_kb'], 0.01):.0f}× less")
        print(f"  ack p99          {f['p99_ms']:>9.1f} ms        target < {TARGETS['p99_ms']:.0f} ms at "
              f"{self.args.rate:,.0f} packets/s")
        print(f"  codec            {self.codec_rate:>9,.0f} packets/s  "
              f"({self.codec_rate / f['packets']:.1f}× the sustained gateway rate)")
        print(f"  machine: {os.cpu_count()} CPUs, load average now {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
