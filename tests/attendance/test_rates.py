"""The attendance rules at their boundaries (rates.py, pure): 5 hours, 80 %, 20 % leave."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from smartsite.attendance import rates
from smartsite.attendance.rates import Clock

SH = datetime.timezone(datetime.timedelta(hours=8))
D = datetime.date(2026, 11, 2)


def at(h, m=0, s=0):
    return datetime.datetime(2026, 11, 2, h, m, s, tzinfo=SH)


def status(holder=(), **kw):
    return rates.day_status(holder=holder, min_hours=5, **kw)[0]


def test_four_hours_59_59_is_short_and_five_hours_is_a_valid_day():
    assert status([Clock("entry", at(8)), Clock("exit", at(12, 59, 59))]) == "short"
    assert status([Clock("entry", at(8)), Clock("exit", at(13))]) == "valid"


def test_the_span_runs_from_the_first_entry_to_the_last_exit_after_it():
    clocks = [Clock("exit", at(7)), Clock("entry", at(9)), Clock("exit", at(10)),
              Clock("entry", at(11)), Clock("exit", at(14))]
    s = rates.span(clocks)
    assert (s.first_in, s.last_out, s.hours) == (at(9), at(14), 5.0)
    assert status(clocks) == "valid"


def test_an_entry_without_exit_is_short_and_no_check_in_is_absent():
    assert status([Clock("entry", at(8))]) == "short"
    assert status([Clock("exit", at(18))]) == "short"
    assert status([]) == "absent"


def test_stoppage_window_leave_and_stand_in_decide_before_absence():
    full = [Clock("entry", at(8)), Clock("exit", at(17))]
    assert status([], counted=False) == "not_counted"
    assert status(full, stoppage=True) == "stoppage"
    assert status([], leave=True) == "leave"
    assert status(full, leave=True) == "valid"  # came in anyway
    assert status([], stand_in=full) == "stand_in"
    assert status([], stand_in=[Clock("entry", at(8)), Clock("exit", at(12))]) == "absent"


def test_eighty_percent_exactly_meets_the_rate_and_one_day_less_does_not():
    assert rates.Tally(construction=20, attended=16).meets(0.8) is True
    assert rates.Tally(construction=20, attended=15).meets(0.8) is False
    assert rates.Tally(construction=0).meets(0.8) is None
    assert rates.required_days(22, 0.8) == 18  # 17.6 rounds up
    assert rates.required_days(20, 0.8) == 16


def test_twenty_percent_leave_exactly_fits_and_one_more_day_does_not():
    assert rates.leave_fits(20, already=3, requested=1, max_share=0.2)
    assert not rates.leave_fits(20, already=4, requested=1, max_share=0.2)
    assert rates.leave_allowance(22, 0.2) == 4


def test_class_one_counts_from_the_day_after_registration_class_two_over_its_works():
    start, end = datetime.date(2026, 11, 10), datetime.date(2026, 11, 20)
    assert rates.counting_window("I", start, None) == (datetime.date(2026, 11, 11), None)
    assert rates.counting_window("II", start, end) == (start, end)
    days = rates.construction_days(D, rates.counting_window("I", start, end))
    assert days[0] == datetime.date(2026, 11, 11) and days[-1] == end and len(days) == 10


def test_approved_stoppage_days_are_not_construction_days():
    window = (datetime.date(2026, 11, 1), None)
    stoppages = [(datetime.date(2026, 11, 5), datetime.date(2026, 11, 9)),
                 (datetime.date(2026, 11, 28), None)]
    assert len(rates.construction_days(D, window, stoppages)) == 30 - 5 - 3


def test_the_outlook_says_lost_as_soon_as_the_remaining_days_cannot_reach_80_percent():
    # 22 construction days need 18; 5 absences leave 17 at most
    lost = rates.Tally(construction=10, attended=5)
    assert rates.outlook(closed=lost, remaining=12, min_rate=0.8, warn_rate=0.8,
                         elapsed_share_reached=False) == "lost"
    four = rates.Tally(construction=10, attended=6)
    assert rates.outlook(closed=four, remaining=12, min_rate=0.8, warn_rate=0.8,
                         elapsed_share_reached=False) == "ok"
    assert rates.outlook(closed=four, remaining=12, min_rate=0.8, warn_rate=0.8,
                         elapsed_share_reached=True) == "at_risk"


@given(st.integers(1, 31), st.data())
def test_the_rate_is_met_exactly_when_attended_days_reach_the_required_days(total, data):
    attended = data.draw(st.integers(0, total))
    t = rates.Tally(construction=total, attended=attended)
    assert t.meets(0.8) == (attended >= rates.required_days(total, 0.8))
    assert t.meets(0.8) == (attended * 5 >= total * 4)


@given(st.integers(0, 10 * 3600))
def test_a_day_is_valid_exactly_from_five_hours_on(seconds):
    first = at(7)
    clocks = [Clock("entry", first), Clock("exit", first + datetime.timedelta(seconds=seconds))]
    assert (status(clocks) == "valid") == (seconds >= 5 * 3600)


@given(st.lists(st.sampled_from(["valid", "short", "leave", "stoppage", "stand_in", "absent",
                                 "not_counted"]), max_size=31))
def test_the_tally_counts_every_construction_day_once(statuses):
    t = rates.tally(statuses)
    assert t.construction == sum(s not in ("stoppage", "not_counted") for s in statuses)
    assert t.attended == statuses.count("valid") + statuses.count("stand_in")
    assert t.attended + t.leave + t.short + t.absent == t.construction
