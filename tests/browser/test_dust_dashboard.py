"""The dust overview, a project's dust page and the officer's phone view in headless Chromium:
the offline map draws the monitors as coloured points, the charts and the spray timeline draw,
and the street officer opens a large-loop dust order on a 390 × 844 phone, sees its evidence
and the site on the map, and can act on it — without sideways scrolling."""

from __future__ import annotations

import datetime

import pytest
from support.dust_city import City
from support.monitors import SHANGHAI

from smartsite.dust.models import SprayDevice, SprayReading

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIN = datetime.timedelta(minutes=1)
INKED = """el => { const c = el.querySelector('canvas'); const g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""


@pytest.fixture
def city(cast, django_user_model, clock):
    """The dust city, built on the injected clock: today's readings after midnight are then
    complete quarters in the past, whatever the hour of the real day."""
    return City(cast, django_user_model)


def no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_dashboard_map_draws_the_monitors(page, city, password, shot):
    sign_in(page, "city", password)
    page.click("header nav >> text=扬尘总览")
    page.wait_for_url("**/monitors/dashboard/")
    page.wait_for_selector("#map[data-ready] canvas")
    assert page.locator("#map").get_attribute("data-ready") == "3"  # three monitors drawn
    assert page.locator("#map").evaluate(INKED) > 5000
    assert "各区排名" in page.locator("#districts").inner_text()
    assert page.locator("#bands li[data-band=over] b").inner_text() == "1"
    shot(page, "dust-dashboard")

    page.click("#top-projects >> text=静安甲项目")
    page.wait_for_url("**/monitors/projects/*/")
    page.wait_for_selector("#timeline[data-drawn] canvas")
    page.wait_for_selector(f"#chart-{city.a1.pk}[data-drawn] canvas")
    assert page.locator(f"#chart-{city.a1.pk}").evaluate(INKED) > 1000
    assert page.locator("#timeline").evaluate(INKED) > 500
    shot(page, "dust-project")


def test_district_dashboard_on_a_phone(phone, city, password, shot):
    sign_in(phone, "jingan", password)
    phone.goto("/monitors/dashboard/")
    phone.wait_for_selector("#map[data-ready] canvas")
    assert phone.locator("#map").get_attribute("data-ready") == "2"  # 静安 only
    assert "浦东新区" not in phone.locator("main").inner_text()
    no_sideways_scroll(phone)
    shot(phone, "dust-dashboard-phone")


def test_project_page_with_spray_timeline_on_a_phone(phone, city, cast, password, shot):
    device = SprayDevice.objects.create(monitor=city.a1, name="东门雾炮", sb_code="SB1")
    midnight = datetime.datetime.combine(city.today, datetime.time(), SHANGHAI)
    SprayReading.objects.bulk_create([
        SprayReading(device=device, data_time=midnight + 20 * MIN, running=True),
        SprayReading(device=device, data_time=midnight + 40 * MIN, running=False)])
    sign_in(phone, "manager_a", password)
    phone.goto(f"/monitors/projects/{cast.project_a.pk}/")
    phone.wait_for_selector("#timeline[data-drawn] canvas")
    assert phone.locator("#timeline").evaluate(INKED) > 300
    no_sideways_scroll(phone)
    shot(phone, "dust-project-phone")


def test_officer_opens_a_large_loop_dust_order_on_a_phone(phone, city, password, shot):
    order = city.b_spray
    sign_in(phone, "lujiazui", password)
    phone.goto("/m/")
    card = phone.locator(".ocard", has_text=order.title)
    assert "大闭环" in card.inner_text()
    card.click()
    phone.wait_for_url(f"**/m/orders/{order.pk}/")
    evidence = phone.locator("#dust-evidence")
    assert "未登记联动的喷淋/雾炮" in evidence.inner_text()
    assert city.b1.mn in evidence.inner_text()
    phone.wait_for_selector("#dust-evidence #map[data-ready] canvas")
    assert phone.locator("#dust-evidence #map").get_attribute("data-ready") == "1"
    assert phone.locator("#dust-evidence #map").evaluate(INKED) > 2000
    assert phone.locator("#penalties summary", has_text="登记立案处罚").is_visible()
    no_sideways_scroll(phone)
    shot(phone, "dust-officer-order")

    # 接单 from the same page: the phone view's own action forms.
    phone.locator("form:has(input[name=action][value=accept]) button").click()
    phone.wait_for_selector("text=已接单")
    assert phone.url.endswith(f"/m/orders/{order.pk}/")
    order.refresh_from_db()
    assert order.assignee.username == "lujiazui"
