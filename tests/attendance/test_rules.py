"""Every attendance rule from the data to its event, its order through the rule's loop policy,
and — where the data can prove the fix — the automatic verification that closes it, on an
injected clock (every `now` is passed in; nothing reads the wall clock)."""

from __future__ import annotations

import datetime

import pytest
from support.keyposts import assign, day_at_work, enrol_cast, local, person, qualify
from support.orders import Site, act

from smartsite.attendance import detectors, services
from smartsite.attendance.models import ReviewCase
from smartsite.core.choices import QualificationKind
from smartsite.workorders import services as orders
from smartsite.workorders.choices import OPEN_EVENT_STATES, Action, EventState, OrderState
from smartsite.workorders.models import Event, WorkOrder

pytestmark = pytest.mark.postgres  # the timers (SKIP LOCKED, batches) differ by engine
OCT, NOV = datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)
NOW = local(NOV, 9)  # the first sync of November judges October
H, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)


@pytest.fixture
def site(cast, django_user_model):
    return Site(cast, django_user_model)


@pytest.fixture
def pm(cast):
    qualify(cast.person_b, QualificationKind.CONSTRUCTOR_1)
    enrol_cast(cast)
    return cast.project_b.assignments.get(post__code="project_manager")


@pytest.fixture
def staffed(cast, pm):
    """Project B with its three Class I posts filled (no 配备不足)."""
    for code, name, rid in (("safety_officer", "赵安全", "110101198001010022"),
                            ("chief_supervising_engineer", "钱总监", "110101198001010077")):
        holder = person(name, rid)
        qualify(holder, QualificationKind.SAFETY_C if code == "safety_officer"
                else QualificationKind.SUPERVISING_ENGINEER)
        assign(cast.project_b, holder, code, datetime.date(2025, 5, 1))
    # project A too, so that its rules stay quiet
    qualify(cast.person_a, QualificationKind.CONSTRUCTOR_1)
    for code, name, rid in (("safety_officer", "孙安全", "110101198001010088"),
                            ("chief_supervising_engineer", "李总监", "110101198001010099")):
        holder = person(name, rid)
        qualify(holder, QualificationKind.SAFETY_C)
        assign(cast.project_a, holder, code, datetime.date(2025, 3, 1))
    return pm


def month_of_work(assignment, first, last, *, absent=(), project_ids=None):
    """Close every day from `first` to `last`; the holder works 9 h except on `absent` days."""
    day = first
    while day <= last:
        if day.day not in absent:
            day_at_work(assignment, day)
        services.close_day(day, local(day, 23, 30), project_ids=project_ids)
        day += DAY


def events(rule):
    return Event.objects.filter(scenario="attendance", rule=rule)


def test_a_month_below_80_percent_raises_the_class_rule_and_its_loop(site, cast, staffed):
    tech = assign(cast.project_b, person("王技术", "110101198001010011"), "technical_lead",
                  datetime.date(2025, 5, 1))
    qualify(tech.person, QualificationKind.CONSTRUCTOR_2)
    b = [cast.project_b.pk]
    # October has 31 construction days and needs 25: the 项目经理 attends 25, the 技术负责人 24
    month_of_work(staffed, OCT, OCT.replace(day=31), absent=range(1, 7), project_ids=b)
    month_of_work(tech, OCT, OCT.replace(day=31), absent=range(1, 8), project_ids=b)
    assert detectors.sync(NOW) >= 1
    assert not events("absence").filter(subject="李四").exists()  # 25/31 ≥ 80 %
    class_two = events("absence_ii").get()
    assert class_two.evidence["attended_days"] == 24 and class_two.evidence["rate"] == 0.7742
    assert "王技术" in class_two.title and "77%" in class_two.title
    order = class_two.order
    assert (order.kind, order.state, order.loop_level) == (
        "absence_ii", OrderState.PENDING_DISPOSAL, "small")
    assert order.court_post.code == "project_manager"

    detectors.sync(NOW + H)  # the month's verdict is counted again, not raised twice
    assert events("absence_ii").get().count == 2
    assert WorkOrder.objects.filter(kind="absence_ii").count() == 1

    # the 项目经理 answers; the data must prove it: 5 construction days at ≥ 80 % since
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已约谈王技术，安排每日驻场")
    assert orders.fire_due_timers(NOW + 2 * H) == 1
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_VERIFICATION
    month_of_work(tech, NOV.replace(day=2), NOV.replace(day=6), project_ids=b)
    fired = NOW + 6 * DAY
    while orders.fire_due_timers(fired):
        pass
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_level == "small"
    assert order.actions.order_by("seq").last().comment.startswith(
        "自动核查通过（attendance.rate_recovered")


