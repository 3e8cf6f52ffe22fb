"""Manual surveys on days no monitoring staff checked in on site (沪建规范〔2024〕13号 第三十三条:
monitoring staff clock in by face): the pits' fabrication detector asks the attendance
scenario who was there (core.scenarios.presence) and flags the other days for the district's
review — and says nothing of staff nobody has enrolled."""

from __future__ import annotations

import datetime

import pytest
from support.pits import T0, build_site, rows

from smartsite.attendance.choices import Datum, Direction, Outcome
from smartsite.attendance.models import CheckIn, Enrolment
from smartsite.core.models import Person, Post, PostAssignment
from smartsite.core.validators import make_resident_id
from smartsite.pits import detectors, services
from smartsite.workorders.models import Event

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def surveyed(cast):
    """Six daily surveys of the pit (T0 …, 09:00 Shanghai) and its 监测项目负责人."""
    import random

    site = build_site(cast)
    point = site.points["WY-01"]
    services.record_survey(site.pit, rows(point.code, [0.0, 0.4, 0.9, 1.1, 1.6, 2.2]),
                           now=T0 + 6 * DAY)
    lead = Person.objects.create(resident_id=make_resident_id(random.Random(5)), name="王监测")
    PostAssignment.objects.create(project=site.pit.project, person=lead,
                                  post=Post.objects.get(code="monitoring_lead"),
                                  start_date=T0.date() - 30 * DAY)
    return site, lead


def check_in(site, person, day: int, *, outcome=Outcome.ACCEPTED):
    at = T0 + day * DAY - datetime.timedelta(hours=1)  # 08:00, before the survey
    return CheckIn.objects.create(
        project=site.pit.project, person=person, client_id=f"c{day}-{outcome}",
        direction=Direction.ENTRY, at=at, lng_raw=121.47, lat_raw=31.23, datum=Datum.WGS84,
        lng=121.47, lat=31.23, outcome=outcome, reasons=[])


def enrol(person):
    Enrolment.objects.create(person=person, encoding=[0.0] * 128, photo_sha256="0" * 64,
                             enrolled_at=T0 - 40 * DAY)


def unchecked(now):
    return [f for _, f in detectors.findings(now) if f.kind == "unchecked_survey"]


def test_surveys_on_days_the_enrolled_staff_never_checked_in_are_flagged(surveyed):
    site, lead = surveyed
    enrol(lead)
    for day in (0, 1, 3):
        check_in(site, lead, day)
    check_in(site, lead, 4, outcome=Outcome.REJECTED)  # found fake, or off site: not there
    check_in(site, lead, 5, outcome=Outcome.REVIEW)  # not decided yet: given the benefit
    now = T0 + 6 * DAY + datetime.timedelta(hours=2)  # the day after the last survey
    [finding] = unchecked(now)
    assert finding.evidence["dates"] == [(T0 + 2 * DAY).date().isoformat(),
                                         (T0 + 4 * DAY).date().isoformat()]
    assert finding.evidence["surveyed_days"] == 6
    assert detectors.sync(now) >= 1
    event = Event.objects.get(scenario="pits", rule="fabrication",
                              dedup_key__endswith=":unchecked_survey:staff")
    assert "监测人员当天均未在现场人脸考勤" in event.title
    assert event.evidence["staff"] == [lead.pk]


def test_today_is_not_judged_before_it_is_over(surveyed):
    site, lead = surveyed
    enrol(lead)
    for day in range(5):
        check_in(site, lead, day)
    # the sixth survey was this morning: the staff may still clock in today
    assert unchecked(T0 + 5 * DAY + datetime.timedelta(hours=3)) == []
    assert len(unchecked(T0 + 6 * DAY)) == 1


def test_staff_nobody_enrolled_are_not_accused(surveyed):
    site, lead = surveyed
    check_in(site, lead, 0)  # even with a stray check-in row: not tracked, nothing said
    assert unchecked(T0 + 7 * DAY) == []


def test_a_check_in_on_another_project_does_not_count(surveyed, cast):
    _site, lead = surveyed
    enrol(lead)
    for day in range(6):
        CheckIn.objects.create(
            project=cast.project_b, person=lead, client_id=f"b{day}", direction=Direction.ENTRY,
            at=T0 + day * DAY, lng_raw=121.5, lat_raw=31.24, datum=Datum.WGS84,
            outcome=Outcome.ACCEPTED, reasons=[])
    [finding] = unchecked(T0 + 7 * DAY)
    assert finding.evidence["count"] == 6
