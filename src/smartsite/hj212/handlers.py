"""Who takes which HJ 212 packets: the registry the gateway's pipeline dispatches through.

The protocol layer knows no scenario. A scenario with HJ 212 devices registers, once at start
(its `AppConfig.ready()` or its scenario declaration):

* a `DeviceKind`: where its devices' registry comes from (`load`: MN → device with its PW and
  whether it is active — what every packet is validated against, re-read every 30 s), where
  their data goes (`write`: one transaction, on the pipeline's writer thread) and where the
  gateway's records of them go (live state and refusals, connection history), plus its
  start-up and background chores;
* a `PacketHandler` per (ST, CN) its devices upload: `handle(device, packet, now)` turns a
  decoded packet into the rows `write` stores (`Accepted`), or raises `BadPacket` (refused
  as bad data, with the message) or `NoValues` (nothing to store: a split packet's part is
  answered, a whole packet refused).

    handlers.register_kind(DeviceKind(name="pits", load=..., write=..., ...))
    handlers.register(PacketHandler(kind="pits", st="41", cn="2011", handle=pits_reading))

The pipeline validates a packet against the devices of every kind (an MN belongs to one
device), answers the protocol's own interaction itself (replies 9011–9014, time calibration
1013), and hands a data packet to its device's kind's handler for the packet's ST and CN — a
handler registered for that exact ST first, else the kind's handler for any ST (`st=None`).
No handler: refused as bad data. A packet from an MN no kind knows is recorded by the kind
that handles its ST and CN (else by the first kind registered).

No Django and no I/O here: the functions a kind registers run on the pipeline's threads.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from smartsite.hj212.codec import Packet


class RejectReason(enum.StrEnum):
    """Why the gateway refused a packet (a kind keeps them with its labels)."""

    UNKNOWN_MN = "unknown_mn"
    BAD_PASSWORD = "bad_password"
    INACTIVE = "inactive"
    BAD_DATA = "bad_data"
    PW_LOCKED = "pw_locked"


class BadPacket(ValueError):
    """A well-formed packet whose data its handler cannot store (the message says why)."""


class NoValues(BadPacket):
    """The packet carries none of the values its handler stores."""


class Device(Protocol):
    """What the pipeline needs to know of a registered device (a kind's own record may hold
    more: the handler receives it as `load` returned it)."""

    @property
    def id(self) -> int: ...  # unique within its kind
    @property
    def mn(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def district_id(self) -> int | None: ...  # where its refusals show (event center)


class Fleet(NamedTuple):
    """A kind's registered devices as `load` returns them."""

    devices: Mapping[str, Device]  # by MN
    peer_districts: Mapping[str, int] = {}  # host a device was last seen at → its district


@dataclass(slots=True)
class Accepted:
    """What a handler makes of one packet: the rows to store and the device's latest data."""

    rows: tuple  # what the kind's `write` stores, in order (its own row types)
    data_time: datetime.datetime | None = None  # the time of `live` (aware); None: nothing
    #: what the kind's `show_live` puts into the device's live values, when it is the newest
    #: data seen (folded there, not here: a packet costs no dict of its own)
    live: object = None


Handle = Callable[[Device, Packet, datetime.datetime], Accepted]


class Written(Protocol):
    stored: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class PacketHandler:
    """`handle` takes the packets with this CN (and ST; None: any) from devices of `kind`."""

    kind: str
    cn: str
    handle: Handle
    st: str | None = None


# ---------------------------------------------------------------- the gateway's records


@dataclass(slots=True)
class StatusUpdate:
    """A device's live state as a gateway sees it (`DeviceKind.save_state` writes it)."""

    monitor_id: int
    last_seen: datetime.datetime | None = None
    last_data_time: datetime.datetime | None = None
    values: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    connected: bool = True
    transport: str = "tcp"
    peer: str = ""
    connected_since: datetime.datetime | None = None
    packets: int = 0  # added to the running total


@dataclass(slots=True)
class ConnectionRecord:
    """A connection's history row as the gateway knows it (`id` once written)."""

    id: int | None
    monitor_id: int
    transport: str
    peer: str
    opened_at: datetime.datetime
    closed_at: datetime.datetime | None = None
    packets: int = 0
    rejected: int = 0
    close_reason: str = ""


