"""The consequences (后果) of a key post below the rate, from the month verdicts and their
orders to the proposals a district regulator confirms or withdraws, on an injected clock:
the Class I rectification notice pushed to the 建设、施工、监理单位 when its order opens, the
penalty as 不到岗履职 (refused/overdue, or a second month within 12), the Class II quarter's
rating after the 警示约谈, and no awards that year."""

from __future__ import annotations

import datetime

import pytest
from support.keyposts import assign, day_at_work, local, person, qualify
from support.orders import Site, act

from smartsite.attendance import detectors, services
from smartsite.attendance.models import Enrolment, Sanction
from smartsite.core.choices import QualificationKind
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.models import AuditEntry
from smartsite.workorders import services as orders
from smartsite.workorders.choices import Action, OrderState
from smartsite.workorders.models import Event, Notification

pytestmark = pytest.mark.postgres  # the timers (SKIP LOCKED, batches) differ by engine
OCT, NOV, DEC = datetime.date(2026, 10, 1), datetime.date(2026, 11, 1), datetime.date(2026, 12, 1)
NOW = local(NOV, 9)  # the first sync of November judges October
H, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)


@pytest.fixture
def site(cast, django_user_model):
    return Site(cast, django_user_model)


@pytest.fixture
def staffed(cast):
    """Project B with its three Class I posts filled (no 配备不足); project A's too. The
    cast's project managers have their faces registered long before (a post counts from the
    later of its registration and its holder's 人脸登记 on main)."""
    for who in (cast.person_a, cast.person_b):
        Enrolment.objects.create(person=who, encoding=[0.0] * 128, photo_sha256=f"{who.pk:064d}",
                                 enrolled_at=local(datetime.date(2020, 1, 1), 9),
                                 identity_result="matched")
    qualify(cast.person_b, QualificationKind.CONSTRUCTOR_1)
    for code, name, rid in (("safety_officer", "赵安全", "110101198001010022"),
                            ("chief_supervising_engineer", "钱总监", "110101198001010077")):
        holder = person(name, rid)
        qualify(holder, QualificationKind.SAFETY_C if code == "safety_officer"
                else QualificationKind.SUPERVISING_ENGINEER)
        assign(cast.project_b, holder, code, datetime.date(2025, 5, 1))
    qualify(cast.person_a, QualificationKind.CONSTRUCTOR_1)
    for code, name, rid in (("safety_officer", "孙安全", "110101198001010088"),
                            ("chief_supervising_engineer", "李总监", "110101198001010099")):
        holder = person(name, rid)
        qualify(holder, QualificationKind.SAFETY_C)
        assign(cast.project_a, holder, code, datetime.date(2025, 3, 1))
    return cast.project_b.assignments.get(post__code="project_manager")


def work(assignment, first, last, *, absent=(), also=None):
    """Close every day from `first` to `last` on the assignment's project, where every key
    post works 9 h — except the assignment's holder on the `absent` days of the month (and
    each of `also`, {assignment: absent days}, on its own)."""
    away = {assignment.pk: absent, **{a.pk: days for a, days in (also or {}).items()}}
    posts = list(assignment.project.assignments.filter(post__key_post__isnull=False))
    day = first
    while day <= last:
        for a in posts:
            if day.day not in away.get(a.pk, ()):
                day_at_work(a, day)
        services.close_day(day, local(day, 23, 30), project_ids=[assignment.project_id])
        day += DAY


def last_day(first):
    return (first.replace(day=28) + 4 * DAY).replace(day=1) - DAY


def sanctions(kind=None):
    qs = Sanction.objects.all()
    return qs.filter(kind=kind) if kind else qs


# ---------------------------------------------------------------- the small-loop push


