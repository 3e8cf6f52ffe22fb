"""The attendance rules as pure functions (no ORM, no clock): a day's status from its
check-ins, the counting window of a post, a month's construction days, the monthly rate, the
leave cap and the mid-month outlook. services.py and detectors.py feed them what they read.

The rules (沪住建规范〔2022〕12号 as issue 15 states them; docs/attendance.md):

* a day is valid when the first accepted entry and the last accepted exit after it are at
  least `min_day_span_hours` apart (5 h: 4:59:59 is short, 5:00:00 is valid);
* a month's construction days (当月施工天数) are its days inside the post's counting window
  minus the days of approved stoppages (停工);
* the monthly rate is attended days (the holder's valid days and an approved stand-in's) over
  construction days, and must be at least `min_monthly_rate` (80 % exactly passes);
* approved leave days are excused but do not count as attended; approvals are capped at
  `max_leave_share` of the month's construction days (20 % exactly is allowed, one more day
  is not).

Ratios are compared as exact fractions, so 0.8 × 20 days is 16 days, not 16.000000000000004.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

DAY = datetime.timedelta(days=1)

# Day statuses (choices.DayStatus values; repeated here so this module imports nothing).
VALID, SHORT, LEAVE, STOPPAGE, STAND_IN, ABSENT, NOT_COUNTED = (
    "valid", "short", "leave", "stoppage", "stand_in", "absent", "not_counted")
ATTENDED = frozenset({VALID, STAND_IN})
#: Statuses of construction days (a stoppage day or a day outside the window is not one).
CONSTRUCTION = frozenset({VALID, SHORT, LEAVE, STAND_IN, ABSENT})


def exact(value: float) -> Fraction:
    """A parameter such as 0.8 as the fraction it stands for (4/5)."""
    return Fraction(str(value)).limit_denominator(10_000)


@dataclass(frozen=True)
class Clock:
    """An accepted check-in that counts (not rejected, no confirmed spoofing case)."""

    direction: str  # "entry" / "exit"
    at: datetime.datetime


@dataclass(frozen=True)
class Span:
    first_in: datetime.datetime | None
    last_out: datetime.datetime | None

    @property
    def duration(self) -> datetime.timedelta:
        if self.first_in is None or self.last_out is None:
            return datetime.timedelta(0)
        return self.last_out - self.first_in

    @property
    def hours(self) -> float:
        return round(self.duration.total_seconds() / 3600, 4)


def span(clocks: Iterable[Clock]) -> Span:
    """The first entry of the day and the last exit after it (either may be missing)."""
    entries = sorted(c.at for c in clocks if c.direction == "entry")
    first = entries[0] if entries else None
    exits = sorted(c.at for c in clocks if c.direction == "exit" and (first is None
                                                                      or c.at > first))
    return Span(first, exits[-1] if exits else None)


def is_valid_span(s: Span, min_hours: float) -> bool:
    return s.first_in is not None and s.last_out is not None and \
        s.duration >= datetime.timedelta(seconds=round(min_hours * 3600))


def day_status(*, holder: Sequence[Clock], stand_in: Sequence[Clock] = (),
               min_hours: float, counted: bool = True, stoppage: bool = False,
               leave: bool = False) -> tuple[str, Span]:
    """A closed day's status and the span it was judged on.

    Order: outside the counting window → not counted; an approved stoppage → stoppage; the
    holder's own valid span → valid; an approved stand-in's valid span → stand-in; approved
    leave → leave; any check-in at all → short (不足5小时, an absence); else absent."""
    own = span(holder)
    if not counted:
        return NOT_COUNTED, own
    if stoppage:
        return STOPPAGE, own
    if is_valid_span(own, min_hours):
        return VALID, own
    other = span(stand_in)
    if stand_in and is_valid_span(other, min_hours):
        return STAND_IN, other
    if leave:
        return LEAVE, own
    if holder:
        return SHORT, own
    return ABSENT, own


# ---------------------------------------------------------------- windows and months


def counting_window(post_class: str, start: datetime.date, end: datetime.date | None
                    ) -> tuple[datetime.date, datetime.date | None]:
    """The days a post's attendance counts, both ends inclusive (None: open-ended).

    Class I counts from the day after registration (登记次日: the assignment's start) until
    安全生产标准化竣工确认 — the registry has no such date, so the assignment's end stands for
    it. Class II counts over its trade's works, which the assignment's dates stand for."""
    if post_class == "I":
        first = start + DAY
        return first, end if end is None or end >= first else first - DAY
    return start, end


def in_window(day: datetime.date, window: tuple[datetime.date, datetime.date | None]) -> bool:
    first, last = window
    return first <= day and (last is None or day <= last)


def month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following - DAY


def days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + DAY * i for i in range((last - first).days + 1)] if last >= first else []


def stopped(day: datetime.date, stoppages: Iterable[tuple[datetime.date, datetime.date | None]]
            ) -> bool:
    return any(s <= day and (e is None or day <= e) for s, e in stoppages)


def construction_days(month: datetime.date, window, stoppages=()) -> list[datetime.date]:
    """The month's construction days for a post: inside its counting window, not stopped."""
    first, last = month_bounds(month)
    return [d for d in days(first, last) if in_window(d, window) and not stopped(d, stoppages)]


# ---------------------------------------------------------------- rates


@dataclass(frozen=True)
class Tally:
    """A month (or part of one) of closed days of one post."""

    construction: int = 0
    attended: int = 0
    leave: int = 0
    short: int = 0
    absent: int = 0
    stand_in: int = 0

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.attended, self.construction) if self.construction else None

    def meets(self, min_rate: float) -> bool | None:
        r = self.rate
        return None if r is None else r >= exact(min_rate)


def tally(statuses: Iterable[str]) -> Tally:
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return Tally(construction=sum(n for s, n in counts.items() if s in CONSTRUCTION),
                 attended=sum(n for s, n in counts.items() if s in ATTENDED),
                 leave=counts.get(LEAVE, 0), short=counts.get(SHORT, 0),
                 absent=counts.get(ABSENT, 0), stand_in=counts.get(STAND_IN, 0))


def required_days(construction: int, min_rate: float) -> int:
    """Attended days a month of `construction` days needs (80 % of 22 → 18)."""
    return math.ceil(exact(min_rate) * construction)


def leave_allowance(construction: int, max_share: float) -> int:
    """Leave days the month allows (20 % of 22 → 4; of 20 → 4)."""
    return math.floor(exact(max_share) * construction)


def leave_fits(construction: int, already: int, requested: int, max_share: float) -> bool:
    return already + requested <= leave_allowance(construction, max_share)


# ---------------------------------------------------------------- mid-month outlook

OK, AT_RISK, LOST = "ok", "at_risk", "lost"


def outlook(*, closed: Tally, remaining: int, min_rate: float, warn_rate: float,
            elapsed_share_reached: bool) -> str:
    """Where the month is heading, from the days closed so far and the construction days
    still to come: lost (even attending every remaining day misses the rate), at risk (from
    the warning day on, the rate so far is below the warning line), or ok."""
    total = closed.construction + remaining
    if total == 0:
        return OK
    if closed.attended + remaining < required_days(total, min_rate):
        return LOST
    if elapsed_share_reached and closed.construction and closed.rate < exact(warn_rate):
        return AT_RISK
    return OK