def test_class_one_below_the_rate_is_verified_by_the_chief(site, cast, staffed):
    month_of_work(staffed, OCT, OCT.replace(day=31), absent=range(1, 8),
                  project_ids=[cast.project_b.pk])
    detectors.sync(NOW)
    event = events("absence").get(subject="李四")
    order = event.order
    assert event.evidence["post_class"] == "I" and order.kind == "absence"
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已到岗，补交说明")
    order.refresh_from_db()
    assert order.court_post.code == "chief_supervising_engineer"
    act(order, Action.VERIFY_REJECT, site.chief, NOW + 2 * H, comment="考勤仍不足，请重新整改")
    act(order, Action.DISPOSE, site.pm, NOW + 3 * H, comment="已补交请假审批")
    act(order, Action.VERIFY_REJECT, site.chief, NOW + 4 * H, comment="请假未经建设单位批准")
    order.refresh_from_db()  # two rejections: the medium loop
    assert (order.loop_level, order.court_enterprise) == ("medium", cast.enterprise_b)
    act(order, Action.DISPOSE, site.pm, NOW + 5 * H, comment="项目经理已驻场，附考勤明细")
    order.refresh_from_db()
    assert order.court_agency.kind == "supervision_station"


def test_an_unproved_class_two_fix_goes_to_the_district_station(site, cast, staffed):
    tech = assign(cast.project_b, person("王技术", "110101198001010011"), "technical_lead",
                  datetime.date(2025, 5, 1))
    month_of_work(tech, OCT, OCT.replace(day=31), absent=range(1, 20),
                  project_ids=[cast.project_b.pk])
    detectors.sync(NOW)
    order = events("absence_ii").get().order
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已整改")
    # no attendance follows: at the 7-day verification deadline the check still fails
    month_of_work(tech, NOV, NOV.replace(day=8), absent=range(1, 9),
                  project_ids=[cast.project_b.pk])
    t = NOW + 8 * DAY + 2 * H
    while orders.fire_due_timers(t):
        pass
    order.refresh_from_db()
    assert (order.loop_level, order.state) == ("medium", OrderState.PENDING_DISPOSAL)
    act(order, Action.DISPOSE, site.pm, t + H, comment="企业负责人已参加警示约谈")
    order.refresh_from_db()
    assert order.court_agency.kind == "supervision_station"


def test_mid_month_warning_once_the_month_cannot_reach_80_percent(cast, staffed):
    # November has 30 days and needs 24: seven absences by the 7th lose the month
    month_of_work(staffed, NOV, NOV.replace(day=7), absent=range(1, 8),
                  project_ids=[cast.project_b.pk])
    detectors.sync(local(NOV.replace(day=8), 9))
    warning = events("warning").get(subject="李四")
    assert warning.evidence["outlook"] == "lost" and warning.severity == "serious"
    assert warning.order is None  # a warning for the project department, no order
    assert "本月已无法达到 80%" in warning.title


def test_mid_month_warning_at_risk_from_the_15th_and_recovering(cast, staffed):
    b = [cast.project_b.pk]
    month_of_work(staffed, NOV, NOV.replace(day=14), absent=(1, 2, 3), project_ids=b)
    detectors.sync(local(NOV.replace(day=14), 9))  # 10/13 = 77 %, but before the 15th
    assert not events("warning").filter(subject="李四").exists()
    month_of_work(staffed, NOV.replace(day=14), NOV.replace(day=14), project_ids=b)
    detectors.sync(local(NOV.replace(day=15), 9))  # 11/14 = 79 %
    assert events("warning").get(subject="李四").evidence["outlook"] == "at_risk"
    month_of_work(staffed, NOV.replace(day=15), NOV.replace(day=16), project_ids=b)
    detectors.sync(local(NOV.replace(day=17), 9))  # 13/16 = 81 %
    assert events("warning").get(subject="李四").state == EventState.RECOVERED


