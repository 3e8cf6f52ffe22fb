"""The device writes of /api/v1 (monitors, spray/fog cannons, O&M, months, rules) against bad
input: a field-level 422 in Chinese — the very words the registration page shows for the same
input — and nothing changed. Who may write what is in tests/core/test_matrix.py."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from support.api import Api
from support.monitors import add_monitor

from smartsite.core.models import AuditEntry
from smartsite.dust import services
from smartsite.dust.choices import MaintenanceKind, ReviewState
from smartsite.dust.models import MaintenanceRecord, Monitor, MonthlyReview, SprayDevice

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_as(client):
    return lambda user: Api(client, user)


@pytest.fixture
def a1(cast):
    return add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门")


def _rows(model):
    return list(model.objects.order_by("pk").values())


def body(cast, **changes):
    data = {"mn": "31JA00000000000000000A09", "password": "123456",
            "project": cast.project_a.pk, "location": "南门", "kind": "dust_noise",
            "particulate_unit": "mg", "vendor": "某仪器", "installed_on": "2025-04-01"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- the same words as the page


def _page_errors(response, field) -> list[str]:
    found = re.findall(rf'<p class="error" data-field="{field}">(.*?)</p>',
                       response.content.decode())
    return [html.unescape(text) for text in found]


@pytest.mark.parametrize(("changes", "field"), [
    ({"mn": "31JA00000000000000000A01"}, "mn"),  # taken
    ({"mn": "31JA-0000_A09"}, "mn"),
    ({"mn": "31JA00000000000000000A0999"}, "mn"),  # 26 characters
    ({"password": "1234567"}, "password"),
    ({"password": "12;456"}, "password"),
    ({"password": "12 4é6"}, "password"),
    ({"password": ""}, "password"),
    ({"longitude": 121.47}, "longitude"),
    ({"longitude": 10.0, "latitude": 10.0}, "longitude"),
    ({"longitude": 500.0, "latitude": 31.2}, "longitude"),
    ({"installed_on": "2999-01-01"}, "installed_on"),
    ({"installed_on": "0001-01-01"}, "installed_on"),
])
def test_the_api_refuses_what_the_page_refuses_in_the_same_words(a1, cast, login, api_as,
                                                                  changes, field):
    before = _rows(Monitor)
    page = login(cast.district).post("/monitors/add/", {
        **body(cast, **changes), "active": "on"})
    assert page.status_code == 422
    page_messages = _page_errors(page, field)
    assert page_messages, page.content.decode()[:2000]
    assert api_as(cast.district).refused("post", "/monitors", body(cast, **changes),
                                         field) == page_messages
    assert _rows(Monitor) == before


def test_the_pw_is_written_but_never_comes_back_nor_enters_the_audit_trail(a1, cast, api_as):
    api = api_as(cast.contractor_a)
    response = api.call("post", "/monitors", body(cast, password="Zx8!q2"))
    assert response.status_code == 201, response.content
    created = response.json()
    assert "Zx8!q2" not in response.content.decode() and "password" not in created
    assert Monitor.objects.get(pk=created["id"]).password == "Zx8!q2"  # what the gateway checks
    response = api.call("patch", f"/monitors/{created['id']}", {"password": "Qw7#e3"})
    assert response.status_code == 200 and "Qw7#e3" not in response.content.decode()
    assert Monitor.objects.get(pk=created["id"]).password == "Qw7#e3"
    trail = AuditEntry.objects.filter(model="dust.monitor", object_id=str(created["id"]))
    assert [e.action for e in trail.order_by("pk")] == ["create", "update"]
    text = str([e.changes for e in trail])
    assert "Zx8!q2" not in text and "Qw7#e3" not in text
    assert trail.get(action="update").changes == {"password": ["", "已更改"]}  # that, not what


def test_a_monitor_registered_over_the_api_is_what_the_page_would_register(a1, cast, api_as):
    response = api_as(cast.manager_a).call("post", "/monitors", body(
        cast, measures=["pm10", "noise"], model_name="YC-PM-3000", mn=" 31JA00000000000000000A09 "))
    assert response.status_code == 201, response.content
    out = response.json()
    assert (out["mn"], out["project"]["id"], out["particulate_unit"], out["location"],
            out["measures"], out["model_name"], out["active"], out["connectivity"]) == (
        "31JA00000000000000000A09", cast.project_a.pk, "mg", "南门", ["pm10", "noise"],
        "YC-PM-3000", True, "never")
    assert out["status"] is None


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"kind": "radon"}, "kind", "应为 'dust_noise'、'dust'、'noise' 之一"),
    ({"measures": ["pm10", "radon"]}, "measures.1", "之一"),
    ({"project": "静安"}, "project", "应为整数"),
    ({"project": 0}, "project", "不能小于 1"),
    ({"password": None}, "password", "必填"),
    ({"pw": "123456"}, "pw", "不是可接受的字段"),
    ({"installed_on": "2025-02-30"}, "installed_on", "应为日期"),
    ({"location": "东" * 101}, "location", "100"),
])
def test_a_bad_registration_is_a_field_level_422_and_registers_nothing(a1, cast, api_as,
                                                                        changes, field, message):
    before = _rows(Monitor)
    messages = api_as(cast.city).refused("post", "/monitors", body(cast, **changes), field)
    assert any(message in m for m in messages), messages
    assert _rows(Monitor) == before


@pytest.mark.parametrize(("patch", "field", "message"), [
    ({"location": None}, "location", "应为字符串"),  # not a 500
    ({"mn": None}, "mn", "应为字符串"),
    ({"active": None}, "active", "应为布尔值"),
    ({"kind": None}, "kind", "之一"),
    ({"measures": None}, "measures", "应为数组"),
    ({"mn": "31PD00000000000000000B01"}, "mn", "该设备编码（MN）已登记给另一台设备，MN 不能重复"),
    ({"latitude": 31.2}, "longitude", "经度和纬度须同时填写"),
])
def test_a_bad_change_is_a_field_level_422_and_changes_nothing(a1, cast, api_as, patch, field,
                                                               message):
    add_monitor(cast.project_b, mn="31PD00000000000000000B01")
    before = _rows(Monitor)
    messages = api_as(cast.district).refused("patch", f"/monitors/{a1.pk}", patch, field)
    assert any(message in m for m in messages), messages
    assert _rows(Monitor) == before


def test_moving_a_monitor_needs_both_projects(a1, cast, api_as):
    # The 静安 regulator cannot see project B: the same answer as a project that is not there.
    messages = api_as(cast.district).refused("patch", f"/monitors/{a1.pk}",
                                             {"project": cast.project_b.pk}, "project")
    assert messages == [f"未找到编号为 {cast.project_b.pk} 的项目"]
    response = api_as(cast.city).call("patch", f"/monitors/{a1.pk}",
                                      {"project": cast.project_b.pk})
    assert response.status_code == 200 and response.json()["district"]["name"] == "浦东新区"


def test_deactivating_a_monitor_is_a_patch(a1, cast, api_as):
    response = api_as(cast.contractor_a).call("patch", f"/monitors/{a1.pk}", {"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    a1.refresh_from_db()
    assert a1.active is False and a1.location == "东门"  # only what was given changed


# ---------------------------------------------------------------- spray / fog cannons


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "北门雾炮", "sb_code": "X1"}, "sb_code", "设施编码为 SB 加 1–3 位数字，如 SB1"),
    ({"name": "北门雾炮", "sb_code": "SB1234"}, "sb_code", "设施编码为 SB 加 1–3 位数字，如 SB1"),
    ({"name": "北门雾炮", "sb_code": "sb1"}, "sb_code",
     "该监测设备已有设施编码为 SB1 的喷淋/雾炮，请换一个编码"),
    ({"name": "", "sb_code": "SB2"}, "name", "请填写名称"),
    ({"name": "北门雾炮", "kind": "cannon"}, "kind", "之一"),
    ({"sb_code": "SB2"}, "name", "必填"),
])
def test_a_bad_spray_is_refused_in_the_page_s_words(a1, cast, login, api_as, data, field,
                                                      message):
    services.add_spray_device(a1, actor=cast.city, name="东门雾炮", sb_code="SB1")
    before = _rows(SprayDevice)
    messages = api_as(cast.contractor_a).refused("post", f"/monitors/{a1.pk}/spray-devices",
                                                 data, field)
    assert message in messages[0], messages
    if "kind" not in data and "name" in data:  # the page's form has the same fields
        page = login(cast.contractor_a).post(f"/monitors/{a1.pk}/sprays/add/",
                                             {"kind": "fog_cannon", "active": "on", **data})
        assert page.status_code == 422
        assert message in html.unescape(page.content.decode())
    assert _rows(SprayDevice) == before


def test_a_spray_is_linked_listed_and_changed(a1, cast, api_as):
    api = api_as(cast.contractor_a)
    response = api.call("post", f"/monitors/{a1.pk}/spray-devices",
                        {"name": "北门喷淋", "kind": "spray", "sb_code": "sb2"})
    assert response.status_code == 201, response.content
    spray = response.json()
    assert (spray["sb_code"], spray["kind_display"], spray["running"], spray["state_at"]) == (
        "SB2", "喷淋", False, None)
    listed = api.call("get", f"/monitors/{a1.pk}/spray-devices").json()
    assert [s["id"] for s in listed] == [spray["id"]]
    response = api.call("patch", f"/spray-devices/{spray['id']}", {"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    assert response.json()["name"] == "北门喷淋"
    assert api.refused("patch", f"/spray-devices/{spray['id']}", {"name": None}, "name") == [
        "应为字符串"]
    assert api_as(cast.contractor_b).call("get", f"/spray-devices/{spray['id']}"
                                          ).status_code == 404


# ---------------------------------------------------------------- O&M records, months


@pytest.fixture
def fault(a1):
    return MaintenanceRecord.objects.create(
        monitor=a1, kind=MaintenanceKind.FAULT, description="PM10 传感器无数据",
        started_at=datetime.datetime(2020, 1, 1, 8, tzinfo=datetime.UTC))


def test_ending_a_fault_then_ending_it_again(fault, cast, api_as):
    api = api_as(cast.contractor_a)
    response = api.call("post", f"/maintenance-records/{fault.pk}/end",
                        {"ended_at": "2020-01-01T18:30:00+08:00"})
    assert response.status_code == 200, response.content
    assert response.json()["ended_at"] == "2020-01-01T18:30:00+08:00"
    before = _rows(MaintenanceRecord)
    messages = api.refused("post", f"/maintenance-records/{fault.pk}/end",
                           {"ended_at": "2020-01-02T08:00:00"}, "ended_at")
    assert messages == ["该记录已于 2020-01-01 18:30 结束"]
    assert _rows(MaintenanceRecord) == before


@pytest.mark.parametrize(("data", "message"), [
    ({"ended_at": "2019-12-31T08:00:00+08:00"}, "结束时间不能早于开始时间"),
    ({"ended_at": "2999-01-01T08:00:00+08:00"}, "结束时间不能晚于现在"),
    ({"ended_at": "0001-01-01T00:00:00"}, "结束时间不能早于 2000 年"),
    ({"ended_at": "2020-13-01T08:00:00"}, "应为日期时间"),
    ({"ended_at": "昨天"}, "应为日期时间"),
])
def test_a_bad_end_is_a_422_on_ended_at(fault, cast, api_as, data, message):
    before = _rows(MaintenanceRecord)
    messages = api_as(cast.manager_a).refused("post", f"/maintenance-records/{fault.pk}/end",
                                              data, "ended_at")
    assert any(message in m for m in messages), messages
    assert _rows(MaintenanceRecord) == before


def test_only_a_rejected_month_can_be_resubmitted(cast, api_as):
    month = MonthlyReview.objects.create(
        project=cast.project_a, month=datetime.date(2020, 1, 1), stats={},
        generated_at=datetime.datetime(2020, 2, 1, tzinfo=datetime.UTC))
    api = api_as(cast.contractor_a)
    response = api.call("post", f"/monthly-reviews/{month.pk}/resubmit")
    assert response.status_code == 400
    assert response.json()["message"] == "只有已驳回的运维月报可以重新提交（当前：待审核）"
    month.refresh_from_db()
    assert month.state == ReviewState.PENDING
    month.state = ReviewState.REJECTED
    month.save()
    response = api.call("post", f"/monthly-reviews/{month.pk}/resubmit")
    assert response.status_code == 200 and response.json()["state"] == "pending"


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(("patch", "field", "message"), [
    ({"params": {"nope": 1}}, "params", "没有参数 nope"),
    ({"params": {"min_samples": 0}}, "params", "min_samples"),
    ({"params": "x"}, "params", "应为 JSON 对象"),
    ({"source": ""}, "source", "请填写依据（标准条款或取值理由）"),
    ({"source": None}, "source", "应为字符串"),
    ({"enabled": "maybe"}, "enabled", "应为布尔值"),
])
def test_a_bad_rule_change_is_a_field_level_422(cast, api_as, patch, field, message):
    from smartsite.dust.models import DustRule

    before = _rows(DustRule)
    messages = api_as(cast.city).refused("patch", "/dust-rules/exceedance", patch, field)
    assert any(message in m for m in messages), messages
    assert _rows(DustRule) == before


def test_rules_are_read_by_everyone_signed_in(cast, api_as):
    rules = api_as(cast.contractor_b).call("get", "/dust-rules").json()
    exceedance = next(r for r in rules if r["code"] == "exceedance")
    assert exceedance["effective"]["min_samples"] == 10 and exceedance["label"] == "颗粒物超标"
    assert api_as(cast.street).call("get", "/dust-rules/nope").status_code == 404


def test_only_the_city_changes_rules_and_others_get_403_for_any_code(cast, api_as):
    """As on the page: the role is checked before the rule is looked up, so a code that does
    not exist gets the same 403 as one that does."""
    api = api_as(cast.district)
    for code in ("exceedance", "nope"):
        response = api.call("patch", f"/dust-rules/{code}", {"source": "x"})
        assert response.status_code == 403, (code, response.content)
        assert response.json()["code"] == "forbidden"
    assert api_as(cast.city).call("patch", "/dust-rules/nope", {"source": "x"}).status_code == 404
