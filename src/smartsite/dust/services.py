"""The write path of the dust scenario (design.md §2 rule 1): monitor registration, reading
ingest with its means, the gateway's status/connection/rejection records, and maintenance.

`ingest()` is what "acknowledged means durable" rests on (rule 6): it returns only after the
readings and the means they feed are committed, and a re-sent reading (same monitor, CN and
DataTime; rule 5) is counted as a duplicate and changes nothing.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import AuditAction
from smartsite.dust import permissions
from smartsite.dust.metrics import METRICS, ROLLED_UP, ROLLUP_SOURCE_CN
from smartsite.dust.models import (
    DeviceRejection,
    Monitor,
    MonitorConnection,
    MonitorStatus,
    SprayDevice,
)
from smartsite.dust.partitions import is_postgres

READING_COLUMNS = ("monitor_id", "cn", "data_time", "received_at", "flags",
                   *(m.column for m in METRICS))
MEAN_PERIODS = (900, 3600, 86400)
# Buckets are aligned to Shanghai time (UTC+8, no DST): 15-minute and hour buckets are the same
# in UTC; a day starts at 16:00 UTC.
SHANGHAI_OFFSET = 8 * 3600


@dataclass(slots=True)
class ReadingRow:
    """One packet's values, ready to store: `values` in `metrics.METRICS` order, particulate
    already in µg/m³; `flags` one HJ 212 data flag per value ('-' for none)."""

    monitor_id: int
    cn: int
    data_time: datetime.datetime  # aware
    values: tuple[float | None, ...]
    flags: str

    @property
    def key(self) -> tuple[int, int, datetime.datetime]:
        return self.monitor_id, self.cn, self.data_time


@dataclass(slots=True)
class SprayRow:
    """One reported state of a linked spray/fog cannon (HJ 212 CN 2021 `SBn-RS`)."""

    device_id: int
    data_time: datetime.datetime  # aware
    running: bool

    @property
    def key(self) -> tuple[int, datetime.datetime]:
        return self.device_id, self.data_time


@dataclass(frozen=True, slots=True)
class IngestResult:
    stored: int
    duplicates: int


def ingest(rows: Sequence[ReadingRow], *, received_at: datetime.datetime | None = None
           ) -> IngestResult:
    """Store `rows` and add the new ones to the minute, 15-minute, hour and day means, in one
    transaction. PostgreSQL: COPY into a staging table, then set-based INSERT … ON CONFLICT;
    SQLite: executemany into the same staging shape."""
    if not rows:
        return IngestResult(0, 0)
    received_at = received_at or timezone.now()
    unique: dict[tuple, ReadingRow] = {}
    sprays: dict[tuple, SprayRow] = {}
    for row in rows:
        if isinstance(row, SprayRow):
            sprays.setdefault(row.key, row)
        else:
            unique.setdefault(row.key, row)
    stored = 0
    with transaction.atomic():
        if unique:
            if is_postgres():
                stored = _store_postgres(unique.values(), received_at)
            else:
                stored = _store_sqlite(unique.values(), received_at)
            if stored:
                _add_to_means()
        if sprays:
            stored += _store_sprays(sprays.values())
    return IngestResult(stored, len(rows) - stored)


def _store_sprays(rows: Iterable[SprayRow]) -> int:
    """Store spray states (a re-sent one adds nothing) and move each device's current state
    forward (never back: a late packet does not overwrite a newer state)."""
    rows = list(rows)
    stored = 0
    with connection.cursor() as cur:
        for r in rows:
            cur.execute("INSERT INTO dust_sprayreading (device_id, data_time, running) "
                        "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                        [r.device_id, connection.ops.adapt_datetimefield_value(r.data_time),
                         r.running])
            stored += cur.rowcount
    latest: dict[int, SprayRow] = {}
    for r in rows:
        if r.device_id not in latest or r.data_time > latest[r.device_id].data_time:
            latest[r.device_id] = r
    for r in latest.values():
        SprayDevice.objects.filter(pk=r.device_id).filter(
            Q(state_at__isnull=True) | Q(state_at__lt=r.data_time)).update(
            running=r.running, state_at=r.data_time)
    return stored


_COLS = ", ".join(READING_COLUMNS)


def _store_postgres(rows: Iterable[ReadingRow], received_at) -> int:
    raw = connection.connection  # psycopg 3
    with raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS dust_reading_in "
                    "(LIKE dust_reading INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
                    "CREATE TEMP TABLE IF NOT EXISTS dust_reading_new "
                    "(LIKE dust_reading INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
                    # empty already after a commit, but not inside a caller's transaction
                    "TRUNCATE dust_reading_in, dust_reading_new")
        with cur.copy(f"COPY dust_reading_in ({_COLS}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.monitor_id, r.cn, r.data_time, received_at, r.flags, *r.values))
        cur.execute(f"""
            WITH ins AS (
                INSERT INTO dust_reading ({_COLS}) SELECT {_COLS} FROM dust_reading_in
                ON CONFLICT DO NOTHING RETURNING {_COLS})
            INSERT INTO dust_reading_new ({_COLS}) SELECT {_COLS} FROM ins""")
        return cur.rowcount


def _store_sqlite(rows: Iterable[ReadingRow], received_at) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    received = adapt(received_at)
    marks = ", ".join("?" * len(READING_COLUMNS))
    cur = connection.connection.cursor()
    try:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS dust_reading_in AS "
                    "SELECT * FROM dust_reading WHERE 0")
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS dust_reading_new AS "
                    "SELECT * FROM dust_reading WHERE 0")
        cur.execute("DELETE FROM dust_reading_in")
        cur.execute("DELETE FROM dust_reading_new")
        cur.executemany(f"INSERT INTO dust_reading_in ({_COLS}) VALUES ({marks})",
                        [(r.monitor_id, r.cn, adapt(r.data_time), received, r.flags, *r.values)
                         for r in rows])
        cur.execute(f"""
            INSERT INTO dust_reading_new ({_COLS}) SELECT {_COLS} FROM dust_reading_in i
             WHERE NOT EXISTS (SELECT 1 FROM dust_reading r WHERE r.monitor_id = i.monitor_id
                                  AND r.cn = i.cn AND r.data_time = i.data_time)""")
        stored = cur.rowcount
        cur.execute(f"INSERT INTO dust_reading ({_COLS}) SELECT {_COLS} FROM dust_reading_new")
        return stored
    finally:
        cur.close()


def _bucket_sql(seconds: int) -> str:
    if is_postgres():
        return (f"date_bin('{seconds} seconds', data_time, "
                f"TIMESTAMPTZ '2000-01-01 00:00:00+08')")
    return (f"datetime((CAST(strftime('%s', data_time) AS INTEGER) + {SHANGHAI_OFFSET}) "
            f"/ {seconds} * {seconds} - {SHANGHAI_OFFSET}, 'unixepoch')")


def _mean_select() -> tuple[list[str], list[str], list[str]]:
    """Column names, aggregate expressions and ON CONFLICT assignments of the mean tables."""
    names, aggregates, updates = ["samples"], ["count(*)"], ["samples = t.samples + excluded.samples"]
    for metric in ROLLED_UP:
        c = metric.column
        position = METRICS.index(metric) + 1
        valid = f"substr(flags, {position}, 1) = 'N' AND {c} IS NOT NULL"
        value = f"power(10.0, {c} / 10.0)" if metric.energy_mean else c
        names += [f"n_{c}", f"sum_{c}", f"max_{c}"]
        aggregates += [f"sum(CASE WHEN {valid} THEN 1 ELSE 0 END)",
                       f"coalesce(sum(CASE WHEN {valid} THEN {value} END), 0)",
                       f"max(CASE WHEN {valid} THEN {c} END)"]
        updates += [f"n_{c} = t.n_{c} + excluded.n_{c}",
                    f"sum_{c} = t.sum_{c} + excluded.sum_{c}",
                    f"max_{c} = CASE WHEN excluded.max_{c} IS NULL THEN t.max_{c} "
                    f"WHEN t.max_{c} IS NULL OR excluded.max_{c} > t.max_{c} "
                    f"THEN excluded.max_{c} ELSE t.max_{c} END"]
    return names, aggregates, updates


def _add_to_means() -> None:
    names, aggregates, updates = _mean_select()
    cols, aggs, sets = ", ".join(names), ", ".join(aggregates), ", ".join(updates)
    source = f"FROM dust_reading_new WHERE cn = {ROLLUP_SOURCE_CN}"
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO dust_minutemean AS t (monitor_id, bucket, {cols})
            SELECT monitor_id, {_bucket_sql(60)}, {aggs} {source} GROUP BY 1, 2
            ON CONFLICT (monitor_id, bucket) DO UPDATE SET {sets}""")
        for period in MEAN_PERIODS:
            cur.execute(f"""
                INSERT INTO dust_periodmean AS t (monitor_id, period, bucket, {cols})
                SELECT monitor_id, {period}, {_bucket_sql(period)}, {aggs} {source}
                 GROUP BY 1, 2, 3
                ON CONFLICT (monitor_id, period, bucket) DO UPDATE SET {sets}""")


