"""The event center, the disposal center and the phone view, as their users meet them: what
each one sees, what the buttons do, and what a refused action says (nothing changed)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from support.orders import PNG, photo

from smartsite.core.choices import AgencyKind
from smartsite.core.models import Agency
from smartsite.workorders import services
from smartsite.workorders.choices import Action, EventState, LoopLevel, OrderState
from smartsite.workorders.models import Event, Notification, OrderAttachment, WorkOrder

H = datetime.timedelta(hours=1)


def dust_order(site, key="k1", now=None):
    """A dust exceedance order for project B opened `now` (default: one hour ago)."""
    return site.order_of(site.event("dust", "exceedance", key=key,
                                    now=now or timezone.now() - H))


def post_act(client, order, action, **data):
    order.refresh_from_db()
    form = {"action": action, "version": order.version, **data}
    return client.post(f"/orders/{order.pk}/act/", form)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# ---------------------------------------------------------------- 事件中心


def test_todo_lists_my_orders_overdue_first_with_counts(site, login):
    fresh = dust_order(site, "fresh")
    late = dust_order(site, "late", now=timezone.now() - 30 * H)  # 24 h deadline passed
    response = login(site.pm).get("/events/")
    assert response.status_code == 200
    body = text(response)
    assert body.index(late.number) < body.index(fresh.number), "overdue order is listed first"
    assert "逾期" in body and "剩余" in body
    # Counts by scenario and urgency: 2 dust todos, one of them late.
    row = re.search(r"扬尘监测</a></td><td class=\"num late\">(\d+)</td><td class=\"num\">(\d+)"
                    r"</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)", body)
    assert row and row.groups() == ("1", "1", "0", "2")


def test_todo_shows_nothing_of_another_court(site, login, cast):
    order = dust_order(site)
    body = text(login(cast.contractor_a).get("/events/"))
    assert order.number not in body and "没有待您办理的工单" in body
    # The squad sees the order only once it reaches the large loop.
    body = text(login(site.squad).get("/events/"))
    assert order.number not in body


def test_scenario_chip_filters_todos(site, login):
    order = dust_order(site)
    assert order.number in text(login(site.pm).get("/events/?scenario=dust"))
    assert order.number not in text(login(site.pm).get("/events/?scenario=pits"))


def test_new_warning_without_policy_can_be_ignored_with_a_reason_by_a_regulator(site, login,
                                                                                cast):
    event = services.raise_event(scenario="dust", rule="spray_not_linked", project=site.project,
                                 dedup_key="dust:spray:1", title="喷淋未联动")
    assert event.state == EventState.NEW and event.order_id is None
    client = login(cast.city)
    assert "喷淋未联动" in text(client.get("/events/"))
    response = client.post(f"/events/{event.pk}/ignore/", {"reason": ""}, follow=True)
    assert "忽略事件必须填写原因" in text(response)
    event.refresh_from_db()
    assert event.state == EventState.NEW
    client.post(f"/events/{event.pk}/ignore/", {"reason": "喷淋设备检修，已报备"})
    event.refresh_from_db()
    assert event.state == EventState.IGNORED and event.ignore_reason == "喷淋设备检修，已报备"


def test_a_contractor_cannot_ignore_a_warning(site, login):
    event = services.raise_event(scenario="dust", rule="spray_not_linked", project=site.project,
                                 dedup_key="dust:spray:2", title="喷淋未联动")
    response = login(site.pm).post(f"/events/{event.pk}/ignore/", {"reason": "不想处理"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.state == EventState.NEW


def test_dispatching_a_warning_without_a_policy_says_so(site, login, cast):
    event = services.raise_event(scenario="dust", rule="spray_not_linked", project=site.project,
                                 dedup_key="dust:spray:3", title="喷淋未联动")
    response = login(cast.city).post(f"/events/{event.pk}/dispatch/")
    assert response.status_code == 400
    assert "没有生效的闭环策略" in text(response)
    assert not WorkOrder.objects.filter(project=site.project).exists()


# ---------------------------------------------------------------- order detail and actions


def test_detail_shows_the_buttons_of_the_ball_in_court_only(site, login, cast):
    order = dust_order(site)
    body = text(login(site.pm).get(order.get_absolute_url()))
    assert "提交处置" in body and "剩余" in body and "*必须上传" in body
    body = text(login(site.station).get(order.get_absolute_url()))
    assert 'value="dispose"' not in body
    assert 'value="reassign"' in body  # the district regulator may reassign
    assert login(cast.contractor_a).get(order.get_absolute_url()).status_code == 404


def test_dispose_without_a_photo_is_refused_and_keeps_the_comment(site, login):
    order = dust_order(site)
    client = login(site.pm)
    response = post_act(client, order, Action.DISPOSE, comment="已覆盖裸土")
    assert response.status_code == 400
    body = text(response)
    assert "必须上传现场照片" in body and "已覆盖裸土" in body
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_DISPOSAL and order.actions.count() == 1


def test_dispose_with_a_photo_moves_the_order_and_the_photo_is_served_in_scope(site, login,
                                                                              cast):
    order = dust_order(site)
    client = login(site.pm)
    response = post_act(client, order, Action.DISPOSE, comment="已开启喷淋并覆盖",
                        files=[photo("现场.png")])
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_VERIFICATION
    page = text(client.get(order.get_absolute_url()))
    assert "已开启喷淋并覆盖" in page and "提交处置" in page
    item = OrderAttachment.objects.get(action__order=order)
    served = client.get(f"/attachments/{item.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert login(cast.contractor_a).get(f"/attachments/{item.pk}/").status_code == 404


def test_a_stale_form_gets_reload_message_and_nothing_changes(site, login):
    order = dust_order(site)
    stale = order.version
    services.act(order, Action.COMMENT, site.station, version=stale, comment="请尽快处置")
    response = login(site.pm).post(f"/orders/{order.pk}/act/", {
        "action": Action.DISPOSE, "version": stale, "comment": "已处置",
        "files": [photo()]})
    assert response.status_code == 409
    body = text(response)
    assert "已被他人更新" in body and "刷新页面" in body
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_DISPOSAL and order.actions.count() == 2


@pytest.mark.parametrize("data, status, message", [
    ({"action": "dispose", "version": ""}, 422, "缺少工单版本号"),
    ({"action": "explode", "version": "1"}, 422, "未知的操作"),
    ({"action": "reassign", "version": "1", "comment": "x", "to_level": "huge"}, 422,
     "未知的闭环层级"),
    ({"action": "verify_pass", "version": "1"}, 400, "不能“核查通过”"),
])
def test_malformed_action_posts_are_refused_with_a_message(site, login, data, status, message):
    order = dust_order(site)
    response = login(site.pm).post(f"/orders/{order.pk}/act/", data)
    assert response.status_code == status
    assert message in text(response)
    order.refresh_from_db()
    assert order.version == 1


def test_a_non_image_attachment_is_refused(site, login):
    order = dust_order(site)
    fake = SimpleUploadedFile("photo.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = post_act(login(site.pm), order, Action.DISPOSE, comment="已处置", files=[fake])
    assert response.status_code == 400 and "不是 JPEG/PNG/WebP 图片" in text(response)
    assert not OrderAttachment.objects.exists()


def test_wrong_party_gets_403_and_nothing_changes(site, login):
    order = dust_order(site)
    response = post_act(login(site.chief), order, Action.DISPOSE, comment="代为处置",
                        files=[photo()])
    assert response.status_code == 403 and "您不能执行“提交处置”" in text(response)
    order.refresh_from_db()
    assert order.version == 1


# ---------------------------------------------------------------- list and bulk 转派


def test_list_filters_and_export(site, login, cast):
    mine = dust_order(site, "a")
    late = dust_order(site, "b", now=timezone.now() - 30 * H)
    client = login(cast.city)
    assert late.number in text(client.get("/orders/?overdue=true"))
    assert mine.number not in text(client.get("/orders/?overdue=true"))
    assert mine.number not in text(client.get(f"/orders/?district={cast.jingan.pk}"))
    assert mine.number in text(client.get(f"/orders/?district={cast.pudong.pk}"))
    bad = client.get("/orders/?state=exploded")
    assert bad.status_code == 200 and "exploded" in text(bad)  # the filter says what it refused
    pm = text(login(site.pm).get("/orders/?mine=true"))
    assert mine.number in pm and late.number in pm
    export = client.get("/orders/?export=xlsx")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_bulk_reassign_moves_the_fresh_ones_and_reports_the_stale(site, login, cast):
    first, second = dust_order(site, "a"), dust_order(site, "b")
    stale = second.version
    services.act(second, Action.COMMENT, site.station, version=stale, comment="已电话督促")
    client = login(site.station)
    assert 'form="bulk"' in text(client.get("/orders/"))
    response = client.post("/orders/bulk/reassign/", {
        "ids": [f"{first.pk}:{first.version}", f"{second.pk}:{stale}"],
        "to_level": LoopLevel.LARGE, "comment": "多次超标，转城管"}, follow=True)
    body = text(response)
    assert f"已转派 1 张工单：{first.number}" in body and "已被他人更新" in body
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.loop_level == LoopLevel.LARGE and first.court_agency.kind == "enforcement_squad"
    assert second.loop_level == LoopLevel.SMALL


def test_bulk_reassign_needs_a_comment_and_a_selection(site, login):
    order = dust_order(site)
    client = login(site.station)
    body = text(client.post("/orders/bulk/reassign/", {"ids": [f"{order.pk}:1"],
                                                       "to_level": "large"}, follow=True))
    assert "批量转派必须填写意见" in body
    body = text(client.post("/orders/bulk/reassign/", {"to_level": "large", "comment": "x"},
                            follow=True))
    assert "请先勾选" in body
    order.refresh_from_db()
    assert order.loop_level == LoopLevel.SMALL


def test_bulk_reassign_by_a_contractor_changes_nothing(site, login):
    order = dust_order(site)
    client = login(site.pm)
    assert 'form="bulk"' not in text(client.get("/orders/"))
    body = text(client.post("/orders/bulk/reassign/", {
        "ids": [f"{order.pk}:{order.version}"], "to_level": "large", "comment": "x"},
        follow=True))
    assert "只有市级或项目所在区的监管部门" in body
    order.refresh_from_db()
    assert order.loop_level == LoopLevel.SMALL


# ---------------------------------------------------------------- notifications, timeline, phone


def test_unread_count_in_the_header_and_reading(site, login):
    order = dust_order(site)
    client = login(site.pm)
    assert re.search(r'class="unread"[^>]*>1<', text(client.get("/events/")))
    note = Notification.objects.get(user=site.pm)
    response = client.get(f"/notifications/{note.pk}/")
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert 'class="unread"' not in text(client.get("/events/"))
    # Someone else's notification is a 404, not a way to mark it read.
    other = Notification.objects.create(user=site.chief, order=order, text="x",
                                        created=timezone.now())
    assert client.get(f"/notifications/{other.pk}/").status_code == 404
    other.refresh_from_db()
    assert other.read_at is None


def test_project_timeline_in_and_out_of_scope(site, login, cast):
    order = dust_order(site)
    body = text(login(site.pm).get(f"/projects/{site.project.pk}/timeline/"))
    assert order.number in body and "exceedance 测试" in body
    assert login(cast.contractor_a).get(f"/projects/{site.project.pk}/timeline/"
                                        ).status_code == 404


def test_phone_view_lists_the_squads_large_loop_orders(site, login):
    order = dust_order(site)
    services.act(order, Action.REASSIGN, site.station, version=order.version,
                 comment="转城管", to_level=LoopLevel.LARGE)
    client = login(site.squad)
    body = text(client.get("/m/"))
    assert order.title in body and "大闭环" in body
    assert 'capture="environment"' in text(client.get(f"/m/orders/{order.pk}/"))
    assert Agency.objects.get(pk=WorkOrder.objects.get(pk=order.pk).court_agency_id).kind == \
        AgencyKind.ENFORCEMENT_SQUAD
    assert Event.objects.filter(order=order).exists()


def test_a_regulator_watches_late_orders_of_the_district_held_by_others(site, login, cast):
    late = dust_order(site, "late", now=timezone.now() - 30 * H)
    fresh = dust_order(site, "fresh")
    body = text(login(site.station).get("/events/"))
    watch = body[body.index('id="watch"'):]
    watch = watch[:watch.index("</table>")]
    assert late.number in watch and fresh.number not in watch
    assert 'id="watch"' not in text(login(site.pm).get("/events/"))


@pytest.mark.parametrize("ids", [["1:²"], ["²:1"], ["1" * 23 + ":1"], ["-1:1"]])
def test_bulk_reassign_refuses_malformed_ids_without_a_500(site, login, ids):
    order = dust_order(site)
    response = login(site.station).post("/orders/bulk/reassign/", {
        "ids": ids, "to_level": "large", "comment": "x"}, follow=True)
    assert response.status_code == 200 and "无效的工单选择" in text(response)
    order.refresh_from_db()
    assert order.version == 1


@pytest.mark.parametrize("field, value", [("version", "²"), ("party", "²"),
                                          ("party", "9" * 23), ("basis", "sh-air\x00")])
def test_penalty_form_refuses_garbage_without_a_500(site, login, field, value):
    order = dust_order(site)
    data = {"version": "1", "basis": "sh-air-55-2", "amount": "20000",
            "decision_number": "罚字 1 号", "decided_on": timezone.localdate().isoformat(),
            field: value}
    response = login(site.station).post(f"/orders/{order.pk}/penalties/", data)
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.version == 1


def test_list_times_are_shown_in_shanghai_time(site, login, cast):
    order = dust_order(site)
    local = timezone.localtime(order.opened_at).strftime("%Y-%m-%d %H:%M")
    body = text(login(cast.city).get("/orders/"))
    assert local in body
    assert not re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body), "no raw UTC timestamps"


def test_an_invalid_filter_lists_nothing_rather_than_everything(site, login, cast):
    dust_order(site)
    body = text(login(cast.city).get("/orders/?state=closed&street=abc"))
    assert "共 0 条" in body


def test_a_street_squad_gets_no_controls_it_cannot_use(site, login):
    dust_order(site)
    services.raise_event(scenario="dust", rule="spray_not_linked", project=site.project,
                         dedup_key="dust:spray:sq", title="喷淋未联动")
    client = login(site.squad)
    assert 'form="bulk"' not in text(client.get("/orders/"))
    events = text(client.get("/events/"))
    assert "喷淋未联动" in events and "忽略原因" not in events


def test_dispatch_is_offered_only_where_a_policy_exists(site, login, cast):
    services.raise_event(scenario="dust", rule="spray_not_linked", project=site.project,
                         dedup_key="dust:spray:dp", title="喷淋未联动")
    body = text(login(cast.city).get("/events/"))
    assert "喷淋未联动" in body and ">派单</button>" not in body and "忽略原因" in body
