"""Leave and stand-in requests: the post's party asks, the 建设单位 decides (a contractor
cannot), the 20 % leave cap at its boundary, the stand-in's certificate; the API's answers."""

from __future__ import annotations

import datetime

import pytest
from support.api import Api
from support.keyposts import enrol_cast, local, person, qualify
from support.orders import Site

from smartsite.attendance import services
from smartsite.attendance.models import Leave, StandIn
from smartsite.core.choices import QualificationKind
from smartsite.core.errors import Conflict, DomainError, Forbidden

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # decisions lock rows (FOR UPDATE OF)
NOV = datetime.date(2026, 11, 1)
NOW = local(NOV, 9)


def d(day):
    return NOV.replace(day=day)


@pytest.fixture
def site(cast, django_user_model):
    return Site(cast, django_user_model)


@pytest.fixture
def pm(cast):
    enrol_cast(cast)
    return cast.project_b.assignments.get(post__code="project_manager")


def test_the_contractor_requests_and_only_the_owner_approves(site, cast, pm):
    leave = services.request_leave(cast.contractor_b, pm, start_date=d(2), end_date=d(3),
                                   reason="参加公司安全例会", now=NOW)
    with pytest.raises(Forbidden, match="建设单位审批"):
        services.decide_leave(cast.contractor_b, leave, approve=True, now=NOW)
    with pytest.raises(Forbidden):
        services.decide_leave(site.pm, leave, approve=True, now=NOW)
    assert Leave.objects.get().status == "requested"
    services.decide_leave(site.owner, leave, approve=True, note="同意", now=NOW)
    leave.refresh_from_db()
    assert (leave.status, leave.decided_by, leave.decided_at) == ("approved", site.owner, NOW)
    with pytest.raises(Conflict):
        services.decide_leave(site.owner, leave, approve=False, note="重复", now=NOW)


def test_a_party_that_does_not_fill_the_post_cannot_request(site, cast, pm):
    with pytest.raises(Forbidden):
        services.request_leave(site.owner, pm, start_date=d(2), end_date=d(2), reason="x",
                               now=NOW)
    with pytest.raises(Forbidden):
        services.request_leave(cast.contractor_a, pm, start_date=d(2), end_date=d(2),
                               reason="x", now=NOW)


def test_twenty_percent_of_the_construction_days_exactly_and_not_one_day_more(site, cast, pm):
    # a stoppage over Nov 21–30 leaves 20 construction days: 4 days of leave at most
    stoppage = services.file_stoppage(site.owner, cast.project_b, start_date=d(21),
                                      end_date=d(30), reason="停工待图", now=NOW)
    services.decide_stoppage(cast.city, stoppage, approve=True, now=NOW)
    first = services.request_leave(cast.contractor_b, pm, start_date=d(2), end_date=d(4),
                                   reason="病假", now=NOW)
    services.decide_leave(site.owner, first, approve=True, now=NOW)
    fourth = services.request_leave(cast.contractor_b, pm, start_date=d(9), end_date=d(9),
                                    reason="事假", now=NOW)
    services.decide_leave(site.owner, fourth, approve=True, now=NOW)
    with pytest.raises(DomainError, match=r"施工天数 20 天，请假不得超过 20%（4 天）"):
        services.request_leave(cast.contractor_b, pm, start_date=d(10), end_date=d(10),
                               reason="事假", now=NOW)
    assert Leave.objects.filter(status="approved").count() == 2


def test_the_cap_is_checked_again_when_approving(site, cast, pm):
    a = services.request_leave(cast.contractor_b, pm, start_date=d(2), end_date=d(5),
                               reason="病假", now=NOW)
    b = services.request_leave(cast.contractor_b, pm, start_date=d(9), end_date=d(11),
                               reason="事假", now=NOW)  # 4 + 3 of 6 allowed (30 days)
    services.decide_leave(site.owner, a, approve=True, now=NOW)
    with pytest.raises(DomainError, match="超出上限"):
        services.decide_leave(site.owner, b, approve=True, now=NOW)
    assert Leave.objects.get(pk=b.pk).status == "requested"


