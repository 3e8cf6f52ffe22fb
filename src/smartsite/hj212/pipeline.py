"""From decoded packets to committed rows and acknowledgements, shared by the TCP gateway and
the MQTT path (design.md §2 rules 5 and 6). It knows no scenario: device kinds and their packet
handlers are registered in `hj212.handlers`.

    source (a TCP connection, the MQTT session) ──packet──▶ Pipeline.submit
        validate (known MN, right PW, active) against every kind's devices — refusals are
        counted per device and written by its kind, never as data
        ──▶ the handler of the device's kind for the packet's ST and CN ──rows──▶ pending
        ──batch──▶ one writer thread: each kind's `write` (commit)
        ──▶ source.acknowledge(packet) for every packet of the committed batch

Backpressure: while more than `high_water` packets wait for the database, every source that
delivers another packet is paused (a TCP connection stops reading its socket, so the kernel's
window pushes back on the device); all resume below `low_water`. Memory therefore stays
bounded however slow or absent the database is, and no acknowledgement goes out for data that
is not committed. A failed write is retried, same batch, until the database answers.

Live state (last seen, last values, connection) is kept per device in memory and flushed in
bulk every `status_every` seconds, so pages never cost a query per packet.

Import it after `django.setup()` (the scenarios register their kinds then).
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

from smartsite.hj212.codec import Packet, ProtocolError, command, make_qn
from smartsite.hj212.handlers import (
    REGISTRY,
    Accepted,
    BadPacket,
    Device,
    DeviceKind,
    Handle,
    NoValues,
    Registry,
    Rejection,
    RejectReason,
    StatusUpdate,
)
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
    device: DeviceRef | None  # the device whose right PW this source has shown (TCP), else None
    pw_failures: int  # wrong PWs seen on this source

    def acknowledge(self, packet: Packet, token: object) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def attach(self, device: DeviceRef) -> None: ...
    def send(self, packet: Packet) -> None: ...
    def close(self, reason: str) -> None: ...


#: A device as the pipeline keys it: (its kind's name, its id within the kind).
DeviceRef = tuple[str, int]


class Outcome(enum.IntEnum):
    REFUSED = 0
    HANDLED = 1
    QUEUED = 2


@dataclass(slots=True)
class Live(StatusUpdate):
    """One device's state as the gateway sees it: what its kind's `save_state` writes
    (`packets` counts since the last flush), and whether it changed since."""

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
    empty_parts: int = 0  # parts of a split packet carrying none of a handler's values (answered)


class Kind:
    """A registered device kind as the pipeline runs it: its functions and its handlers by CN
    and ST (None: any ST)."""

    __slots__ = ("by_cn", "name", "show_live", "spec")

    def __init__(self, spec: DeviceKind, registry: Registry) -> None:
        self.spec, self.name, self.show_live = spec, spec.name, spec.show_live
        self.by_cn: dict[str, dict[str | None, Handle]] = {}
        for h in registry.handlers(spec.name):
            self.by_cn.setdefault(h.cn, {})[h.st] = h.handle

    def unhandled(self, st: str, cn: str) -> str:
        """Why no handler takes a packet with this ST and CN."""
        cns = sorted(c for c, by_st in self.by_cn.items() if st in by_st or None in by_st)
        if cns:
            return f"CN={cn} is not a data upload (expected one of {', '.join(cns)})"
        sts = sorted({s for by_st in self.by_cn.values() for s in by_st if s is not None})
        return f"ST={st} is not a system these devices upload (expected {', '.join(sts)})"


@dataclass(frozen=True, slots=True)
class Known:
    """A registered device: its kind, the record its kind loaded, and its key."""

    kind: Kind
    device: Device
    ref: DeviceRef


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
        registry: Registry = REGISTRY,
    ) -> None:
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.high_water, self.low_water = high_water, low_water
        self.status_every, self.registry_every = status_every, registry_every
        self._now = now or (lambda: datetime.datetime.now(UTC))
        self.guard = guard or PasswordGuard()
        self.registry = registry
        self.kinds: dict[str, Kind] = {k.name: Kind(k, registry) for k in registry.kinds()}
        self.devices: dict[str, Known] = {}  # MN -> its kind and record
        self.peer_districts: dict[str, int] = {}  # peer host -> district of a device seen there
        self.live: dict[DeviceRef, Live] = {}
        self.pending: collections.deque = collections.deque()  # (rows, kind, source, packet, token)
        self.paused: set = set()
        self.rejections: dict[tuple[str, str, str], Rejection] = {}  # (kind, MN, reason) ->
        self.stats = Stats()
        self.db_ok = True
        self._wake = asyncio.Event()
        # Rows have a thread (and database connection) of their own; the bookkeeping — live
        # state, refusals, connection history, the registry — another, so a slow flush never
        # holds a batch's acknowledgements back.
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._bookkeeper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-chores")
        self._registry_asked = 0.0
        self._reload: asyncio.Task | None = None
        self._logged: dict[tuple[str, str], float] = {}  # refusal key -> when last logged
        self._tasks: list[asyncio.Task] = []

    # ------------------------------------------------------------ lifecycle

    async def start(self, *, startup: bool = True) -> None:
        """Start the writer; `startup` (once per gateway, not per process of a group) prepares
        what the kinds need and closes what a previous run left open."""
        specs = [k.spec for k in self.kinds.values()]
        if startup:
            await self.chore(_each, [k.startup for k in specs])
        await self.reload_registry()
        for mn, host, age in await self.chore(_proven_hosts, specs, self.guard.t.trust):
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
        """Run `fn` on the writer thread."""
        return await asyncio.get_running_loop().run_in_executor(self._writer, _in_db, fn, *args)

    async def chore(self, fn, *args):
        """Run `fn` on the bookkeeping thread."""
        return await asyncio.get_running_loop().run_in_executor(self._bookkeeper, _in_db, fn, *args)

    async def reload_registry(self) -> None:
        fleets = await self.chore(_each, [k.spec.load for k in self.kinds.values()])
        devices: dict[str, Known] = {}
        peers: dict[str, int] = {}
        for kind, fleet in zip(self.kinds.values(), fleets, strict=True):
            for mn, device in fleet.devices.items():
                other = devices.setdefault(mn, Known(kind, device, (kind.name, device.id)))
                if other.kind is not kind:
                    log.warning("MN %s is registered as %s and as %s: taken as %s", mn,
                                other.kind.name, kind.name, other.kind.name)
            for host, district in fleet.peer_districts.items():
                peers.setdefault(host, district)
        self.devices, self.peer_districts = devices, peers

    # ------------------------------------------------------------ packets in

    def submit(self, source: Source, packet: Packet, token: object = None) -> Outcome:
        """Take one decoded packet: QUEUED for storage (acknowledged once committed), HANDLED
        (a reply or request, answered or noted here) or REFUSED (counted, never acknowledged).
        REFUSED is the only falsy outcome."""

        self.stats.received += 1
        now = self._now()
        known = self.devices.get(packet.mn)
        if known is None:
            self._ask_registry()
            return self.refuse(source, packet.mn, RejectReason.UNKNOWN_MN,
                               f"MN {packet.mn} 未登记", now, kind=self._kind_of(packet))
        device = known.device
        proven = source.device == known.ref
        host = None
        if not proven:
            host = None if source.transport_name == "mqtt" else source.peer.rsplit(":", 1)[0]
            locked = self.guard.locked(packet.mn)
            # nobody new gets a PW checked for this MN until the lock ends — but a host that
            # showed its right PW before (the device, reconnecting) is let through
            if locked and not self.guard.trusted(packet.mn, host):
                return self._locked_out(source, packet, known, host, locked, now)
        if packet.pw != device.password:
            return self._wrong_password(source, packet, known, now)
        if not proven and host is not None:
            self.guard.success(host, packet.mn)  # a genuine device's address
        if not device.active:
            return self.refuse(source, packet.mn, RejectReason.INACTIVE, "设备已停用", now, known)
        if packet.cn in DEVICE_REPLIES or packet.cn == TIME_CALIBRATION_REQUEST:
            source.attach(known.ref)
            self._note_live(known, source, None, now)
            self.stats.interactions += 1
            if packet.cn == TIME_CALIBRATION_REQUEST:
                source.send(set_time(packet, now))
            return Outcome.HANDLED
        kind = known.kind
        by_st = kind.by_cn.get(packet.cn)  # (inline: every packet comes this way)
        handle = None if by_st is None else by_st.get(packet.st) or by_st.get(None)
        if handle is None:
            return self.refuse(source, packet.mn, RejectReason.BAD_DATA,
                               f"CN={packet.cn} QN={packet.qn}: "
                               f"{kind.unhandled(packet.st, packet.cn)}", now, known)
        try:
            accepted = handle(device, packet, now)
        except NoValues as exc:
            if packet.is_split:
                # one part of a split packet with none of our codes: its siblings carry them;
                # nothing to store, so it is answered at once (the device moves on)
                source.attach(known.ref)
                self._note_live(known, source, None, now)
                self.stats.empty_parts += 1
                source.acknowledge(packet, token)
                return Outcome.HANDLED
            return self.refuse(source, packet.mn, RejectReason.BAD_DATA,
                               f"CN={packet.cn} QN={packet.qn}: {exc}", now, known)
        except (BadPacket, ProtocolError) as exc:
            return self.refuse(source, packet.mn, RejectReason.BAD_DATA,
                               f"CN={packet.cn} QN={packet.qn}: {exc}", now, known)
        source.attach(known.ref)
        self._note_live(known, source, accepted, now)
        self.pending.append((accepted.rows, kind, source, packet, token))
        if len(self.pending) >= self.high_water and source not in self.paused:
            source.pause()
            self.paused.add(source)
            self.stats.pauses += 1
        self._wake.set()
        return Outcome.QUEUED

    def _kind_of(self, packet: Packet | None) -> Kind | None:
        """The kind that records a refusal of an MN no kind knows: the one that handles the
        packet's ST and CN, else the first registered."""
        found = None if packet is None else self.registry.lookup(packet.st, packet.cn)
        if found is not None and found.kind in self.kinds:
            return self.kinds[found.kind]
        return next(iter(self.kinds.values()), None)

    def _locked_out(self, source: Source, packet: Packet, known: Known, host, locked,
                    now) -> Outcome:
        """A packet for a locked MN from a host not let through: refused unread, and counted
        toward the connection's and the host's limits as a wrong PW is."""
        source.pw_failures += 1
        verdict = self.guard.locked_out(packet.mn, host, source.pw_failures)
        outcome = self.refuse(source, packet.mn, RejectReason.PW_LOCKED,
                              f"密码错误过多，设备编码已锁定，约 {locked:.0f} 秒后解除", now, known)
        if verdict.close:
            log.info("closing %s after %d wrong PWs or packets for a locked MN", source.peer,
                     source.pw_failures)
            source.close("密码错误过多")
        return outcome

    def _wrong_password(self, source: Source, packet: Packet, known: Known, now) -> Outcome:
        """Count it, and throttle guessing (hj212.throttle): lock the MN, close the peer."""
        source.pw_failures += 1
        host = None if source.transport_name == "mqtt" else source.peer.rsplit(":", 1)[0]
        verdict = self.guard.failure(packet.mn, host, source.pw_failures)
        outcome = self.refuse(source, packet.mn, RejectReason.BAD_PASSWORD,
                              "PW 与登记的访问密码不符", now, known)
        if verdict.locked_now:
            log.warning("MN %s locked for %.0f s after %d wrong PWs (last from %s)", packet.mn,
                        verdict.lock_for, self.guard.t.mn_failures, source.peer)
            self.refuse(source, packet.mn, RejectReason.PW_LOCKED,
                        f"{self.guard.t.mn_failures} 次密码错误，设备编码锁定 "
                        f"{verdict.lock_for:.0f} 秒（最后一次来自 {source.peer}）", now, known)
            self.stats.refused -= 1  # the same packet, counted once
        if verdict.close:
            log.info("closing %s after %d wrong PWs", source.peer, source.pw_failures)
            source.close("密码错误过多")
        return outcome

    def refuse(self, source: Source, mn: str, reason: str, detail: str, now,
               known: Known | None = None, *, kind: Kind | None = None) -> Outcome:
        """Count a refused packet, recorded by the device's kind (`known`) or, for an MN no
        kind knows, by `kind` (default: the first registered)."""
        self.stats.refused += 1
        kind = known.kind if known is not None else kind or self._kind_of(None)
        if kind is None:
            return Outcome.REFUSED  # no device kind registered: nobody keeps refusals
        key = (kind.name, mn, reason)
        entry = self.rejections.get(key)
        if entry is None:
            host = source.peer.rsplit(":", 1)[0]
            device = known.device if known is not None else None
            district = device.district_id if device is not None else self.peer_districts.get(host)
            self.rejections[key] = Rejection(
                mn=mn,
                reason=reason,
                detail=detail,
                peer=source.peer,
                at=now,
                monitor_id=device.id if device is not None else None,
                district_id=district,
            )
            if time.monotonic() - self._logged.get(key[1:], -LOG_REFUSALS_EVERY) >= LOG_REFUSALS_EVERY:
                self._logged[key[1:]] = time.monotonic()
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

    def _note_live(self, known: Known, source: Source, accepted: Accepted | None, now) -> None:
        live = self.live.get(known.ref)
        if live is None:
            live = self.live[known.ref] = Live(known.device.id, connected=False, transport="")
        live.last_seen = now
        if accepted is None or accepted.data_time is None:
            pass  # a reply or request, or rows without data to show: seen
        elif live.last_data_time is None or accepted.data_time >= live.last_data_time:
            live.last_data_time = accepted.data_time
            if accepted.live is not None:
                known.kind.show_live(live.values, live.flags, accepted.live)
        if not live.connected or live.peer != source.peer:
            live.connected, live.transport, live.peer = True, source.transport_name, source.peer
            live.connected_since = now
        live.packets += 1
        live.dirty = True

    def disconnected(self, device: DeviceRef, source: Source) -> None:
        live = self.live.get(device)
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
        """Write the first `batch_size` pending packets' rows (each kind's in one call of its
        `write`, on the writer thread) and acknowledge them. A failure keeps the whole batch
        for the next attempt: a kind that committed its part sees its rows again and stores
        nothing twice (its `write` ignores re-sent rows)."""
        n = min(len(self.pending), self.batch_size)
        if not n:
            return True
        batch = [self.pending[i] for i in range(n)]
        rows: dict[Kind, list] = {}
        for item_rows, kind, _source, _packet, _token in batch:
            found = rows.get(kind)
            if found is None:
                rows[kind] = list(item_rows)
            else:
                found.extend(item_rows)
        writes = [(kind.spec.write, kind_rows) for kind, kind_rows in rows.items()]
        delay = 0.5
        while True:
            try:
                stored, duplicates = await self.db(_write, writes)
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
        self.stats.committed += stored
        self.stats.duplicates += duplicates
        for _rows, _kind, source, packet, token in batch:
            if source.open:
                source.acknowledge(packet, token)
        if self.paused and len(self.pending) < self.low_water:
            paused, self.paused = self.paused, set()
            for source in paused:
                source.resume()
        return True

    # ------------------------------------------------------------ chores

    async def _chores(self) -> None:
        last_registry = last_maintained = time.monotonic()
        while True:
            await asyncio.sleep(self.status_every)
            await self._safely(self._flush)
            # work the kinds owe off the acknowledgement path (dust: hour and day means of
            # what was committed meanwhile; what a kill leaves, the next gateway or the
            # worker does)
            for kind in self.kinds.values():
                await self._safely(self.chore, kind.spec.catch_up)
            now = time.monotonic()
            if now - last_registry >= self.registry_every:
                last_registry = now
                await self._safely(self.reload_registry)
            if now - last_maintained >= MAINTAIN_EVERY:
                last_maintained = now
                for kind in self.kinds.values():
                    await self._safely(self.chore, kind.spec.maintain)

    async def _safely(self, fn, *args) -> None:
        try:
            await fn(*args)
        except Exception as exc:  # the database is away; the next round tries again
            log.warning("%s failed: %s", getattr(args[0] if args else fn, "__name__", fn), exc)

    async def _flush(self) -> None:
        """Write the live state of devices that changed, and the refusals counted: each
        kind's in one call of its `save_state`."""
        updates: dict[str, list[Live]] = {}
        for (name, _id), live in self.live.items():
            if live.dirty:
                updates.setdefault(name, []).append(
                    replace(live, values=dict(live.values), flags=dict(live.flags)))
        rejections: dict[str, list[Rejection]] = {}
        for (name, _mn, _reason), r in self.rejections.items():
            rejections.setdefault(name, []).append(r)
        self.rejections = {}
        names = [name for name in self.kinds if name in updates or name in rejections]
        if not names:
            return
        try:
            failed = await self.chore(_save_states, [
                (name, self.kinds[name].spec.save_state, updates.get(name, []),
                 rejections.get(name, [])) for name in names])
        except Exception as exc:
            failed = dict.fromkeys(names, exc)
        for name in names:
            if name in failed:
                for r in rejections.get(name, ()):  # counted again next time
                    newer = self.rejections.get((name, r.mn, r.reason))
                    if newer is None:
                        self.rejections[(name, r.mn, r.reason)] = r
                    else:
                        newer.count += r.count
                continue  # its live state stays dirty: written next time
            for update in updates.get(name, ()):
                live = self.live[(name, update.monitor_id)]
                live.packets -= update.packets
                live.dirty = (live.packets > 0 or live.last_seen != update.last_seen
                              or live.connected != update.connected)
        if failed:
            raise next(iter(failed.values()))