def test_an_expired_certificate_raises_and_a_new_one_closes_the_order(site, cast, staffed):
    expired = cast.person_b.qualifications.get()
    expired.expires_on = datetime.date(2026, 10, 31)
    expired.save()
    detectors.sync(NOW)
    event = events("qualification_expired").get()
    assert event.project == cast.project_b and "2026-10-31 到期" in event.title
    order = event.order
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已办理延续注册")
    while orders.fire_due_timers(NOW + 2 * H):
        pass
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.PENDING_VERIFICATION
    qualify(cast.person_b, QualificationKind.CONSTRUCTOR_1, expires_on=datetime.date(2031, 1, 1))
    while orders.fire_due_timers(NOW + 9 * H):
        pass
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.CLOSED
    detectors.sync(NOW + 10 * H)  # the condition has ended: nothing is raised again
    assert not events("qualification_expired").filter(state__in=OPEN_EVENT_STATES).exists()


def test_an_unfilled_class_one_post_raises_and_filling_it_closes_the_order(site, cast, pm):
    qualify(cast.person_a, QualificationKind.CONSTRUCTOR_1)
    detectors.sync(NOW)
    missing = {(e.project_id, e.evidence["post"]) for e in events("understaffed")}
    assert (cast.project_b.pk, "safety_officer") in missing
    assert (cast.project_b.pk, "chief_supervising_engineer") in missing
    assert (cast.project_b.pk, "project_manager") not in missing
    event = events("understaffed").get(project=cast.project_b, subject="专职安全生产管理人员")
    order = event.order
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已任命专职安全员并报建登记")
    assign(cast.project_b, person("赵安全", "110101198001010022"), "safety_officer", NOV)
    while orders.fire_due_timers(NOW + 2 * H):
        pass
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.CLOSED
    detectors.sync(NOW + 3 * H)
    assert not events("understaffed").filter(project=cast.project_b,
                                             subject="专职安全生产管理人员",
                                             state__in=OPEN_EVENT_STATES).exists()
    assert events("understaffed").get(project=cast.project_b,
                                      subject="总监理工程师").recovered_at is None


def test_one_person_on_class_one_posts_of_two_projects(site, cast, staffed):
    both = assign(cast.project_a, cast.person_b, "safety_officer", datetime.date(2026, 9, 1))
    detectors.sync(NOW)
    found = events("multiple_posts")
    assert {e.project for e in found} == {cast.project_a, cast.project_b}
    assert "李四同时在 2 个在建项目担任第一类关键岗位" in found.first().title
    order = found.get(project=cast.project_b).order
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已解除其在甲项目的任职")
    both.end_date = datetime.date(2026, 10, 31)
    both.save()
    while orders.fire_due_timers(NOW + 2 * H):
        pass
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.CLOSED
    detectors.sync(NOW + 3 * H)  # project A's event recovers; B's closed with its order
    assert events("multiple_posts").get(project=cast.project_a).recovered_at is not None
    assert not events("multiple_posts").filter(state=EventState.NEW).exists()


def test_a_confirmed_impersonation_raises_its_order_once(site, cast, staffed):
    day_at_work(staffed, NOV.replace(day=2))
    entry = staffed.checkins.get(direction="entry")
    case = ReviewCase.objects.create(checkin=entry, signal="face_mismatch",
                                     evidence={"distance": 0.71}, created=NOW)
    services.decide_review(cast.city, case, confirmed=True, note="现场核实为他人代打卡",
                           now=NOW + DAY)
    event = events("impersonation").get()
    assert event.severity == "serious" and event.title.startswith("人证不符：李四")
    assert event.order.kind == "impersonation"
    assert event.order.state == OrderState.PENDING_DISPOSAL
    detectors.sync(NOW + DAY + H)  # the sync catches missed cases only
    assert events("impersonation").count() == 1 and events("impersonation").get().count == 1