def test_a_stand_in_needs_a_valid_certificate_of_the_holders_kind(site, cast, pm):
    qualify(pm.person, QualificationKind.CONSTRUCTOR_1)
    safety_only = person("周安全", "110101198001010055")
    qualify(safety_only, QualificationKind.SAFETY_B)
    expiring = person("吴建造", "110101198001010066")
    qualify(expiring, QualificationKind.CONSTRUCTOR_1, expires_on=d(5))
    with pytest.raises(DomainError, match="一级注册建造师"):
        services.request_stand_in(cast.contractor_b, pm, person=safety_only, start_date=d(2),
                                  end_date=d(3), now=NOW)
    with pytest.raises(DomainError, match="同类且在顶岗期间有效"):
        services.request_stand_in(cast.contractor_b, pm, person=expiring, start_date=d(2),
                                  end_date=d(6), now=NOW)
    with pytest.raises(DomainError, match="本人"):
        services.request_stand_in(cast.contractor_b, pm, person=pm.person, start_date=d(2),
                                  end_date=d(3), now=NOW)
    ok = services.request_stand_in(cast.contractor_b, pm, person=expiring, start_date=d(2),
                                   end_date=d(5), now=NOW)
    with pytest.raises(Forbidden):
        services.decide_stand_in(cast.contractor_b, ok, approve=True, now=NOW)
    services.decide_stand_in(site.owner, ok, approve=True, now=NOW)
    assert StandIn.objects.get().status == "approved"


def test_the_api_takes_requests_and_decisions_and_refuses_bad_input(client, site, cast, pm):
    contractor, owner = Api(client, cast.contractor_b), Api(client, site.owner)
    body = {"assignment": pm.pk, "start_date": "2026-11-02", "end_date": "2026-11-03",
            "reason": "病假"}
    assert contractor.refused("post", "/attendance/leaves",
                              {**body, "end_date": "2026-11-01"}, "end_date") == [
        "结束日期不能早于开始日期"]
    assert "未找到编号为" in contractor.refused("post", "/attendance/leaves",
                                            {**body, "assignment": 10**6}, "assignment")[0]
    assert contractor.refused("post", "/attendance/leaves", {**body, "start_date": "十一月"},
                              "start_date")
    created = contractor.call("post", "/attendance/leaves", body)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    again = contractor.call("post", "/attendance/leaves", body)
    assert again.status_code == 409 and "已有请假申请" in again.json()["message"]
    forbidden = contractor.call("post", f"/attendance/leaves/{pk}/decision", {"approve": True})
    assert forbidden.status_code == 403 and "建设单位" in forbidden.json()["message"]
    rejected = owner.call("post", f"/attendance/leaves/{pk}/decision", {"approve": False})
    assert rejected.status_code == 400 and rejected.json()["message"] == "驳回须填写审批意见"
    approved = owner.call("post", f"/attendance/leaves/{pk}/decision",
                          {"approve": True, "note": "同意"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Leave.objects.get().status == "approved"


def test_the_month_rates_per_post(client, cast, pm):
    from support.keyposts import day_at_work

    for day in (2, 3, 4, 5):
        day_at_work(pm, d(day), hours=9 if day != 5 else 4)
        services.close_day(d(day), NOW, project_ids=[pm.project_id])
    api = Api(client, cast.contractor_b)
    rows = api.call("get", "/attendance/months?month=2026-11").json()["items"]
    assert [(r["person_name"], r["construction_days"], r["attended_days"], r["short_days"],
             r["rate"], r["meets"]) for r in rows] == [("李四", 4, 3, 1, 0.75, False)]
    assert api.refused("get", "/attendance/months?month=2026-13", None, "month") == [
        "“2026-13”不是有效的月份，应为 YYYY-MM，如 2026-11"]
    assert api.refused("get", f"/attendance/months?project={10**20}", None, "project")
    assert Api(client, cast.contractor_a).call(
        "get", "/attendance/months?month=2026-11").json()["items"] == []
