"""The dust scenario's storage of device data (design.md §2 rules 5 and 6): readings and their
means, spray states and day/night noise figures, the hour and day roll-ups, and the gateway's
records of each monitor (live state, connection history, refused packets).

`ingest()` is what "acknowledged means durable" rests on (rule 6): it returns only after the
readings and the means they feed are committed, and a re-sent reading (same monitor, CN and
DataTime; rule 5) is counted as a duplicate and changes nothing. The registry (monitors,
sprays, inspections, maintenance, reviews) is written by `dust.services`.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from smartsite.dust import minutes
from smartsite.dust.choices import RejectReason
from smartsite.dust.metrics import METRICS, ROLLUP_SOURCE_CN
from smartsite.dust.models import (
    DeviceRejection,
    Monitor,
    MonitorConnection,
    MonitorStatus,
    SprayDevice,
)
from smartsite.dust.partitions import is_postgres
from smartsite.hj212.handlers import ConnectionRecord, Rejection, StatusUpdate

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
    part: bool = False  # one self-contained part of a split packet: merged into its reading

    @property
    def key(self) -> tuple[int, int, datetime.datetime]:
        return self.monitor_id, self.cn, self.data_time

    def merged(self, other: ReadingRow) -> ReadingRow:
        """This row with the values it lacks taken from `other` (a later part)."""
        values, flags = list(self.values), list(self.flags)
        for i, value in enumerate(other.values):
            if values[i] is None and value is not None:
                values[i], flags[i] = value, other.flags[i]
        return ReadingRow(self.monitor_id, self.cn, self.data_time, tuple(values),
                          "".join(flags), self.part and other.part)


@dataclass(slots=True)
class NoiseDayRow:
    """A day upload's day/night noise figures (`models.NoiseDay`)."""

    monitor_id: int
    day: datetime.date
    day_leq: float | None = None
    night_leq: float | None = None
    ldn: float | None = None
    day_max: float | None = None
    night_max: float | None = None

    @property
    def key(self) -> tuple[int, datetime.date]:
        return self.monitor_id, self.day


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
    """Store `rows`, add the new ones to the 15-minute means and note their hours for the
    hour and day rollup (`roll_up`), in one transaction. PostgreSQL: COPY into a staging
    table, then set-based INSERT … ON CONFLICT; SQLite: executemany into the same shape.

    Minute means are the readings themselves (`dust.minutes`); hour and day means follow
    within seconds (the gateway's bookkeeping thread and the worker call `roll_up`), off the
    acknowledgement path — and never lost: the pending row commits with the readings."""
    if not rows:
        return IngestResult(0, 0)
    received_at = received_at or timezone.now()
    unique: dict[tuple, ReadingRow] = {}
    parts: dict[tuple, ReadingRow] = {}
    sprays: dict[tuple, SprayRow] = {}
    days: dict[tuple, NoiseDayRow] = {}
    for row in rows:
        if isinstance(row, SprayRow):
            sprays.setdefault(row.key, row)
        elif isinstance(row, NoiseDayRow):
            days.setdefault(row.key, row)
        elif row.part:
            earlier = parts.get(row.key)
            parts[row.key] = row if earlier is None else earlier.merged(row)
        else:
            unique.setdefault(row.key, row)
    stored = 0
    with transaction.atomic():
        filled: list[ReadingRow] = []
        if parts:
            merged, filled = _merge_parts(parts, unique)
            stored += merged
        if unique:
            if is_postgres():
                new = _store_postgres(unique.values(), received_at)
            else:
                new = _store_sqlite(unique.values(), received_at)
            if new:
                _add_to_means()
            stored += new
        if filled:
            _add_parts_to_means(filled, received_at)
        if sprays:
            stored += _store_sprays(sprays.values())
        if days:
            stored += _store_noise_days(days.values(), received_at)
    return IngestResult(stored, len(rows) - stored)


