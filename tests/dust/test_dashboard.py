"""The dust dashboards as their users meet them: the city/district overview (扬尘总览) with
numbers computed from readings stored by `ingest.ingest` and orders raised through
`workorders.services.raise_event` under the dust loop policies; a project's dust page; and
the officer's phone view of a large-loop dust order (evidence, site position, penalty).
Every page is scoped: another district's user sees nothing of ours, and a project out of
scope is a 404."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone
from support.dust_city import City
from support.monitors import SHANGHAI, add_monitor

from smartsite.dust import dashboard
from smartsite.dust.models import SprayDevice, SprayReading
from smartsite.workorders.models import Penalty, WorkOrder

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

MIN = datetime.timedelta(minutes=1)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def json_script(response, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


def cells(body: str, district: str) -> list[str]:
    """The cells of a district's row of the ranking."""
    match = re.search(rf'<tr data-district="{district}">(.*?)</tr>', body)
    assert match, f"{district} is not ranked"
    return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))


@pytest.fixture
def city(cast, django_user_model, clock):
    """The dust city, built on the injected clock: today's readings after midnight are then
    complete quarters in the past, whatever the hour of the real day."""
    return City(cast, django_user_model)


# ---------------------------------------------------------------- the overview's numbers


def test_city_overview_counts_monitors_exceedances_and_orders(city, cast):
    o = dashboard.overview(cast.city, timezone.now())
    assert o.totals["monitors"] == 3 and o.totals["online"] == 2
    assert o.totals["reporting"] == 3
    # A1: four quarters over the limit (fails the day); B1: one (the one DB31/964 allows).
    assert o.totals["quarters"] == 5 and o.totals["failing"] == 1
    kinds = {k["kind"]: (k["open"], k["closed"]) for k in o.kinds}
    assert kinds["exceedance"] == (1, 1)
    assert kinds["offline"] == (1, 0)
    assert kinds["spray_unlinked"] == (1, 0)
    assert kinds["tamper"] == (0, 0) and kinds["missing_monitor"] == (0, 0)
    levels = {lv["level"]: (lv["open"], lv["closed"]) for lv in o.levels}
    assert levels == {"small": (2, 0), "medium": (0, 0), "large": (1, 1)}
    assert o.totals["large_open"] == 1
    bands = {r.mn: r.band for r in o.rows}
    assert bands == {city.a1.mn: "over", city.a2.mn: "offline", city.b1.mn: "good"}

    districts = {d.name: d for d in o.districts}
    jingan, pudong = districts["静安区"], districts["浦东新区"]
    assert (jingan.monitors, jingan.online, jingan.reporting, jingan.failing) == (2, 1, 2, 1)
    assert (jingan.exceedance_rate, jingan.online_rate) == (0.5, 0.5)
    assert (pudong.failing, pudong.quarters, pudong.online_rate) == (0, 1, 1.0)
    assert (jingan.opened, jingan.closed, pudong.opened, pudong.closed) == (2, 0, 2, 1)
    assert pudong.closure_rate == 0.5 and jingan.closure_rate == 0.0
    assert o.districts[0].name == "静安区"  # the worse exceedance rate ranks first

    top = [(p["name"], p["quarters"], p["open"]) for p in o.top_projects]
    assert top == [("静安甲项目", 4, 2), ("陆家嘴乙项目", 1, 1)]


def test_district_overview_holds_only_its_district(city, cast):
    o = dashboard.overview(cast.district, timezone.now())  # 静安区
    assert {r.mn for r in o.rows} == {city.a1.mn, city.a2.mn}
    assert [d.name for d in o.districts] == ["静安区"]
    assert o.totals["quarters"] == 4 and o.totals["open"] == 2 and o.totals["closed"] == 0
    assert [p["name"] for p in o.top_projects] == ["静安甲项目"]


def test_the_window_decides_what_counts_as_recently_closed(city, cast):
    WorkOrder.objects.filter(pk=city.b_closed.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=3))
    assert dashboard.overview(cast.city, timezone.now(), window=7).totals["closed"] == 1
    assert dashboard.overview(cast.city, timezone.now(), window=1).totals["closed"] == 0


