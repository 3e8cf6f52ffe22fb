"""The pit pages as their users meet them: the pit page (plan, curves with 预警 lines and
stages, inclinometer profiles, forecast, colour history, the design unit's judgement), the 3D
view, the dashboard and the monthly compliance report (Excel, PDF)."""

from __future__ import annotations

import datetime
import io
import json
import shutil
import subprocess

import pytest
from support.pit_pages import DAY, NOW, surveyed_site
from support.pits import T0, rows

from smartsite.pits import services
from smartsite.pits.models import ColourChange, Pit, Upload, UploadGap

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(cast, clock):
    clock.move_to(NOW)
    return surveyed_site(cast, NOW)


def record(site, data, now):
    return services.record_survey(site.pit, data, actor=site.monitor_user, now=now)


def json_data(response, element_id):
    html = response.content.decode()
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return json.loads(html[start:html.index("</script>", start)])


def test_the_pit_page_shows_plan_curves_profiles_and_forecast(client, site, cast):
    client.force_login(cast.district)
    response = client.get(site.pit.get_absolute_url())
    assert response.status_code == 200
    text = response.content.decode()
    plan = json_data(response, "plan-data")
    assert plan["outline"] == [[0, 0], [80, 0], [80, 40], [0, 40]]
    by_code = {p[2]: p for p in plan["points"]}
    assert by_code["WY-01"][:2] == [40, 0] and by_code["WY-01"][4] == "normal"
    curves = json_data(response, "curves-data")
    wy = curves["WY-01"]
    assert wy["limit"] == 20 and wy["watch"] == pytest.approx(14)
    assert wy["data"][-1][1] == pytest.approx(9.95)  # readings − baseline (0)
    assert curves["DB-01"]["limit"] < 0  # settlement: the lines on the side it moves to
    assert curves["ZL-01"]["force"] and curves["ZL-01"]["data"][-1][1] == pytest.approx(62)
    stages = json_data(response, "stages-data")
    assert [s[1] for s in stages] == ["第一层土方开挖（3.00 m）", "第二层土方开挖（7.00 m）"]
    profiles = json_data(response, "profiles-data")
    surveys = profiles["CX-01"]["surveys"]
    assert len(surveys) == 3 and surveys[-1][1][1] == [13.5, 5.0]  # [mm, depth]
    assert "按当前趋势，约" in text and "天后达到预警值" in text
    assert 'action="/pits/' not in text  # a regulator does not judge


def test_the_forecast_shows_only_points_heading_for_their_alarm(client, site, cast):
    client.force_login(cast.city)
    html = client.get(site.pit.get_absolute_url()).content.decode()
    section = html[html.index('id="forecast"'):html.index('id="plan"')]
    assert "WY-01" in section
    assert "CX-01" not in section  # no trend to speak of over its three surveys


def test_every_pit_page_opens_for_who_sees_it_and_is_absent_for_others(client, site, cast):
    pages = [site.pit.get_absolute_url(), f"/pits/{site.pit.pk}/3d/", "/pits/",
             "/pits/report.xlsx", "/pits/report.pdf"]
    for user in (cast.city, cast.district, cast.contractor_a, site.monitor_user,
                 site.designer_user, site.owner_user, site.supervisor_user):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 200, (user.username, url)
    client.force_login(cast.contractor_b)
    for url in pages[:2]:
        assert client.get(url).status_code == 404
    assert client.post(f"/pits/{site.pit.pk}/judge/",
                       {"colour": "yellow", "opinion": "x"}).status_code == 404
    dashboard = client.get("/pits/").content.decode()
    assert site.pit.name not in dashboard


def test_the_design_unit_judges_the_colour_and_nobody_else_may(client, site, cast):
    url = f"/pits/{site.pit.pk}/judge/"
    for user in (cast.city, cast.contractor_a, site.monitor_user, site.owner_user):
        client.force_login(user)
        assert client.post(url, {"colour": "red", "opinion": "越权"}).status_code == 403
    assert not ColourChange.objects.filter(proposed=False).exists()

    client.force_login(site.designer_user)
    page = client.get(site.pit.get_absolute_url()).content.decode()
    assert f'action="{url}"' in page
    bad = client.post(url, {"colour": "yellow", "opinion": "  "})
    assert bad.status_code == 422
    assert "研判须填写意见" in bad.content.decode()
    assert Pit.objects.get().colour == "green"
    done = client.post(url, {"colour": "yellow", "opinion": "累计位移发展较快，加密监测"})
    assert done.status_code == 302
    assert Pit.objects.get().colour == "yellow"
    page = client.get(site.pit.get_absolute_url()).content.decode()
    assert "设计单位研判" in page and "累计位移发展较快，加密监测" in page