# ---------------------------------------------------------------- gateway records


@dataclass(slots=True)
class StatusUpdate:
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


# Several gateway processes may write one monitor (a device reconnects to another process
# while the first still holds its dead connection): a stale write never wins — values and
# the connection are taken only from the newer update or the same connection; packets add up.
_FRESH = "(excluded.last_seen >= t.last_seen OR excluded.peer = t.peer OR t.last_seen IS NULL)"
_STATUS_SQL = f"""
    INSERT INTO dust_monitorstatus AS t (monitor_id, last_seen, last_data_time, "values", flags,
                                         connected, transport, peer, connected_since, packets)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (monitor_id) DO UPDATE SET
        last_seen = CASE WHEN {_FRESH} THEN excluded.last_seen ELSE t.last_seen END,
        last_data_time = CASE WHEN excluded.last_data_time IS NOT NULL AND (
                                   t.last_data_time IS NULL
                                   OR excluded.last_data_time > t.last_data_time)
                              THEN excluded.last_data_time ELSE t.last_data_time END,
        "values" = CASE WHEN excluded."values" <> '{{}}' AND {_FRESH}
                        THEN excluded."values" ELSE t."values" END,
        flags = CASE WHEN excluded.flags <> '{{}}' AND {_FRESH}
                     THEN excluded.flags ELSE t.flags END,
        connected = CASE WHEN {_FRESH} THEN excluded.connected ELSE t.connected END,
        transport = CASE WHEN {_FRESH} THEN excluded.transport ELSE t.transport END,
        peer = CASE WHEN {_FRESH} THEN excluded.peer ELSE t.peer END,
        connected_since = CASE WHEN {_FRESH} THEN excluded.connected_since
                               ELSE t.connected_since END,
        packets = t.packets + excluded.packets"""


