"""`smartsite gateway`: the HJ 212-2017 TCP server (and the MQTT path beside it).

One asyncio process serves every monitor's connection. A connection is a small
`asyncio.Protocol` with a sans-IO `Decoder` (a few hundred bytes while idle); everything
after decoding — validation, storage, acknowledgements, backpressure — is the shared
`Pipeline`. A sweeper closes connections that hold half a frame too long (slowloris), stay
silent past the idle timeout, or stop reading their acknowledgements.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
import time
from dataclasses import dataclass

from smartsite.hj212.codec import Decoder, Packet, Rejected, acknowledgement, encode
from smartsite.hj212.handlers import ConnectionRecord, RejectReason
from smartsite.hj212.pipeline import DeviceRef, Pipeline, _in_db

log = logging.getLogger("smartsite.gateway")


@dataclass
class Limits:
    idle_seconds: float = 900.0  # no complete packet for this long: close
    partial_seconds: float = 30.0  # half a frame held this long: close (slowloris)
    write_buffer_bytes: int = 256 * 1024  # acknowledgements the device does not read
    max_connections: int = 20_000
    log_rejects_per_connection: int = 3
    split_seconds: float = 60.0  # parts that need each other wait this long for the rest


class Connection(asyncio.Protocol):
    """One monitor's TCP connection."""

    __slots__ = (
        "closed_at",
        "closed_reason",
        "connection_id",
        "decoder",
        "device",
        "gateway",
        "last_packet",
        "open",
        "opened_at",
        "packets",
        "partial_since",
        "peer",
        "pw_failures",
        "rejected",
        "transport",
    )
    transport_name = "tcp"

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.transport = None
        self.decoder = Decoder()
        self.peer = ""
        self.open = False
        self.device: DeviceRef | None = None  # once its first valid packet named it
        self.connection_id: int | None = None
        self.opened_at: datetime.datetime | None = None
        self.closed_at: datetime.datetime | None = None
        self.packets = 0
        self.rejected = 0
        self.pw_failures = 0
        self.last_packet = time.monotonic()
        self.partial_since = 0.0
        self.closed_reason = ""

    # asyncio callbacks

    def connection_made(self, transport) -> None:
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self.open = True
        if not self.gateway.accept(self):
            self.close("连接数已满")
        elif self.gateway.pipeline.guard.peer_blocked(host):
            self.gateway.peers_refused += 1
            self.close("密码错误过多，暂停接入")

    def data_received(self, data: bytes) -> None:
        pipeline = self.gateway.pipeline
        for event in self.decoder.feed(data, time.monotonic()):
            if not self.open:
                break  # closed by what came before (e.g. wrong PWs): the rest is not read
            if type(event) is Rejected:
                self._rejected(event)
            else:
                self.packets += 1
                self.last_packet = time.monotonic()
                if not pipeline.submit(self, event):
                    self.rejected += 1
        if self.decoder.buffered:
            if not self.partial_since:
                self.partial_since = time.monotonic()
        else:
            self.partial_since = 0.0

    def connection_lost(self, exc) -> None:
        self.open = False
        if not self.closed_reason:
            self.closed_reason = "设备断开" if exc is None else f"连接异常：{exc}"[:100]
        self.gateway.lost(self)

    # Source (pipeline.Source)

    def acknowledge(self, packet: Packet, token: object = None) -> None:
        if packet.ack_wanted:
            self.send(acknowledgement(packet))

    def send(self, packet: Packet) -> None:
        if not self.open:
            return
        if self.transport.get_write_buffer_size() > self.gateway.limits.write_buffer_bytes:
            self.close("设备不读取应答")
            return
        self.transport.write(encode(packet))

    def pause(self) -> None:
        if self.open:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.open:
            # the pause was ours: the device's clocks start again now
            self.last_packet = time.monotonic()
            if self.partial_since:
                self.partial_since = self.last_packet
            self.transport.resume_reading()

    def attach(self, device: DeviceRef) -> None:
        if self.device is None:
            self.device = device
            self.gateway.attached(self)

    # helpers

    def close(self, reason: str) -> None:
        if self.open:
            self.closed_reason = reason
            self.open = False
            self.transport.abort()

    def _rejected(self, event: Rejected) -> None:
        self.rejected += 1
        self.gateway.frames_rejected += 1
        if event.mn:  # a sound packet of a known device given up on (a split set): on record
            self.gateway.split_refused += 1
            pipeline = self.gateway.pipeline
            known = pipeline.devices.get(event.mn)
            if known is not None and known.device.password != event.pw:
                known = None  # not proven to be that device: recorded under its MN only
            log.warning("refused from %s: %s", self.peer, event.detail)
            pipeline.refuse(self, event.mn, RejectReason.BAD_DATA, event.detail,
                            pipeline._now(), known)
        elif self.decoder.rejected <= self.gateway.limits.log_rejects_per_connection:
            log.info("rejected frame from %s (%s): %s", self.peer, event.reason, event.detail)


