"""Annual inspections and calibrations (年检/校准): who may record them, the certificate
judged by its bytes, the refusals that change nothing, and the expiry status on the monitor
page and in the API."""

from __future__ import annotations

import datetime
import re

import pytest
from support.clock import CLOCK_AT
from support.upkeep import EXE, PDF, PNG, make_upkeep, upload

from smartsite.core.models import AuditEntry
from smartsite.dust import services
from smartsite.dust.models import Inspection
from smartsite.dust.upkeep_selectors import inspection_states

pytestmark = pytest.mark.django_db

TODAY = CLOCK_AT.date()  # every test here runs on the injected clock
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _clock(clock):
    return clock


@pytest.fixture
def upkeep(cast):
    return make_upkeep(cast)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def form(inspected_on=TODAY - 30 * DAY, expires_on=None, certificate_no="JJ2026-0001",
         content=PDF, name="证书.pdf", **extra):
    data = {"kind": "annual", "inspected_on": inspected_on.isoformat(),
            "expires_on": (expires_on or inspected_on + 365 * DAY).isoformat(),
            "body": "上海市计量测试技术研究院", "certificate_no": certificate_no, "passed": "on",
            **extra}
    if content is not None:
        data["certificate"] = upload(content, name)
    return data


def record(monitor, actor, *, inspected_on=TODAY - 30 * DAY, expires_on=None,
           certificate_no="JJ2026-0001", passed=True):
    return services.record_inspection(
        monitor, actor=actor, inspected_on=inspected_on,
        expires_on=expires_on or inspected_on + 365 * DAY, body="上海市计量测试技术研究院",
        certificate_no=certificate_no, passed=passed)


def test_contractor_records_an_inspection_and_the_monitor_page_shows_it_valid(
        upkeep, cast, login):
    client = login(cast.contractor_a)
    page = text(client.get(f"/monitors/{upkeep.a1.pk}/"))
    assert "无记录" in page and "登记年检/校准" in page
    response = client.post(f"/monitors/{upkeep.a1.pk}/inspections/add/", form())
    assert response.status_code == 302
    inspection = Inspection.objects.get(monitor=upkeep.a1)
    assert inspection.certificate.read().startswith(b"%PDF-")
    assert inspection.recorded_by == cast.contractor_a
    page = text(client.get(f"/monitors/{upkeep.a1.pk}/"))
    assert "JJ2026-0001" in page and "有效" in page and "上海市计量测试技术研究院" in page
    assert f"年检有效期至 {TODAY - 30 * DAY + 365 * DAY:%Y-%m-%d}" in page
    assert AuditEntry.objects.filter(model="dust.inspection", object_id=str(inspection.pk),
                                     project=cast.project_a).exists()


def test_the_certificate_link_downloads_the_file_in_scope_and_is_404_outside(
        upkeep, cast, login, client):
    login(cast.contractor_a).post(f"/monitors/{upkeep.a1.pk}/inspections/add/",
                                  form(content=PNG, name="证书.pdf"))
    page = client.get(f"/monitors/{upkeep.a1.pk}/").content.decode()
    (link,) = re.findall(r'href="([^"]*certificate[^"]*)"', page)
    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"  # by its bytes, not its name
    assert b"".join(response.streaming_content) == PNG
    headers = api(client, upkeep.maint_a)
    listed = client.get(f"/api/v1/monitors/{upkeep.a1.pk}/inspections", headers=headers).json()
    assert listed["items"][0]["certificate_url"] == link
    for outsider in (cast.contractor_b, cast.street):
        assert login(outsider).get(link).status_code == 404


@pytest.mark.parametrize(("data", "field", "message"), [
    (form(inspected_on=TODAY + 3 * DAY), "inspected_on", "证书日期不能在未来"),
    (form(expires_on=TODAY - 40 * DAY), "expires_on", "有效期须晚于检定日期"),
    (form(content=EXE, name="证书.pdf"), "certificate", "不是 JPEG/PNG 图片或 PDF 文件"),
    (form(content=None), "certificate", "请上传证书文件"),
    (form(certificate_no=" "), "certificate_no", "这个字段是必填项"),
])
def test_bad_input_gets_a_message_on_its_field_and_nothing_is_stored(
        upkeep, cast, login, data, field, message):
    response = login(cast.contractor_a).post(f"/monitors/{upkeep.a1.pk}/inspections/add/", data)
    assert response.status_code == 422
    page = text(response)
    assert re.search(rf'data-field="{field}">[^<]*{re.escape(message)}', page), page[-3000:]
    assert not Inspection.objects.exists()


def test_a_certificate_number_cannot_be_recorded_twice(upkeep, cast, login):
    record(upkeep.a1, cast.contractor_a)
    client = login(cast.contractor_a)
    response = client.post(f"/monitors/{upkeep.a1.pk}/inspections/add/", form())
    assert response.status_code == 422
    assert "证书编号“JJ2026-0001”已登记" in text(response)
    # … nor on another device (the same paper cannot cover two monitors)
    with pytest.raises(Exception, match="另一台监测设备"):
        record(upkeep.b1, cast.city)
    assert Inspection.objects.count() == 1