def test_overview_is_a_fixed_number_of_queries_however_many_monitors(city, cast,
                                                                     django_assert_max_num_queries):
    for i in range(30):
        add_monitor(cast.project_b, mn=f"31PD0000000000000000C{i:03d}")
    with django_assert_max_num_queries(12):
        o = dashboard.overview(cast.city, timezone.now())
    assert o.totals["monitors"] == 33


# ---------------------------------------------------------------- the overview page


def test_dashboard_page_shows_the_numbers_and_is_in_the_nav(city, login, cast):
    response = login(cast.city).get("/monitors/dashboard/")
    assert response.status_code == 200
    body = text(response)
    assert '<a href="/monitors/dashboard/"' in body  # the nav links it
    assert re.search(r'data-k="quarters"><b>5</b>', body)
    assert re.search(r'data-k="open"><b>3</b>', body)
    assert re.search(r'<tr data-kind="exceedance"><td><a [^>]+>扬尘超标</a></td>'
                     r'<td class="num">1</td><td class="num">1</td></tr>', body)
    assert re.search(r'<tr data-kind="spray_unlinked"><td><a [^>]+>喷雾未联动</a></td>', body)
    assert re.search(r'data-level="large"><b>1</b><span>大闭环在办</span>'
                     r'<small class="muted">已闭环 1</small>', body)
    # 静安区 first (the worse exceedance rate): 超标率 1/2, 在线率 1/2, 闭环率 0/2, …
    assert cells(body, "静安区") == ["1", "静安区", "50%", "50%", "0%", "2", "4", "2"]
    assert cells(body, "浦东新区") == ["2", "浦东新区", "0%", "100%", "50%", "1", "1", "1"]
    assert "陆家嘴乙项目" in body and "各区排名" in body


def test_another_districts_user_sees_nothing_of_ours(city, login, cast):
    client = login(cast.district)  # 静安区
    body = text(client.get("/monitors/dashboard/"))
    assert "陆家嘴乙项目" not in body and "浦东新区" not in body
    assert "辖区情况" in body and re.search(r'data-k="open"><b>2</b>', body)
    points = client.get("/monitors/dashboard/points.json").json()["points"]
    assert sorted(p[2] for p in points) == sorted([city.a1.pk, city.a2.pk])
    assert client.get(f"/monitors/dashboard/points.json?project={cast.project_b.pk}"
                      ).status_code == 404
    assert client.get(f"/monitors/projects/{cast.project_b.pk}/").status_code == 404
    assert client.get(f"/monitors/projects/{cast.project_a.pk}/").status_code == 200


def test_a_user_without_a_role_sees_an_empty_dashboard(city, login, cast):
    client = login(cast.nobody)
    body = text(client.get("/monitors/dashboard/"))
    assert "静安甲项目" not in body and "辖区内暂无监测设备" in body
    assert client.get("/monitors/dashboard/points.json").json() == {"points": []}


def test_map_points_carry_position_band_and_link_id(city, login, cast):
    points = login(cast.city).get("/monitors/dashboard/points.json").json()["points"]
    by_id = {p[2]: p for p in points}
    assert by_id[city.a1.pk][:2] == [121.448, 31.229]
    assert by_id[city.a1.pk][4] == "over" and "PM10 150 µg/m³" in by_id[city.a1.pk][3]
    assert by_id[city.a2.pk][4] == "offline" and by_id[city.b1.pk][4] == "good"


def test_bad_window_falls_back_to_thirty_days(city, login, cast):
    response = login(cast.city).get("/monitors/dashboard/?days=abc")
    assert response.status_code == 200 and 'class="on">近 30 天' in text(response)
    assert login(cast.city).get("/monitors/dashboard/points.json?project=x").status_code == 404


# ---------------------------------------------------------------- a project's dust page