def test_a_class_one_order_tells_the_owner_contractor_and_supervisor_when_it_opens(
        site, cast, staffed):
    tech = assign(cast.project_b, person("王技术", "110101198001010011"), "technical_lead",
                  datetime.date(2025, 5, 1))
    qualify(tech.person, QualificationKind.CONSTRUCTOR_2)
    work(staffed, OCT, last_day(OCT), absent=range(1, 8), also={tech: range(1, 8)})  # 24/31
    detectors.sync(NOW)
    class_one = Event.objects.get(rule="absence").order
    class_two = Event.objects.get(rule="absence_ii").order
    told = Notification.objects.filter(order=class_one)
    # the court (the 施工单位's 项目经理) is asked to dispose; the 建设单位 and the 监理单位 are told
    assert told.filter(user=site.pm, text__contains="待您处置").exists()
    assert told.filter(user=site.owner, text__contains="已派发").exists()
    assert told.filter(user=site.chief, text__contains="已派发").exists()
    assert not told.filter(user=site.pm, text__contains="已派发").exists()  # told once
    # Class II: the policy names nobody else; the 建设单位 is not told
    assert not Notification.objects.filter(order=class_two, user=site.owner).exists()


# ---------------------------------------------------------------- Class I: 不到岗履职


def test_one_class_one_month_below_the_rate_proposes_no_penalty_only_no_awards(cast, staffed):
    work(staffed, OCT, last_day(OCT), absent=range(1, 8))
    detectors.sync(NOW)
    assert services.derive_sanctions(NOW) == 1
    assert not sanctions("penalty_absence").exists()
    no_awards = sanctions("no_awards").get()
    assert (no_awards.enterprise, no_awards.period, no_awards.state) == (
        cast.enterprise_b, "2026", "proposed")
    assert no_awards.person is None and no_awards.project == cast.project_b
    assert "李四" in no_awards.reason and "2026-10" in no_awards.reason
    assert "沪住建规范〔2022〕12号" in no_awards.consequence.citation


def test_a_second_class_one_month_below_within_12_months_proposes_the_penalty(cast, staffed):
    work(staffed, OCT, last_day(OCT), absent=range(1, 8))
    detectors.sync(NOW)
    services.derive_sanctions(NOW)
    work(staffed, NOV, last_day(NOV), absent=range(1, 8))  # 23/30 < 80 %
    at = local(DEC, 9)
    detectors.sync(at)
    assert services.derive_sanctions(at) == 1  # the penalty; no second no-awards
    penalty = sanctions("penalty_absence").get()
    assert (penalty.period, penalty.person, penalty.enterprise, penalty.post_class) == (
        "2026-11", cast.person_b, cast.enterprise_b, "I")
    assert "12 个月内第二次不达标（前次 2026-10）" in penalty.reason
    assert [v["month"] for v in penalty.evidence["verdicts"]] == ["2026-10", "2026-11"]
    assert "第十二条" in penalty.consequence.citation and "罚款" in penalty.consequence.note
    no_awards = sanctions("no_awards").get()  # once per enterprise and year
    assert [v["month"] for v in no_awards.evidence["verdicts"]] == ["2026-10", "2026-11"]
    # idempotent: deriving again adds nothing
    assert services.derive_sanctions(at + H) == 0
    assert sanctions().count() == 2


@pytest.mark.parametrize(("second", "proposed"), [
    (datetime.date(2027, 9, 1), True),   # 11 months later: within 12
    (datetime.date(2027, 10, 1), False),  # 12 months later: a new period
])
def test_the_twelve_month_window_of_a_repeat(cast, staffed, second, proposed):
    work(staffed, OCT, last_day(OCT), absent=range(1, 8))
    detectors.sync(NOW)
    work(staffed, second, last_day(second), absent=range(1, 8))
    at = local(last_day(second) + DAY, 9)
    detectors.sync(at)
    services.derive_sanctions(at)
    assert sanctions("penalty_absence").filter(period=f"{second:%Y-%m}").exists() is proposed
    assert sanctions("no_awards").count() == 2  # 2026 and 2027


