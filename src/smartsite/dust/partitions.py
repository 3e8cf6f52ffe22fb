"""Time partitions of the reading and mean tables on PostgreSQL, and retention everywhere.

On PostgreSQL `dust_reading` is range-partitioned by day and `dust_periodmean` by month
(design.md §2 rule 7; minute means are the readings grouped, `dust.minutes`); a DEFAULT
partition catches rows outside the prepared range (a monitor back-filling last year's
data), and a partition created later takes its rows over. Retention drops whole
partitions, so it costs nothing however large the
tables grow. On SQLite (the demo) the same retention deletes rows.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction

log = logging.getLogger(__name__)

UTC = datetime.UTC


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    column: str
    monthly: bool  # else daily
    primary_key: tuple[str, ...]
    retention_setting: str

    def bounds(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime, str]:
        """The partition holding `day`: [start, end) in UTC midnight terms, and its name.
        Boundaries are UTC days/months; queries never depend on where a partition ends."""
        if self.monthly:
            start = datetime.date(day.year, day.month, 1)
            end = datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            name = f"{self.table}_p{start:%Y%m}"
        else:
            start, end = day, day + datetime.timedelta(days=1)
            name = f"{self.table}_p{start:%Y%m%d}"
        as_dt = lambda d: datetime.datetime(d.year, d.month, d.day, tzinfo=UTC)  # noqa: E731
        return as_dt(start), as_dt(end), name


TABLES = (
    PartitionedTable("dust_reading", "data_time", False, ("monitor_id", "cn", "data_time"),
                     "READING_RETENTION_DAYS"),
    PartitionedTable("dust_periodmean", "bucket", True, ("monitor_id", "period", "bucket"),
                     "PERIOD_MEAN_RETENTION_DAYS"),
)


def is_postgres(connection=None) -> bool:
    return (connection or default_connection).vendor == "postgresql"


def convert_to_partitioned(schema_editor) -> None:
    """Migration step: turn the freshly created (empty) tables into partitioned ones."""
    connection = schema_editor.connection
    if not is_postgres(connection):
        return
    with connection.cursor() as cursor:
        for t in TABLES:
            cols = ", ".join(t.primary_key)
            cursor.execute(f"""
                CREATE TABLE {t.table}_new (LIKE {t.table} INCLUDING DEFAULTS INCLUDING STORAGE)
                    PARTITION BY RANGE ({t.column});
                DROP TABLE {t.table};
                ALTER TABLE {t.table}_new RENAME TO {t.table};
                ALTER TABLE {t.table} ADD CONSTRAINT {t.table}_pkey PRIMARY KEY ({cols});
                CREATE TABLE {t.table}_default PARTITION OF {t.table} DEFAULT;
            """)
        # Scans of a time range across monitors (exports, retention checks) use BRIN: a few
        # pages per partition instead of a B-tree as large as the data.
        cursor.execute("CREATE INDEX dust_reading_time_brin ON dust_reading USING brin (data_time)")
    ensure_partitions(connection=connection)


def ensure_partitions(since: datetime.date | None = None, until: datetime.date | None = None,
                      *, connection=None) -> list[str]:
    """Create the partitions covering [since, until] (default: yesterday to a week ahead),
    moving any rows the DEFAULT partition holds for them. Returns the names created."""
    connection = connection or default_connection
    if not is_postgres(connection):
        return []
    today = datetime.datetime.now(UTC).date()
    since = since or today - datetime.timedelta(days=1)
    until = until or today + datetime.timedelta(days=7)
    created = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'dust\\_%\\_p%'")
        existing = {row[0] for row in cursor.fetchall()}
        for t in TABLES:
            day = since
            while day <= until:
                start, end, name = t.bounds(day)
                day = end.date()
                if name in existing:
                    continue
                with transaction.atomic(using=connection.alias):
                    cursor.execute(f"""
                        CREATE TABLE {name} (LIKE {t.table} INCLUDING DEFAULTS INCLUDING STORAGE);
                        WITH moved AS (
                            DELETE FROM {t.table}_default
                             WHERE {t.column} >= %(start)s AND {t.column} < %(end)s RETURNING *)
                        INSERT INTO {name} SELECT * FROM moved;
                        ALTER TABLE {t.table} ATTACH PARTITION {name}
                            FOR VALUES FROM (%(start)s) TO (%(end)s);
                    """, {"start": start, "end": end})
                existing.add(name)
                created.append(name)
    if created:
        log.info("created partitions: %s", ", ".join(created))
    return created


def apply_retention(now: datetime.datetime | None = None, *, connection=None) -> dict[str, int]:
    """Drop (PostgreSQL) or delete (SQLite) what is older than each table's retention.
    Returns partitions dropped or rows deleted per table."""
    connection = connection or default_connection
    now = now or datetime.datetime.now(UTC)
    done: dict[str, int] = {}
    for t in TABLES:
        days = getattr(settings, t.retention_setting)
        if days <= 0:
            continue
        cutoff = now - datetime.timedelta(days=days)
        with connection.cursor() as cursor:
            if is_postgres(connection):
                cursor.execute("""
                    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
                      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = %s::regclass AND c.relname <> %s""",
                               [t.table, f"{t.table}_default"])
                dropped = 0
                for name, _bound in cursor.fetchall():
                    _start, end, _name = t.bounds(_partition_day(name))
                    if end <= cutoff:
                        cursor.execute(f"DROP TABLE {name}")
                        dropped += 1
                # rows that landed in DEFAULT (outside every partition) age out as well
                cursor.execute(f"DELETE FROM {t.table}_default WHERE {t.column} < %s", [cutoff])
                done[t.table] = dropped
            else:
                cursor.execute(f"DELETE FROM {t.table} WHERE {t.column} < %s", [cutoff])
                done[t.table] = cursor.rowcount
    return done


def _partition_day(name: str) -> datetime.date:
    stamp = name.rsplit("_p", 1)[1]
    if len(stamp) == 6:
        return datetime.date(int(stamp[:4]), int(stamp[4:]), 1)
    return datetime.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))


COMPACTED = "compacted"  # the comment on a reading partition whose primary key was rebuilt
COMPACT_AFTER = datetime.timedelta(hours=2)  # past a day's end: late packets have arrived


def compact_closed(now: datetime.datetime | None = None, *, connection=None) -> list[str]:
    """PostgreSQL: rebuild the primary key of each daily reading partition whose day has
    ended (and COMPACT_AFTER more), once. Written while the day runs, the key is about half
    empty — each monitor's next minute lands in the middle of the index, and those pages
    split in two — and rebuilt it is ~90 % full: ~40 % less index per reading
    (docs/performance.md). REINDEX … CONCURRENTLY: late packets for that day are still
    stored meanwhile. Returns the partitions rebuilt."""
    connection = connection or default_connection
    if not is_postgres(connection) or connection.in_atomic_block:
        return []
    now = now or datetime.datetime.now(UTC)
    done = []
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'dust_reading'::regclass AND c.relname <> 'dust_reading_default'
               AND obj_description(c.oid, 'pg_class') IS DISTINCT FROM %s ORDER BY 1""",
                       [COMPACTED])
        for (name,) in cursor.fetchall():
            _start, end, _name = TABLES[0].bounds(_partition_day(name))
            if end + COMPACT_AFTER > now:
                continue
            cursor.execute(f"REINDEX TABLE CONCURRENTLY {name}")
            cursor.execute(f"COMMENT ON TABLE {name} IS '{COMPACTED}'")
            done.append(name)
    if done:
        log.info("compacted reading partitions: %s", ", ".join(done))
    return done


def maintain(now: datetime.datetime | None = None) -> None:
    """The worker's chore every few hours: partitions a week ahead, retention behind, the
    closed days' reading indexes compacted."""
    ensure_partitions()
    apply_retention(now)
    compact_closed(now)