def _merge_parts(parts: dict[tuple, ReadingRow], unique: dict[tuple, ReadingRow]
                 ) -> tuple[int, list[ReadingRow]]:
    """Self-contained parts of split packets (HJ 212-2017 附录 C 表 C.50: each answered on its
    own) share their reading: a part whose reading is not stored yet joins `unique` (inserted
    with the batch); one whose reading exists fills the columns it lacks. Returns (readings
    changed, the values newly filled in as rows — for the means). Split packets are rare: one
    small query per part is fine."""
    changed, filled = 0, []
    cols = ", ".join(m.column for m in METRICS)
    lock = " FOR UPDATE" if is_postgres() else ""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        for key, part in parts.items():
            if key in unique:
                unique[key] = unique[key].merged(part)
                continue
            monitor_id, cn, data_time = key
            cur.execute(f"SELECT flags, {cols} FROM dust_reading WHERE monitor_id = %s AND cn = %s "
                        f"AND data_time = %s{lock}", [monitor_id, cn, adapt(data_time)])
            found = cur.fetchone()
            if found is None:
                unique[key] = part
                continue
            old = ReadingRow(monitor_id, cn, data_time, tuple(found[1:]), found[0])
            new = old.merged(part)
            if new.values == old.values:
                continue  # a re-sent part: nothing new
            sets = ", ".join(f"{m.column} = %s" for m in METRICS)
            cur.execute(f"UPDATE dust_reading SET flags = %s, {sets} WHERE monitor_id = %s "
                        "AND cn = %s AND data_time = %s",
                        [new.flags, *new.values, monitor_id, cn, adapt(data_time)])
            changed += 1
            if cn == ROLLUP_SOURCE_CN:
                gained = tuple(v if o is None else None
                               for v, o in zip(new.values, old.values, strict=True))
                flags = "".join(f if o is None and v is not None else "-" for f, v, o in
                                zip(new.flags, new.values, old.values, strict=True))
                filled.append(ReadingRow(monitor_id, cn, data_time, gained, flags))
    return changed, filled


def _add_parts_to_means(filled: list[ReadingRow], received_at) -> None:
    """Add the values later parts filled into existing readings to the means: the same sums,
    with no extra sample (the reading was counted when its first part came)."""
    with connection.cursor() as cur:
        if is_postgres():
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS dust_reading_new ({_STAGING}) "
                        "ON COMMIT DELETE ROWS")
            cur.execute("TRUNCATE dust_reading_new")
        else:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS dust_reading_new AS "
                        "SELECT * FROM dust_reading WHERE 0")
            cur.execute("DELETE FROM dust_reading_new")
        adapt = connection.ops.adapt_datetimefield_value
        marks = ", ".join(["%s"] * len(READING_COLUMNS))
        cur.executemany(f"INSERT INTO dust_reading_new ({_COLS}) VALUES ({marks})",
                        [(r.monitor_id, r.cn, adapt(r.data_time), adapt(received_at), r.flags,
                          *r.values) for r in filled])
    _add_to_means(samples="0")


def _store_noise_days(rows: Iterable[NoiseDayRow], received_at) -> int:
    """Store day/night noise figures: a new day is inserted, a known one gets the figures it
    lacked (a re-sent day changes nothing)."""
    stored = 0
    columns = ("day_leq", "night_leq", "ldn", "day_max", "night_max")
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        for r in rows:
            values = [getattr(r, c) for c in columns]
            fill = ", ".join(f"{c} = coalesce(t.{c}, excluded.{c})" for c in columns)
            changed = " OR ".join(f"(t.{c} IS NULL AND excluded.{c} IS NOT NULL)" for c in columns)
            cur.execute(f"INSERT INTO dust_noiseday AS t (monitor_id, day, {', '.join(columns)}, "
                        f"received_at) VALUES (%s, %s, {', '.join(['%s'] * len(columns))}, %s) "
                        f"ON CONFLICT (monitor_id, day) DO UPDATE SET {fill} WHERE {changed}",
                        [r.monitor_id, connection.ops.adapt_datefield_value(r.day), *values,
                         adapt(received_at)])
            stored += cur.rowcount
    return stored


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
_KEY = "monitor_id, cn, data_time"
# The staging tables keep the packets' values as doubles (the stored columns are `real`), so
# the 15-minute means are summed from the numbers the packets carried.
_STAGING = ("monitor_id bigint, cn smallint, data_time timestamptz, received_at timestamptz, "
            "flags varchar(32), " + ", ".join(f"{m.column} double precision" for m in METRICS))