def test_the_3d_view_carries_the_excavation_and_the_points(client, site, cast):
    client.force_login(cast.contractor_a)
    response = client.get(f"/pits/{site.pit.pk}/3d/")
    assert response.status_code == 200
    scene = json_data(response, "scene-data")
    assert scene["design_depth"] == 15 and scene["depth"] == 7
    by_code = {p[3]: p for p in scene["points"]}
    assert by_code["CX-01"][2] == -15  # an inclinometer drawn at half its 30 m tube
    assert "vendor/echarts-gl/echarts-gl.min.js" in response.content.decode()


def test_the_dashboard_counts_by_district_and_lists_overdue_steps_and_late_parties(
        client, site, cast, clock):
    # A 6 mm jump (3 × the rate 预警值) turns the pit yellow; its order's 2-day step runs out.
    record(site, rows("DB-01", [-8.0], start=NOW - datetime.timedelta(hours=1)), now=NOW)
    assert Pit.objects.get().proposed_colour == "yellow"
    client.force_login(cast.district)
    assert "<b>1</b><span>待研判" in client.get("/pits/").content.decode()
    services.judge_colour(Pit.objects.get(), colour="yellow", opinion="一般预警",
                          actor=site.designer_user, now=NOW)
    assert "<b>0</b><span>待研判" in client.get("/pits/").content.decode()
    UploadGap.objects.create(pit=site.pit, item="wall_top_horizontal", due_at=NOW - DAY,
                             interval_days=1, monitoring_company=site.pit.monitoring_company)
    clock.move_to(NOW + 5 * DAY)
    client.force_login(cast.district)
    response = client.get("/pits/")
    html = response.content.decode()
    chart = json_data(response, "districts-data")
    assert chart["districts"] == ["静安区"] and chart["deep"] == [1]
    yellow = next(s for s in chart["series"] if s[0] == "yellow")
    assert yellow[3] == [1]
    overdue = html[html.index('id="overdue"'):html.index('id="late"')]
    assert "已逾期" in overdue and "静安甲项目" in overdue
    late = html[html.index('id="late"'):]
    assert "戊岩土监测有限公司" in late


def report_site(site):
    """Late readings this month (received 3 days after they were measured) and one gap."""
    late_at = T0 + 20 * DAY
    upload = record(site, rows("WY-01", [10.5, 10.8], start=T0 + 16 * DAY), now=late_at)
    assert upload.late == 2
    UploadGap.objects.create(pit=site.pit, item="ground_settlement", due_at=T0 + 14 * DAY,
                             interval_days=1, monitoring_company=site.pit.monitoring_company)


def test_the_monthly_report_in_excel_per_monitoring_company(client, site, cast, clock):
    from openpyxl import load_workbook

    report_site(site)
    clock.move_to(T0 + 25 * DAY)
    client.force_login(cast.district)
    response = client.get("/pits/report.xlsx?month=2026-03")
    assert response.status_code == 200
    assert "2026-03.xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[2][:4] == ["监测单位", "项目", "基坑", "区"]
    row = next(r for r in values if r[0] == "戊岩土监测有限公司")
    _company, project, pit, district, due, surveyed, late, gaps, open_gaps = row
    assert (project, pit, district) == ("静安甲项目", "1号基坑", "静安区")
    # the fixture's surveys of 12 days, uploaded on day 12, and the two of report_site
    assert late == sum(u.late for u in Upload.objects.all()) > 2
    assert gaps == 1 and open_gaps == 1
    assert due > 0 and surveyed >= 13
    assert values[-1][0] == "合计" and values[-1][6] == late
    # Another month: nothing late there.
    april = load_workbook(io.BytesIO(client.get("/pits/report.xlsx?month=2026-04").content)).active
    assert all(r[0].value != "戊岩土监测有限公司" or r[6].value == 0 for r in april.iter_rows())


def test_the_monthly_report_as_pdf(client, site, cast, clock):
    report_site(site)
    clock.move_to(T0 + 25 * DAY)
    client.force_login(cast.city)
    response = client.get("/pits/report.pdf?month=2026-03")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and len(response.content) > 5000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=response.content,
                              capture_output=True, check=True).stdout.decode()
        assert "戊岩土监测有限公司" in text and "2026 年 3 月" in text


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "march", "2026-03-01", "0000-01"])
def test_a_bad_month_is_a_400_with_a_message(client, cast, month):
    client.force_login(cast.city)
    for url in ("/pits/report.xlsx", "/pits/report.pdf"):
        response = client.get(url, {"month": month})
        assert response.status_code == 400
        assert "应为 YYYY-MM" in response.content.decode()