def test_a_class_one_order_overdue_into_the_medium_loop_proposes_the_penalty(cast, staffed):
    work(staffed, OCT, last_day(OCT), absent=range(1, 8))
    detectors.sync(NOW)
    services.derive_sanctions(NOW + H)
    assert not sanctions("penalty_absence").exists()
    order = Event.objects.get(rule="absence").order
    late = NOW + 3 * DAY + H  # the 3-day disposal deadline passed
    while orders.fire_due_timers(late):
        pass
    order.refresh_from_db()
    assert order.loop_level == "medium"
    services.derive_sanctions(late)
    penalty = sanctions("penalty_absence").get()
    assert penalty.period == "2026-10" and "逾期未整改" in penalty.reason
    assert penalty.evidence["orders"][0]["order"] == order.number


def test_a_class_one_fix_refused_twice_proposes_the_penalty(site, cast, staffed):
    work(staffed, OCT, last_day(OCT), absent=range(1, 8))
    detectors.sync(NOW)
    order = Event.objects.get(rule="absence").order
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已到岗")
    act(order, Action.VERIFY_REJECT, site.chief, NOW + 2 * H, comment="仍不足")
    services.derive_sanctions(NOW + 2 * H)
    assert not sanctions("penalty_absence").exists()  # one rejection: still the small loop
    act(order, Action.DISPOSE, site.pm, NOW + 3 * H, comment="补交说明")
    act(order, Action.VERIFY_REJECT, site.chief, NOW + 4 * H, comment="拒不整改")
    services.derive_sanctions(NOW + 4 * H)
    assert "两次核查不通过" in sanctions("penalty_absence").get().reason


# ---------------------------------------------------------------- Class II: the quarter's rating


@pytest.mark.parametrize("after_interview", ["absent", "present"])
def test_class_two_still_below_after_the_interview_fails_the_quarter(site, cast, staffed,
                                                                    after_interview):
    tech = assign(cast.project_b, person("王技术", "110101198001010011"), "technical_lead",
                  datetime.date(2025, 5, 1))
    qualify(tech.person, QualificationKind.CONSTRUCTOR_2)
    work(tech, OCT, last_day(OCT), absent=range(1, 20))  # the others attend
    detectors.sync(NOW)
    order = Event.objects.get(rule="absence_ii").order
    act(order, Action.DISPOSE, site.pm, NOW + H, comment="已整改")
    work(tech, NOV, NOV.replace(day=8), absent=range(1, 9))  # the fix is not proven
    t = NOW + 8 * DAY + 2 * H
    while orders.fire_due_timers(t):
        pass
    order.refresh_from_db()
    assert (order.loop_level, order.state) == ("medium", OrderState.PENDING_DISPOSAL)  # 约谈
    absent = range(1, 32) if after_interview == "absent" else ()
    work(tech, NOV.replace(day=9), last_day(NOV), absent=absent)
    work(tech, DEC, last_day(DEC), absent=absent)
    services.derive_sanctions(local(DEC.replace(day=31), 23, 59))
    assert not sanctions("rating_fail").exists()  # the quarter is not over yet
    services.derive_sanctions(local(datetime.date(2027, 1, 1), 9))
    rating = sanctions("rating_fail").first()
    if after_interview == "present":
        assert rating is None
        return
    assert (rating.period, rating.enterprise, rating.project, rating.post_class) == (
        "2026Q4", cast.enterprise_b, cast.project_b, "II")
    assert "警示约谈" in rating.reason and "0%" in rating.reason
    assert rating.evidence["orders"][0]["after"]["construction_days"] == 52  # Nov 10 – Dec 31
    services.derive_sanctions(local(datetime.date(2027, 1, 2), 9))
    assert sanctions("rating_fail").count() == 1


# ---------------------------------------------------------------- the district decides


@pytest.fixture
def proposal(cast, staffed):
    work(staffed, OCT, last_day(OCT), absent=range(1, 8))
    detectors.sync(NOW)
    services.derive_sanctions(NOW)
    return sanctions("no_awards").get()


