"""`smartsite` — one command for the demo, the server and the operator's tasks.

    smartsite demo       a live simulated Shanghai on the embedded SQLite database
    smartsite serve      the web server against the configured database (PostgreSQL)
    smartsite migrate    create or upgrade the database schema
    smartsite seed       load reference data and a simulated city into the database
    smartsite worker     run the jobs the apps declare: timers, outbox, rules … (one or more)
    smartsite video-recorder  record the cameras with recording on (one per data directory)
    smartsite simulate   keep simulated findings arriving (the demo runs one)
    smartsite devices    the simulated monitors as HJ 212 devices (the demo runs them)
    smartsite verify-orders  check the hash chains of every order's history
    smartsite manage …   any Django management command
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEMO_SEED = 20231001


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsite.settings")
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _collectstatic() -> None:
    """Gather the static files (vendored ECharts, HTMX, map data) for WhiteNoise to serve,
    unless they are already there: WhiteNoise compresses every file on every collection
    (~10 s of CPU for ~20 MB), which a restart of the demo need not repeat. The stamp is the
    list of source files with their sizes and modification times; any change collects all of
    them again."""
    import hashlib

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.core.management import call_command

    listing = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            listing.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    stamp = Path(settings.STATIC_ROOT) / ".collected"
    if stamp.exists() and stamp.read_text() == listing.hexdigest():
        return
    # clear: a file put back older than its collected copy (another package version) would
    # otherwise be skipped by collectstatic's own modification-time test
    call_command("collectstatic", interactive=False, verbosity=0, clear=True)
    stamp.write_text(listing.hexdigest())


def _seed(seed: int, scale: str, *, quiet: bool = False) -> bool:
    """Load reference data and, if the database has no projects yet, a simulated city with
    every simulator scenario's data (`simulator.scenarios`) and two weeks of orders.

    Returns True if a city was generated, False if existing data was kept.
    """
    from smartsite.core import reference
    from smartsite.core.models import Project
    from smartsite.simulator import city, orders, scenarios, users

    reference.load_all()
    if Project.objects.exists():
        if users.simulated_city():  # a city seeded before a scenario joined the simulator
            for scenario in scenarios.scenarios():
                if scenario.seed is not None and not scenario.seeded():
                    _seed_scenario(scenario, seed, scale, quiet)
        return False
    started = time.monotonic()
    report = city.build_city(seed=seed, scale=scale)
    if not quiet:
        print(f"已生成模拟城市（seed={seed}, scale={scale}）：{report.summary()}，"
              f"用时 {time.monotonic() - started:.1f} 秒")
    for scenario in scenarios.scenarios():
        if scenario.seed is not None:
            _seed_scenario(scenario, seed, scale, quiet)
    started = time.monotonic()
    history = orders.simulate_history(seed=seed)
    if not quiet:
        print(f"已模拟近 {orders.HISTORY_DAYS} 天的事件与工单：{history.summary()}，"
              f"用时 {time.monotonic() - started:.1f} 秒")
    return True


def _seed_scenario(scenario, seed: int, scale: str, quiet: bool) -> None:
    report = scenario.seed(seed=seed, scale=scale)
    if not quiet:
        print(f"已登记 {report.summary()}，用时 {report.seconds:.1f} 秒")


def _print_logins(url: str, gateway: str = "") -> None:
    from smartsite.simulator.city import DEMO_PASSWORD, demo_logins

    print()
    print(f"  智慧工地 smartsite 已启动：{url}" + (f"  HJ 212 网关：{gateway}" if gateway else ""))
    print(f"  演示账号（密码均为 {DEMO_PASSWORD}）：")
    logins = demo_logins()
    width = max((_display_width(label) for label, _ in logins), default=0)
    for label, username in logins:
        print(f"    {label}{' ' * (width - _display_width(label))}  {username}")
    print("  按 Ctrl-C 停止。")
    print(flush=True)


def _display_width(text: str) -> int:
    """Terminal columns of `text`: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it if the supervisor dies, even by
    kill -9, so no server outlives `smartsite demo`. A no-op where prctl is missing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Supervisor:
    """Start child processes, stop them all on Ctrl-C / SIGTERM or when one dies."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False

    def start(self, name: str, argv: list[str], pass_fds: tuple[int, ...] = ()) -> None:
        # From the first child on, Ctrl-C / SIGTERM mean "stop everything", never a traceback
        # that would leave the children (in their own sessions) running.
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        self.children.append((name, subprocess.Popen(argv, start_new_session=True,
                                                     preexec_fn=_die_with_parent,
                                                     pass_fds=pass_fds)))

    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> int:
        code = 0
        try:
            while not self.stopping:
                for name, proc in self.children:
                    if proc.poll() is not None:
                        print(f"{name} 已退出（{proc.returncode}），正在停止其他进程", file=sys.stderr)
                        code = proc.returncode or 1
                        self.stopping = True
                time.sleep(0.2)
        finally:
            self.terminate()
        return code

    def terminate(self, timeout: float = 10) -> None:
        for _, proc in self.children:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _, proc in self.children:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _web_argv(host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "smartsite.wsgi:application",
            "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", "4",
            "--access-logfile", "-", "--graceful-timeout", "5", "--log-level", "warning"]


def cmd_demo(args) -> int:
    if os.environ.get("SMARTSITE_DATABASE_URL"):
        print("提示：smartsite demo 使用内置 SQLite；已忽略 SMARTSITE_DATABASE_URL", file=sys.stderr)
        os.environ.pop("SMARTSITE_DATABASE_URL")
    if args.data_dir:
        os.environ["SMARTSITE_DATA_DIR"] = args.data_dir
    _setup_django()
    from django.conf import settings

    if not _port_free(args.host, args.port):
        print(f"端口 {args.host}:{args.port} 已被占用：请先停止占用它的程序，或用 --port 指定其他端口",
              file=sys.stderr)
        return 2
    hj212_port = _hj212_port(args.host, args.hj212_port, settings.HJ212_PORT)
    if hj212_port is None:
        print(f"HJ 212 端口 {args.host}:{args.hj212_port} 已被占用：请用 --hj212-port 指定其他端口",
              file=sys.stderr)
        return 2
    print(f"数据目录：{settings.DATA_DIR}")
    _migrate()
    _collectstatic()
    if not _seed(args.seed, args.scale):
        print("沿用已有数据（删除数据目录可重新生成）")
    # The demo needs no MQTT broker: its gateway takes TCP only (--no-mqtt) and its worker
    # leaves the MQTT jobs alone (SMARTSITE_MQTT_ENABLED, inherited by the processes below).
    os.environ["SMARTSITE_MQTT_ENABLED"] = "0"
    sup = Supervisor()
    # The simulated 公安人脸库 (the identity source enrolments are compared with), unless a
    # real one is configured; the key-post people's live check-ins go to the web's API.
    if not os.environ.get("SMARTSITE_IDENTITY_URL"):
        from smartsite.simulator.attendance import identity_records

        identity_port = _hj212_port(args.host, None, 8731)
        sup.start("identity", [sys.executable, "-m", "smartsite.simulator.identity_service",
                               "--host", args.host, "--port", str(identity_port),
                               *identity_records()])
        os.environ["SMARTSITE_IDENTITY_URL"] = f"http://{args.host}:{identity_port}"
    os.environ["SMARTSITE_DEMO_URL"] = f"http://{args.host}:{args.port}"
    sup.start("web", _web_argv(args.host, args.port, args.workers))
    sup.start("worker", [sys.executable, "-m", "smartsite.cli", "worker"])
    if args.live_every > 0:
        sup.start("simulate", [sys.executable, "-m", "smartsite.cli", "simulate",
                               "--every", str(args.live_every)])
    sup.start("gateway", [sys.executable, "-m", "smartsite.cli", "gateway", "--host", args.host,
                          "--port", str(hj212_port), "--no-mqtt"])
    sup.start("devices", [sys.executable, "-m", "smartsite.cli", "devices", "--host", args.host,
                          "--port", str(hj212_port), "--seed", str(args.seed)])
    if not _wait_for_port(args.host, args.port, 30):
        sup.terminate()
        print(f"Web 服务未能在 {args.host}:{args.port} 启动（端口被占用？）", file=sys.stderr)
        return 1
    if not _wait_for_port(args.host, hj212_port, 30):
        sup.terminate()
        print(f"HJ 212 网关未能在 {args.host}:{hj212_port} 启动", file=sys.stderr)
        return 1
    _print_logins(f"http://{args.host}:{args.port}/", f"{args.host}:{hj212_port}")
    return sup.run()


def _hj212_port(host: str, wanted: int | None, default: int) -> int | None:
    """The gateway's port for the demo: `wanted` if free (None if not), else `default` if
    free, else any free port."""
    import socket

    if wanted is not None:
        return wanted if _port_free(host, wanted) else None
    if _port_free(host, default):
        return default
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_for_port(host: str, port: int, seconds: float) -> bool:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def cmd_serve(args) -> int:
    _setup_django()
    if args.migrate:
        _migrate(verbosity=1)
    _collectstatic()
    # The demo needs no MQTT broker: its gateway takes TCP only (--no-mqtt) and its worker
    # leaves the MQTT jobs alone (SMARTSITE_MQTT_ENABLED, inherited by the processes below).
    os.environ["SMARTSITE_MQTT_ENABLED"] = "0"
    sup = Supervisor()
    sup.start("web", _web_argv(args.host, args.port, args.workers))
    print(f"smartsite serving on http://{args.host}:{args.port}/", flush=True)
    return sup.run()


def cmd_migrate(args) -> int:
    _setup_django()
    _migrate(verbosity=1)
    from smartsite.core import reference

    print(reference.load_all())
    return 0


def cmd_seed(args) -> int:
    _setup_django()
    _migrate()
    if not _seed(args.seed, args.scale):
        print("数据库中已有项目，未生成模拟城市", file=sys.stderr)
    return 0


def cmd_worker(args) -> int:
    _setup_django()
    from django.conf import settings

    from smartsite.core import scheduler

    if os.environ.get("SMARTSITE_WORKER_RULES") is not None:
        print("SMARTSITE_WORKER_RULES 已由 SMARTSITE_WORKER_JOBS 取代（不运行扬尘规则：“*,-dust.rules”）",
              file=sys.stderr)
        return 2
    if args.batch:
        settings.WORKER_BATCH = args.batch
    try:
        found = scheduler.run(interval=args.interval, once=args.once, spec=args.jobs)
    except scheduler.SelectionError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"已处理 {found.get('workorders.timers', 0)} 个到期定时器；"
          + "，".join(f"{name} {n}" for name, n in found.items() if n and name != "workorders.timers"))
    return 0


def cmd_video_recorder(args) -> int:
    _setup_django()
    from smartsite.video.recorder import Recorder

    Recorder(interval=args.interval).run(once=args.once)
    return 0


def cmd_gateway(args) -> int:
    _setup_django()
    import asyncio

    from django.conf import settings

    from smartsite.hj212 import gateway

    host = args.host or settings.HJ212_HOST
    mqtt = settings.MQTT_ENABLED and not args.no_mqtt

    def ready(port: int) -> None:
        broker = f"，MQTT {settings.MQTT_HOST}:{settings.MQTT_PORT} {settings.MQTT_TOPIC_ROOT}/+/data"
        print(f"HJ 212 网关已启动：TCP {host}:{port}{broker if mqtt else ''}", flush=True)

    port = args.port if args.port is not None else settings.HJ212_PORT
    if args.fd is not None:  # one process of a group: the parent did the start-up chores
        import socket

        sock = socket.socket(fileno=args.fd)
        asyncio.run(gateway.serve(host, sock.getsockname()[1], mqtt=mqtt, sock=sock,
                                  startup=False))
        return 0
    processes = args.processes or settings.HJ212_PROCESSES
    if processes <= 1:
        asyncio.run(gateway.serve(host, port, mqtt=mqtt, ready=ready))
        return 0
    # A group: this process listens and supervises; each child serves connections off the
    # same socket (its own event loop, writer and bookkeeping), the first one also MQTT.
    from smartsite.hj212.pipeline import startup_chores

    startup_chores()  # once for the group, not once per process
    sock = gateway.listening_socket(host, port)
    from django.db import connections

    connections.close_all()
    sup = Supervisor()
    for i in range(processes):
        argv = [sys.executable, "-m", "smartsite.cli", "gateway", "--host", host,
                "--fd", str(sock.fileno())]
        if i or not mqtt:
            argv.append("--no-mqtt")
        sup.start(f"gateway-{i}", argv, pass_fds=(sock.fileno(),))
    ready(sock.getsockname()[1])
    return sup.run()


def cmd_simulate(args) -> int:
    _setup_django()
    from smartsite.core.errors import DomainError
    from smartsite.simulator import orders

    try:
        raised = orders.run_live(every=args.every, count=args.count, seed=args.seed)
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(f"已产生 {raised} 个模拟事件")
    return 0


def cmd_devices(args) -> int:
    _setup_django()
    from django.conf import settings

    from smartsite.core.errors import DomainError
    from smartsite.simulator.dust import devices

    port = args.port if args.port is not None else settings.HJ212_PORT
    try:
        fleet = devices.run(host=args.host, port=port, interval=args.interval, seed=args.seed,
                            ready=lambda text: print(f"模拟设备已启动：{text}", flush=True))
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(f"模拟设备已停止：{fleet.summary()}")
    return 0


def cmd_verify_orders(args) -> int:
    _setup_django()
    from smartsite.workorders.history import verify_chain
    from smartsite.workorders.models import WorkOrder

    checked, problems = 0, []
    for order in WorkOrder.objects.order_by("pk").iterator(chunk_size=500):
        checked += 1
        problems += verify_chain(order)
    for problem in problems:
        print(problem)
    print(f"已校验 {checked} 张工单的操作记录：" + (f"发现 {len(problems)} 处问题" if problems
                                                 else "哈希链完整"))
    return 1 if problems else 0


def cmd_manage(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["smartsite manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartsite", description="智慧工地监管平台 smartsite — Shanghai smart-site supervision")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def web_options(p, port_default=8000):
        p.add_argument("--host", default=os.environ.get("SMARTSITE_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int,
                       default=int(os.environ.get("SMARTSITE_PORT", port_default)))
        p.add_argument("--workers", type=int, default=2, help="web worker processes")

    p = sub.add_parser("demo", help="run a live simulated city on SQLite (URL and logins printed)")
    web_options(p)
    p.add_argument("--data-dir", help="where the database lives (default ./var, or SMARTSITE_DATA_DIR)")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="simulator seed (same seed, same city)")
    p.add_argument("--scale", choices=["demo", "city"], default="demo",
                   help="demo: ~300 projects; city: ~5,000 projects")
    p.add_argument("--live-every", type=float, default=60.0, metavar="SECONDS",
                   help="a new simulated finding every SECONDS while the demo runs (0: none)")
    p.add_argument("--hj212-port", type=int, default=None,
                   help="the HJ 212 gateway's TCP port (default 2120, or a free one)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="run the web server against SMARTSITE_DATABASE_URL")
    web_options(p)
    p.add_argument("--migrate", action="store_true", help="migrate the database first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create/upgrade the schema and load reference data")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed", help="generate a simulated city into an empty database")
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--scale", choices=["demo", "city"], default="demo")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("worker", help="run the declared jobs: timers, outbox, rules, video …")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between scans")
    p.add_argument("--batch", type=int, default=0,
                   help="timers per transaction (default SMARTSITE_WORKER_BATCH, 500)")
    p.add_argument("--jobs", default=None,
                   help="jobs to run: names, globs, @group, -exclusions (default "
                        "SMARTSITE_WORKER_JOBS, *)")
    p.add_argument("--once", action="store_true", help="fire what is due now, then exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("video-recorder", help="record the cameras with recording on (docs/video.md)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between checks")
    p.add_argument("--once", action="store_true", help="one round, then stop what it started")
    p.set_defaults(func=cmd_video_recorder)

    p = sub.add_parser("gateway", help="receive HJ 212-2017 monitor data over TCP (and MQTT)")
    p.add_argument("--host", default=None, help="listen address (default SMARTSITE_HJ212_HOST)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default SMARTSITE_HJ212_PORT)")
    p.add_argument("--no-mqtt", action="store_true", help="do not subscribe to the MQTT broker")
    p.add_argument("--processes", type=int, default=None,
                   help="processes sharing the port (default SMARTSITE_HJ212_PROCESSES, 1)")
    p.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_gateway)

    p = sub.add_parser("simulate", help="raise a simulated finding every few seconds (demo data)")
    p.add_argument("--every", type=float, default=60.0, help="seconds between findings")
    p.add_argument("--count", type=int, default=0, help="stop after this many (0: run until stopped)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: unseeded)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("devices", help="run the simulated monitors as HJ 212 devices (demo data)")
    p.add_argument("--host", default="127.0.0.1", help="the gateway's address")
    p.add_argument("--port", type=int, default=None, help="its TCP port (default SMARTSITE_HJ212_PORT)")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between a device's uploads")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="the simulated city's seed")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("verify-orders", help="check every work order's hash-chained history")
    p.set_defaults(func=cmd_verify_orders)

    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
