"""A pit's page, its 3D view and the pit dashboard in headless Chromium: the plan, the curve,
the inclinometer profile, the 3D scene and the districts chart draw with no script error or
CSP violation (the `page` fixture fails on any), and on a phone the pit page does not scroll
sideways."""

from __future__ import annotations

import pytest
from support.pit_pages import NOW, surveyed_site

from .conftest import sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INKED = """el => { const c = el.querySelector('canvas'); const g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""


def test_the_pit_page_and_its_3d_view_draw(page, cast, clock, password, shot):
    clock.move_to(NOW)
    site = surveyed_site(cast, NOW)
    sign_in(page, "jingan", password)
    page.goto(site.pit.get_absolute_url())
    for selector in ("#plan-chart", "#curve-chart", "[data-profile]"):
        page.wait_for_selector(f"{selector}[data-drawn] canvas")
        assert page.locator(selector).first.evaluate(INKED) > 1000, selector
    assert "天后达到预警值" in page.locator("#forecast").inner_text()
    page.select_option("#curve-point", "DB-01")
    assert page.locator("#curve-point").input_value() == "DB-01"
    shot(page, "pits-pit")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("#plan-chart[data-drawn] canvas")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    shot(page, "pits-pit-phone")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.click("text=三维视图")
    page.wait_for_url(f"**/pits/{site.pit.pk}/3d/")
    drawn = wait_until(page, """() => document.querySelector('#scene[data-drawn] canvas') ? 1
        : (document.getElementById('scene-fallback').hidden ? 0 : 2)""")
    assert drawn == 1, "WebGL is not available in this browser"
    page.wait_for_timeout(500)
    shot(page, "pits-3d")

    page.click("header nav >> text=基坑总览")
    page.wait_for_selector("#districts-chart[data-drawn] canvas")
    assert page.locator("#districts-chart").evaluate(INKED) > 1000
    shot(page, "pits-dashboard")