MAINTAIN_EVERY = 6 * 3600  # seconds between the kinds' `maintain` (partitions ahead)


# ---------------------------------------------------------------- on the pipeline's threads


def _in_db(fn, *args):
    from django.db import connection

    try:
        return fn(*args)
    except Exception:
        # A broken connection must not be reused: the next call reconnects.
        with contextlib.suppress(Exception):
            connection.close()
        raise


def _each(fns) -> list:
    return [fn() for fn in fns]


def _write(writes) -> tuple[int, int]:
    stored = duplicates = 0
    for write, rows in writes:
        result = write(rows)
        stored += result.stored
        duplicates += result.duplicates
    return stored, duplicates


def _save_states(saves) -> dict[str, Exception]:
    """Each kind's live state and refusals (each kind writes its own in one transaction);
    returns the kinds whose write failed — one kind's trouble holds no other's back."""
    failed = {}
    for name, save_state, updates, rejections in saves:
        try:
            _in_db(save_state, updates, rejections)
        except Exception as exc:
            failed[name] = exc
    return failed


def _proven_hosts(specs: list[DeviceKind], trust: float) -> list[tuple[str, str, float]]:
    return [found for spec in specs for found in spec.proven_hosts(trust)]


def startup_chores(registry: Registry = REGISTRY) -> None:
    """Once per gateway (not per process of a group): what every kind prepares (dust:
    partitions ahead, nothing left marked connected by a previous run)."""
    for kind in registry.kinds():
        kind.startup()
