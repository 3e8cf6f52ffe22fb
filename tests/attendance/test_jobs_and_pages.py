"""The daily close on the worker's clock, the indicators and the dashboard page."""

from __future__ import annotations

import datetime

import pytest
from support.keyposts import clock_in, day_at_work, enrol_cast, local

from smartsite.attendance import indicators, jobs
from smartsite.attendance.models import AttendanceDay

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 2)


@pytest.fixture
def pm(cast):
    enrol_cast(cast)
    return cast.project_b.assignments.get(post__code="project_manager")


def test_the_day_closes_at_23_30_and_once_more_after_midnight(pm):
    clock_in(pm, "entry", local(DAY, 8))
    jobs.close_days(local(DAY, 23, 29))
    assert not AttendanceDay.objects.filter(date=DAY).exists()
    jobs.close_days(local(DAY, 23, 30))
    assert AttendanceDay.objects.get(assignment=pm, date=DAY).status == "short"
    jobs.close_days(local(DAY, 23, 45))  # already closed since 23:30: left alone
    clock_in(pm, "exit", local(DAY, 23, 50))
    jobs.close_days(local(DAY + datetime.timedelta(days=1), 0, 5))
    assert AttendanceDay.objects.get(assignment=pm, date=DAY).status == "valid"
    closed_at = AttendanceDay.objects.get(assignment=pm, date=DAY).closed_at
    jobs.close_days(local(DAY + datetime.timedelta(days=1), 0, 20))
    assert AttendanceDay.objects.get(assignment=pm, date=DAY).closed_at == closed_at


def test_indicators_and_the_dashboard_show_what_the_user_sees(clock, client, login, cast, pm):
    for n in range(4):
        day = DAY + datetime.timedelta(days=n)
        day_at_work(pm, day, hours=9 if n else 3)
        jobs.close_days(local(day, 23, 30))
    start, end = local(DAY, 0), local(DAY + datetime.timedelta(days=3), 23, 59)
    # project A's 项目经理 is closed too (never came): 3 of 8 days overall
    assert indicators.day_rate(cast.city, "city", None, start, end) == 37.5
    assert indicators.day_rate(cast.contractor_b, "city", None, start, end) == 75.0
    assert indicators.below_rate(cast.contractor_b, "project", cast.project_b, start, end) == 1
    assert indicators.month_rate(cast.contractor_a, "city", None, start, end) == 0.0

    page = login(cast.contractor_b).get("/attendance/")  # in November (the clock)
    assert page.status_code == 200
    text = page.content.decode()
    main = text[text.find("<main"):text.find("</main>")]
    # November 1st was closed too (the first close also closes the day before): 3 of 5 days
    assert "李四" in main and "陆家嘴乙项目" in main and "静安甲项目" not in main
    assert '<td class="num">5</td><td class="num">3</td>' in main and "60%" in main
