"""The monitor pages as their users meet them: who sees which monitor, online/offline relative
to now, the live panel and the 24 h chart from what `ingest.ingest` stored, the district's
15-minute exceedances against the limit, rejected devices and the registration form (bad
input shows a specific message and changes nothing)."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone
from support.monitors import SHANGHAI, add_monitor, row

from smartsite.dust import ingest
from smartsite.dust.choices import RejectReason
from smartsite.dust.models import DeviceRejection, DustLimit, Monitor, MonitorConnection
from smartsite.dust.partitions import ensure_partitions
from smartsite.dust.selectors import chart_ms
from smartsite.hj212.handlers import ConnectionRecord, StatusUpdate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

MIN = datetime.timedelta(minutes=1)
DAY = datetime.date(2026, 11, 24)  # a past Shanghai day for the exceedance list


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def json_script(response, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


@pytest.fixture
def monitors(cast, clock):
    """Project A (静安) has two monitors, project B (陆家嘴) one. On the injected clock: the
    pages' "today" and the tests' are the same day, whatever the real hour."""
    today = timezone.localdate()
    ensure_partitions(min(DAY, today) - datetime.timedelta(days=1),
                      today + datetime.timedelta(days=1))
    a1 = add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门")
    a2 = add_monitor(cast.project_a, mn="31JA00000000000000000A02", location="西南角")
    b1 = add_monitor(cast.project_b, mn="31PD00000000000000000B01", location="北门")
    return a1, a2, b1


def seen(monitor, ago: datetime.timedelta, **values):
    now = timezone.now()
    ingest.save_status([StatusUpdate(
        monitor_id=monitor.pk, last_seen=now - ago, last_data_time=now - ago - MIN,
        values=values or {"pm10": 86.5, "pm25": 41.2, "noise": 63.4},
        flags={k: "N" for k in (values or {"pm10": 0, "pm25": 0, "noise": 0})},
        connected=ago < datetime.timedelta(minutes=5), peer="10.8.0.17:50211",
        connected_since=now - datetime.timedelta(hours=3), packets=120)])


def list_row(body: str, mn: str) -> str:
    match = re.search(rf"<tr><td><a href=\"[^\"]+\">{mn}</a>.*?</tr>", body)
    assert match, f"{mn} is not listed"
    return match.group(0)


# ---------------------------------------------------------------- scope


def test_the_nav_has_the_monitor_list(monitors, login, cast):
    body = text(login(cast.street).get("/"))
    assert '<a href="/monitors/"' in body and "监测设备" in body


# ---------------------------------------------------------------- city list


def test_list_shows_online_offline_and_never_relative_to_now(monitors, login, cast, settings):
    settings.MONITOR_OFFLINE_MINUTES = 10
    a1, a2, b1 = monitors
    seen(a1, datetime.timedelta(minutes=2))
    seen(a2, datetime.timedelta(minutes=25))
    body = text(login(cast.city).get("/monitors/"))
    assert ">在线<" in list_row(body, a1.mn) and "86.5" in list_row(body, a1.mn)
    assert ">离线<" in list_row(body, a2.mn)
    assert ">从未上线<" in list_row(body, b1.mn)
    counts = dict(re.findall(r'data-state="(\S+)"><b>(\d+)</b>', body))
    assert counts == {"在线": "1", "离线": "1", "从未上线": "1"}
    # The last contact is shown in Shanghai time.
    last = timezone.now().astimezone(SHANGHAI) - datetime.timedelta(minutes=2)
    assert f"{last:%Y-%m-%d %H:%M}" in list_row(body, a1.mn)

    # Later, the same monitor has gone quiet: it is offline now.
    settings.MONITOR_OFFLINE_MINUTES = 1
    body = text(login(cast.city).get("/monitors/"))
    assert ">离线<" in list_row(body, a1.mn)


def test_list_filters_by_connectivity_district_and_search(monitors, login, cast):
    a1, a2, b1 = monitors
    seen(a1, datetime.timedelta(minutes=1))
    client = login(cast.city)
    body = text(client.get("/monitors/?connectivity=online"))
    assert a1.mn in body and a2.mn not in body and b1.mn not in body
    body = text(client.get(f"/monitors/?district={cast.pudong.pk}"))
    assert b1.mn in body and a1.mn not in body
    body = text(client.get("/monitors/?q=陆家嘴"))
    assert b1.mn in body and a1.mn not in body
    body = text(client.get("/monitors/?q=A02"))
    assert a2.mn in body and a1.mn not in body
    body = text(client.get("/monitors/?connectivity=sometimes"))
    assert "没有符合条件的记录" in body and "选择一个有效的选项" in body


def test_list_exports_excel(monitors, login, cast):
    from io import BytesIO

    from openpyxl import load_workbook

    seen(monitors[0], datetime.timedelta(minutes=1))
    response = login(cast.district).get("/monitors/?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0] == ("MN", "连接状态", "PM10（µg/m³）", "PM2.5（µg/m³）", "噪声（dB(A)）",
                       "最近通信", "项目", "区", "街镇", "安装位置")
    assert {r[0] for r in rows[1:]} == {monitors[0].mn, monitors[1].mn}
    first = next(r for r in rows if r[0] == monitors[0].mn)
    assert first[1] == "在线" and first[2] == 86.5 and first[7] == "静安区"


FORMULA_LIKE = ['=HYPERLINK("http://evil.example/","点击查看")', "+86 21 5555", "-2 层东侧",
                "@SUM(1,2)", "\t=1+1", "\r=1+1", "#N/A"]


def test_export_writes_formula_like_text_as_text(cast, login):
    """A contractor's monitor location that looks like a formula arrives in the district's
    export as the same text, not as a live formula (or error); numbers stay numbers."""
    from io import BytesIO

    from openpyxl import load_workbook

    ensure_partitions(timezone.localdate() - datetime.timedelta(days=1),
                      timezone.localdate() + datetime.timedelta(days=1))
    made = {}
    for i, location in enumerate(FORMULA_LIKE):
        monitor = add_monitor(cast.project_a, mn=f"31JA000000000000000000F{i}",
                              location=location)
        monitor.refresh_from_db()
        made[monitor.mn] = monitor.location  # as stored (surrounding whitespace is trimmed)
        assert monitor.location.lstrip("\t\r") == location.lstrip("\t\r")
        seen(monitor, datetime.timedelta(minutes=1), pm10=-3.5, pm25=41.2, noise=63.4)
    response = login(cast.district).get("/monitors/?export=xlsx")
    sheet = load_workbook(BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    where, pm10 = header.index("安装位置"), header.index("PM10（µg/m³）")
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert set(rows) == set(made)
    for mn, location in made.items():
        cell = rows[mn][where]
        assert cell.data_type == "s" and cell.value == location, (location, cell.data_type)
        assert cell.quotePrefix  # Excel keeps it text when someone edits the cell
        assert rows[mn][pm10].data_type == "n" and rows[mn][pm10].value == -3.5


# ---------------------------------------------------------------- monitor page


def test_monitor_page_shows_live_values_with_flags_and_the_connection(monitors, login, cast):
    a1 = monitors[0]
    seen(a1, datetime.timedelta(seconds=20))
    ingest.save_status([StatusUpdate(
        monitor_id=a1.pk, last_seen=timezone.now(), last_data_time=timezone.now(),
        values={"pm10": 120.0, "pm25": 55.0, "noise": 58.0}, flags={"pm10": "C", "pm25": "N",
                                                                    "noise": "N"},
        connected=True, peer="10.8.0.17:50211", connected_since=timezone.now() - 3 * MIN)])
    body = text(login(cast.district).get(f"/monitors/{a1.pk}/"))
    assert "实时状态" in body and ">在线<" in body
    panel = re.search(r'<section class="card live".*?</section>', body).group(0)
    assert re.search(r'data-metric="pm10">.*?<b class="value">120</b>.*?C · 校准', panel)
    assert re.search(r'data-metric="pm25">.*?<b class="value">55</b>.*?N · 正常', panel)
    assert "连接中" in panel and "10.8.0.17:50211" in panel
    assert 'hx-trigger="every 30s"' in panel

    live = text(login(cast.district).get(f"/monitors/{a1.pk}/live/"))
    assert live.strip().startswith('<section class="card live"') and "120" in live


def test_monitor_page_chart_carries_the_minute_means_ingest_stored(monitors, login, cast):
    a1 = monitors[0]
    now = timezone.now()
    start = (now - datetime.timedelta(minutes=30)).replace(second=0, microsecond=0)
    rows = []
    for i in range(10):  # three real-time packets a minute, 20 s apart
        minute = start + i * MIN
        for k, (pm10, noise) in enumerate(((80 + i, 50.0), (82 + i, 60.0), (84 + i, 70.0))):
            rows.append(row(a1, minute + k * datetime.timedelta(seconds=20), now=now,
                            pm10=pm10, pm25=40, noise=noise))
    rows.append(row(a1, now - datetime.timedelta(days=2), now=now, pm10=999))  # not in 24 h
    ingest.ingest(rows)
    ingest.roll_up_all()  # hour and day means, as the gateway's next flush

    chart = json_script(login(cast.district).get(f"/monitors/{a1.pk}/"), "chart-24h-data")
    assert chart["pm10"] == [[chart_ms(start + i * MIN), 82.0 + i] for i in range(10)]
    assert chart["pm25"] == [[chart_ms(start + i * MIN), 40.0] for i in range(10)]
    energy = round(10 * __import__("math").log10((10**5 + 10**6 + 10**7) / 3), 1)  # 65.7
    assert {p[1] for p in chart["noise"]} == {energy}
    # Shanghai wall-clock time: 08:00 more than UTC.
    assert chart["pm10"][0][0] - int(start.timestamp() * 1000) == 8 * 3600 * 1000


def test_monitor_page_lists_todays_quarters_above_the_limit_and_the_connections(
        monitors, login, cast):
    a1 = monitors[0]
    now = timezone.now()
    today = timezone.localdate(now)
    midnight = datetime.datetime.combine(today, datetime.time(), SHANGHAI)
    limit = DustLimit.in_force()
    rows = [row(a1, midnight + i * MIN, now=now, pm10=limit.limit + 50) for i in range(3)]
    rows += [row(a1, midnight + datetime.timedelta(minutes=15 + i), now=now, pm10=limit.limit)
             for i in range(3)]  # exactly at the limit: not above it
    ingest.ingest(rows)
    ingest.roll_up_all()  # hour and day means, as the gateway's next flush
    ingest.record_connections([
        ConnectionRecord(None, a1.pk, "tcp", "10.8.0.17:50211", now - 90 * MIN,
                                  now - 30 * MIN, 57, 2, "对端关闭连接"),
        ConnectionRecord(None, a1.pk, "mqtt", "mqtt", now - 29 * MIN)], [])

    response = login(cast.district).get(f"/monitors/{a1.pk}/")
    body = text(response)
    quarters = json_script(response, "chart-quarters-data")
    assert quarters["limit"] == limit.limit
    assert [p[1] for p in quarters["points"]] == [limit.limit + 50, limit.limit]
    table = re.search(r'<table class="list compact above">.*?</table>', body).group(0)
    assert "00:00–00:15" in table and "00:15–00:30" not in table and "+50" in table
    assert "今日超过限值 <b>1</b> 个时段" in body and ">达标<" in body
    history = re.search(r"连接记录.*?</table>", body).group(0)
    assert history.index("MQTT") < history.index("TCP"), "newest connection first"
    assert "对端关闭连接" in history and ">57<" in history and ">2<" in history


# ---------------------------------------------------------------- exceedances


def quarter(hh: int, mm: int) -> datetime.datetime:
    return datetime.datetime.combine(DAY, datetime.time(hh, mm), SHANGHAI)


def fill(monitor, start: datetime.datetime, pm10: float, minutes: int = 15, flag: str = "N"):
    return [row(monitor, start + i * MIN, now=start + 2 * DAY_SPAN, pm10=pm10, flag=flag)
            for i in range(minutes)]


DAY_SPAN = datetime.timedelta(days=1)


@pytest.fixture
def exceeding(monitors):
    """On DAY: A01 above the limit at 09:00 and 09:30 (not 09:15, not at exactly the limit
    at 10:00, and calibration values at 11:00 do not count); A02 once at 14:45;
    B01 (陆家嘴) at 09:00."""
    a1, a2, b1 = monitors
    limit = DustLimit.in_force(on=DAY)
    rows = (fill(a1, quarter(9, 0), limit.limit + 50) + fill(a1, quarter(9, 15), limit.limit - 10)
            + fill(a1, quarter(9, 30), limit.limit + 1) + fill(a1, quarter(10, 0), limit.limit)
            + fill(a1, quarter(11, 0), limit.limit * 5, flag="C")
            + fill(a2, quarter(14, 45), limit.limit + 20) + fill(b1, quarter(9, 0), limit.limit * 2))
    # A day earlier and a day later do not belong to DAY.
    rows += fill(a1, quarter(9, 0) - DAY_SPAN, limit.limit * 3)
    rows += fill(a1, quarter(0, 0) + DAY_SPAN, limit.limit * 3)
    ingest.ingest(rows)
    ingest.roll_up_all()  # hour and day means, as the gateway's next flush
    return limit


def exceedance_rows(body: str) -> list[tuple[str, str, str, str]]:
    """(MN, 时段, 当日超标次数, 当日判定) of each listed row, in page order."""
    found = []
    for tr in re.findall(r"<tr><td><a href=\"/monitors/\d+/\">.*?</tr>", body):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr)
        mn = re.sub(r"<[^>]+>", "", cells[0])
        verdict = re.sub(r"<[^>]+>", "", cells[8])
        found.append((mn, cells[4], cells[7], verdict))
    return found


def test_exceedance_list_lists_exactly_the_quarters_above_the_limit_newest_first(
        monitors, exceeding, login, cast):
    a1, a2, _ = monitors  # B01 (陆家嘴) exceeds too, outside 静安
    body = text(login(cast.district).get(f"/monitors/exceedances/?date={DAY:%Y-%m-%d}"))
    assert exceedance_rows(body) == [
        (a2.mn, "14:45–15:00", "1", "达标"),
        (a1.mn, "09:30–09:45", "2", "不达标"),
        (a1.mn, "09:00–09:15", "2", "不达标"),
    ]
    assert "DB31/964-2016" in body and "共 3 条" in body


def test_exceedance_list_of_the_city_includes_other_districts(monitors, exceeding, login, cast):
    body = text(login(cast.city).get(f"/monitors/exceedances/?date={DAY:%Y-%m-%d}"))
    mns = [r[0] for r in exceedance_rows(body)]
    assert mns.count(monitors[2].mn) == 1 and len(mns) == 4


def test_exceedance_list_refuses_a_bad_date_and_exports_excel(monitors, exceeding, login, cast):
    from io import BytesIO

    from openpyxl import load_workbook

    client = login(cast.district)
    response = client.get("/monitors/exceedances/?date=2026-02-30")
    assert response.status_code == 400 and "日期格式应为 YYYY-MM-DD" in text(response)
    response = client.get(f"/monitors/exceedances/?date={DAY:%Y-%m-%d}&export=xlsx")
    rows = list(load_workbook(BytesIO(response.content)).active.values)
    assert rows[0][0] == "设备 MN" and len(rows) == 4
    assert rows[1][4] == "14:45–15:00" and rows[1][5] == exceeding.limit + 20


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"])
def test_exceedance_list_refuses_a_day_outside_the_supported_years(monitors, login, cast, day):
    response = login(cast.district).get(f"/monitors/exceedances/?date={day}")
    assert response.status_code == 400
    assert "日期应在 2000-01-01 至 2099-12-31 之间" in text(response)


def test_exceedance_list_defaults_to_today_in_shanghai(monitors, login, cast, clock):
    clock.move_to(datetime.datetime(2026, 11, 26, 7, 30, tzinfo=SHANGHAI))  # UTC: the 25th
    body = text(login(cast.district).get("/monitors/exceedances/"))
    assert "2026-11-26" in body and "2026-11-25" not in body.replace(
        'href="?date=2026-11-25"', "") and "没有符合条件的记录" in body


# ---------------------------------------------------------------- rejected devices


def test_rejected_devices_are_listed_in_scope(monitors, login, cast):
    a1 = monitors[0]
    now = timezone.now()
    DeviceRejection.objects.create(mn=a1.mn, reason=RejectReason.BAD_PASSWORD, monitor=a1,
                                   district=cast.jingan, detail="PW=654321", peer="10.1.1.1:1",
                                   first_seen=now - 60 * MIN, last_seen=now, count=7)
    DeviceRejection.objects.create(mn="31XX00000000000000000X99", reason=RejectReason.UNKNOWN_MN,
                                   district=cast.jingan, peer="10.1.1.2:2", first_seen=now,
                                   last_seen=now, count=1)
    DeviceRejection.objects.create(mn="31XX00000000000000000Y77", reason=RejectReason.UNKNOWN_MN,
                                   district=cast.pudong, first_seen=now, last_seen=now, count=3)
    body = text(login(cast.district).get("/monitors/rejections/"))
    assert "密码错误" in body and "PW=654321" in body and f">{a1.mn}</a> · " in body
    assert "31XX00000000000000000X99" in body and "未登记" in body
    assert "31XX00000000000000000Y77" not in body
    # The monitor page shows its own refusals.
    assert "PW=654321" in text(login(cast.district).get(f"/monitors/{a1.pk}/"))


# ---------------------------------------------------------------- register / edit


def form_data(cast, **changes):
    data = {"mn": "31JA00000000000000000A09", "password": "123456", "project": cast.project_a.pk,
            "location": "南门", "kind": "dust_noise", "particulate_unit": "mg", "vendor": "某仪器",
            "installed_on": "2025-04-01", "active": "on"}
    data.update(changes)
    return data


def test_a_district_regulator_registers_a_monitor(monitors, login, cast):
    response = login(cast.district).post("/monitors/add/", form_data(
        cast, measures=["pm10", "pm25", "noise"], model_name="YC-PM-3000"), follow=True)
    assert "已登记监测设备：31JA00000000000000000A09" in text(response)
    monitor = Monitor.objects.get(mn="31JA00000000000000000A09")
    assert (monitor.project, monitor.particulate_unit, monitor.location) == (
        cast.project_a, "mg", "南门")
    assert (monitor.measures, monitor.model_name) == (["pm10", "pm25", "noise"], "YC-PM-3000")
    # the registry's audit trail says who did it, and never copies the PW
    from smartsite.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="create", object_id=str(monitor.pk))
    assert entry.actor == cast.district and "mn" in entry.changes
    assert "password" not in entry.changes


@pytest.mark.parametrize("changes, field, message", [
    ({"mn": "31JA00000000000000000A01"}, "mn", "该设备编码（MN）已登记给另一台设备"),
    ({"mn": "31JA-0000_A09"}, "mn", "设备编码（MN）为 1–24 位字母或数字"),
    ({"password": "1234567"}, "password", "访问密码（PW）最多 6 位"),
    ({"password": "12;456"}, "password", "访问密码（PW）不能含有 “;”"),
    ({"project": "PROJECT_B"}, "project", "只能选择您有权登记监测设备的项目"),
    ({"longitude": "121.47"}, "longitude", "经度和纬度须同时填写"),
    ({"longitude": "10", "latitude": "10"}, "longitude", "不在上海市范围内"),
    ({"installed_on": "2999-01-01"}, "installed_on", "安装日期不能晚于今天"),
    ({"installed_on": "2026-11-26"}, "installed_on", "安装日期不能晚于今天"),  # (clock: the 25th)
    ({"installed_on": "0001-01-01"}, "installed_on", "安装日期不能早于 2000 年"),
    ({"installed_on": "1999-12-31"}, "installed_on", "安装日期不能早于 2000 年"),
    ({"measures": ["radon"]}, "measures", "radon"),
])
def test_the_form_refuses_bad_input_with_its_message_and_changes_nothing(
        monitors, login, cast, changes, field, message):
    if changes.get("project") == "PROJECT_B":
        changes = {"project": cast.project_b.pk}  # outside 静安
    before = list(Monitor.objects.order_by("pk").values())
    response = login(cast.district).post("/monitors/add/", form_data(cast, **changes))
    assert response.status_code == 422
    errors = re.findall(rf'<p class="error" data-field="{field}">(.*?)</p>', response.content.decode())
    assert errors and message in errors[0]
    assert list(Monitor.objects.order_by("pk").values()) == before


def test_editing_refuses_a_taken_mn_and_keeps_the_stored_one(monitors, login, cast):
    a1, a2, _ = monitors
    client = login(cast.manager_a)  # 施工单位 project role on A
    response = client.post(f"/monitors/{a2.pk}/edit/", form_data(cast, mn=a1.mn))
    assert response.status_code == 422 and "该设备编码（MN）已登记给另一台设备" in text(response)
    assert f"编辑监测设备：{a2.mn}" in text(response)
    a2.refresh_from_db()
    assert a2.mn == "31JA00000000000000000A02"
    response = client.post(f"/monitors/{a2.pk}/edit/", form_data(cast, mn=a2.mn, location="塔吊旁"),
                           follow=True)
    assert "已保存监测设备" in text(response)
    a2.refresh_from_db()
    assert a2.location == "塔吊旁"


def test_who_may_register_monitors(monitors, login, cast):
    assert login(cast.contractor_a).get("/monitors/add/").status_code == 200  # 施工单位 of A
    assert login(cast.street).get("/monitors/add/").status_code == 403
    assert login(cast.street).get(f"/monitors/{monitors[2].pk}/edit/").status_code == 403
    assert login(cast.contractor_a).get(f"/monitors/{monitors[2].pk}/edit/").status_code == 404
    body = text(login(cast.contractor_a).get("/monitors/add/"))
    assert cast.project_a.name in body and cast.project_b.name not in body
    assert "登记设备" in text(login(cast.district).get("/monitors/"))
    assert "登记设备" not in text(login(cast.street).get("/monitors/"))


def test_the_limit_is_reference_data_with_its_citation(db):
    limit = DustLimit.in_force()
    assert (limit.particulate, limit.averaging_seconds, limit.max_exceedances_per_day) == (
        "pm10", 900, 1)
    assert "DB31/964-2016" in limit.standard and "待核实" in limit.citation
    assert MonitorConnection.objects.count() == 0