class Gateway:
    def __init__(self, pipeline: Pipeline, limits: Limits | None = None) -> None:
        self.pipeline = pipeline
        self.limits = limits or Limits()
        self.connections: set[Connection] = set()
        self.by_device: dict[DeviceRef, Connection] = {}
        self.frames_rejected = 0
        self.split_refused = 0  # split sets given up on (incomplete), each recorded
        self.peers_refused = 0  # connections refused for wrong PWs from their host
        self.server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.Task | None = None
        self._opened: list[Connection] = []  # connection history not written yet
        self._closed: list[Connection] = []
        self._history: asyncio.Task | None = None
        self._history_round: asyncio.Task | None = None

    async def start(self, host: str, port: int, *, sock=None) -> int:
        """Listen on host:port, or on an already listening `sock` shared by a group of gateway
        processes; returns the port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            self.server = await loop.create_server(lambda: Connection(self), sock=sock)
        else:
            self.server = await loop.create_server(lambda: Connection(self), host, port,
                                                   backlog=4096)
        self._sweeper = loop.create_task(self._sweep(), name="sweeper")
        self._history = loop.create_task(self._history_loop(), name="history")
        bound = self.server.sockets[0].getsockname()[1]
        log.info("HJ 212 gateway listening on %s:%s", host, bound)
        return bound

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.pipeline.drain()  # commit and acknowledge what was received
        for conn in list(self.connections):
            conn.close("网关停止")
        await asyncio.sleep(0)  # connection_lost runs for each
        if self._history is not None:
            self._history.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._history
        if self._history_round is not None:
            await self._history_round  # a round in progress finishes (its ids are kept)
        await self.write_history()
        await self.write_history()  # closes of connections whose opening the first round wrote
        await self.pipeline.stop()

    # connection bookkeeping

    def accept(self, conn: Connection) -> bool:
        if len(self.connections) >= self.limits.max_connections:
            return False
        self.connections.add(conn)
        return True

    def attached(self, conn: Connection) -> None:
        """The connection's first valid packet named its device: one connection per device
        (a device that reconnects leaves its old, dead connection behind)."""
        old = self.by_device.get(conn.device)
        self.by_device[conn.device] = conn
        if old is not None and old is not conn:
            old.close("设备已重新连接")
        conn.opened_at = datetime.datetime.now(datetime.UTC)
        self._opened.append(conn)

    def lost(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self.pipeline.paused.discard(conn)
        if conn.device is None:
            if conn.rejected:
                log.info(
                    "closed %s after %d rejected frames, %d garbage bytes",
                    conn.peer,
                    conn.rejected,
                    conn.decoder.garbage_bytes,
                )
            return
        if self.by_device.get(conn.device) is conn:
            del self.by_device[conn.device]
            self.pipeline.disconnected(conn.device, conn)
        conn.closed_at = datetime.datetime.now(datetime.UTC)
        self._closed.append(conn)

    async def write_history(self) -> None:
        """Write the connections opened and closed since the last round, in bulk (a reconnect
        storm of thousands of devices is two statements per kind, not thousands)."""
        opened, self._opened = self._opened, []
        closed, self._closed = self._closed, []
        if not opened and not closed:
            return
        by_kind: dict[str, tuple[list[Connection], list[Connection]]] = {}
        for conn in opened:
            by_kind.setdefault(conn.device[0], ([], []))[0].append(conn)
        for conn in closed:
            if conn.connection_id is not None:
                by_kind.setdefault(conn.device[0], ([], []))[1].append(conn)
        kinds = self.pipeline.kinds
        try:
            results = await self.pipeline.chore(_record_connections, [
                (kinds[name].spec.record_connections, [_history_row(c) for c in new],
                 [_history_row(c) for c in ended]) for name, (new, ended) in by_kind.items()])
        except Exception as exc:  # (the bookkeeping thread is gone)
            results = [exc] * len(by_kind)
        for (name, (new, ended)), result in zip(by_kind.items(), results, strict=True):
            if isinstance(result, Exception):
                log.warning("could not record %d %s connections: %s (next round)",
                            len(new) + len(ended), name, result)
                self._opened[:0], self._closed[:0] = new, ended
                continue
            for conn, pk in zip(new, result, strict=True):
                conn.connection_id = pk
        # a connection that closed while its opening was being written: its close is next
        self._closed.extend(c for c in closed if c.connection_id is None and c not in opened)

    async def _history_loop(self) -> None:
        while True:
            await asyncio.sleep(self.pipeline.status_every)
            self._history_round = asyncio.get_running_loop().create_task(self.write_history())
            await asyncio.shield(self._history_round)  # a stop lets a round in progress finish

    async def _sweep(self) -> None:
        limits = self.limits
        while True:
            await asyncio.sleep(min(5.0, limits.partial_seconds / 2, limits.split_seconds / 2))
            now = time.monotonic()
            paused = self.pipeline.paused
            self.pipeline.guard.forget()
            for conn in list(self.connections):
                if conn.decoder.pending_splits:
                    for event in conn.decoder.expire(now, limits.split_seconds):
                        conn._rejected(event)
                if conn in paused:
                    continue  # we stopped reading it: its silence is ours
                if conn.partial_since and now - conn.partial_since > limits.partial_seconds:
                    conn.close("半帧超时")
                elif now - conn.last_packet > limits.idle_seconds:
                    conn.close("空闲超时")


async def serve(host: str, port: int, *, mqtt: bool = True, ready=None, sock=None,
                startup: bool = True) -> None:
    """Run the gateway until SIGTERM/SIGINT: TCP on host:port (or on `sock`, inherited from
    the parent of a group of processes), and MQTT when enabled. Tunables come from settings
    (SMARTSITE_HJ212_*, docs/operations.md)."""
    from django.conf import settings

    from smartsite.hj212.throttle import PasswordGuard, Thresholds

    pipeline = Pipeline(batch_size=settings.HJ212_BATCH, high_water=settings.HJ212_HIGH_WATER,
                        low_water=max(1, settings.HJ212_HIGH_WATER // 2),
                        status_every=settings.HJ212_STATUS_SECONDS,
                        guard=PasswordGuard(Thresholds.from_settings()))
    await pipeline.start(startup=startup)
    limits = Limits(idle_seconds=settings.HJ212_IDLE_SECONDS,
                    partial_seconds=settings.HJ212_PARTIAL_SECONDS,
                    max_connections=settings.HJ212_MAX_CONNECTIONS,
                    split_seconds=settings.HJ212_SPLIT_SECONDS)
    gateway = Gateway(pipeline, limits)
    bound = await gateway.start(host, port, sock=sock)
    subscriber = None
    if mqtt:
        from smartsite.hj212.mqtt import Subscriber

        subscriber = Subscriber(pipeline, settings.MQTT_HOST, settings.MQTT_PORT,
                                client_id=settings.MQTT_CLIENT_ID, root=settings.MQTT_TOPIC_ROOT,
                                username=settings.MQTT_USERNAME or None,
                                password=settings.MQTT_PASSWORD or None)
        subscriber.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(bound)
    reporter = loop.create_task(_report(gateway))
    await stop.wait()
    log.info("stopping: writing %d waiting packets", len(pipeline.pending))
    reporter.cancel()
    if subscriber is not None:
        await subscriber.stop()
    await gateway.stop()


async def _report(gateway: Gateway, every: float = 60.0) -> None:
    last = 0
    while True:
        await asyncio.sleep(every)
        s = gateway.pipeline.stats
        log.info(
            "connections %d, received %d (+%d/min), committed %d, duplicates %d, refused %d, "
            "bad frames %d, split sets refused %d, wrong PWs %d (MN locks %d, "
            "packets for locked MNs %d, hosts refused %d), waiting %d%s",
            len(gateway.connections),
            s.received,
            s.received - last,
            s.committed,
            s.duplicates,
            s.refused,
            gateway.frames_rejected,
            gateway.split_refused,
            gateway.pipeline.guard.failures,
            gateway.pipeline.guard.locks,
            gateway.pipeline.guard.polls,
            gateway.peers_refused,
            len(gateway.pipeline.pending),
            "" if gateway.pipeline.db_ok else ", DATABASE DOWN",
        )
        last = s.received


def _record_connections(calls) -> list:
    """Each kind's connection history (each in one transaction): the new rows' ids, or the
    exception that kind's write raised."""
    results = []
    for record, new, ended in calls:
        try:
            results.append(_in_db(record, new, ended))
        except Exception as exc:
            results.append(exc)
    return results


def _history_row(conn: Connection) -> ConnectionRecord:
    return ConnectionRecord(
        id=conn.connection_id, monitor_id=conn.device[1], transport="tcp", peer=conn.peer,
        opened_at=conn.opened_at, closed_at=conn.closed_at, packets=conn.packets,
        rejected=conn.rejected, close_reason=conn.closed_reason if conn.closed_at else "")


def listening_socket(host: str, port: int):
    """The socket a group of gateway processes shares: the kernel hands each new connection
    to whichever process accepts it first."""
    import socket

    sock = socket.create_server((host, port), backlog=4096, reuse_port=False)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock
