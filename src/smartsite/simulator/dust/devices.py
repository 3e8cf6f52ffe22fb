"""`smartsite devices`: the simulated city's monitors as devices on the wire.

One asyncio TCP connection per active monitor to the HJ 212 gateway. Each device uploads a
real CN=2011 packet (Flag=5: HJ 212-2017, acknowledgement wanted) every `interval` seconds
(its own phase in the interval), values from `monitors.sample` so they carry on the curves
the seeding back-filled. Like a data logger it keeps every upload until the platform's 9014
for its QN arrives: one not acknowledged within `ack_timeout` is sent again, and after
`retries` tries the link is taken for dead and re-opened (the OverTime / ReCount pair of
HJ 212's CN=1000; 5 s and 3 in common loggers). A lost connection is re-opened with
exponential backoff, and everything still unacknowledged goes out again, oldest first — so a
gateway restart (even kill -9) loses nothing, and the gateway's dedup stores nothing twice.

Devices that misbehave the way real ones do (`monitors.Plan`):
* a second logger on one site, set up with that site's MN but the factory password: every
  packet refused (密码错误 in the rejected-devices list and the district's event center);
* one whose mobile link drops for `OUTAGE_TICKS` intervals every `OUTAGE_PERIOD`, starting
  with one: offline meanwhile, it keeps measuring and catches up when the link returns;
* one whose modem leaks a line of chatter now and then, and sometimes a frame with a bad CRC
  (refused by the gateway, so not acknowledged, so sent again);
* tampering: one whose PM10 is stuck at one value (`Plan.flat`), one that relays another
  site's data (`Plan.copier`: the same values at the same seconds as `Plan.copy_source`), one
  reporting a position far outside its site (`Plan.outside`);
* the dead monitors (`Plan.dead`, no power on site) have no device at all: offline.

Every device reports its position (our profile's `Lng-Rtd`/`Lat-Rtd` items in each CN=2011
upload), and one with linked sprays their state as CN=2021 `SBn-RS` (1 running, 0 off) when
it starts and whenever it changes (`monitors.spray_running`: on a few minutes after its own
PM10 goes above the limit, off ten minutes after it falls back; never for `Plan.spray_fails`).

Data time: a device's k-th upload is stamped `start + phase + k · max(interval, 1 s)`. At
intervals of a second or more that is the wall clock; below (tests) the devices' clocks run
faster, so every upload still has its own DataTime (whole seconds) and QN.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from smartsite.hj212 import codec
from smartsite.simulator import users
from smartsite.simulator.dust import monitors as sim

log = logging.getLogger("smartsite.devices")

UTC = datetime.UTC
OUTAGE_TICKS = 20  # intervals the outage device's link stays down …
OUTAGE_PERIOD = 120  # … once every this many intervals (from the start)
NOISE_LINES = (b"AT+CSQ\r\n+CSQ: 23,99\r\nOK\r\n", b"+++", b"\x00\x00\xff",
               b"RDY\r\n+CPIN: READY\r\n", b"HEARTBEAT 898604A21022C0123456\r\n")
IMPOSTOR_PASSWORD = "123456"  # the factory default


@dataclass(frozen=True)
class DeviceSpec:
    mn: str
    pw: str
    profile: sim.Profile
    behaviour: str = "normal"  # normal | impostor | outage | noisy | flat | copier | outside
    sprays: tuple[str, ...] = ()  # SBn codes of the linked sprays it reports
    position: tuple[float, float] | None = None  # what it reports as Lng/Lat
    copy_of: str = ""  # the copier: the MN whose data (and clock phase) it copies

    @property
    def counted(self) -> bool:
        """Its uploads are the monitor's data (the impostor's are not)."""
        return self.behaviour != "impostor"


def fleet_specs(seed: int) -> list[DeviceSpec]:
    """A device per active monitor of the database but the dead ones, plus the impostor (by
    MN)."""
    from smartsite.dust.models import SprayDevice
    from smartsite.simulator.dust.registry import reported_position

    the_plan, profiles = sim.load_profiles(seed)
    sprays: dict[int, list[str]] = {}
    for monitor_id, code in SprayDevice.objects.filter(active=True).values_list(
            "monitor_id", "sb_code").order_by("monitor_id", "sb_code"):
        sprays.setdefault(monitor_id, []).append(code)
    roles = {the_plan.outage: "outage", the_plan.noisy: "noisy", the_plan.flat: "flat",
             the_plan.copier: "copier", the_plan.outside: "outside"}
    specs = []
    for mn, (monitor, profile) in profiles.items():
        if not monitor.active or mn in the_plan.dead:
            continue
        behaviour = roles.get(mn, "normal")
        specs.append(DeviceSpec(mn, monitor.password, profile, behaviour,
                                tuple(sprays.get(monitor.pk, ())),
                                reported_position(monitor, the_plan),
                                the_plan.copy_source if behaviour == "copier" else ""))
        if mn == the_plan.impostor_target:
            wrong = IMPOSTOR_PASSWORD if monitor.password != IMPOSTOR_PASSWORD else "888888"
            specs.append(DeviceSpec(mn, wrong, profile, "impostor"))
    return specs


class _Upload:
    __slots__ = ("frame", "sends", "sent_at", "tries")

    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.sent_at: float | None = None  # loop time of the last send on this connection
        self.tries = 0  # sends on this connection
        self.sends = 0  # sends in all


class Device:
    """One simulated data logger."""

    def __init__(self, fleet: Fleet, spec: DeviceSpec, rng: random.Random) -> None:
        self.fleet, self.spec, self.rng = fleet, spec, rng
        self.phase = rng.uniform(0, fleet.interval)
        if spec.copy_of:  # the same seconds as the device it copies (`Fleet.run` seeds it so)
            self.phase = random.Random(f"{fleet.seed}:{spec.copy_of}:normal").uniform(
                0, fleet.interval)
        self.spraying: bool | None = None  # the sprays' state last reported
        self.states = 0  # CN 2021 state reports made
        self.outbox: dict[str, _Upload] = {}  # QN -> upload, oldest first
        self.writer: asyncio.StreamWriter | None = None
        self.link_up = spec.behaviour != "outage"
        self.generated = self.acked = self.resent = self.dropped = 0
        self.connections = self.failed_connects = 0
        self.gave_up = False
        self._link_changed = asyncio.Event()

    # ------------------------------------------------------------ uploads

    def upload(self, k: int) -> None:
        """Measure and send the k-th upload."""
        fleet = self.fleet
        if self.spec.behaviour == "outage":
            self.set_link(k % OUTAGE_PERIOD >= OUTAGE_TICKS)
        t = math.floor(fleet.wall_start + self.phase * fleet.speed + k * fleet.step)
        spec = self.spec
        values, flags = sim.sample(spec.profile, t)
        items = sim.cp_values(values, flags)
        if spec.position is not None:
            items["Lng"], items["Lat"] = {"Rtd": spec.position[0]}, {"Rtd": spec.position[1]}
        at = datetime.datetime.fromtimestamp(t, UTC)
        packet = codec.data_packet(mn=spec.mn, pw=spec.pw, cn="2011", values=items,
                                   data_time=at, flag=codec.FLAG_2017 | codec.FLAG_A)
        self._deliver(self._queue(packet))
        self.generated += 1
        if spec.sprays:
            running = sim.spray_running(spec.profile, t)
            if running != self.spraying:
                self.spraying = running
                self.states += 1
                state = codec.data_packet(  # (its own QN: a millisecond after the upload's)
                    mn=spec.mn, pw=spec.pw, cn="2021", data_time=at,
                    qn=codec.make_qn(at + datetime.timedelta(milliseconds=1)),
                    values={code: {"RS": "1" if running else "0"} for code in spec.sprays},
                    flag=codec.FLAG_2017 | codec.FLAG_A)
                self._deliver(self._queue(state))

    def _queue(self, packet) -> _Upload:
        fleet = self.fleet
        upload = _Upload(codec.encode(packet))
        self.outbox[packet.qn] = upload
        limit = fleet.impostor_outbox if self.spec.behaviour == "impostor" else fleet.outbox_limit
        while len(self.outbox) > limit:  # the logger's memory is full: the oldest goes
            del self.outbox[next(iter(self.outbox))]
            self.dropped += 1
        return upload

    def _deliver(self, upload: _Upload) -> None:
        if self.writer is not None:
            if self.spec.behaviour == "noisy":
                self._chatter(upload)
            else:
                self._send(upload)

    def _send(self, upload: _Upload, frame: bytes | None = None) -> None:
        self.writer.write(frame or upload.frame)
        upload.sent_at = self.fleet.loop.time()
        upload.tries += 1
        if upload.sends:
            self.resent += 1
        upload.sends += 1

    def _chatter(self, upload: _Upload) -> None:
        """The noisy device: modem chatter before one upload in eight; one in twelve goes out
        with a byte flipped on the way (bad CRC: refused, so sent again after the timeout)."""
        if self.rng.random() < 1 / 8:
            self.writer.write(self.rng.choice(NOISE_LINES))
        if self.rng.random() < 1 / 12:
            frame = bytearray(upload.frame)
            at = frame.index(b"DataTime=") + 9
            frame[at + 13] = ord("0") + (frame[at + 13] - ord("0") + 1) % 10  # seconds digit
            self._send(upload, bytes(frame))
        else:
            self._send(upload)

    def received(self, packets: Iterable) -> None:
        for packet in packets:
            if (isinstance(packet, codec.Packet) and packet.cn == codec.CN_DATA_ACK
                    and self.outbox.pop(packet.qn, None) is not None):
                self.acked += 1
        if self.fleet.stopping and not self.outbox:
            self.hang_up()

    def check_acks(self, now: float) -> None:
        """Send again what waited `ack_timeout` for its 9014; give up on the link after
        `retries` tries of the oldest."""
        if self.writer is None:
            return
        fleet = self.fleet
        for upload in self.outbox.values():
            if upload.sent_at is None or now - upload.sent_at < fleet.ack_timeout:
                continue
            if upload.tries > fleet.retries:
                log.info("%s: no acknowledgement after %d tries, reconnecting", self.spec.mn,
                         upload.tries)
                self.gave_up = True
                self.hang_up()
                return
            self._send(upload)

    # ------------------------------------------------------------ the link

    def set_link(self, up: bool) -> None:
        if self.fleet.stopping:
            up = True  # let the backlog drain
        if up != self.link_up:
            self.link_up = up
            log.info("%s: link %s", self.spec.mn, "back" if up else "lost")
            if not up:
                self.hang_up()
            self._link_changed.set()

    def hang_up(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()

    def finished(self) -> bool:
        fleet = self.fleet
        return fleet.stopping and (not self.outbox or not self.spec.counted
                                   or fleet.loop.time() > fleet.drain_deadline)

    async def connect_loop(self) -> None:
        fleet = self.fleet
        delay = fleet.backoff[0]
        while not self.finished():
            if not self.link_up:
                self._link_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._link_changed.wait(), 1.0)
                continue
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(fleet.host, fleet.port), 10)
            except (OSError, TimeoutError):
                self.failed_connects += 1
                await fleet.nap(delay * self.rng.uniform(0.8, 1.2))
                delay = min(delay * 2, fleet.backoff[1])
                continue
            self.connections += 1
            self.gave_up = False
            await self._talk(reader, writer)
            if self.gave_up:  # the platform does not answer: wait before trying again
                await fleet.nap(delay * self.rng.uniform(0.8, 1.2))
                delay = min(delay * 2, fleet.backoff[1])
            else:
                delay = fleet.backoff[0]

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = codec.Decoder()
        self.writer = writer
        try:
            for upload in self.outbox.values():  # what was never acknowledged, oldest first
                upload.tries = 0
                self._send(upload)
            if self.fleet.stopping and not self.outbox:
                return
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                self.received(decoder.feed(data))
        except OSError:
            pass
        finally:
            self.writer = None
            writer.transport.abort()
            for upload in self.outbox.values():
                upload.sent_at = None


class Fleet:
    """The devices of `specs` talking to the gateway at host:port."""

    def __init__(self, specs: Iterable[DeviceSpec], host: str, port: int, *,
                 interval: float = 60.0, ack_timeout: float = 5.0, retries: int = 3,
                 backoff: tuple[float, float] = (1.0, 30.0), seed: int = 0,
                 outbox_limit: int = 1440, impostor_outbox: int = 5,
                 clock: Callable[[], float] = time.time) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.host, self.port = host, port
        self.interval, self.ack_timeout, self.retries = interval, ack_timeout, retries
        self.backoff = backoff
        self.speed = max(1.0, 1.0 / interval)  # device seconds per real second
        self.step = max(interval, 1.0)  # device seconds between uploads
        self.outbox_limit, self.impostor_outbox = outbox_limit, impostor_outbox
        self.clock = clock
        self.specs = list(specs)
        self.seed = seed
        self.devices: list[Device] = []
        self.stopping = False
        self.drain_deadline = math.inf
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wall_start = 0.0

    async def run(self, stop: asyncio.Event, *, drain: float = 5.0) -> None:
        """Run until `stop` is set, then stop measuring and wait up to `drain` seconds for the
        acknowledgements still due."""
        self.loop = asyncio.get_running_loop()
        self.stopping, self.drain_deadline = False, math.inf
        self._stopped = asyncio.Event()
        self.wall_start = math.floor(self.clock())
        started = self.loop.time()
        self.devices = [Device(self, spec, random.Random(f"{self.seed}:{spec.mn}:{spec.behaviour}"))
                        for spec in self.specs]
        links = [self.loop.create_task(d.connect_loop(), name=f"link {d.spec.mn}")
                 for d in self.devices]
        clocks = [self.loop.create_task(self._measure(d, started), name=f"clock {d.spec.mn}")
                  for d in self.devices]
        sweeper = self.loop.create_task(self._sweep())
        try:
            await stop.wait()
        finally:
            self.stopping = True
            self.drain_deadline = self.loop.time() + drain
            self._stopped.set()
            for task in clocks:
                task.cancel()
            for device in self.devices:
                device.set_link(True)
                if not device.outbox or not device.spec.counted:
                    device.hang_up()
            while any(not d.finished() for d in self.devices) and \
                    self.loop.time() < self.drain_deadline:
                await asyncio.sleep(0.05)
            sweeper.cancel()
            for device in self.devices:
                device.hang_up()
            await asyncio.wait(links, timeout=5)
            for task in links:
                task.cancel()
            await asyncio.gather(*links, *clocks, sweeper, return_exceptions=True)

    async def nap(self, seconds: float) -> None:
        """Sleep between connection attempts; short once the fleet is stopping (the backlog
        should drain, and nothing should keep the process waiting)."""
        if self.stopping:
            await asyncio.sleep(min(seconds, 0.2))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _measure(self, device: Device, started: float) -> None:
        k = 0
        while True:
            await asyncio.sleep(max(0.0, started + device.phase + k * self.interval
                                    - self.loop.time()))
            device.upload(k)
            k += 1

    async def _sweep(self) -> None:
        every = max(0.05, min(1.0, self.ack_timeout / 4))
        while True:
            await asyncio.sleep(every)
            now = self.loop.time()
            for device in self.devices:
                device.check_acks(now)

    # ------------------------------------------------------------ figures

    def counts(self) -> dict[str, int]:
        """Uploads measured per monitor (the impostor's not included)."""
        out: dict[str, int] = {}
        for d in self.devices:
            if d.spec.counted:
                out[d.spec.mn] = out.get(d.spec.mn, 0) + d.generated
        return out

    def summary(self) -> str:
        counted = [d for d in self.devices if d.spec.counted]
        return (f"生成 {sum(d.generated + d.states for d in counted):,} 包"
                f"（其中喷淋状态 {sum(d.states for d in counted):,} 包），"
                f"已确认 {sum(d.acked for d in counted):,} 包，"
                f"重发 {sum(d.resent for d in self.devices):,} 次，"
                f"未确认 {sum(len(d.outbox) for d in counted):,} 包，"
                f"丢弃 {sum(d.dropped for d in counted):,} 包")


def run(*, host: str, port: int, interval: float, seed: int, ack_timeout: float = 5.0,
        ready: Callable[[str], None] | None = None) -> Fleet:
    """`smartsite devices`: run the fleet until SIGTERM / Ctrl-C. Refuses a database without
    the simulated city (made-up data never reaches real monitors)."""
    import signal

    from smartsite.core.errors import DomainError

    if not users.simulated_city():
        raise DomainError("数据库中没有模拟城市（演示账号）：模拟设备只向演示数据库上报")
    specs = fleet_specs(seed)
    fleet = Fleet(specs, host, port, interval=interval, ack_timeout=ack_timeout, seed=seed)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            odd = {s.behaviour: s.mn for s in specs if s.behaviour != "normal"}
            ready(f"{sum(s.counted for s in specs):,} 台设备 → {host}:{port}，每 {interval:g} 秒上报一次"
                  + (f"（{', '.join(f'{_LABELS[b]} …{mn[-6:]}' for b, mn in odd.items())}）"
                     if odd else ""))
        await fleet.run(stop, drain=min(3.0, ack_timeout))

    asyncio.run(main())
    return fleet


_LABELS = {"impostor": "密码错误的第二台采集器", "outage": "间歇断网", "noisy": "偶发乱码",
           "flat": "PM10 恒定不变", "copier": "复制他处工地数据", "outside": "上报位置在工地外"}
