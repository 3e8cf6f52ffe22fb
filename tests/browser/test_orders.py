"""A street officer closes a large-loop dust order on a phone: accept, on-site photos, record
the disposal, close — in headless Chromium with a phone-sized viewport."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from support.orders import PNG, Site

from smartsite.workorders import services
from smartsite.workorders.choices import Action, LoopLevel, OrderState
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import WorkOrder

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def large_loop_order(cast, django_user_model):
    """A dust exceedance order on project B that the district has sent to the street squad."""
    site = Site(cast, django_user_model)
    event = site.event("dust", "exceedance", now=timezone.now() - datetime.timedelta(hours=3))
    order = site.order_of(event)
    services.act(order, Action.REASSIGN, site.station, version=order.version,
                 comment="项目经理逾期未处置，转街镇城管执法中队", to_level=LoopLevel.LARGE)
    return WorkOrder.objects.get(pk=order.pk)


def _form(phone, action):
    """The form of one action, unfolded if it sits in a closed <details>."""
    form = phone.locator(f"form:has(input[name=action][value={action}])")
    form.evaluate("f => { const d = f.closest('details'); if (d) d.open = true; }")
    return form


def test_officer_closes_a_large_loop_order_on_a_phone(phone, large_loop_order, password, shot,
                                                      tmp_path):
    order = large_loop_order
    picture = tmp_path / "现场.png"
    picture.write_bytes(PNG)

    sign_in(phone, "lujiazui", password)
    phone.goto("/m/")
    card = phone.locator(".ocard", has_text=order.title)
    assert "大闭环" in card.inner_text()
    shot(phone, "phone-orders")
    card.click()
    phone.wait_for_url(f"**/m/orders/{order.pk}/")

    # 接单
    _form(phone, "accept").locator("button").click()
    phone.wait_for_selector("text=已接单")

    # 上传现场照片 (a note with photos, before the disposal)
    note = _form(phone, "comment")
    note.locator("input[type=file]").set_input_files(str(picture))
    note.locator("button").click()
    phone.wait_for_selector(".thumbs img")

    # Record the disposal: the photo is required, the comment too.
    dispose = _form(phone, "dispose")
    dispose.locator("textarea").fill("现场责令停止土方作业，裸土已全部覆盖，雾炮开启")
    dispose.locator("input[type=file]").set_input_files(str(picture))
    dispose.locator("button").click()
    phone.wait_for_selector("text=待核查")
    shot(phone, "phone-disposed")

    # Close: at the large loop the squad verifies its own disposal.
    _form(phone, "verify_pass").locator("button").click()
    phone.wait_for_selector("text=已闭环")
    shot(phone, "phone-closed")

    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_level == LoopLevel.LARGE
    assert order.assignee.username == "lujiazui"
    assert [a.action for a in order.actions.order_by("seq")][-4:] == [
        Action.ACCEPT, Action.COMMENT, Action.DISPOSE, Action.VERIFY_PASS]
    assert verify_chain(order) == []
    # Every image on the page loaded (an attachment that 404s would fail the fixture).
    assert phone.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")


def test_regulator_bulk_reassigns_from_the_disposal_center(page, cast, django_user_model,
                                                           password, shot):
    site = Site(cast, django_user_model)
    now = timezone.now()
    late = site.order_of(site.event("dust", "exceedance", key="late",
                                    now=now - datetime.timedelta(hours=30)))
    fresh = site.order_of(site.event("dust", "exceedance", key="fresh",
                                     now=now - datetime.timedelta(hours=1)))
    sign_in(page, "city", password)
    page.goto("/events/")
    shot(page, "event-center-city")
    page.goto("/orders/?overdue=true")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1 and late.number in rows.inner_text()
    rows.locator("input[type=checkbox]").check()
    page.select_option("#bulk select[name=to_level]", "large")
    page.fill("#bulk input[name=comment]", "超时未处置，转城管执法")
    page.locator("#bulk button").click()
    page.wait_for_selector(f"text=已转派 1 张工单：{late.number}")
    shot(page, "order-list-bulk")
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.loop_level == LoopLevel.LARGE and fresh.loop_level == LoopLevel.SMALL
    page.goto(late.get_absolute_url())
    assert "转派" in page.locator("ol.timeline").inner_text()
    shot(page, "order-detail")


def test_an_oversized_upload_is_stopped_on_the_phone_and_the_text_kept(
        phone, large_loop_order, password, settings, tmp_path):
    settings.MAX_UPLOAD_BYTES = 4096
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * 8192)  # trailing bytes: still starts as a PNG
    order = large_loop_order
    sign_in(phone, "lujiazui", password)
    phone.goto(f"/m/orders/{order.pk}/")
    dispose = _form(phone, "dispose")
    dispose.locator("textarea").fill("现场已整改")
    dispose.locator("input[type=file]").set_input_files(str(big))
    dispose.locator("button").click()
    message = dispose.locator(".upload-error").inner_text()
    assert message.startswith("所选附件共") and "上限" in message
    assert dispose.locator("textarea").input_value() == "现场已整改"
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_DISPOSAL and order.version == 2
