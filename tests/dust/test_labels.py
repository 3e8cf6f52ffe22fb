"""Labels that tell the truth: a limit whose value is not confirmed from the standard's text
(DB31/964's PM10 value) carries 待核实 wherever a user meets it, and the noise rule cites
the standard in force (GB 12523-2025), its 2011-only night-maximum rule marked 待核实 — on
the pages, in the charts' data, in the export, and after an upgrade of an existing database.
"""

from __future__ import annotations

import datetime
import io
import json
import random
import re

import pytest
from openpyxl import load_workbook
from support.dust_city import City
from support.monitors import SHANGHAI

from smartsite.dust import rules
from smartsite.dust.models import DustLimit, DustRule
from smartsite.dust.reference import load_policies
from smartsite.workorders.models import LoopPolicy, WorkOrder
from smartsite.workorders.services import raise_event

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UNCONFIRMED = "100 µg/m³（待核实）"


def text(response) -> str:
    """The page's words: tags dropped, white space collapsed."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def json_script(response, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, f"no #{element_id} in the page"
    return json.loads(match.group(1))


@pytest.fixture
def city(cast, django_user_model):
    return City(cast, django_user_model)


def test_the_shipped_pm10_limit_is_unconfirmed(db):
    limit = DustLimit.in_force()
    assert (limit.limit, limit.confirmed, limit.value_text) == (100, False, UNCONFIRMED)


def test_every_page_showing_the_limit_says_it_is_unconfirmed(city, login, cast):
    client = login(cast.district)
    project = f"/monitors/projects/{cast.project_a.pk}/"
    pages = {
        "/monitors/rules/": f"PM10 {UNCONFIRMED}",
        f"/monitors/{city.a1.pk}/": f"限值 {UNCONFIRMED}",
        "/monitors/dashboard/": f"限值：PM10 {UNCONFIRMED}",
        project: f"限值 PM10 {UNCONFIRMED}",
        f"/monitors/exceedances/?date={city.today:%Y-%m-%d}": f"超过 {UNCONFIRMED} 为超标",
    }
    for url, shown in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert shown in text(response), url
    # The rules page's limit table has a status column.
    assert re.search(r"<td><b class=\"late\">待核实</b></td>",
                     client.get("/monitors/rules/").content.decode())
    # The charts' limit lines and the map legend carry it too.
    monitor = client.get(f"/monitors/{city.a1.pk}/")
    assert json_script(monitor, "chart-quarters-data")["limit_label"] == "限值 100（待核实）"
    assert json_script(client.get(project), "limit-label-data") == "限值 100（待核实）"
    assert "PM10 &gt; 限值 100（待核实）" in client.get("/monitors/dashboard/").content.decode()
    # So does the exceedance export's header.
    export = client.get(f"/monitors/exceedances/?date={city.today:%Y-%m-%d}&export=xlsx")
    header = next(load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(
        values_only=True))
    assert "限值（µg/m³，待核实）" in header


def test_a_confirmed_limit_is_shown_without_the_mark(city, login, cast):
    DustLimit.objects.update(confirmed=True)
    client = login(cast.district)
    monitor = client.get(f"/monitors/{city.a1.pk}/")
    assert "限值 100 µg/m³（DB31/964-2016" in text(monitor)
    assert UNCONFIRMED not in text(monitor)
    assert json_script(monitor, "chart-quarters-data")["limit_label"] == "限值 100"
    page = client.get(f"/monitors/projects/{cast.project_a.pk}/")
    assert json_script(page, "limit-label-data") == "限值 100"


def test_the_noise_rule_cites_gb_12523_2025_and_marks_the_night_maximum(login, cast):
    body = text(login(cast.manager_a).get("/monitors/rules/"))
    noise = body[body.index("噪声超标 noise"):]
    noise = noise[:noise.index("最近运行")]
    assert "GB 12523-2025《建筑施工噪声排放标准》" in noise
    assert "GB 12523-2011《建筑施工场界环境噪声排放标准》4.1" not in noise
    assert "夜间最大声级高出限值 dB(A)（GB 12523-2011 4.2；2025 版是否保留待核实）" in noise
    policy = LoopPolicy.objects.get(scenario="dust", kind="noise", active=True)
    assert "GB 12523-2025《建筑施工噪声排放标准》" in policy.source


OLD_NOISE_SOURCE = ("GB 12523-2011《建筑施工场界环境噪声排放标准》4.1：昼间 70 dB(A)，夜间 55 dB(A)；"
                    "4.2：夜间最大声级超过限值的幅度不得高于 15 dB(A)；3.5/3.6 昼间 6:00–22:00，"
                    "夜间 22:00–次日 6:00。")


def test_an_existing_database_gets_the_new_citation_unless_an_administrator_edited_it(db):
    rules.load_rules()
    DustRule.objects.filter(code="noise").update(source=OLD_NOISE_SOURCE)  # as shipped before
    DustRule.objects.filter(code="offline").update(source="本区自定：90 分钟")  # edited
    rules.load_rules()
    assert DustRule.objects.get(code="noise").source.startswith("GB 12523-2025")
    assert DustRule.objects.get(code="offline").source == "本区自定：90 分钟"


def test_an_existing_policy_citing_the_old_noise_text_gets_a_new_version(db):
    current = LoopPolicy.objects.get(scenario="dust", kind="noise", active=True)
    LoopPolicy.objects.filter(pk=current.pk).update(
        source=current.source.replace(
            "GB 12523-2025《建筑施工噪声排放标准》（2026-01-01 起施行，代替 GB 12523-2011）",
            "GB 12523（2026-01-01 起为 GB 12523-2025）"))
    load_policies()
    active = LoopPolicy.objects.get(scenario="dust", kind="noise", active=True)
    assert active.pk != current.pk and active.version == current.version + 1
    assert "GB 12523-2025《建筑施工噪声排放标准》" in active.source


def test_an_orders_title_is_what_was_found_first_and_its_evidence_the_latest(cast, login):
    # The simulator's exceedances carry a value in the title: it says it is the first one.
    from smartsite.simulator.dust.stories import dust_exceedance

    first = datetime.datetime(2026, 3, 2, 9, 15, tzinfo=SHANGHAI)
    args = dust_exceedance(random.Random(7), cast.project_a, first, mn="31LABEL000000000000000001")
    value = args["evidence"]["pm10_15min"]
    assert args["title"] == f"扬尘监测超标：首次发现 PM10 15分钟均值 {value} µg/m³"
    event = raise_event(**args, now=first)
    later = first + datetime.timedelta(minutes=45)
    raise_event(**{**args, "evidence": {**args["evidence"], "pm10_15min": value + 45}},
                occurred_at=later, now=later)
    order = WorkOrder.objects.get(events=event)
    assert order.title == args["title"]
    body = text(login(cast.city).get(order.get_absolute_url()))
    latest = body[body.index("最新证据（03-02 10:00 发现时）"):]
    assert f"PM10 15 分钟均值 {value + 45}" in latest
    assert f"首次发现 PM10 15分钟均值 {value} µg/m³" in body