@pytest.mark.parametrize("who", ["contractor_a", "district", "city", "maint_a"])
def test_contractor_maintainer_and_regulators_may_record(upkeep, cast, who):
    user = upkeep.maint_a if who == "maint_a" else getattr(cast, who)
    assert record(upkeep.a1, user).pk


def test_a_street_officer_sees_the_monitor_but_may_not_record_an_inspection(upkeep, cast, login):
    client = login(cast.street)
    assert client.get(f"/monitors/{upkeep.b1.pk}/").status_code == 200
    response = client.post(f"/monitors/{upkeep.b1.pk}/inspections/add/", form())
    assert response.status_code == 403
    assert "年检和校准记录" in text(response)
    assert not Inspection.objects.exists()


def test_expiry_status_follows_the_latest_passed_annual_inspection(upkeep, cast):
    states = lambda: inspection_states([upkeep.a1.pk, upkeep.b1.pk], TODAY)  # noqa: E731
    assert states()[upkeep.a1.pk].label == "无记录"
    record(upkeep.a1, cast.city, inspected_on=TODAY - 400 * DAY, expires_on=TODAY - DAY,
           certificate_no="OLD-1")
    assert states()[upkeep.a1.pk].label == "已过期"
    record(upkeep.a1, cast.city, inspected_on=TODAY - 340 * DAY, expires_on=TODAY + 20 * DAY,
           certificate_no="MID-1")
    assert (states()[upkeep.a1.pk].label, states()[upkeep.a1.pk].days_left) == ("30 天内到期", 20)
    record(upkeep.a1, cast.city, inspected_on=TODAY - DAY, expires_on=TODAY + 300 * DAY,
           certificate_no="FAIL-1", passed=False)  # a failed inspection renews nothing
    assert states()[upkeep.a1.pk].label == "30 天内到期"
    record(upkeep.a1, cast.city, inspected_on=TODAY, expires_on=TODAY + 365 * DAY,
           certificate_no="NEW-1")
    assert states()[upkeep.a1.pk].label == "有效"
    assert states()[upkeep.b1.pk].label == "无记录"


# ---------------------------------------------------------------- API


def api(client, user):
    from smartsite.core import services as core_services

    _, key = core_services.issue_token(user, actor=user, name="pytest")
    return {"Authorization": f"Bearer {key}"}


def test_api_records_an_inspection_with_a_png_scan_and_lists_it(upkeep, cast, client):
    headers = api(client, upkeep.maint_a)
    data = form(content=PNG, name="scan.png")
    data.pop("passed")
    response = client.post(f"/api/v1/monitors/{upkeep.a1.pk}/inspections", data, headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["certificate_url"].endswith(".png")
    listed = client.get(f"/api/v1/monitors/{upkeep.a1.pk}/inspections", headers=headers).json()
    assert listed["status"] == "valid" and listed["status_display"] == "有效"
    assert [i["certificate_no"] for i in listed["items"]] == ["JJ2026-0001"]


@pytest.mark.parametrize(("body", "field"), [
    ({"inspected_on": (TODAY + DAY).isoformat(), "expires_on": (TODAY + 300 * DAY).isoformat()},
     "inspected_on"),
    ({"inspected_on": TODAY.isoformat(), "expires_on": TODAY.isoformat()}, "expires_on"),
    ({"inspected_on": "2026-02-30", "expires_on": TODAY.isoformat()}, "inspected_on"),
    ({"inspected_on": TODAY.isoformat(), "expires_on": (TODAY + DAY).isoformat(),
      "certificate_no": ""}, "certificate_no"),
])
def test_api_bad_input_is_a_field_level_422(upkeep, cast, client, body, field):
    payload = {"body": "上海市计量测试技术研究院", "certificate_no": "X-1", **body}
    response = client.post(f"/api/v1/monitors/{upkeep.a1.pk}/inspections", payload,
                           content_type="application/json", headers=api(client, cast.district))
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert not Inspection.objects.exists()


def test_api_certificate_that_is_not_pdf_or_image_is_a_422_on_certificate(upkeep, cast, client):
    data = form(content=EXE, name="证书.pdf")
    response = client.post(f"/api/v1/monitors/{upkeep.a1.pk}/inspections", data,
                           headers=api(client, cast.contractor_a))
    assert response.status_code == 422
    assert "不是 JPEG/PNG 图片或 PDF 文件" in response.json()["errors"]["certificate"][0]
    assert not Inspection.objects.exists()


def test_api_scope_and_permission(upkeep, cast, client):
    payload = {"inspected_on": TODAY.isoformat(), "expires_on": (TODAY + DAY * 300).isoformat(),
               "body": "某检测所", "certificate_no": "S-1"}
    response = client.post(f"/api/v1/monitors/{upkeep.a1.pk}/inspections", payload,
                           content_type="application/json", headers=api(client, cast.contractor_b))
    assert response.status_code == 404
    response = client.post(f"/api/v1/monitors/{upkeep.b1.pk}/inspections", payload,
                           content_type="application/json", headers=api(client, cast.street))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert not Inspection.objects.exists()
