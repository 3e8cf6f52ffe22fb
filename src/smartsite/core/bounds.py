"""What a request may ask for: ids that fit the database's integer column, and dates within
the years the platform holds data for.

Anything outside is refused with a clear message (a 422 in the API, a form error on a page)
instead of reaching the database or date arithmetic, where it would be a 500: SQLite cannot
bind an integer over 2⁶³−1, PostgreSQL refuses it, and `date.max + 1 day` overflows.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError

__all__ = [
    "DATE_RANGE_MESSAGE",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_ID",
    "check_date",
    "check_moment",
    "parse_id",
]

#: The largest id a database integer column (bigint) holds.
MAX_ID = 2**63 - 1

#: The first and last day anything may be asked about. Readings before 2000 are refused at
#: ingest (`dust.readings`), and nothing the platform stores is dated after 2099.
EARLIEST_DATE = datetime.date(2000, 1, 1)
LATEST_DATE = datetime.date(2099, 12, 31)
DATE_RANGE_MESSAGE = f"应在 {EARLIEST_DATE:%Y-%m-%d} 至 {LATEST_DATE:%Y-%m-%d} 之间"


def parse_id(raw: object) -> int | None:
    """`raw` as an object id (ASCII digits, 1 … MAX_ID), or None for anything else."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def check_date(day: datetime.date | None) -> None:
    """A form field validator: refuse a day outside EARLIEST_DATE … LATEST_DATE."""
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(f"日期{DATE_RANGE_MESSAGE}", code="out_of_range")


def check_moment(moment: datetime.datetime) -> str | None:
    """Why an aware datetime is outside the supported days (in its own offset), or None."""
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        return f"时间{DATE_RANGE_MESSAGE}，实为“{moment.isoformat()}”"
    return None
