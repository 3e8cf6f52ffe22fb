"""Minute means, derived from the readings instead of stored.

At one packet a minute (what monitors send) a stored minute mean held the same numbers as
the reading it came from, in a wider row: 1.3× the readings' disk (docs/performance.md). Here
a minute mean is the real-time readings (CN 2011) of that minute grouped: the same sums,
counts and maxima of valid (flag N) values that `services` builds the 15-minute means from,
so a page or a rule sees the numbers it saw before. A query names the monitors and the range
of minutes; the range becomes a `data_time` range, which PostgreSQL serves from the
readings' primary key (monitor, CN, data_time) in the one or two daily partitions it touches.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence

from django.db import connection

from smartsite.dust.metrics import METRICS, ROLLED_UP, ROLLUP_SOURCE_CN
from smartsite.dust.models import MeanMixin

MINUTE = datetime.timedelta(minutes=1)
UTC = datetime.UTC
ALL = tuple(m.column for m in ROLLED_UP)


class MinuteMean(MeanMixin):
    """One monitor's minute: `samples` real-time readings; per column `n_`, `sum_` (noise:
    energy) and `max_` of the valid values — the attributes a stored mean row had."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"<MinuteMean {self}>"


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def bucket_sql(seconds: int, column: str = "data_time", *, params: bool = True) -> str:
    """`column` floored to `seconds` (buckets aligned to Shanghai time, UTC+8, no DST), for a
    statement with `params` (SQLite's '%s' format is then written '%%s')."""
    if _postgres():
        return (f"date_bin('{seconds} seconds', {column}, "
                f"TIMESTAMPTZ '2000-01-01 00:00:00+08')")
    epoch = "'%%s'" if params else "'%s'"
    return (f"datetime((CAST(strftime({epoch}, {column}) AS INTEGER) + 28800) "
            f"/ {seconds} * {seconds} - 28800, 'unixepoch')")


def value_sql(column: str, exact: bool = False) -> str:
    """A stored value as a double. `exact`: a PostgreSQL `real` through its text (80.1, not
    80.0999985), so means from stored rows equal those from the packets' own numbers."""
    if exact and _postgres():
        return f"CAST(CAST({column} AS text) AS double precision)"
    return column


def aggregates(columns: Iterable[str] = ALL, *, exact: bool = False
               ) -> tuple[list[str], list[str]]:
    """Names and aggregate expressions of a mean row: samples, then n_, sum_, max_ per
    column. Valid values only (flag N); noise summed as energy (10^(L/10))."""
    names, exprs = ["samples"], ["count(*)"]
    for metric in (m for m in METRICS if m.column in set(columns) and m.rolled_up):
        c = metric.column
        position = METRICS.index(metric) + 1
        valid = f"substr(flags, {position}, 1) = 'N' AND {c} IS NOT NULL"
        value = value_sql(c, exact)
        if metric.energy_mean:
            value = f"power(10.0, {value} / 10.0)"
        names += [f"n_{c}", f"sum_{c}", f"max_{c}"]
        exprs += [f"sum(CASE WHEN {valid} THEN 1 ELSE 0 END)",
                  f"coalesce(sum(CASE WHEN {valid} THEN {value} END), 0)",
                  f"max(CASE WHEN {valid} THEN {value_sql(c, exact)} END)"]
    return names, exprs


def _ceil(t: datetime.datetime) -> datetime.datetime:
    floor = t.replace(second=0, microsecond=0)
    return floor if floor == t else floor + MINUTE


def _floor(t: datetime.datetime) -> datetime.datetime:
    return t.replace(second=0, microsecond=0)


def time_range(since: datetime.datetime, until: datetime.datetime, *, after: bool = False,
               through: bool = False) -> tuple[datetime.datetime, datetime.datetime]:
    """The [start, end) of `data_time` whose minutes lie in the bucket range: buckets ≥ since
    (> since with `after`) and < until (≤ until with `through`)."""
    start = _floor(since) + MINUTE if after else _ceil(since)
    end = _floor(until) + MINUTE if through else _ceil(until)
    return start, end


def _monitor_filter(monitor_ids: Sequence[int]) -> tuple[str, list]:
    ids = [int(m) for m in monitor_ids]
    if len(ids) == 1:
        return "monitor_id = %s", ids
    if _postgres():
        return "monitor_id = ANY(%s)", [ids]
    return "monitor_id IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]


def subquery(monitor_ids: Sequence[int], since: datetime.datetime, until: datetime.datetime, *,
             columns: Iterable[str] = ALL, after: bool = False, through: bool = False
             ) -> tuple[str, list]:
    """(SQL, params): one row per monitor and minute with readings — monitor_id, bucket,
    samples, n_/sum_/max_ of `columns`."""
    start, end = time_range(since, until, after=after, through=through)
    where, params = _monitor_filter(monitor_ids)
    names, exprs = aggregates(columns, exact=True)
    adapt = connection.ops.adapt_datetimefield_value
    select = ", ".join(f"{e} AS {n}" for n, e in zip(names, exprs, strict=True))
    sql = (f"SELECT monitor_id, {bucket_sql(60)} AS bucket, {select} FROM dust_reading "
           f"WHERE {where} AND cn = {ROLLUP_SOURCE_CN} AND data_time >= %s AND data_time < %s "
           f"GROUP BY 1, 2")
    return sql, [*params, adapt(start), adapt(end)]


def to_datetime(value) -> datetime.datetime | None:
    """A bucket as the database returns it (SQLite: text in UTC) → aware datetime."""
    if value is None or isinstance(value, datetime.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.datetime.fromisoformat(value).replace(tzinfo=UTC)


def query(sql: str, sub: tuple[str, list], params: Sequence = ()) -> list[tuple]:
    """Run `sql` with `{minutes}` standing for the minute means of `sub` (`subquery()`)."""
    inner, inner_params = sub
    with connection.cursor() as cur:
        cur.execute(sql.format(minutes=f"({inner}) AS minutes"), [*inner_params, *params])
        return cur.fetchall()


def minute_means(monitor_ids: Sequence[int], since: datetime.datetime,
                 until: datetime.datetime, *, columns: Iterable[str] = ALL, after: bool = False,
                 through: bool = False) -> list[MinuteMean]:
    """The minute means of `monitor_ids` in the bucket range, by monitor, oldest first."""
    if not monitor_ids:
        return []
    columns = tuple(columns)
    sub = subquery(monitor_ids, since, until, columns=columns, after=after, through=through)
    names = ["monitor_id", "bucket", *aggregates(columns)[0]]
    rows = query("SELECT * FROM {minutes} ORDER BY monitor_id, bucket", sub)
    out = []
    for row in rows:
        values = dict(zip(names, row, strict=True))
        values["bucket"] = to_datetime(values["bucket"])
        out.append(MinuteMean(**values))
    return out
