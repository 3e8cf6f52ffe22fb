"""From decoded packets to committed readings and acknowledgements, shared by the TCP gateway
and the MQTT path (design.md §2 rules 5 and 6).

    source (a TCP connection, the MQTT session) ──packet──▶ Pipeline.submit
        validate (known MN, right PW, active, storable values) — refusals are counted per
        device and written as DeviceRejection rows, never as data
        ──row──▶ pending ──batch──▶ one writer thread: dust.ingest.ingest (commit)
        ──▶ source.acknowledge(packet) for every packet of the committed batch

Backpressure: while more than `high_water` packets wait for the database, every source that
delivers another packet is paused (a TCP connection stops reading its socket, so the kernel's
window pushes back on the device); all resume below `low_water`. Memory therefore stays
bounded however slow or absent the database is, and no acknowledgement goes out for data that
is not committed. A failed write is retried, same batch, until the database answers.

Live state (last seen, last values, connection) is kept per monitor in memory and flushed in
bulk every `status_every` seconds, so pages never cost a query per packet.

Import it after `django.setup()` (it stores through the dust app).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from smartsite.dust.choices import RejectReason
from smartsite.dust.ingest import (
    ReadingRow,
    Rejection,
    StatusUpdate,
    disconnect_all,
    ingest,
    record_rejections,
    roll_up,
    save_status,
)
from smartsite.dust.metrics import METRICS
from smartsite.dust.models import Monitor, MonitorStatus, SprayDevice
from smartsite.dust.partitions import ensure_partitions
from smartsite.dust.readings import (
    FACILITY_STATE_CN,
    BadReading,
    MonitorInfo,
    NoValues,
    noise_day_row,
    reading_row,
    reported_position,
    spray_rows,
)
from smartsite.hj212.codec import Packet, ProtocolError, command, make_qn
from smartsite.hj212.throttle import PasswordGuard

# System interaction from a device (HJ 212-2017 command codes): replies to the platform's
# commands are noted (the monitor is alive) and not stored as data; a device asking for time
# calibration (1013) is sent the platform's time (1012, CP SystemTime).
DEVICE_REPLIES = {"9011", "9012", "9013", "9014"}
TIME_CALIBRATION_REQUEST = "1013"
LOG_REFUSALS_EVERY = 600  # seconds: a device refused every minute is logged once per ten
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def set_time(request: Packet, now: datetime.datetime) -> Packet:
    local = now.astimezone(SHANGHAI).replace(tzinfo=None)
    return command("1012", mn=request.mn, pw=request.pw, qn=make_qn(local), st=request.st,
                   cp={"SystemTime": local.strftime("%Y%m%d%H%M%S")})

log = logging.getLogger("smartsite.gateway")

UTC = datetime.UTC


class Source(Protocol):
    """Where packets come from and acknowledgements go to."""

    transport_name: str  # "tcp" | "mqtt"
    peer: str
    open: bool
    monitor_id: int | None  # the monitor whose right PW this source has shown (TCP), else None
    pw_failures: int  # wrong PWs seen on this source

    def acknowledge(self, packet: Packet, token: object) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def attach(self, monitor_id: int) -> None: ...
    def send(self, packet: Packet) -> None: ...
    def close(self, reason: str) -> None: ...


class Outcome(enum.IntEnum):
    REFUSED = 0
    HANDLED = 1
    QUEUED = 2


@dataclass(slots=True)
class Live(StatusUpdate):
    """One monitor's state as the gateway sees it: what `save_status` writes (`packets` counts
    since the last flush), and whether it changed since."""

    dirty: bool = False


@dataclass(slots=True)
class Stats:
    received: int = 0
    committed: int = 0
    duplicates: int = 0
    refused: int = 0
    batches: int = 0
    write_errors: int = 0
    pauses: int = 0
    interactions: int = 0  # replies to our commands, time calibration requests
    empty_parts: int = 0  # parts of a split packet carrying none of our values (answered)


class Pipeline:
    def __init__(
        self,
        *,
        batch_size: int = 2000,
        max_delay: float = 0.02,
        high_water: int = 20_000,
        low_water: int = 10_000,
        status_every: float = 2.0,
        registry_every: float = 30.0,
        now: Callable[[], datetime.datetime] | None = None,
        guard: PasswordGuard | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.high_water, self.low_water = high_water, low_water
        self.status_every, self.registry_every = status_every, registry_every
        self._now = now or (lambda: datetime.datetime.now(UTC))
        self.guard = guard or PasswordGuard()
        self.monitors: dict = {}  # MN -> readings.MonitorInfo
        self.peer_districts: dict[str, int] = {}  # peer host -> district of a monitor seen there
        self.live: dict[int, Live] = {}
        self.pending: collections.deque = collections.deque()  # (row, source, packet, token)
        self.paused: set = set()
        self.rejections: dict[tuple[str, str], object] = {}
        self.stats = Stats()
        self.db_ok = True
        self._wake = asyncio.Event()
        # Readings have a thread (and database connection) of their own; the bookkeeping —
        # live state, refusals, connection history, the registry — another, so a slow flush
        # never holds a batch's acknowledgements back.
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._bookkeeper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-chores")
        self._registry_asked = 0.0
        self._reload: asyncio.Task | None = None
        self._logged: dict[tuple[str, str], float] = {}  # refusal key -> when last logged
        self._tasks: list[asyncio.Task] = []

    # ------------------------------------------------------------ lifecycle

    async def start(self, *, startup: bool = True) -> None:
        """Start the writer; `startup` (once per gateway, not per process of a group) prepares
        partitions and closes what a previous run left open."""
        if startup:
            await self.chore(startup_chores)
        await self.reload_registry()
        for mn, host, age in await self.chore(_proven_hosts, self.guard.t.trust):
            self.guard.remember(mn, host, age)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._write_loop(), name="writer"),
            loop.create_task(self._chores(), name="chores"),
        ]

    async def drain(self) -> None:
        """Stop the background tasks and write what is pending (acknowledging it)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while self.pending:
            if not await self._write_batch():
                break

    async def stop(self) -> None:
        """Drain, flush the live state and refusals, stop the writer thread."""
        await self.drain()
        await self._flush()
        self._writer.shutdown(wait=True)
        self._bookkeeper.shutdown(wait=True)

    async def db(self, fn, *args):
        """Run `fn` on the readings' writer thread."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, _in_db, fn, *args)

    async def chore(self, fn, *args):
        """Run `fn` on the bookkeeping thread."""
        return await asyncio.get_running_loop().run_in_executor(self._bookkeeper, _in_db, fn, *args)

    async def reload_registry(self) -> None:
        self.monitors, self.peer_districts = await self.chore(_load_registry)

    # ------------------------------------------------------------ packets in

    def submit(self, source: Source, packet: Packet, token: object = None) -> Outcome:
        """Take one decoded packet: QUEUED for storage (acknowledged once committed), HANDLED
        (a reply or request, answered or noted here) or REFUSED (counted, never acknowledged).
        REFUSED is the only falsy outcome."""

        self.stats.received += 1
        now = self._now()
        monitor = self.monitors.get(packet.mn)
        if monitor is None:
            self._ask_registry()
            return self.refuse(source, packet.mn, RejectReason.UNKNOWN_MN, f"MN {packet.mn} 未登记", now)
        proven = source.monitor_id == monitor.id
        host = None if source.transport_name == "mqtt" else source.peer.rsplit(":", 1)[0]
        if not proven:
            locked = self.guard.locked(packet.mn)
            # nobody new gets a PW checked for this MN until the lock ends — but a host that
            # showed its right PW before (the device, reconnecting) is let through
            if locked and not self.guard.trusted(packet.mn, host):
                return self._locked_out(source, packet, monitor, host, locked, now)
        if packet.pw != monitor.password:
            return self._wrong_password(source, packet, monitor, now)
        if not proven and host is not None:
            self.guard.success(host, packet.mn)  # a genuine device's address
        if not monitor.active:
            return self.refuse(source, packet.mn, RejectReason.INACTIVE, "设备已停用", now, monitor)
        if packet.cn in DEVICE_REPLIES or packet.cn == TIME_CALIBRATION_REQUEST:
            source.attach(monitor.id)
            self._note_live(monitor.id, source, None, now)
            self.stats.interactions += 1
            if packet.cn == TIME_CALIBRATION_REQUEST:
                source.send(set_time(packet, now))
            return Outcome.HANDLED
        try:
            cn = int(packet.cn)
            values = packet.values()
            if cn == FACILITY_STATE_CN:  # linked spray/fog cannons on or off
                row, position = tuple(spray_rows(monitor, packet.data_time(), values, now=now)), None
            else:
                row, position = self._rows(monitor, cn, packet, values, now)
        except NoValues as exc:
            if packet.is_split:
                # one part of a split packet with none of our codes: its siblings carry them;
                # nothing to store, so it is answered at once (the device moves on)
                source.attach(monitor.id)
                self._note_live(monitor.id, source, None, now)
                self.stats.empty_parts += 1
                source.acknowledge(packet, token)
                return Outcome.HANDLED
            return self.refuse(source, packet.mn, RejectReason.BAD_DATA,
                               f"CN={packet.cn} QN={packet.qn}: {exc}", now, monitor)
        except (BadReading, ProtocolError) as exc:
            return self.refuse(
                source,
                packet.mn,
                RejectReason.BAD_DATA,
                f"CN={packet.cn} QN={packet.qn}: {exc}",
                now,
                monitor,
            )
        source.attach(monitor.id)
        first = row[0] if isinstance(row, tuple) else row
        self._note_live(monitor.id, source, first if isinstance(first, ReadingRow) else None, now,
                        position)
        self.pending.append((row, source, packet, token))
        if len(self.pending) >= self.high_water and source not in self.paused:
            source.pause()
            self.paused.add(source)
            self.stats.pauses += 1
        self._wake.set()
        return Outcome.QUEUED

    def _rows(self, monitor: MonitorInfo, cn: int, packet: Packet, values, now):
        """The rows a data packet stores: its reading (a split part's marked for merging with
        its siblings), and for a day upload its day/night noise figures."""
        local = packet.data_time()
        day = noise_day_row(monitor, cn, local, values, now=now)
        try:
            reading = reading_row(monitor, cn, local, values, now=now)
        except NoValues:
            if day is None:
                raise
            return (day,), None
        if packet.is_split:
            reading.part = True
        position = reported_position(values)
        return (reading if day is None else (reading, day)), position

    def _locked_out(self, source: Source, packet: Packet, monitor: MonitorInfo, host, locked,
                    now) -> Outcome:
        """A packet for a locked MN from a host not let through: refused unread, and counted
        toward the connection's and the host's limits as a wrong PW is."""
        source.pw_failures += 1
        verdict = self.guard.locked_out(packet.mn, host, source.pw_failures)
        outcome = self.refuse(source, packet.mn, RejectReason.PW_LOCKED,
                              f"密码错误过多，设备编码已锁定，约 {locked:.0f} 秒后解除", now, monitor)
        if verdict.close:
            log.info("closing %s after %d wrong PWs or packets for a locked MN", source.peer,
                     source.pw_failures)
            source.close("密码错误过多")
        return outcome

    def _wrong_password(self, source: Source, packet: Packet, monitor: MonitorInfo,
                        now) -> Outcome:
        """Count it, and throttle guessing (hj212.throttle): lock the MN, close the peer."""
        source.pw_failures += 1
        host = None if source.transport_name == "mqtt" else source.peer.rsplit(":", 1)[0]
        verdict = self.guard.failure(packet.mn, host, source.pw_failures)
        outcome = self.refuse(source, packet.mn, RejectReason.BAD_PASSWORD,
                              "PW 与登记的访问密码不符", now, monitor)
        if verdict.locked_now:
            log.warning("MN %s locked for %.0f s after %d wrong PWs (last from %s)", packet.mn,
                        verdict.lock_for, self.guard.t.mn_failures, source.peer)
            self.refuse(source, packet.mn, RejectReason.PW_LOCKED,
                        f"{self.guard.t.mn_failures} 次密码错误，设备编码锁定 "
                        f"{verdict.lock_for:.0f} 秒（最后一次来自 {source.peer}）", now, monitor)
            self.stats.refused -= 1  # the same packet, counted once
        if verdict.close:
            log.info("closing %s after %d wrong PWs", source.peer, source.pw_failures)
            source.close("密码错误过多")
        return outcome

    def refuse(self, source: Source, mn: str, reason: str, detail: str, now,
                monitor=None) -> Outcome:
        self.stats.refused += 1
        key = (mn, reason)
        entry = self.rejections.get(key)
        if entry is None:
            host = source.peer.rsplit(":", 1)[0]
            district = monitor.district_id if monitor else self.peer_districts.get(host)
            self.rejections[key] = Rejection(
                mn=mn,
                reason=reason,
                detail=detail,
                peer=source.peer,
                at=now,
                monitor_id=monitor.id if monitor else None,
                district_id=district,
            )
            if time.monotonic() - self._logged.get(key, -LOG_REFUSALS_EVERY) >= LOG_REFUSALS_EVERY:
                self._logged[key] = time.monotonic()
                log.info("refused %s from %s: %s (logged once per %d min; counted in 拒收设备)",
                         mn, source.peer, detail, LOG_REFUSALS_EVERY // 60)
        else:
            entry.count += 1
            entry.at, entry.detail, entry.peer = now, detail, source.peer
        return Outcome.REFUSED

    def _ask_registry(self) -> None:
        """An unknown MN may have been registered a moment ago: reload, at most every 5 s."""
        now = time.monotonic()
        if now - self._registry_asked > 5:
            self._registry_asked = now
            self._reload = asyncio.get_running_loop().create_task(
                self._safely(self.reload_registry))  # (kept: a task nobody holds may vanish)

    def _note_live(self, monitor_id: int, source: Source, row, now, position=None) -> None:

        live = self.live.get(monitor_id)
        if live is None:
            live = self.live[monitor_id] = Live(monitor_id, connected=False, transport="")
        live.last_seen = now
        if row is None:
            pass  # a reply or request: seen, no values
        elif live.last_data_time is None or row.data_time >= live.last_data_time:
            live.last_data_time = row.data_time
            for metric, value, flag in zip(METRICS, row.values, row.flags, strict=True):
                if value is not None:
                    live.values[metric.column] = round(value, 3)
                    live.flags[metric.column] = flag
            if position is not None:
                live.values["lng"], live.values["lat"] = position
        if not live.connected or live.peer != source.peer:
            live.connected, live.transport, live.peer = True, source.transport_name, source.peer
            live.connected_since = now
        live.packets += 1
        live.dirty = True

    def disconnected(self, monitor_id: int, source: Source) -> None:
        live = self.live.get(monitor_id)
        if live is not None and live.peer == source.peer and live.transport == source.transport_name:
            live.connected, live.connected_since, live.dirty = False, None, True

    # ------------------------------------------------------------ the writer

    async def _write_loop(self) -> None:
        while True:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
            if len(self.pending) < self.batch_size:
                await asyncio.sleep(self.max_delay)  # let a batch gather
            self._wake.clear()
            try:
                await self._write_batch(retry=True)
            except Exception:  # never let one bad round stop the writer for good
                log.exception("writing a batch failed; carrying on")
                await asyncio.sleep(0.5)

    async def _write_batch(self, *, retry: bool = False) -> bool:

        n = min(len(self.pending), self.batch_size)
        if not n:
            return True
        batch = [self.pending[i] for i in range(n)]
        rows = [r for item in batch
                for r in (item[0] if isinstance(item[0], tuple) else (item[0],))]
        delay = 0.5
        while True:
            try:
                result = await self.db(ingest, rows)
                break
            except Exception as exc:  # the database is down or refusing: keep the batch
                self.stats.write_errors += 1
                if self.db_ok:
                    log.error("database write failed, retrying (no acknowledgements meanwhile): %s", exc)
                self.db_ok = False
                if not retry:
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if not self.db_ok:
            log.warning("database back: writing %d waiting packets", len(self.pending))
        self.db_ok = True
        for _ in range(n):
            self.pending.popleft()
        self.stats.batches += 1
        self.stats.committed += result.stored
        self.stats.duplicates += result.duplicates
        for _row, source, packet, token in batch:
            if source.open:
                source.acknowledge(packet, token)
        if self.paused and len(self.pending) < self.low_water:
            paused, self.paused = self.paused, set()
            for source in paused:
                source.resume()
        return True

    # ------------------------------------------------------------ chores

    async def _chores(self) -> None:
        last_registry = last_partitions = time.monotonic()
        while True:
            await asyncio.sleep(self.status_every)
            await self._safely(self._flush)
            # hour and day means of what was committed meanwhile (off the acknowledgement
            # path; what a kill leaves pending, the next gateway or the worker rolls up)
            await self._safely(self.chore, _roll_up_some)
            now = time.monotonic()
            if now - last_registry >= self.registry_every:
                last_registry = now
                await self._safely(self.reload_registry)
            if now - last_partitions >= 6 * 3600:
                last_partitions = now
                await self._safely(self.chore, ensure_partitions)

    async def _safely(self, fn, *args) -> None:
        try:
            await fn(*args)
        except Exception as exc:  # the database is away; the next round tries again
            log.warning("%s failed: %s", getattr(fn, "__name__", fn), exc)

    async def _flush(self) -> None:
        """Write the live state of monitors that changed, and the refusals counted."""
        updates = [replace(live, values=dict(live.values), flags=dict(live.flags))
                   for live in self.live.values() if live.dirty]
        rejections, self.rejections = list(self.rejections.values()), {}
        if not updates and not rejections:
            return
        try:
            await self.chore(_save_state, updates, rejections)
        except Exception:
            for r in rejections:  # counted again next time
                newer = self.rejections.get((r.mn, r.reason))
                if newer is None:
                    self.rejections[(r.mn, r.reason)] = r
                else:
                    newer.count += r.count
            raise
        for update in updates:
            live = self.live[update.monitor_id]
            live.packets -= update.packets
            live.dirty = (live.packets > 0 or live.last_seen != update.last_seen
                          or live.connected != update.connected)


# ---------------------------------------------------------------- on the writer thread


def _in_db(fn, *args):
    from django.db import connection

    try:
        return fn(*args)
    except Exception:
        # A broken connection must not be reused: the next call reconnects.
        with contextlib.suppress(Exception):
            connection.close()
        raise


def _roll_up_some(rounds: int = 5) -> int:
    """A few rounds of `roll_up` (a backlog after downtime is worked off over several
    flushes, never holding the bookkeeping thread for long)."""
    total = 0
    for _ in range(rounds):
        done = roll_up()
        total += done
        if not done:
            break
    return total


def startup_chores() -> None:
    """Once per gateway (not per process of a group): partitions ahead, and nothing left
    marked connected by a previous run."""
    ensure_partitions()
    disconnect_all("tcp")


def _load_registry():

    sprays: dict[int, dict[str, int]] = collections.defaultdict(dict)
    for device_id, monitor_id, code in SprayDevice.objects.filter(active=True).values_list(
            "id", "monitor_id", "sb_code"):
        sprays[monitor_id][code] = device_id
    monitors = {}
    for m in Monitor.objects.values_list(
        "id", "mn", "password", "active", "particulate_unit", "project_id", "project__district_id"
    ):
        pk, mn, password, active, unit, project_id, district_id = m
        monitors[mn] = MonitorInfo(
            pk, mn, password, active, 1000.0 if unit == "mg" else 1.0, project_id, district_id,
            sprays.get(pk, {})
        )
    peers = {}
    for peer, district in MonitorStatus.objects.exclude(peer="").values_list(
        "peer", "monitor__project__district_id"
    ):
        peers[peer.rsplit(":", 1)[0]] = district
    return monitors, peers


def _proven_hosts(trust: float) -> list[tuple[str, str, float]]:
    """(MN, host, seconds ago) of the TCP connections that showed their monitor's right PW
    within `trust` seconds: a connection is recorded only once its PW was right."""
    from django.utils import timezone

    from smartsite.dust.models import MonitorConnection

    now = timezone.now()
    rows = MonitorConnection.objects.filter(
        transport="tcp", opened_at__gte=now - datetime.timedelta(seconds=trust)
    ).exclude(peer="").values_list("monitor__mn", "peer", "opened_at")
    return [(mn, peer.rsplit(":", 1)[0], (now - opened).total_seconds())
            for mn, peer, opened in rows.iterator()]


def _save_state(updates, rejections) -> None:
    from django.db import transaction


    with transaction.atomic():  # one flush, one transaction: a failure repeats nothing twice
        save_status(updates)
        record_rejections(rejections)
