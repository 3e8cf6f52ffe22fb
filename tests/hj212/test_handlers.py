"""Packet handlers by kind, ST and CN: the pipeline knows no scenario, so a second kind of HJ 212
device (here a pit sensor on its own ST beside an air monitor) is a registration. Driven in
process with in-memory kinds: no database, no sockets."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from smartsite.hj212 import codec
from smartsite.hj212.handlers import (
    Accepted,
    BadPacket,
    DeviceKind,
    Fleet,
    NoValues,
    PacketHandler,
    Registry,
)
from smartsite.hj212.pipeline import Outcome, Pipeline

NOW = datetime.datetime(2026, 11, 25, 2, 0, tzinfo=datetime.UTC)
LOCAL = datetime.datetime(2026, 11, 25, 10, 0)  # NOW in Beijing time


@dataclass(frozen=True)
class Device:
    id: int
    mn: str
    password: str = "123456"
    active: bool = True
    district_id: int | None = 7


@dataclass
class Store:
    """A kind's storage in memory: what its `write` and `save_state` were given."""

    devices: dict
    rows: list = field(default_factory=list)
    states: list = field(default_factory=list)
    rejections: list = field(default_factory=list)

    def kind(self, name: str) -> DeviceKind:
        return DeviceKind(name=name, load=lambda: Fleet(self.devices), write=self.write,
                          save_state=self.save_state, record_connections=lambda new, ended: [],
                          show_live=show_pm10)

    def write(self, rows):
        self.rows.extend(rows)
        return SimpleNamespace(stored=len(rows), duplicates=0)

    def save_state(self, updates, rejections):
        self.states.extend(updates)
        self.rejections.extend(rejections)


def show_pm10(values, flags, pm10):
    values["pm10"], flags["pm10"] = pm10, "N"


def air_reading(device, packet, now) -> Accepted:
    values = packet.values()
    if "a34002" not in values:
        raise NoValues("no PM10")
    pm10 = float(values["a34002"]["Rtd"])
    if pm10 < 0:
        raise BadPacket(f"a34002-Rtd={pm10} is negative")
    return Accepted((("air", device.id, pm10),), NOW, pm10)


def pit_reading(device, packet, now) -> Accepted:
    return Accepted((("pit", device.id, packet.values()["w01"]["Rtd"]),))


class Peer:
    """A TCP connection as the pipeline sees it."""

    transport_name = "tcp"

    def __init__(self, host: str = "10.0.0.9") -> None:
        self.peer, self.open, self.device, self.pw_failures = f"{host}:40000", True, None, 0
        self.acked: list[str] = []

    def acknowledge(self, packet, token=None):
        self.acked.append(packet.qn)

    def attach(self, device):
        self.device = self.device or device

    def pause(self): ...
    def resume(self): ...
    def send(self, packet): ...
    def close(self, reason): self.open = False


@pytest.fixture
def city():
    air = Store({"31AIR0000000000000000001": Device(1, "31AIR0000000000000000001")})
    pits = Store({"31PIT0000000000000000001": Device(1, "31PIT0000000000000000001")})
    registry = Registry()
    registry.register_kind(air.kind("air"))
    registry.register_kind(pits.kind("pits"))
    registry.register(PacketHandler("air", "2011", air_reading))  # any ST
    registry.register(PacketHandler("pits", "2011", pit_reading, st="41"))
    return SimpleNamespace(air=air, pits=pits, registry=registry)


def packet(mn: str, *, st: str = "39", cn: str = "2011", qn: str = "20261125100000001",
           **values) -> codec.Packet:
    return codec.data_packet(mn=mn, pw="123456", cn=cn, st=st, qn=qn, data_time=LOCAL,
                             values={code: {"Rtd": v} for code, v in values.items()})


