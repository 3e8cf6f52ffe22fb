"""The scenario contract (core.scenarios): every app's declaration names things that exist,
the platform shows and runs what the apps declare (nav, page links, checks, panels, jobs,
reference data, indicators), and a new app plugs in by declaring — nothing else changes."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from support.monitors import add_monitor

from smartsite.core import scenarios
from smartsite.core.reference import load_all
from smartsite.core.scenarios import Declaration, Indicator, Job, Link, NavEntry
from smartsite.dust.models import MonitorStatus
from smartsite.workorders import checks

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 7, 2, 0, tzinfo=datetime.UTC)


def test_every_app_declares_itself_and_every_name_it_declares_exists():
    apps = [d.app for d in scenarios.declarations()]
    assert apps == ["core", "exchange", "workorders", "dust", "pits", "attendance", "video"]
    assert scenarios.scenario_names() == {"dust": "扬尘监测", "pits": "深基坑监测",
                                         "attendance": "关键岗位到岗履职"}
    for d in scenarios.declarations():
        paths = [job.run for job in d.jobs] + list(d.checks.values()) + \
            [path for _key, path in d.reference] + [i.compute for i in d.indicators] + \
            [e.visible for e in (*d.nav, *d.links) if e.visible] + \
            [p for p in (d.panel, d.api_router, d.packet_handlers) if p]
        for path in paths:
            assert callable(scenarios.resolve(path)) or path == d.api_router, path
        for entry in d.nav:
            reverse(entry.url_name)
        for link in d.links:
            reverse(link.url_name, args=[1]) if link.place == "project" else reverse(link.url_name)
        if d.urls:
            __import__(d.urls[1])
        assert d.access, f"{d.app} declares no access for its routes"
        assert __import__(d.access, fromlist=["ROUTES"]).ROUTES


def test_reference_data_is_loaded_from_every_declaration_in_order(db):
    loaded = load_all()
    keys = list(loaded)
    assert keys[:3] == ["regions", "agencies", "posts"]  # the registry first: others need it
    assert {"attendance_loop_policies", "dust_legal_bases", "dust_loop_policies", "dust_limits",
            "dust_rules"} <= set(keys)
    assert all(n > 0 for n in loaded.values()), loaded


def test_a_new_app_plugs_in_by_declaring_and_shows_up_everywhere(login, cast):
    lab = Declaration(
        app="lab", name="试验场景", scenario="lab",
        checks={"lab.always": "smartsite.core.navigation.city_admin"},
        jobs=(Job("lab.tick", run="support.jobs.quiet"),),
        nav=(NavEntry("试验室", "home", order=99, visible="smartsite.core.navigation.regulator"),),
        links=(Link("project", "试验数据", "core:project", order=99),),
        indicators=(Indicator("lab.count", "试验数", "个", "support.jobs.quiet"),))
    scenarios.register(lab)
    try:
        page = login(cast.district).get(f"/projects/{cast.project_a.pk}/").content.decode()
        assert "试验室" in page and "试验数据" in page
        assert "试验室" not in login(cast.contractor_a).get("/").content.decode()  # not a regulator
        assert checks.get("lab.always") is not None
        assert "lab.tick" in [j.name for j in scenarios.jobs()]
        assert scenarios.scenario_names()["lab"] == "试验场景"
    finally:
        scenarios.unregister("lab")
    assert "试验室" not in login(cast.district).get("/").content.decode()


def test_two_apps_cannot_declare_the_same_job_or_check():
    with pytest.raises(ValueError, match=r"dust\.rules"):
        scenarios.register(Declaration(app="copycat", name="x",
                                       jobs=(Job("dust.rules", run="x.y"),)))
    with pytest.raises(ValueError, match="unknown link place"):
        scenarios.register(Declaration(app="copycat", name="x",
                                       links=(Link("dashboard", "x", "home", order=1),)))
    assert "copycat" not in [d.app for d in scenarios.declarations()]


def test_the_header_and_the_project_page_come_from_the_declarations(login, cast):
    page = login(cast.street).get(f"/projects/{cast.project_b.pk}/").content.decode()
    for label in ("事件中心", "处置中心", "扬尘总览", "监测设备", "视频", "手机办理", "闭环策略"):
        assert f">{label}<" in page, label
    for url in (f"/projects/{cast.project_b.pk}/timeline/", f"/monitors/projects/{cast.project_b.pk}/",
                f"/cameras/projects/{cast.project_b.pk}/"):
        assert f'href="{url}"' in page, url
    contractor = login(cast.contractor_a).get("/").content.decode()
    assert ">手机办理<" not in contractor and ">闭环策略<" not in contractor


def test_dust_indicators_answer_for_each_scope(cast):
    online = add_monitor(cast.project_a, mn="31TEST0000000000000000A1")
    add_monitor(cast.project_a, mn="31TEST0000000000000000A2")  # never heard from
    MonitorStatus.objects.create(monitor=online, last_seen=NOW - datetime.timedelta(minutes=1))
    by_code = {i.code: i for i in scenarios.indicators()}
    rate = scenarios.resolve(by_code["dust.online_rate"].compute)
    assert rate(cast.city, "project", cast.project_a, NOW, NOW) == 50.0
    assert rate(cast.city, "district", cast.jingan, NOW, NOW) == 50.0
    assert rate(cast.city, "project", cast.project_b, NOW, NOW) is None  # no monitors there
    assert rate(cast.contractor_b, "city", None, NOW, NOW) is None  # project A is not B's
    for indicator in by_code.values():
        value = scenarios.resolve(indicator.compute)(
            cast.city, "city", None, NOW - datetime.timedelta(days=1), NOW)
        assert value is None or isinstance(value, int | float), indicator.code


def test_the_home_page_shows_the_indicators_at_the_users_scope(login, cast, clock):
    monitor = add_monitor(cast.project_a, mn="31TEST0000000000000000A1")
    MonitorStatus.objects.create(monitor=monitor, last_seen=timezone.now())
    page = login(cast.district).get("/").content.decode()  # 静安区: project A's district
    assert "扬尘监测设备在线率" in page and "<b>100%</b>" in page
    other = login(cast.contractor_b).get("/").content.decode()  # B sees no monitor: no rate
    assert "扬尘监测设备在线率" in other and "<b>100%</b>" not in other