def save_status(updates: Sequence[StatusUpdate]) -> None:
    """Write the gateway's live state of some monitors: one upsert, nothing read first (it
    runs every few seconds for thousands of monitors). A monitor's values and flags are kept
    when an update carries none (a reply, not a reading)."""
    if not updates:
        return
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(u.monitor_id, adapt(u.last_seen), adapt(u.last_data_time),
             json.dumps(u.values, sort_keys=True), json.dumps(u.flags, sort_keys=True),
             u.connected, u.transport, u.peer[:60], adapt(u.connected_since), u.packets)
            for u in updates]
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(_STATUS_SQL, rows)


def disconnect_all(transport: str = "tcp") -> int:
    """At gateway start: nothing is connected yet, whatever the last run left behind."""
    now = timezone.now()
    MonitorConnection.objects.filter(transport=transport, closed_at__isnull=True).update(
        closed_at=now, close_reason="网关重启")
    return MonitorStatus.objects.filter(transport=transport, connected=True).update(
        connected=False)


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


def record_connections(opened: Sequence[ConnectionRecord],
                       closed: Sequence[ConnectionRecord]) -> list[int]:
    """Write new connections (already closed ones with their end) and the end of earlier
    ones, in bulk; returns the new rows' ids in `opened`'s order."""
    with transaction.atomic():
        rows = MonitorConnection.objects.bulk_create([
            MonitorConnection(monitor_id=c.monitor_id, transport=c.transport, peer=c.peer[:60],
                              opened_at=c.opened_at, closed_at=c.closed_at, packets=c.packets,
                              rejected=c.rejected, close_reason=c.close_reason[:100])
            for c in opened])
        if closed:
            MonitorConnection.objects.bulk_update([
                MonitorConnection(pk=c.id, closed_at=c.closed_at, packets=c.packets,
                                  rejected=c.rejected, close_reason=c.close_reason[:100])
                for c in closed], ["closed_at", "packets", "rejected", "close_reason"])
    return [row.pk for row in rows]