def run(registry: Registry, *packets: codec.Packet) -> tuple[list[Outcome], Peer]:
    """Submit the packets on one connection, then write, acknowledge and flush."""

    async def go():
        pipeline = Pipeline(registry=registry, now=lambda: NOW)
        await pipeline.reload_registry()
        peer = Peer()
        outcomes = [pipeline.submit(peer, p) for p in packets]
        queued = [p.qn for p, o in zip(packets, outcomes, strict=True) if o == Outcome.QUEUED]
        assert not set(queued) & set(peer.acked)  # nothing is acknowledged before it is written
        await pipeline.stop()
        return outcomes, peer

    # In a thread of its own: a page test's Playwright may keep an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_each_kind_stores_its_own_devices_packets_before_they_are_acknowledged(city):
    outcomes, peer = run(city.registry,
                         packet("31AIR0000000000000000001", qn="20261125100000001", a34002="45"),
                         packet("31PIT0000000000000000001", st="41", qn="20261125100000002",
                                w01="3.5"))
    assert outcomes == [Outcome.QUEUED, Outcome.QUEUED]
    assert city.air.rows == [("air", 1, 45.0)] and city.pits.rows == [("pit", 1, "3.5")]
    assert peer.acked == ["20261125100000001", "20261125100000002"]
    # the live state a handler reports goes to its own kind
    [state] = city.air.states
    assert (state.monitor_id, state.values, state.flags, state.last_data_time) == (
        1, {"pm10": 45.0}, {"pm10": "N"}, NOW)


def test_a_kinds_handler_for_any_st_takes_its_device_even_on_another_kinds_st(city):
    outcomes, _ = run(city.registry, packet("31AIR0000000000000000001", st="41", a34002="45"))
    assert outcomes == [Outcome.QUEUED]
    assert city.air.rows == [("air", 1, 45.0)] and city.pits.rows == []


def test_a_cn_no_handler_of_the_devices_kind_takes_is_refused_as_bad_data(city):
    outcomes, peer = run(city.registry,
                         packet("31PIT0000000000000000001", st="39", w01="3.5"),  # not ST 41
                         packet("31AIR0000000000000000001", cn="2081", a34002="45"))
    assert outcomes == [Outcome.REFUSED, Outcome.REFUSED] and peer.acked == []
    assert city.air.rows == city.pits.rows == []
    [pit] = city.pits.rejections
    assert (pit.reason, pit.monitor_id, pit.district_id) == ("bad_data", 1, 7)
    assert pit.detail.endswith("ST=39 is not a system these devices upload (expected 41)")
    [air] = city.air.rejections
    assert air.detail.endswith("CN=2081 is not a data upload (expected one of 2011)")


def test_a_handlers_refusals_are_recorded_with_its_message_and_never_acknowledged(city):
    outcomes, peer = run(city.registry,
                         packet("31AIR0000000000000000001", qn="20261125100000001", a34002="-1"),
                         packet("31AIR0000000000000000001", qn="20261125100000002", a34004="20"))
    assert outcomes == [Outcome.REFUSED, Outcome.REFUSED] and peer.acked == []
    [refused] = city.air.rejections  # counted per MN and reason, the last message kept
    assert (refused.reason, refused.count, refused.detail) == (
        "bad_data", 2, "CN=2011 QN=20261125100000002: no PM10")


def test_a_split_part_without_any_value_its_handler_stores_is_answered_at_once(city):
    part = dataclasses.replace(packet("31AIR0000000000000000001", a34004="20"),
                               flag=codec.FLAG_2017 | codec.FLAG_A | codec.FLAG_D, pnum=2, pno=1)
    outcomes, peer = run(city.registry, part)
    assert outcomes == [Outcome.HANDLED] and peer.acked == [part.qn]
    assert city.air.rows == [] and city.air.rejections == []


def test_an_unknown_mn_is_recorded_by_the_kind_that_handles_its_st_and_cn(city):
    run(city.registry, packet("31NEW0000000000000000001", st="41", w01="1"),
        packet("31NEW0000000000000000002", st="39", a34002="45"))
    assert [(r.mn, r.reason, r.monitor_id) for r in city.pits.rejections] == [
        ("31NEW0000000000000000001", "unknown_mn", None)]
    assert [(r.mn, r.reason) for r in city.air.rejections] == [
        ("31NEW0000000000000000002", "unknown_mn")]


def test_the_exact_st_wins_over_any_st_and_a_second_handler_for_the_same_key_is_refused():
    registry = Registry()
    registry.register(PacketHandler("air", "2011", air_reading))
    registry.register(PacketHandler("air", "2011", pit_reading, st="41"))
    assert registry.lookup("41", "2011", "air").handle is pit_reading
    assert registry.lookup("39", "2011", "air").handle is air_reading
    assert registry.lookup("39", "2011", "pits") is None
    registry.register(PacketHandler("air", "2011", air_reading))  # the same again: harmless
    with pytest.raises(ValueError, match="ST=any CN=2011 has a handler already"):
        registry.register(PacketHandler("air", "2011", pit_reading))
    with pytest.raises(ValueError, match="CN must be 4 digits"):
        registry.register(PacketHandler("air", "201", air_reading))