def test_the_projects_district_confirms_and_the_contractor_cannot(site, cast, proposal):
    with pytest.raises(Forbidden, match="项目所在区的监管部门"):
        services.decide_sanction(cast.contractor_b, proposal, confirm=False, note="不服")
    with pytest.raises(Forbidden):
        services.decide_sanction(cast.district, proposal, confirm=True)  # 静安区, not 浦东新区
    proposal.refresh_from_db()
    assert proposal.state == "proposed" and proposal.decided_by is None
    services.decide_sanction(site.station, proposal, confirm=True, note="已核实", now=NOW + DAY)
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by, proposal.note) == (
        "confirmed", site.station, "已核实")
    assert AuditEntry.objects.filter(object_id=str(proposal.pk), actor=site.station).exists()
    with pytest.raises(Conflict, match="已确认"):
        services.decide_sanction(site.station, proposal, confirm=False, note="撤回")


def test_a_withdrawal_needs_a_reason_and_is_not_proposed_again(site, cast, proposal):
    with pytest.raises(DomainError, match="撤销须填写理由"):
        services.decide_sanction(site.station, proposal, confirm=False, note="  ")
    proposal.refresh_from_db()
    assert proposal.state == "proposed"
    services.decide_sanction(site.station, proposal, confirm=False, note="当月停工未报备，已补报")
    assert services.derive_sanctions(NOW + DAY) == 0
    assert sanctions("no_awards").get().state == "withdrawn"


def test_the_api_lists_in_scope_and_decides(client, login, site, cast, proposal):
    url = "/api/v1/attendance/sanctions"
    login(cast.contractor_b)
    items = client.get(url).json()["items"]
    assert [(s["kind"], s["period"], s["state"]) for s in items] == [
        ("no_awards", "2026", "proposed")]
    assert "沪住建规范〔2022〕12号" in items[0]["citation"]
    refused = client.post(f"{url}/{proposal.pk}/decision", {"decision": "confirm"},
                          content_type="application/json")
    assert refused.status_code == 403
    login(cast.district)  # 静安区 does not see 浦东新区's project
    assert client.get(url).json()["items"] == []
    assert client.post(f"{url}/{proposal.pk}/decision", {"decision": "confirm"},
                       content_type="application/json").status_code == 404
    login(site.station)
    bad = client.post(f"{url}/{proposal.pk}/decision", {"decision": "maybe"},
                      content_type="application/json")
    assert bad.status_code == 422
    empty = client.post(f"{url}/{proposal.pk}/decision", {"decision": "withdraw"},
                        content_type="application/json")
    assert empty.status_code == 400 and "撤销须填写理由" in empty.content.decode()
    proposal.refresh_from_db()
    assert proposal.state == "proposed"
    ok = client.post(f"{url}/{proposal.pk}/decision", {"decision": "confirm", "note": "属实"},
                     content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "confirmed"
    assert client.get(url, {"state": "proposed"}).json()["items"] == []


def test_the_pages_show_the_consequences_and_the_form(client, login, site, cast, proposal):
    login(cast.contractor_b)
    board = client.get(f"/attendance/projects/{cast.project_b.pk}/").content.decode()
    assert "处理与后果" in board and "年度不得评优评先" in board
    assert "sanctions/" not in board  # no form for the contractor
    login(site.station)
    board = client.get(f"/attendance/projects/{cast.project_b.pk}/").content.decode()
    assert f"/attendance/sanctions/{proposal.pk}/decide/" in board
    page = client.get("/attendance/?month=2026-10").content.decode()
    assert "处理与后果" in page and "2026 年不得评优评先（待确认）" in page
    bad = client.post(f"/attendance/sanctions/{proposal.pk}/decide/",
                      {"decision": "withdraw", "back": "project"}, follow=True)
    assert "撤销须填写理由" in bad.content.decode()
    proposal.refresh_from_db()
    assert proposal.state == "proposed"
    client.post(f"/attendance/sanctions/{proposal.pk}/decide/", {"decision": "confirm"})
    proposal.refresh_from_db()
    assert proposal.state == "confirmed"
    page = client.get("/attendance/?month=2026-10").content.decode()
    assert "2026 年不得评优评先</span>" in page
    login(cast.contractor_b)
    assert client.post(f"/attendance/sanctions/{proposal.pk}/decide/",
                       {"decision": "withdraw", "note": "x"}).status_code == 403
