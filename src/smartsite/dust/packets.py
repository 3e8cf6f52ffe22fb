"""The dust scenario's HJ 212 devices as the gateway sees them (`hj212.handlers`): the monitors
it validates packets against, the handlers that turn their packets into rows, and where those
rows and the gateway's records of each monitor go (`dust.ingest`).

    monitors (re-read every 30 s): MN → readings.MonitorInfo (PW, active, unit, linked sprays)
    CN 2011 / 2051 / 2061 / 2031, any ST → `reading`: a Reading row (and a day upload's
        day/night noise figures), the monitor's live values and reported position
    CN 2021, any ST → `spray`: the linked spray/fog cannons' states

`register_packet_handlers()` registers them; it runs when Django starts (`DustConfig.ready`).
"""

from __future__ import annotations

import collections
import datetime

from django.db import transaction
from django.utils import timezone

from smartsite.dust import ingest
from smartsite.dust.ingest import ReadingRow
from smartsite.dust.metrics import DATA_CNS, METRICS
from smartsite.dust.models import Monitor, MonitorConnection, MonitorStatus, SprayDevice
from smartsite.dust.partitions import ensure_partitions
from smartsite.dust.readings import (
    FACILITY_STATE_CN,
    MonitorInfo,
    NoValues,
    noise_day_row,
    reading_row,
    reported_position,
    spray_rows,
)
from smartsite.hj212 import handlers
from smartsite.hj212.codec import Packet
from smartsite.hj212.handlers import Accepted, DeviceKind, Fleet, PacketHandler

KIND = "dust"
_COLUMNS = tuple(m.column for m in METRICS)


# ---------------------------------------------------------------- packets → rows (pure)


def reading(monitor: MonitorInfo, packet: Packet, now: datetime.datetime) -> Accepted:
    """A data upload's rows: its reading (a split part's marked for merging with its
    siblings), and for a day upload its day/night noise figures; the reading's values (and
    the position the device reports) become the monitor's live state (`show_live`)."""
    cn = int(packet.cn)
    values = packet.values()
    local = packet.data_time()
    day = noise_day_row(monitor, cn, local, values, now=now)
    try:
        row = reading_row(monitor, cn, local, values, now=now)
    except NoValues:
        if day is None:
            raise
        return Accepted((day,))
    if packet.is_split:
        row.part = True
    position = reported_position(values)
    return Accepted((row,) if day is None else (row, day), row.data_time, (row, position))


def show_live(values: dict, flags: dict, live: tuple[ReadingRow, tuple | None]) -> None:
    """A reading's values (3 decimals) and flags over the monitor's live ones (a value the
    reading lacks keeps the last one), and the position its device reports."""
    row, position = live
    for column, value, flag in zip(_COLUMNS, row.values, row.flags, strict=True):
        if value is not None:
            values[column] = round(value, 3)
            flags[column] = flag
    if position is not None:
        values["lng"], values["lat"] = position


def spray(monitor: MonitorInfo, packet: Packet, now: datetime.datetime) -> Accepted:
    """A facility-state upload (CN 2021): the linked spray/fog cannons on or off."""
    values = packet.values()
    return Accepted(tuple(spray_rows(monitor, packet.data_time(), values, now=now)))


# ---------------------------------------------------------------- the gateway's threads


def load() -> Fleet:
    """Every registered monitor by MN (with its active linked sprays), and the district of
    each address a monitor was last seen at (a refused stranger there is shown to it)."""
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
    return Fleet(monitors, peers)


def proven_hosts(trust: float) -> list[tuple[str, str, float]]:
    """(MN, host, seconds ago) of the TCP connections that showed their monitor's right PW
    within `trust` seconds: a connection is recorded only once its PW was right."""
    now = timezone.now()
    rows = MonitorConnection.objects.filter(
        transport="tcp", opened_at__gte=now - datetime.timedelta(seconds=trust)
    ).exclude(peer="").values_list("monitor__mn", "peer", "opened_at")
    return [(mn, peer.rsplit(":", 1)[0], (now - opened).total_seconds())
            for mn, peer, opened in rows.iterator()]


def save_state(updates, rejections) -> None:
    with transaction.atomic():  # one flush, one transaction: a failure repeats nothing twice
        ingest.save_status(updates)
        ingest.record_rejections(rejections)


def startup() -> None:
    """Once per gateway (not per process of a group): partitions ahead, and nothing left
    marked connected by a previous run."""
    ensure_partitions()
    ingest.disconnect_all("tcp")


def roll_up_some(rounds: int = 5) -> int:
    """A few rounds of `roll_up` (a backlog after downtime is worked off over several
    flushes, never holding the bookkeeping thread for long)."""
    total = 0
    for _ in range(rounds):
        done = ingest.roll_up()
        total += done
        if not done:
            break
    return total


MONITORS = DeviceKind(
    name=KIND,
    load=load,
    write=ingest.ingest,
    save_state=save_state,
    record_connections=ingest.record_connections,
    show_live=show_live,
    proven_hosts=proven_hosts,
    startup=startup,
    catch_up=roll_up_some,
    maintain=ensure_partitions,
)

#: Every ST (HJ 212-2017 39 dust, 22 air, 23 noise, or a vendor's own): docs/hj212.md.
HANDLERS = (
    *(PacketHandler(KIND, str(cn), reading) for cn in sorted(DATA_CNS)),
    PacketHandler(KIND, str(FACILITY_STATE_CN), spray),
)


def register_packet_handlers(registry: handlers.Registry = handlers.REGISTRY) -> None:
    """Make the gateway take dust monitors' packets (safe to call more than once)."""
    registry.register_kind(MONITORS)
    for handler in HANDLERS:
        registry.register(handler)
