"""Maintenance records (运维记录) as a technician on a phone enters them, O&M records for
someone else's monitor, and the linked spray/fog cannons on the monitor page."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone
from support.upkeep import make_upkeep

from smartsite.dust import services
from smartsite.dust.models import MaintenanceRecord, SprayDevice, SprayReading

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def upkeep(cast):
    return make_upkeep(cast)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_technician_enters_a_fault_on_the_project_page_and_closes_it(upkeep, cast, login):
    client = login(upkeep.maint_a)
    url = f"/monitors/projects/{cast.project_a.pk}/maintenance/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="viewport"' in page.content.decode()
    started = timezone.now() - 2 * HOUR
    response = client.post(url, {"monitor": upkeep.a1.pk, "kind": "fault",
                                 "started_at": local(started), "description": "PM10 传感器无数据",
                                 "technician": "王师傅"})
    assert response.status_code == 302
    fault = MaintenanceRecord.objects.get()
    assert (fault.monitor, fault.enterprise, fault.recorded_by) == \
        (upkeep.a1, upkeep.maintainer, upkeep.maint_a)
    page = text(client.get(url))
    assert "PM10 传感器无数据" in page and "戊环境设备运维有限公司" in page
    assert '<b class="error">未修复</b>' in page
    assert client.post(f"/monitors/maintenance/{fault.pk}/end/", {"next": "project"}).status_code == 302
    fault.refresh_from_db()
    assert fault.ended_at is not None
    assert '<b class="error">未修复</b>' not in text(client.get(url))


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"started_at": "+2h"}, "started_at", "开始时间不能晚于现在"),
    ({"ended_at": "-3h"}, "ended_at", "结束时间不能早于开始时间"),
    ({"description": ""}, "description", "这个字段是必填项"),
    ({"started_at": "昨天上午"}, "started_at", "时间格式应为"),
])
def test_bad_input_is_shown_on_the_field_and_nothing_is_stored(upkeep, cast, login, data, field,
                                                                message):
    now = timezone.now()
    values = {"kind": "repair", "started_at": local(now - 2 * HOUR), "ended_at": "",
              "description": "更换采样泵", "technician": ""}
    for key, value in data.items():
        values[key] = local(now + int(value[:-1]) * HOUR) if value.endswith("h") else value
    response = login(upkeep.maint_a).post(f"/monitors/{upkeep.a1.pk}/maintenance/", values)
    assert response.status_code == 422
    assert re.search(rf'data-field="{field}">[^<]*{re.escape(message)}', text(response))
    assert not MaintenanceRecord.objects.exists()


def test_a_maintainer_of_project_a_cannot_post_for_project_b_monitor(upkeep, cast, login, client):
    values = {"kind": "visit", "started_at": local(timezone.now() - HOUR), "description": "巡检"}
    client = login(upkeep.maint_a)
    assert client.post(f"/monitors/{upkeep.b1.pk}/maintenance/", values).status_code == 404
    response = client.post(f"/monitors/projects/{cast.project_a.pk}/maintenance/",
                           {**values, "monitor": upkeep.b1.pk})
    assert response.status_code == 422 and "只能选择本项目的监测设备" in text(response)
    assert client.get(f"/monitors/projects/{cast.project_b.pk}/maintenance/").status_code == 404
    assert not MaintenanceRecord.objects.exists()


def test_who_sees_but_may_not_enter_records_gets_403(upkeep, cast, login):
    values = {"kind": "visit", "started_at": local(timezone.now() - HOUR), "description": "巡检"}
    for user in (cast.district, cast.owner_user if hasattr(cast, "owner_user") else cast.city):
        response = login(user).post(f"/monitors/{upkeep.a1.pk}/maintenance/", values)
        assert response.status_code == 403
        assert "只有该项目的运维单位和施工单位可以登记" in text(response)
    assert "运维记录由该项目的运维单位或施工单位登记" in text(
        login(cast.district).get(f"/monitors/{upkeep.a1.pk}/maintenance/"))
    assert not MaintenanceRecord.objects.exists()


def test_the_contractor_may_enter_records_too(upkeep, cast):
    record = services.record_maintenance(upkeep.a1, actor=cast.manager_a, kind="visit",
                                         started_at=timezone.now() - HOUR, description="日常巡检")
    assert record.enterprise == cast.enterprise_a


# ---------------------------------------------------------------- API


def headers(user):
    from smartsite.core import services as core_services

    _, key = core_services.issue_token(user, actor=user, name="pytest")
    return {"Authorization": f"Bearer {key}"}


def test_api_creates_lists_and_refuses(upkeep, cast, client):
    h = headers(upkeep.maint_a)
    url = f"/api/v1/monitors/{upkeep.a1.pk}/maintenance-records"
    now = timezone.localtime()
    body = {"kind": "calibration", "started_at": (now - 3 * HOUR).strftime("%Y-%m-%dT%H:%M:%S"),
            "ended_at": (now - 2 * HOUR).isoformat(), "description": "零点/跨度校准"}
    created = client.post(url, body, content_type="application/json", headers=h)
    assert created.status_code == 201, created.content
    assert created.json()["enterprise"] == "戊环境设备运维有限公司"
    assert created.json()["project"]["id"] == cast.project_a.pk
    bad = client.post(url, {**body, "ended_at": (now - 5 * HOUR).isoformat()},
                      content_type="application/json", headers=h)
    assert bad.status_code == 422 and "ended_at" in bad.json()["errors"]
    bad = client.post(url, {**body, "kind": "party"}, content_type="application/json", headers=h)
    assert bad.status_code == 422 and "kind" in bad.json()["errors"]
    other = client.post(f"/api/v1/monitors/{upkeep.b1.pk}/maintenance-records", body,
                        content_type="application/json", headers=h)
    assert other.status_code == 404
    listed = client.get("/api/v1/maintenance-records", headers=headers(cast.district)).json()
    assert [r["description"] for r in listed["items"]] == ["零点/跨度校准"]
    assert client.get("/api/v1/maintenance-records",
                      headers=headers(cast.contractor_b)).json()["count"] == 0
    assert MaintenanceRecord.objects.count() == 1


# ---------------------------------------------------------------- spray / fog cannons


def test_linked_sprays_show_their_state_and_last_24_hours(upkeep, cast, login):
    device = services.add_spray_device(upkeep.a1, actor=cast.contractor_a, name="东门雾炮",
                                       sb_code="sb1")
    assert device.sb_code == "SB1"
    with pytest.raises(Exception, match="已有设施编码为 SB1"):
        services.add_spray_device(upkeep.a1, actor=cast.contractor_a, name="重复", sb_code="SB1")
    now = timezone.now()
    SprayReading.objects.bulk_create([
        SprayReading(device=device, data_time=now - 30 * HOUR, running=True),  # before the window
        SprayReading(device=device, data_time=now - 3 * HOUR, running=False),
        SprayReading(device=device, data_time=now - HOUR, running=True)])
    SprayDevice.objects.filter(pk=device.pk).update(running=True, state_at=now - HOUR)
    response = login(cast.district).get(f"/monitors/{upkeep.a1.pk}/")
    page = text(response)
    assert "东门雾炮" in page and "运行中" in page
    data = json.loads(re.search(r'<script id="chart-sprays-data" type="application/json">(.*?)'
                                r"</script>", response.content.decode(), re.S).group(1))
    states = [p[1] for p in data["devices"][0]["points"]]
    assert states == [1, 0, 1, 1]  # running at the window's start, off, on, still on now
    assert login(cast.street).get(f"/monitors/{upkeep.a1.pk}/sprays/add/").status_code == 404
    response = login(upkeep.maint_a).post(f"/monitors/{upkeep.a1.pk}/sprays/add/",
                                          {"name": "x", "kind": "spray", "sb_code": "SB2"})
    assert response.status_code == 403
    assert SprayDevice.objects.count() == 1


def test_pages_show_a_month_nobody_reviewed_yet_and_a_record_whose_author_is_gone(upkeep, cast,
                                                                               login):
    """A month waiting for review has no reviewer, and a record's author may have been
    deleted since (or the simulator entered it): the lists say so instead of a 500."""
    from smartsite.dust.models import MonthlyReview

    review = MonthlyReview.objects.create(
        project=cast.project_a, month=datetime.date(2020, 1, 1), stats={},
        generated_at=datetime.datetime(2020, 2, 1, tzinfo=datetime.UTC))
    services.record_maintenance(upkeep.a1, actor=upkeep.maint_a, kind="visit",
                                started_at=timezone.now() - HOUR, description="月度巡检")
    upkeep.maint_a.delete()
    client = login(cast.manager_a)
    reviews = client.get("/monitors/reviews/")
    assert reviews.status_code == 200
    assert f'href="/monitors/reviews/{review.pk}/"' in reviews.content.decode()
    for url in (f"/monitors/{upkeep.a1.pk}/maintenance/",
                f"/monitors/projects/{cast.project_a.pk}/maintenance/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "月度巡检" in text(page)
