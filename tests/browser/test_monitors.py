"""A monitor's page in headless Chromium: the live panel's values, the 24 h chart and the
15-minute chart drawn on their canvases, the live panel refreshed by HTMX, and the same page
on a 390 px phone without sideways scrolling."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from support.monitors import SHANGHAI, add_monitor, row

from smartsite.dust import ingest
from smartsite.dust.models import DustLimit
from smartsite.dust.partitions import ensure_partitions
from smartsite.hj212.handlers import ConnectionRecord, StatusUpdate

from .conftest import sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIN = datetime.timedelta(minutes=1)
SCREENSHOTS = "/tmp"

# Non-blank pixels of a canvas (a drawn chart has thousands; an empty one none).
INKED = """el => { const c = el.querySelector('canvas'); const g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""


def status(monitor, **values):
    now = timezone.now()
    ingest.save_status([StatusUpdate(
        monitor_id=monitor.pk, last_seen=now, last_data_time=now - MIN,
        values=values, flags={k: "N" for k in values} | {"pm25": "M"}, peer="10.8.0.17:50211",
        connected_since=now - 90 * MIN, packets=5400)])


@pytest.fixture
def monitor(cast, clock):
    """A monitor on project A with minute data from yesterday's midnight (Shanghai) to now —
    a dusty morning (08:00–10:00) yesterday and a dusty half hour after today's midnight —
    and live values. The clock is the injected one, so today has its mornings behind it."""
    now = timezone.now()
    today = timezone.localdate(now)
    yesterday = today - datetime.timedelta(days=1)
    ensure_partitions(yesterday - datetime.timedelta(days=1), today + datetime.timedelta(days=1))
    monitor = add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门出入口",
                          vendor="某环境仪器有限公司")
    limit = DustLimit.in_force().limit
    start = datetime.datetime.combine(yesterday, datetime.time(), SHANGHAI)
    midnight = datetime.datetime.combine(today, datetime.time(), SHANGHAI)
    rows = []
    for i in range(int((now - start) / MIN)):
        at = start + i * MIN
        hour = at.astimezone(SHANGHAI).hour
        dusty = (8 <= hour < 10 and at < midnight) or midnight <= at < midnight + 30 * MIN
        pm10 = limit * 1.4 + (i % 7) if dusty else 45 + (i % 30)
        rows.append(row(monitor, at, now=now, pm10=pm10, pm25=pm10 * 0.45,
                        noise=52 + (i % 20) if 6 <= hour < 22 else 44 + (i % 5)))
    ingest.ingest(rows)
    ingest.roll_up_all()  # hour and day means, as the gateway's next flush
    status(monitor, pm10=86.5, pm25=41.2, noise=63.4, wind_speed=2.1, temperature=12.5,
           humidity=63.0)
    ingest.record_connections([
        ConnectionRecord(None, monitor.pk, "tcp", "10.8.0.17:50102", now - 3 * 60 * MIN,
                                  now - 90 * MIN, 90, 0, "对端关闭连接"),
        ConnectionRecord(None, monitor.pk, "tcp", "10.8.0.17:50211", now - 90 * MIN)],
        [])
    return monitor


def test_monitor_page_draws_both_charts_and_shows_live_values(page, monitor, password, shot):
    page.clock.install()  # HTMX polls with timers: let the test move the clock
    sign_in(page, "jingan", password)
    page.goto(f"/monitors/{monitor.pk}/")
    page.clock.run_for(1000)
    page.wait_for_selector("#chart-24h[data-drawn] canvas")
    assert page.locator("#chart-24h").evaluate(INKED) > 2000
    page.wait_for_selector("#chart-quarters[data-drawn] canvas")
    assert page.locator("#chart-quarters").evaluate(INKED) > 500
    assert "00:00–00:15" in page.locator("#quarters table").inner_text()  # dusty after midnight

    pm10 = page.locator(".reading[data-metric=pm10]")
    assert pm10.is_visible() and pm10.locator(".value").inner_text() == "86.5"
    assert "N · 正常" in pm10.inner_text()
    assert "M · 维护" in page.locator(".reading[data-metric=pm25]").inner_text()
    live = page.locator("#live").inner_text()
    assert "在线" in live and "连接中" in live and "10.8.0.17:50211" in live
    assert "今日超过限值" in page.locator("#quarters").inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/monitor-desktop.png", full_page=True)
    shot(page, "monitor-desktop")

    # New values arrive; within 30 s the panel shows them without reloading the page.
    status(monitor, pm10=132.0, pm25=60.0, noise=71.0)
    with page.expect_response(lambda r: r.url.endswith(f"/monitors/{monitor.pk}/live/")):
        page.clock.run_for(31_000)
    wait_until(page,
               "() => document.querySelector('.reading[data-metric=pm10] .value').textContent === '132'")
    assert page.locator("#chart-24h canvas").count() == 1  # the chart was not redrawn


def test_monitor_list_and_exceedances_on_a_desktop(page, monitor, password, shot):
    sign_in(page, "jingan", password)
    page.goto("/monitors/")
    row = page.locator("#results tbody tr", has_text=monitor.mn)
    assert "在线" in row.inner_text() and "86.5" in row.inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/monitor-list.png", full_page=True)
    page.click("text=超标时段")
    page.wait_for_url("**/monitors/exceedances/")
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    page.fill("input[name=date]", yesterday)
    page.click("form.filters button.primary")
    page.wait_for_url(f"**date={yesterday}")
    table = page.locator("#results").inner_text()
    assert monitor.mn in table and "不达标" in table  # yesterday's dusty morning: eight quarters
    assert "08:00–08:15" in table and "09:45–10:00" in table and "10:00–10:15" not in table
    page.screenshot(path=f"{SCREENSHOTS}/monitor-exceedances.png", full_page=True)
    shot(page, "monitor-exceedances")


def test_monitor_page_fits_a_phone(phone, monitor, password, shot):
    sign_in(phone, "manager_a", password)
    phone.goto(f"/monitors/{monitor.pk}/")
    phone.wait_for_selector("#chart-24h[data-drawn] canvas")
    assert phone.locator("#chart-24h").evaluate(INKED) > 2000
    assert phone.locator(".reading[data-metric=noise] .value").is_visible()
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    box = phone.locator("#chart-24h").bounding_box()
    assert box["width"] <= 390 and box["width"] > 300
    phone.screenshot(path=f"{SCREENSHOTS}/monitor-phone.png", full_page=True)
    shot(phone, "monitor-phone")

    phone.goto("/monitors/")
    assert "在线" in phone.locator(".stats").inner_text()
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the list scrolls sideways by {overflow}px"
    phone.screenshot(path=f"{SCREENSHOTS}/monitor-list-phone.png", full_page=True)
