"""The work-order API at /api/v1/: scope of lists and details, the dust small loop driven
entirely through the API (a photo uploaded as multipart), every refusal with nothing changed,
"mine", bad filters, events, notifications and the loop policies."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from support.orders import PNG

from smartsite.core import services as core_services
from smartsite.workorders import services
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import Event, Notification, OrderAction, WorkOrder

API = "/api/v1"
LONG_AGO = datetime.datetime(2024, 1, 1, 9, 0, tzinfo=datetime.UTC)


class Api:
    """A client that sends `Authorization: Bearer <key>`; JSON bodies or multipart forms."""

    def __init__(self, client: Client, user):
        _, key = core_services.issue_token(user, actor=user, name="pytest")
        self.client, self.user = client, user
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path, params=None):
        return self.client.get(API + path, params or {}, headers=self.headers)

    def post(self, path, body=None):
        data = body if isinstance(body, str | bytes) else json.dumps(body or {})
        return self.client.post(API + path, data, content_type="application/json",
                                headers=self.headers)

    def form(self, path, fields):
        return self.client.post(API + path, fields, headers=self.headers)  # multipart

    def items(self, path, params=None):
        response = self.get(path, {**(params or {}), "page_size": 500})
        assert response.status_code == 200, response.content
        return response.json()["items"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api_as(client):
    return lambda user: Api(client, user)


def photo(name="现场.png", content=PNG):
    return SimpleUploadedFile(name, content, content_type="image/png")


@pytest.fixture
def order_a(cast, api_as):
    """不装少装 on project A (静安区), opened by hand by the 静安区 supervision station through
    the API: the contractor's project manager disposes, the station verifies (small loop)."""
    response = api_as(cast.district).post("/orders", {
        "scenario": "dust", "kind": "missing_monitor", "project": cast.project_a.pk,
        "title": "扬尘监测设备少装", "description": "东门未装扬尘监测设备"})
    assert response.status_code == 201, response.content
    return WorkOrder.objects.get(pk=response.json()["id"])


@pytest.fixture
def order_b(cast):
    """扬尘超标 on project B (陆家嘴街道), opened from a monitor's event."""
    event = services.raise_event(scenario="dust", rule="exceedance", project=cast.project_b,
                                 dedup_key="dust:exceedance:MN-B", title="PM10 超标",
                                 subject="MN-B", evidence={"pm10": 180})
    event.refresh_from_db()
    return WorkOrder.objects.get(pk=event.order_id)


def ids(items):
    return {item["id"] for item in items}


def snapshot(order):
    order.refresh_from_db()
    return order.state, order.version, order.actions.count()


# ---------------------------------------------------------------- lists and scope


def test_each_user_lists_only_the_orders_of_their_scope(cast, api_as, order_a, order_b):
    seen = {name: ids(api_as(user).items("/orders")) for name, user in cast.users().items()}
    assert seen["city"] == {order_a.pk, order_b.pk}
    assert seen["district"] == {order_a.pk}  # 静安区 only
    assert seen["street"] == {order_b.pk}  # 陆家嘴街道 only
    assert seen["contractor_a"] == {order_a.pk}  # only its projects
    assert seen["contractor_b"] == {order_b.pk}
    assert seen["manager_a"] == {order_a.pk}
    assert seen["nobody"] == set()


def test_a_list_item_carries_the_court_the_policy_label_and_the_version(cast, api_as, order_a):
    body = api_as(cast.district).get("/orders").json()
    assert body["count"] == 1 and body["page"] == 1
    item = body["items"][0]
    assert item["number"] == order_a.number and item["number"].startswith("GD")
    assert item["kind_label"] == "不装少装"
    assert (item["state"], item["state_display"]) == ("pending_disposal", "待处置")
    assert (item["loop_level"], item["loop_level_display"]) == ("small", "小闭环")
    assert item["project"] == {"id": cast.project_a.pk, "permit_no": "2301JA0001",
                               "name": "静安甲项目"}
    court = item["court"]
    assert court["enterprise"]["name"] == "甲建设集团有限公司" and court["agency"] is None
    assert court["party_role_display"] == "施工单位" and court["post"]["code"] == "project_manager"
    assert item["version"] == order_a.version and item["overdue"] is False
    assert item["due_at"].endswith("+08:00")  # shown in Asia/Shanghai


