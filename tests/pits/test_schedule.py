"""How often a pit must be surveyed (GB 50497 表7.0.3 as kept in SurveyFrequency, all rows
marked "low") and the job that records the surveys that did not come (UploadGap)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from support.pits import T0, build_site, rows

from smartsite.pits import jobs, selectors, services
from smartsite.pits.models import UploadGap
from smartsite.pits.schedule import interval_days

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
H = datetime.timedelta(hours=1)


def interval(grade, depth, *, slab=None, day=datetime.date(2026, 3, 20)):
    found = interval_days(grade=grade, design_depth_m=Decimal(15), depth_m=depth,
                          slab_on=slab, day=day, rows=selectors.frequencies())
    return None if found is None else float(found[0])


def test_the_interval_follows_the_excavated_share_of_h_and_the_days_after_the_slab(reference):
    assert interval(1, None) is None  # excavation not started: nothing due
    assert interval(1, Decimal(3)) == 2  # h ≤ H/3: 1 次/(2~3) d, the stricter end
    assert interval(1, Decimal(5)) == 2  # exactly H/3
    assert interval(1, Decimal(7)) == 1  # H/3 < h ≤ 2H/3
    assert interval(1, Decimal(12)) == 0.5  # deeper than 2H/3: twice a day
    slab = datetime.date(2026, 3, 1)
    assert interval(1, Decimal(15), slab=slab, day=datetime.date(2026, 3, 5)) == 1
    assert interval(1, Decimal(15), slab=slab, day=datetime.date(2026, 3, 10)) == 3
    assert interval(1, Decimal(15), slab=slab, day=datetime.date(2026, 4, 20)) == 7
    assert interval(2, Decimal(12)) == 1
    assert interval(3, Decimal(12)) == interval(2, Decimal(12))  # grade 3: grade 2's rows


def test_every_missed_survey_is_a_gap_once_and_late_data_fills_them(cast):
    site = build_site(cast)  # grade 1, H = 15 m
    services.add_stage(site.pit, name="第二层土方开挖", started_on=T0.date(),
                       excavation_depth_m=7)  # 1 survey a day
    services.record_survey(site.pit, rows("WY-01", [0.0, 0.1, 0.2]), now=T0 + 2 * DAY + H)
    last = T0 + 2 * DAY
    # due at last + 1 d and last + 2 d, each overdue once the 24 h upload time has passed;
    # last + 3 d is not overdue yet
    now = last + 3 * DAY + 12 * H
    assert jobs.upload_gaps(now) == 2
    gaps = list(UploadGap.objects.order_by("due_at"))
    assert [g.due_at for g in gaps] == [last + DAY, last + 2 * DAY]
    assert {g.item for g in gaps} == {"wall_top_horizontal"}
    assert gaps[0].monitoring_company == site.pit.monitoring_company
    assert jobs.upload_gaps(now) == 0  # found once

    services.record_survey(site.pit, rows("WY-01", [0.3], start=last + 3 * DAY), now=now)
    jobs.upload_gaps(now)
    assert all(g.filled_at == last + 3 * DAY for g in UploadGap.objects.all())