@dataclass(slots=True)
class Rejection:
    mn: str
    reason: str  # choices.RejectReason
    detail: str
    peer: str
    at: datetime.datetime
    count: int = 1
    monitor_id: int | None = None
    district_id: int | None = None


_REJECTION_SQL = """
    INSERT INTO dust_devicerejection AS t (mn, reason, monitor_id, district_id, detail, peer,
                                           first_seen, last_seen, count)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (mn, reason) DO UPDATE SET
        count = t.count + excluded.count,
        last_seen = CASE WHEN excluded.last_seen > t.last_seen THEN excluded.last_seen
                         ELSE t.last_seen END,
        detail = excluded.detail, peer = excluded.peer,
        monitor_id = coalesce(excluded.monitor_id, t.monitor_id),
        district_id = coalesce(t.district_id, excluded.district_id)"""


def record_rejections(rejections: Sequence[Rejection]) -> None:
    """Count refused packets per device and reason (one upsert: several gateway processes may
    count the same device at once); a known monitor's refusal (wrong password, stopped device)
    also shows in its district's event center."""
    from smartsite.workorders.services import raise_event

    if not rejections:
        return
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(_REJECTION_SQL, [
            (r.mn, r.reason, r.monitor_id, r.district_id, r.detail[:200], r.peer[:60],
             adapt(r.at), adapt(r.at), r.count) for r in rejections])
    known = [r for r in rejections if r.monitor_id is not None]
    if not known:
        return
    monitors = Monitor.objects.select_related("project").in_bulk([r.monitor_id for r in known])
    rows = {(row.mn, row.reason): row for row in DeviceRejection.objects.filter(
        mn__in=[r.mn for r in known])}
    for r in known:
        monitor, row = monitors.get(r.monitor_id), rows.get((r.mn, r.reason))
        if monitor is None or row is None:
            continue
        raise_event(scenario="dust", rule="device_rejected", project=monitor.project,
                    dedup_key=f"dust:rejected:{r.mn}", subject=r.mn, severity="info",
                    title=f"监测设备报文被拒收：{monitor.mn[-6:]} {row.get_reason_display()}",
                    evidence={"mn": r.mn, "reason": row.get_reason_display(),
                              "detail": r.detail, "peer": r.peer, "count": row.count},
                    occurred_at=r.at)


# ---------------------------------------------------------------- registry


def register_monitor(*, project, mn: str, password: str, location: str = "", actor=None,
                     **fields) -> Monitor:
    """Add a monitor (validated like the form); the gateway accepts it within its refresh.
    With an `actor` (a person, not the simulator) the permission is checked and the change
    audited (the PW is never copied into the audit trail)."""
    if actor is not None:
        permissions.require_manage(actor, project)
    monitor = Monitor(project=project, mn=mn, password=password, location=location, **fields)
    monitor.full_clean()
    with transaction.atomic():
        monitor.save()
        if actor is not None:
            audit.record(actor, monitor, AuditAction.CREATE,
                         audit.diff(None, audit.snapshot(monitor)))
    return monitor


def update_monitor(monitor: Monitor, *, actor=None, **fields) -> Monitor:
    """Change a monitor's registration (validated like the form; nothing is saved when it is
    refused); the gateway picks the change up within its refresh."""
    if actor is not None:
        permissions.require_manage(actor, monitor.project)
        if "project" in fields:
            permissions.require_manage(actor, fields["project"])
    before = audit.snapshot(monitor)
    for name, value in fields.items():
        setattr(monitor, name, value)
    monitor.full_clean()
    with transaction.atomic():
        monitor.save()
        changes = audit.diff(before, audit.snapshot(monitor))
        if actor is not None and changes:
            audit.record(actor, monitor, AuditAction.UPDATE, changes)
    return monitor