def test_detail_outside_scope_is_the_same_404_as_a_missing_order(cast, api_as, order_a):
    outside = api_as(cast.contractor_b).get(f"/orders/{order_a.pk}")
    missing = api_as(cast.contractor_b).get("/orders/999999")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert api_as(cast.nobody).get(f"/orders/{order_a.pk}").status_code == 404
    assert api_as(cast.manager_a).get(f"/orders/{order_a.pk}").status_code == 200


def test_detail_has_the_evidence_the_timeline_and_the_callers_actions(cast, api_as, order_b):
    street = api_as(cast.street).get(f"/orders/{order_b.pk}").json()
    assert [e["evidence"] for e in street["events"]] == [{"pm10": 180}]
    assert street["events"][0]["subject"] == "MN-B"
    first = street["actions"][0]
    assert (first["seq"], first["action"], first["actor_name"]) == (1, "create", "系统")
    assert first["to_state_display"] == "待处置" and len(first["hash"]) == 64
    assert street["policy"]["kind_label"] == "扬尘超标"
    assert street["allowed_actions"] == [{"action": "comment", "label": "备注"}]
    city = api_as(cast.city).get(f"/orders/{order_b.pk}").json()
    assert {a["action"] for a in city["allowed_actions"]} == {"reassign", "suspend", "comment"}


def test_mine_lists_only_the_orders_in_my_court(cast, api_as, order_a, order_b):
    assert ids(api_as(cast.manager_a).items("/orders", {"mine": "true"})) == {order_a.pk}
    assert ids(api_as(cast.contractor_a).items("/orders", {"mine": "true"})) == {order_a.pk}
    assert ids(api_as(cast.district).items("/orders", {"mine": "true"})) == set()
    assert ids(api_as(cast.district).items("/orders", {"mine": "false"})) == {order_a.pk}
    assert ids(api_as(cast.city).items("/orders", {"mine": "true"})) == set()
    # Disposed: the ball is now with the station, no longer with the manager.
    manager = api_as(cast.manager_a)
    response = manager.form(f"/orders/{order_a.pk}/actions", {
        "action": "dispose", "version": order_a.version, "comment": "已补装",
        "files": [photo()]})
    assert response.status_code == 200, response.content
    assert ids(manager.items("/orders", {"mine": "true"})) == set()
    assert ids(api_as(cast.district).items("/orders", {"mine": "true"})) == {order_a.pk}