def _store_postgres(rows: Iterable[ReadingRow], received_at) -> int:
    raw = connection.connection  # psycopg 3
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS dust_reading_stage ({_STAGING}) "
                    "ON COMMIT DELETE ROWS; "
                    f"CREATE TEMP TABLE IF NOT EXISTS dust_reading_new ({_STAGING}) "
                    "ON COMMIT DELETE ROWS; "
                    # empty already after a commit, but not inside a caller's transaction
                    "TRUNCATE dust_reading_stage, dust_reading_new")
        with cur.copy(f"COPY dust_reading_stage ({_COLS}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.monitor_id, r.cn, r.data_time, received_at, r.flags, *r.values))
        cur.execute(f"""
            WITH ins AS (
                INSERT INTO dust_reading ({_COLS}) SELECT {_COLS} FROM dust_reading_stage
                ON CONFLICT DO NOTHING RETURNING {_KEY})
            INSERT INTO dust_reading_new ({_COLS})
            SELECT {", ".join(f"s.{c}" for c in READING_COLUMNS)}
              FROM dust_reading_stage s JOIN ins USING ({_KEY})""")
        return cur.rowcount


def _store_sqlite(rows: Iterable[ReadingRow], received_at) -> int:
    # A batch's readings share few distinct times (a minute for every monitor): Django's
    # adaptation (make_naive, then str: ~3 µs) is done once per time, not once per reading.
    adapt = functools.cache(connection.ops.adapt_datetimefield_value)
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


def _bucket_sql(seconds: int, column: str = "data_time") -> str:
    return minutes.bucket_sql(seconds, column, params=False)


def _mean_select() -> tuple[list[str], list[str], list[str]]:
    """Column names, aggregate expressions and ON CONFLICT assignments of the mean tables."""
    names, aggregates = minutes.aggregates()
    updates = []
    for name in names:
        if name.startswith("max_"):
            updates.append(f"{name} = CASE WHEN excluded.{name} IS NULL THEN t.{name} "
                           f"WHEN t.{name} IS NULL OR excluded.{name} > t.{name} "
                           f"THEN excluded.{name} ELSE t.{name} END")
        else:
            updates.append(f"{name} = t.{name} + excluded.{name}")
    return names, aggregates, updates


def _add_to_means(samples: str = "count(*)") -> None:
    """The new readings (`dust_reading_new`) into their 15-minute means, and their hours
    into `dust_rolluppending` (one row per hour of the batch, listing its monitors).
    `samples`: what a row counts for (0 for values a later part of a split packet filled
    into a stored reading)."""
    names, aggregates, updates = _mean_select()
    aggregates[0] = samples
    cols, aggs, sets = ", ".join(names), ", ".join(aggregates), ", ".join(updates)
    source = f"FROM dust_reading_new WHERE cn = {ROLLUP_SOURCE_CN}"
    monitors = ("to_jsonb(array_agg(DISTINCT monitor_id))" if is_postgres()
                else "json_group_array(DISTINCT monitor_id)")
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO dust_periodmean AS t (monitor_id, period, bucket, {cols})
            SELECT monitor_id, 900, {_bucket_sql(900)}, {aggs} {source}
             GROUP BY 1, 2, 3
            ON CONFLICT (monitor_id, period, bucket) DO UPDATE SET {sets}""")
        cur.execute(f"""
            INSERT INTO dust_rolluppending (bucket, monitors)
            SELECT {_bucket_sql(3600)}, {monitors} {source} GROUP BY 1""")


# ---------------------------------------------------------------- hour and day rollups

ROLLUP_LOCK = 212_3600  # pg advisory lock: one roll-up at a time (gateways and workers)
SHANGHAI_TZ = datetime.timezone(datetime.timedelta(seconds=SHANGHAI_OFFSET))


def _day_of(bucket: datetime.datetime) -> datetime.datetime:
    local = bucket.astimezone(SHANGHAI_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(datetime.UTC)


def roll_up(*, limit: int = 200) -> int:
    """Roll the 15-minute means of up to `limit` pending batch-hours up into their hour and
    day means; returns the monitor-hours rolled up (0: nothing pending, or another process
    is rolling up right now). Hour = the sums of its four quarters, day = of its 24 hours,
    recomputed, not added to: a repeat changes nothing.

    The pending rows are deleted in the transaction that writes the means, and they commit
    with the readings they stand for: a killed gateway or worker leaves them for the next
    call. Rows a batch commits while this runs are left for the next call too (they were not
    deleted), so nothing is missed."""
    with transaction.atomic(), connection.cursor() as cur:
        if is_postgres():
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [ROLLUP_LOCK])
            if not cur.fetchone()[0]:
                return 0
        cur.execute("DELETE FROM dust_rolluppending WHERE id IN ("
                    "SELECT id FROM dust_rolluppending ORDER BY id LIMIT %s) "
                    "RETURNING bucket, monitors", [limit])
        hours: set[tuple[int, datetime.datetime]] = set()
        for bucket, monitor_ids in cur.fetchall():
            if isinstance(monitor_ids, str):
                monitor_ids = json.loads(monitor_ids)
            bucket = minutes.to_datetime(bucket)
            hours.update((int(m), bucket) for m in monitor_ids)
        if not hours:
            return 0
        _recompute(cur, 3600, 900, hours)
        _recompute(cur, 86400, 3600, {(m, _day_of(b)) for m, b in hours})
    return len(hours)


def roll_up_all() -> int:
    """`roll_up` until nothing is pending (the worker, a test, the simulator)."""
    total = 0
    while done := roll_up():
        total += done
    return total


def _recompute(cur, period: int, source: int, keys: set) -> None:
    names, _aggregates, _updates = _mean_select()
    cols = ", ".join(names)
    sums = ", ".join(f"max(s.{n})" if n.startswith("max_") else f"sum(s.{n})" for n in names)
    sets = ", ".join(f"{n} = excluded.{n}" for n in names)
    keys = sorted(keys)
    if is_postgres():
        wanted = "unnest(%s::bigint[], %s::timestamptz[]) AS d(monitor_id, bucket)"
        end = f"d.bucket + interval '{period} seconds'"
        params = [[m for m, _b in keys], [b for _m, b in keys]]
    else:
        adapt = connection.ops.adapt_datetimefield_value
        wanted = ("(SELECT json_extract(value, '$[0]') AS monitor_id, "
                  "json_extract(value, '$[1]') AS bucket FROM json_each(%s)) AS d")
        end = f"datetime(d.bucket, '+{period} seconds')"
        params = [json.dumps([[m, adapt(b)] for m, b in keys])]
    cur.execute(f"""
        INSERT INTO dust_periodmean AS t (monitor_id, period, bucket, {cols})
        SELECT d.monitor_id, {period}, d.bucket, {sums}
          FROM {wanted}
          JOIN dust_periodmean s ON s.monitor_id = d.monitor_id AND s.period = {source}
           AND s.bucket >= d.bucket AND s.bucket < {end}
         GROUP BY d.monitor_id, d.bucket
        ON CONFLICT (monitor_id, period, bucket) DO UPDATE SET {sets}""", params)


# ---------------------------------------------------------------- gateway records
# (what hj212.pipeline keeps per monitor: `hj212.handlers.StatusUpdate`, `ConnectionRecord`,
# `Rejection`)

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
        locked = r.reason == RejectReason.PW_LOCKED
        raise_event(scenario="dust", rule="device_rejected", project=monitor.project,
                    dedup_key=f"dust:{'pw_locked' if locked else 'rejected'}:{r.mn}",
                    subject=r.mn, severity="warning" if locked else "info",
                    title=(f"监测设备密码被反复试错，已锁定：{monitor.mn[-6:]}" if locked else
                           f"监测设备报文被拒收：{monitor.mn[-6:]} {row.get_reason_display()}"),
                    evidence={"mn": r.mn, "reason": row.get_reason_display(),
                              "detail": r.detail, "peer": r.peer, "count": row.count},
                    occurred_at=r.at)