def test_project_dust_page_shows_monitors_charts_timeline_and_orders(city, login, cast):
    device = SprayDevice.objects.create(monitor=city.a1, name="东门雾炮", sb_code="SB1")
    midnight = datetime.datetime.combine(city.today, datetime.time(), SHANGHAI)
    SprayReading.objects.bulk_create([
        SprayReading(device=device, data_time=midnight + 20 * MIN, running=True),
        SprayReading(device=device, data_time=midnight + 30 * MIN, running=True),
        SprayReading(device=device, data_time=midnight + 40 * MIN, running=False)])
    response = login(cast.district).get(f"/monitors/projects/{cast.project_a.pk}/")
    assert response.status_code == 200
    body = text(response)
    assert city.a1.mn in body and city.a2.mn in body and city.b1.mn not in body
    assert "今日超标 4 个时段" in body and "离线" in body
    charts = json_script(response, "charts-data")
    assert set(charts) == {f"chart-{city.a1.pk}", f"chart-{city.a2.pk}"}
    assert len(charts[f"chart-{city.a1.pk}"]["pm10"]) >= 1
    timeline = json_script(response, "timeline-data")
    assert timeline["rows"] == ["000A01 超标时段", "000A01 东门雾炮", "000A02 超标时段"]
    over = [b for b in timeline["bars"] if b[3] == "over"]
    spray = [b for b in timeline["bars"] if b[3] == "spray"]
    assert len(over) == 4 and all(b[0] == 0 for b in over)
    assert len(spray) == 1 and spray[0][0] == 1 and spray[0][4] == "运行 00:20–00:40"
    assert spray[0][2] - spray[0][1] == 20 * 60 * 1000
    assert city.a_exceed.number in body and city.a_offline.number in body
    assert "小闭环" in body and "扬尘超标" in body and "设备离线" in body
    assert city.b_spray.number not in body


def test_project_and_monitor_pages_link_the_dust_page(city, login, cast):
    client = login(cast.manager_a)
    url = f"/monitors/projects/{cast.project_a.pk}/"
    assert url in client.get(f"/projects/{cast.project_a.pk}/").content.decode()
    assert url in client.get(f"/monitors/{city.a1.pk}/").content.decode()
    assert client.get(url).status_code == 200
    assert client.get(f"/monitors/projects/{cast.project_b.pk}/").status_code == 404


# ---------------------------------------------------------------- the officer's phone view


def test_officer_sees_the_evidence_and_site_of_a_large_loop_order(city, login, cast):
    client = login(cast.street)
    listing = text(client.get("/m/"))
    assert city.b_spray.title in listing and city.a_exceed.title not in listing
    response = client.get(f"/m/orders/{city.b_closed.pk}/")
    body = text(response)
    assert response.status_code == 200
    assert "00:15" in body and "131" in body  # the exceedance quarters of the evidence
    assert city.b1.mn in body and "dust-evidence" in body
    assert f'data-points="/monitors/dashboard/points.json?project={cast.project_b.pk}"' in body
    body = text(client.get(f"/m/orders/{city.b_spray.pk}/"))
    assert "未登记联动的喷淋/雾炮" in body
    assert "登记立案处罚" in body  # the squad of the project's street may file a penalty
    assert client.get(f"/m/orders/{city.a_exceed.pk}/").status_code == 404


def test_officer_files_a_penalty_from_the_phone_and_returns_to_it(city, login, cast):
    client = login(cast.street)
    order = city.b_spray
    order.refresh_from_db()
    response = client.post(f"/orders/{order.pk}/penalties/", {
        "view": "mobile", "version": order.version, "basis": "",
        "amount": "20000", "decision_number": "沪浦城管罚〔2026〕1号",
        "decided_on": timezone.localdate().isoformat()})
    # No basis: refused with the reason, on the phone page, nothing recorded.
    assert response.status_code in (400, 409, 422)
    assert "mobile" in response.content.decode() and not Penalty.objects.exists()
    from smartsite.workorders.models import LegalBasis

    basis = LegalBasis.objects.filter(scenario="dust", active=True).first()
    response = client.post(f"/orders/{order.pk}/penalties/", {
        "view": "mobile", "version": order.version, "basis": basis.code,
        "amount": str(basis.min_amount), "decision_number": "沪浦城管罚〔2026〕1号",
        "decided_on": timezone.localdate().isoformat()})
    assert response.status_code == 302 and response["Location"] == f"/m/orders/{order.pk}/"
    assert Penalty.objects.get().order == order
