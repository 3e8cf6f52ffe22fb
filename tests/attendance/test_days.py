"""Closing a day (services.close_day): each key post's status from its check-ins, leave,
stand-ins, stoppages and review decisions; closing again rewrites, never doubles."""

from __future__ import annotations

import datetime

import pytest
from support.keyposts import assign, clock_in, day_at_work, enrol_cast, local, person, qualify
from support.orders import Site

from smartsite.attendance import services
from smartsite.attendance.models import AttendanceDay, ReviewCase
from smartsite.core.choices import QualificationKind

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # decisions lock rows (FOR UPDATE OF)
DAY = datetime.date(2026, 11, 2)  # a Monday
NOW = local(DAY, 23, 30)


@pytest.fixture
def site(cast, django_user_model):
    return Site(cast, django_user_model)


@pytest.fixture
def pm(cast):
    enrol_cast(cast)
    return cast.project_b.assignments.get(post__code="project_manager")


def test_a_holder_never_enrolled_is_not_counted_and_counts_from_the_day_after_enrolment(cast):
    # nobody can clock in before their face is registered (人脸登记): no absence is counted
    # before it, and Class I counts from the day after it (selectors.window_of)
    from support.keyposts import enrol

    pm = cast.project_b.assignments.get(post__code="project_manager")
    services.close_day(DAY, NOW)
    assert not AttendanceDay.objects.filter(assignment=pm).exists()
    enrol(cast.person_b, at=local(DAY, 10))
    services.close_day(DAY, NOW)
    assert not AttendanceDay.objects.filter(assignment=pm).exists()
    following = DAY + datetime.timedelta(days=1)
    services.close_day(following, local(following, 23, 30))
    assert status(pm, following) == "absent"


def status(assignment, day=DAY):
    return AttendanceDay.objects.get(assignment=assignment, date=day).status


def test_five_hours_from_first_entry_to_last_exit_is_valid_and_one_second_less_is_short(cast, pm):
    tech = assign(cast.project_b, person("王工", "110101198001010011"), "technical_lead",
                  datetime.date(2026, 1, 1))
    day_at_work(pm, DAY, hours=5)
    clock_in(tech, "entry", local(DAY, 8))
    clock_in(tech, "exit", local(DAY, 12, 59, 59))
    assert services.close_day(DAY, NOW) == 3  # and project A's 项目经理
    assert status(pm) == "valid" and status(tech) == "short"
    row = AttendanceDay.objects.get(assignment=pm)
    assert (row.first_in, row.last_out, row.hours, row.post_class) == (
        local(DAY, 8), local(DAY, 13), 5.0, "I")


def test_closing_again_rewrites_the_day_and_counts_a_late_exit(pm):
    clock_in(pm, "entry", local(DAY, 8))
    services.close_day(DAY, NOW)
    assert status(pm) == "short"
    clock_in(pm, "exit", local(DAY, 23, 45))  # after the 23:30 close
    assert services.close_day(DAY, NOW + datetime.timedelta(hours=1),
                              project_ids=[pm.project_id]) == 1
    assert AttendanceDay.objects.filter(assignment=pm).count() == 1 and status(pm) == "valid"


def test_rejected_or_unreviewed_check_ins_do_not_count(pm):
    clock_in(pm, "entry", local(DAY, 8), outcome="rejected")
    clock_in(pm, "exit", local(DAY, 17), outcome="review")
    services.close_day(DAY, NOW)
    assert status(pm) == "absent"


def test_class_one_counts_from_the_day_after_registration(cast):
    late = assign(cast.project_b, person("赵安全", "110101198001010022"), "safety_officer", DAY)
    services.close_day(DAY, NOW)
    assert not AttendanceDay.objects.filter(assignment=late).exists()
    services.close_day(DAY + datetime.timedelta(days=1), NOW)
    assert status(late, DAY + datetime.timedelta(days=1)) == "absent"


def test_a_post_that_is_not_key_is_not_closed(cast):
    enrol_cast(cast)
    assign(cast.project_b, person("孙设计", "110101198001010033"), "design_lead",
           datetime.date(2026, 1, 1))
    assert services.close_day(DAY, NOW, project_ids=[cast.project_b.pk]) == 1  # the 项目经理


def test_leave_stand_in_and_stoppage_once_approved(site, cast, pm):
    qualify(pm.person, QualificationKind.CONSTRUCTOR_1)
    deputy = person("钱副经理", "110101198001010044")
    qualify(deputy, QualificationKind.CONSTRUCTOR_1)
    leave = services.request_leave(cast.contractor_b, pm, start_date=DAY, end_date=DAY,
                                   reason="病假", now=NOW)
    services.close_day(DAY, NOW)
    assert status(pm) == "absent"  # requested, not approved
    services.decide_leave(site.owner, leave, approve=True, now=NOW)
    assert status(pm) == "leave"  # approving closes the day again

    next_day = DAY + datetime.timedelta(days=1)
    stand_in = services.request_stand_in(cast.contractor_b, pm, person=deputy,
                                         start_date=next_day, end_date=next_day, now=NOW)
    services.decide_stand_in(site.owner, stand_in, approve=True, now=NOW)
    day_at_work(pm, next_day, who=deputy, stand_in=stand_in)
    services.close_day(next_day, NOW)
    row = AttendanceDay.objects.get(assignment=pm, date=next_day)
    assert (row.status, row.stand_in) == ("stand_in", stand_in)

    third = next_day + datetime.timedelta(days=1)
    day_at_work(pm, third)
    stoppage = services.file_stoppage(site.owner, cast.project_b, start_date=third,
                                      end_date=third, reason="市政管线迁改", now=NOW)
    services.close_day(third, NOW)
    assert status(pm, third) == "valid"
    services.decide_stoppage(cast.city, stoppage, approve=True, now=NOW)
    assert status(pm, third) == "stoppage"


def test_a_check_in_confirmed_as_faked_counts_as_absence(cast, pm):
    day_at_work(pm, DAY)
    services.close_day(DAY, NOW)
    assert status(pm) == "valid"
    entry = pm.checkins.get(direction="entry")
    case = ReviewCase.objects.create(checkin=entry, signal="same_photo",
                                     evidence={"same_as": 1}, created=NOW)
    services.decide_review(cast.city, case, confirmed=True, note="与前日照片字节相同", now=NOW)
    entry.refresh_from_db()
    assert entry.outcome == "rejected" and status(pm) == "short"