def test_list_filters_narrow_the_scope(cast, api_as, order_a, order_b):
    city = api_as(cast.city)
    late = services.open_order(scenario="dust", kind="exceedance", project=cast.project_a,
                               title="两年前的超标", actor=cast.city, now=LONG_AGO)
    assert ids(city.items("/orders", {"overdue": "true"})) == {late.pk}
    assert late.pk not in ids(city.items("/orders", {"overdue": "false"}))
    assert city.get(f"/orders/{late.pk}").json()["overdue"] is True
    assert ids(city.items("/orders", {"district": cast.pudong.pk})) == {order_b.pk}
    assert ids(city.items("/orders", {"project": cast.project_a.pk})) == {order_a.pk, late.pk}
    assert ids(city.items("/orders", {"kind": "missing_monitor"})) == {order_a.pk}
    assert ids(city.items("/orders", {"scenario": "pits"})) == set()
    assert ids(city.items("/orders", {"q": order_b.number})) == {order_b.pk}
    assert ids(city.items("/orders", {"q": "少装"})) == {order_a.pk}
    assert ids(city.items("/orders", {"state": "closed"})) == set()
    assert ids(city.items("/orders", {"loop_level": "small", "district": cast.jingan.pk})) \
        == {order_a.pk, late.pk}
    # A filter never widens the scope.
    assert ids(api_as(cast.district).items("/orders", {"project": cast.project_b.pk})) == set()


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"state": "nonsense"}, "state", "选择一个有效的选项"),
    ({"loop_level": "huge"}, "loop_level", "选择一个有效的选项"),
    ({"district": "静安"}, "district", "选择一个有效的选项"),
    ({"overdue": "maybe"}, "overdue", "应为 'true'、'false' 之一，实为“maybe”"),
    ({"mine": "yes"}, "mine", "应为 'true'、'false' 之一"),
    ({"project": "甲"}, "project", "应为整数"),
    ({"page": "0"}, "page", "不能小于 1"),
])
def test_bad_filter_values_are_a_422_in_chinese(cast, api_as, order_a, params, field, words):
    response = api_as(cast.city).get("/orders", params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation" and field in body["errors"]
    assert words in body["errors"][field][0] and words in body["message"]


# ---------------------------------------------------------------- the small loop, by API only


def test_the_dust_small_loop_closes_through_the_api_with_a_photo(cast, api_as, client, login):
    station, manager = api_as(cast.district), api_as(cast.manager_a)
    opened = station.post("/orders", {"scenario": "dust", "kind": "missing_monitor",
                                      "project": cast.project_a.pk, "title": "东门少装监测设备"})
    assert opened.status_code == 201
    order = opened.json()
    assert (order["state"], order["loop_level"]) == ("pending_disposal", "small")
    assert {a["action"] for a in order["allowed_actions"]} == {
        "reassign", "suspend", "cancel", "comment"}  # the issuer may cancel; not dispose

    seen = manager.get(f"/orders/{order['id']}").json()
    assert "dispose" in {a["action"] for a in seen["allowed_actions"]}
    disposed = manager.form(f"/orders/{order['id']}/actions", {
        "action": "dispose", "version": seen["version"], "comment": "已补装两台监测设备",
        "files": [photo()]})
    assert disposed.status_code == 200, disposed.content
    after = disposed.json()
    assert after["state"] == "pending_verification" and after["version"] == seen["version"] + 1
    assert after["court"]["agency"]["name"] == "静安区建设工程安全质量监督站"
    step = after["actions"][-1]
    assert (step["action_display"], step["actor_name"]) == ("提交处置", "manager_a")
    assert step["comment"] == "已补装两台监测设备" and step["prev_hash"] == after["actions"][-2][
        "hash"]
    [attachment] = step["attachments"]
    assert attachment["name"] == "现场.png" and attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert after["allowed_actions"] == [{"action": "comment", "label": "备注"}]

    # The photo comes back from its URL (a signed-in page session), byte for byte.
    download = login(cast.manager_a).get(attachment["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG

    verified = station.post(f"/orders/{order['id']}/actions", {
        "action": "verify_pass", "version": after["version"], "comment": "现场核查通过"})
    assert verified.status_code == 200, verified.content
    closed = verified.json()
    assert (closed["state_display"], closed["closed_level"]) == ("已闭环", "small")
    assert closed["closed_at"] is not None and closed["court"]["label"]
    assert [a["action"] for a in closed["actions"]] == ["create", "dispose", "verify_pass"]
    assert verify_chain(WorkOrder.objects.get(pk=order["id"])) == []
    assert ids(station.items("/orders", {"state": "closed"})) == {order["id"]}


# ---------------------------------------------------------------- refusals change nothing


def _dispose(comment="已补装", files="photo"):
    fields = {"action": "dispose", "comment": comment}
    if files == "photo":
        fields["files"] = [photo()]
    elif files == "text":
        fields["files"] = [SimpleUploadedFile("假照片.jpg", b"just text", content_type="image/jpeg")]
    elif files == "huge":
        fields["files"] = [photo("大.png", PNG + b"\x00" * (10 * 1024 * 1024))]
    return fields


@pytest.mark.parametrize(("who", "fields", "status", "code", "field", "words"), [
    # the wrong party: the station sees the order but the ball is with the contractor
    ("district", _dispose(), 403, "forbidden", None, "办理"),
    ("city", {"action": "cancel", "comment": "误派"}, 403, "forbidden", None, "派单人"),
    ("contractor_a", {"action": "suspend", "comment": "停工"}, 403, "forbidden", None, "监管部门"),
    # not allowed in this state
    ("manager_a", {"action": "verify_pass"}, 400, "domain", "action", "待处置"),
    # a required comment or photo is missing; a bad or oversized file
    ("manager_a", _dispose(comment=""), 400, "domain", "comment", "意见"),
    ("manager_a", _dispose(files=None), 400, "domain", "files", "照片"),
    ("manager_a", _dispose(files="text"), 400, "domain", "files", "不是 JPEG/PNG"),
    ("manager_a", _dispose(files="huge"), 400, "domain", "files", "超过 10 MB"),
    ("district", {"action": "suspend"}, 400, "domain", "comment", "意见"),
    ("district", {"action": "reassign", "comment": "x", "to_level": "small"}, 400, "domain",
     "to_level", "可选"),
    # the body does not fit the schema
    ("manager_a", {"action": "close_it"}, 422, "validation", "action", "应为"),
    ("manager_a", {"action": "dispose", "version": "三"}, 422, "validation", "version", "应为整数"),
    ("district", {"action": "reassign", "comment": "x", "to_level": "huge"}, 422, "validation",
     "to_level", "应为"),
])
def test_refused_actions_answer_clearly_and_change_nothing(cast, api_as, order_a, who, fields,
                                                           status, code, field, words):
    before = snapshot(order_a)
    body = {"version": order_a.version, **fields}
    response = api_as(getattr(cast, who)).form(f"/orders/{order_a.pk}/actions", body)
    assert response.status_code == status, response.content
    answer = response.json()
    assert answer["code"] == code
    if code == "validation":
        assert field in answer["errors"] and words in answer["errors"][field][0]
    else:
        assert answer["field"] == field and words in answer["message"]
    assert snapshot(order_a) == before
    assert not OrderAction.objects.filter(order=order_a, attachments__isnull=False).exists()


def test_a_stale_version_is_a_409_and_changes_nothing(cast, api_as, order_a):
    seen = order_a.version
    noted = api_as(cast.district).post(f"/orders/{order_a.pk}/actions", {
        "action": "comment", "version": seen, "comment": "请尽快补装"})
    assert noted.status_code == 200 and noted.json()["version"] == seen + 1
    before = snapshot(order_a)
    response = api_as(cast.manager_a).form(f"/orders/{order_a.pk}/actions", {
        "version": seen, **_dispose()})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and "刷新" in response.json()["message"]
    assert snapshot(order_a) == before


def test_an_action_on_an_order_outside_scope_is_a_404(cast, api_as, order_a):
    before = snapshot(order_a)
    response = api_as(cast.contractor_b).form(f"/orders/{order_a.pk}/actions", {
        "version": order_a.version, **_dispose()})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert snapshot(order_a) == before


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ("{not json", 400, None, "JSON"),
    ("[1, 2]", 422, "__all__", "JSON 对象"),
    ({"action": "comment", "version": 1, "comment": "x", "files": ["a.png"]}, 422, "files",
     "不是可接受的字段"),
    ({"action": "comment", "comment": "x"}, 422, "version", "必填"),
])
def test_bad_json_bodies_are_refused(cast, api_as, order_a, body, status, field, words):
    before = snapshot(order_a)
    response = api_as(cast.district).post(f"/orders/{order_a.pk}/actions", body)
    assert response.status_code == status, response.content
    answer = response.json()
    text = answer["errors"][field][0] if status == 422 else answer["message"]
    assert words in text
    assert snapshot(order_a) == before


def test_a_photo_under_another_form_field_is_refused_not_ignored(cast, api_as, order_a):
    before = snapshot(order_a)
    response = api_as(cast.manager_a).form(f"/orders/{order_a.pk}/actions", {
        "action": "dispose", "version": order_a.version, "comment": "已补装", "photo": photo()})
    assert response.status_code == 422
    assert "files" in response.json()["errors"]["photo"][0]
    assert snapshot(order_a) == before


def test_only_the_issuer_cancels_and_a_cancelled_order_takes_no_more_actions(cast, api_as,
                                                                             order_a):
    station = api_as(cast.district)
    cancelled = station.form(f"/orders/{order_a.pk}/actions", {
        "action": "cancel", "version": order_a.version, "comment": "误派"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["allowed_actions"] == []
    again = station.post(f"/orders/{order_a.pk}/actions", {
        "action": "comment", "version": cancelled.json()["version"], "comment": "再看看"})
    assert again.status_code == 400 and "已撤销" in again.json()["message"]


# ---------------------------------------------------------------- opening an order by hand


@pytest.mark.parametrize(("who", "body", "status", "words"), [
    ("contractor_a", {}, 403, "监管部门"),  # sees project A, is no regulator
    ("district", {"project": "B"}, 422, "未找到编号为"),  # project B is outside 静安区
    ("district", {"kind": "no_such_kind"}, 400, "没有生效的闭环策略"),
    ("district", {"title": "  "}, 422, "长度不能少于 1 个字符"),
    ("district", {"title": "长" * 201}, 422, "长度不能超过 200 个字符"),
    ("district", {"priority": "high"}, 422, "不是可接受的字段"),
])
def test_opening_an_order_refuses_bad_input_and_opens_nothing(cast, api_as, who, body, status,
                                                              words):
    payload = {"scenario": "dust", "kind": "missing_monitor", "project": cast.project_a.pk,
               "title": "少装监测设备", **body}
    if payload["project"] == "B":
        payload["project"] = cast.project_b.pk
    response = api_as(getattr(cast, who)).post("/orders", payload)
    assert response.status_code == status, response.content
    assert words in response.json()["message"]
    assert not WorkOrder.objects.exists()


# ---------------------------------------------------------------- events


@pytest.fixture
def events(cast, order_b):
    """An open warning on each project (no policy for `device_rejected`, so no order) plus the
    dispatched exceedance event of order B."""
    def warning(project, key):
        return services.raise_event(scenario="dust", rule="device_rejected", project=project,
                                    dedup_key=f"dust:rejected:{key}", title="监测设备报文被拒收",
                                    severity="serious", evidence={"last_packet": "3 小时前"})

    return {"a": warning(cast.project_a, "A"), "b": warning(cast.project_b, "B"),
            "dispatched": Event.objects.get(order=order_b)}


def test_events_are_listed_within_scope_and_filtered(cast, api_as, events):
    a, b, dispatched = events["a"].pk, events["b"].pk, events["dispatched"].pk
    assert ids(api_as(cast.district).items("/events")) == {a}
    assert ids(api_as(cast.street).items("/events")) == {b, dispatched}
    assert ids(api_as(cast.nobody).items("/events")) == set()
    city = api_as(cast.city)
    assert ids(city.items("/events", {"rule": "device_rejected"})) == {a, b}
    assert ids(city.items("/events", {"state": "dispatched"})) == {dispatched}
    assert ids(city.items("/events", {"project": cast.project_b.pk, "severity": "serious"})) \
        == {b}
    item = next(e for e in city.items("/events") if e["id"] == dispatched)
    assert item["order"]["number"] == WorkOrder.objects.get().number
    bad = city.get("/events", {"severity": "致命"})
    assert bad.status_code == 422 and "severity" in bad.json()["errors"]


def test_event_detail_outside_scope_is_a_404(cast, api_as, events):
    assert api_as(cast.district).get(f"/events/{events['b'].pk}").status_code == 404
    detail = api_as(cast.street).get(f"/events/{events['b'].pk}").json()
    assert detail["evidence"] == {"last_packet": "3 小时前"}
    assert detail["severity_display"] == "严重" and detail["state_display"] == "新发现"


def test_a_regulator_ignores_an_event_with_a_reason(cast, api_as, events):
    event = events["a"]
    station = api_as(cast.district)
    blank = station.post(f"/events/{event.pk}/ignore", {"reason": "  "})
    assert blank.status_code == 400 and blank.json()["field"] == "reason"
    refused = api_as(cast.contractor_a).post(f"/events/{event.pk}/ignore", {"reason": "误报"})
    assert refused.status_code == 403
    event.refresh_from_db()
    assert event.state == "new"
    ignored = station.post(f"/events/{event.pk}/ignore", {"reason": "设备检修，已报备"})
    assert ignored.status_code == 200
    assert (ignored.json()["state_display"], ignored.json()["ignore_reason"]) == (
        "已忽略", "设备检修，已报备")
    again = station.post(f"/events/{event.pk}/ignore", {"reason": "再忽略"})
    assert again.status_code == 400 and "已忽略" in again.json()["message"]


def test_a_dispatched_event_cannot_be_ignored(cast, api_as, events):
    response = api_as(cast.city).post(f"/events/{events['dispatched'].pk}/ignore",
                                      {"reason": "x"})
    assert response.status_code == 400 and "已派单" in response.json()["message"]


# ---------------------------------------------------------------- notifications


def test_notifications_are_mine_with_an_unread_count_and_can_be_read(cast, api_as, order_a,
                                                                    order_b):
    manager = api_as(cast.manager_a)
    body = manager.get("/notifications").json()
    assert body["count"] == body["unread_count"] == 1
    [note] = body["items"]
    assert note["order"]["number"] == order_a.number and "待您处置" in note["text"]
    assert note["read"] is False and note["read_at"] is None
    others = Notification.objects.exclude(user=cast.manager_a).values_list("pk", flat=True)
    assert others  # contractor A and B were notified too

    # Someone else's ids are ignored, never an error that reveals them.
    response = manager.post("/notifications/read", {"ids": list(others)})
    assert response.json() == {"marked": 0, "unread_count": 1}
    response = manager.post("/notifications/read", {"ids": [note["id"]]})
    assert response.status_code == 200 and response.json() == {"marked": 1, "unread_count": 0}
    assert manager.get("/notifications", {"unread": "true"}).json()["items"] == []
    [read] = manager.get("/notifications", {"unread": "false"}).json()["items"]
    assert read["read"] is True and read["read_at"]
    assert Notification.objects.filter(pk__in=others, read_at__isnull=True).count() == len(others)

    contractor = api_as(cast.contractor_b)
    assert contractor.get("/notifications").json()["unread_count"] >= 1
    assert contractor.post("/notifications/read", {}).json()["unread_count"] == 0
    bad = manager.post("/notifications/read", {"ids": ["一"]})
    assert bad.status_code == 422 and "ids.0" in bad.json()["errors"]
    assert manager.get("/notifications", {"unread": "1"}).status_code == 422


# ---------------------------------------------------------------- loop policies


def test_loop_policies_are_readable_reference_data(cast, api_as):
    contractor = api_as(cast.contractor_a)
    policies = contractor.items("/policies", {"active": "true"})
    kinds = {(p["scenario"], p["kind"]) for p in policies}
    assert {("dust", "exceedance"), ("dust", "missing_monitor"), ("attendance", "absence"),
            ("pits", "warning")} <= kinds
    pits = next(p for p in policies if p["kind"] == "warning")
    assert "15天" in pits["source"]
    detail = contractor.get(f"/policies/{pits['id']}").json()
    assert detail["spec"]["deadlines"] == {"dispatch": "P2D", "dispose": "P15D", "verify": "P2D"}
    assert ids(contractor.items("/policies", {"scenario": "pits"})) == {pits["id"]}
    assert contractor.get("/policies/999999").status_code == 404
    assert contractor.get("/policies", {"active": "maybe"}).status_code == 422
    assert api_as(cast.nobody).items("/policies") == []


def test_a_request_without_a_token_is_a_401(cast, client, order_a):
    response = client.get(f"{API}/orders/{order_a.pk}")
    assert response.status_code == 401 and response.json()["code"] == "auth"


# ---------------------------------------------------------------- 立案处罚


def _penalty(order, **fields):
    return {"version": order.version, "basis": "sh-air-55-2", "amount": "30000",
            "decision_number": "静建罚〔2026〕API-1", "decided_on": "2026-06-01", **fields}


def test_a_district_records_a_penalty_with_a_scan_through_the_api(cast, api_as, order_a):
    api = api_as(cast.district)
    fields = {**_penalty(order_a), "files": [photo("决定书.png")]}
    response = api.form(f"/orders/{order_a.pk}/penalties", fields)
    assert response.status_code == 201, response.content
    body = response.json()
    [penalty] = body["penalties"]
    assert penalty["amount"] == "30000.00" and penalty["range"] == ["10000.00", "100000.00"]
    assert penalty["party"]["id"] == cast.enterprise_a.pk
    assert body["actions"][-1]["action"] == "penalty"
    assert body["actions"][-1]["attachments"][0]["name"] == "决定书.png"
    assert verify_chain(order_a) == []


@pytest.mark.parametrize("fields, status, field", [
    ({"amount": "5000"}, 400, "amount"),
    ({"amount": "abc"}, 400, "amount"),
    ({"decided_on": "2026-13-40"}, 422, "decided_on"),
    ({"basis": "no-such-law"}, 400, "basis"),
    ({"party": 999999}, 422, "party"),
    ({"version": 99}, 409, None),
])
def test_penalty_refusals_change_nothing(cast, api_as, order_a, fields, status, field):
    before = snapshot(order_a)
    response = api_as(cast.district).post(f"/orders/{order_a.pk}/penalties",
                                          _penalty(order_a, **fields))
    assert response.status_code == status, response.content
    body = response.json()
    if field and status == 400:
        assert body["field"] == field
    elif field:
        assert field in body["errors"]
    assert snapshot(order_a) == before and not order_a.penalties.exists()


def test_a_contractor_cannot_record_a_penalty(cast, api_as, order_a):
    response = api_as(cast.contractor_a).post(f"/orders/{order_a.pk}/penalties",
                                              _penalty(order_a))
    assert response.status_code == 403
    assert not order_a.penalties.exists()