@dataclass(slots=True)
class Rejection:
    """Refused packets of one MN for one reason since the last flush."""

    mn: str
    reason: str  # RejectReason
    detail: str
    peer: str
    at: datetime.datetime
    count: int = 1
    monitor_id: int | None = None
    district_id: int | None = None


def _nothing(*_args) -> None:
    return None


def _show_mapping(values: dict, _flags: dict, live: Mapping[str, float]) -> None:
    values.update(live)


def _no_hosts(_trust: float) -> list[tuple[str, str, float]]:
    return []


@dataclass(frozen=True)
class DeviceKind:
    """A kind of HJ 212 device: its registry, its storage, its records and chores. Every
    function runs on a pipeline thread (Django set up; `load`, `save_state`,
    `record_connections`, `proven_hosts`, `catch_up` and `maintain` on the bookkeeping
    thread, `write` on the writer thread)."""

    name: str
    load: Callable[[], Fleet]
    #: store the rows of a batch in one transaction; acknowledged once it returns. Re-sent
    #: rows must change nothing (a batch is written again after a failure).
    write: Callable[[Sequence], Written]
    #: the live state of some devices and the refusals counted since the last flush
    save_state: Callable[[Sequence[StatusUpdate], Sequence[Rejection]], None]
    #: connections opened (returns their ids, in order) and closed since the last round
    record_connections: Callable[[Sequence[ConnectionRecord], Sequence[ConnectionRecord]],
                                 list[int]]
    #: put a handler's `Accepted.live` into a device's live values and flags (name → value,
    #: name → data flag; what `save_state` gets); by default `live` is a mapping of values
    show_live: Callable[[dict, dict, object], None] = _show_mapping
    #: (MN, host, seconds ago) of connections that showed a right PW within `trust` seconds
    proven_hosts: Callable[[float], Iterable[tuple[str, str, float]]] = _no_hosts
    startup: Callable[[], object] = _nothing  # once per gateway (not per process of a group)
    catch_up: Callable[[], object] = _nothing  # after each flush: work owed off the ack path
    maintain: Callable[[], object] = _nothing  # every few hours (e.g. partitions ahead)


class Registry:
    """Device kinds and packet handlers by name and (kind, ST, CN). Registering the same thing
    twice is harmless; a different kind under a taken name, or a second handler for the same
    (kind, ST, CN), is a programming error (ValueError)."""

    def __init__(self) -> None:
        self._kinds: dict[str, DeviceKind] = {}
        self._handlers: dict[tuple[str, str | None, str], PacketHandler] = {}

    def register_kind(self, kind: DeviceKind) -> None:
        known = self._kinds.get(kind.name)
        if known is not None and known != kind:
            raise ValueError(f"HJ 212 device kind {kind.name!r} is registered already")
        self._kinds[kind.name] = kind

    def register(self, handler: PacketHandler) -> None:
        if len(handler.cn) != 4 or not handler.cn.isdigit():
            raise ValueError(f"CN must be 4 digits, got {handler.cn!r}")
        if handler.st is not None and (len(handler.st) != 2 or not handler.st.isdigit()):
            raise ValueError(f"ST must be 2 digits or None, got {handler.st!r}")
        key = (handler.kind, handler.st, handler.cn)
        known = self._handlers.get(key)
        if known is not None and known != handler:
            raise ValueError(f"{handler.kind}: ST={handler.st or 'any'} CN={handler.cn} "
                             "has a handler already")
        self._handlers[key] = handler

    def kinds(self) -> list[DeviceKind]:
        """In the order they were registered."""
        return list(self._kinds.values())

    def handlers(self, kind: str | None = None) -> list[PacketHandler]:
        return [h for h in self._handlers.values() if kind is None or h.kind == kind]

    def lookup(self, st: str, cn: str, kind: str | None = None) -> PacketHandler | None:
        """The handler of a packet with this ST and CN from a device of `kind` (None: of any
        kind, in the order they were registered): one for that exact ST first, then one for
        any ST."""
        names = (kind,) if kind is not None else tuple(self._kinds)
        for wanted in (st, None):
            for name in names:
                found = self._handlers.get((name, wanted, cn))
                if found is not None:
                    return found
        return None


#: The registry the gateway runs with (scenarios fill it when Django starts).
REGISTRY = Registry()
register_kind = REGISTRY.register_kind
register = REGISTRY.register
lookup = REGISTRY.lookup
kinds = REGISTRY.kinds
