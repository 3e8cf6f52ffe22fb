"""The attendance pages in headless Chromium: the rankings (with the trend chart), a
project's board, a person's month calendar, the review queue with both photos and the
enrolment page draw with no script error or CSP violation (the `page` fixture fails on any),
and the board and the calendar do not scroll sideways on a phone."""

from __future__ import annotations

import pytest
from support.attendance_pages import build_case, build_month

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INKED = """el => { const c = el.querySelector('canvas'); const g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
LOADED = "img => img.complete && img.naturalWidth > 0"


@pytest.fixture
def month(clock, cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    built = build_month(cast)
    built["case"] = build_case(cast, built["pm"])
    return built


def _no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def test_the_rankings_board_and_calendar_draw(page, cast, month, password, shot):
    sign_in(page, "city", password)
    page.goto("/attendance/?month=2026-11")
    page.wait_for_selector("#trend-chart[data-drawn] canvas")
    assert page.locator("#trend-chart").evaluate(INKED) > 500
    assert "陆家嘴乙项目" in page.locator("#projects").inner_text()
    assert "浦东新区" in page.locator("#districts").inner_text()
    shot(page, "attendance-rankings")

    page.click("#projects >> text=陆家嘴乙项目")
    page.wait_for_url(f"**/attendance/projects/{cast.project_b.pk}/")
    posts = page.locator("#posts").inner_text()
    assert "李四" in posts and "08:05" in posts and "王五" in posts
    shot(page, "attendance-board")

    page.click("#posts >> text=李四")
    page.wait_for_url(f"**/attendance/people/{cast.person_b.pk}/")
    assert page.locator("td[data-status=leave]").count() == 1
    assert page.locator("td[data-status=short]").count() == 1
    assert "不足5小时" in page.locator(".cal").first.inner_text()
    shot(page, "attendance-calendar")


def test_the_board_and_the_calendar_fit_a_phone(phone, cast, month, password, shot):
    sign_in(phone, "contractor_b", password)
    phone.goto(f"/attendance/projects/{cast.project_b.pk}/")
    _no_sideways_scroll(phone)
    shot(phone, "attendance-board-phone")
    phone.goto(f"/attendance/people/{cast.person_b.pk}/?month=2026-11")
    _no_sideways_scroll(phone)
    shot(phone, "attendance-calendar-phone")
    phone.goto(f"/attendance/assignments/{month['pm'].pk}/leaves/add/")
    phone.fill("input[name=start_date]", "2026-11-27")
    phone.fill("input[name=end_date]", "2026-11-26")
    phone.fill("input[name=reason]", "外出培训")
    phone.click("button.primary")
    assert "结束日期不能早于开始日期" in phone.locator("main").inner_text()
    _no_sideways_scroll(phone)
    shot(phone, "attendance-leave-phone")


def test_the_review_queue_shows_both_photos_and_decides(page, cast, month, password, shot):
    sign_in(page, "city", password)
    page.goto("/attendance/reviews/")
    case = page.locator(f"#case-{month['case'].pk}")
    images = case.locator("img")
    assert images.count() == 2
    for i in range(2):
        images.nth(i).scroll_into_view_if_needed()
        for _ in range(100):  # lazy images: loaded once in view
            if images.nth(i).evaluate(LOADED):
                break
            page.wait_for_timeout(100)
        assert images.nth(i).evaluate(LOADED), f"photo {i} did not load"
    assert "静安甲项目" in case.inner_text() and "3.5 km" in case.inner_text()
    shot(page, "attendance-reviews")
    case.locator("input[name=note]").fill("本人当时在静安工地，系他人代打卡")
    case.locator("button[value=confirm]").click()
    page.wait_for_url("**/attendance/reviews/**")
    assert "已确认作假" in page.locator(".messages").inner_text()

    page.goto("/attendance/enrolments/")
    assert "王五" in page.locator("main table").inner_text()
    shot(page, "attendance-enrolments")


def test_the_owner_approves_a_leave_on_a_phone(phone, cast, month, django_user_model, shot):
    from support.attendance_pages import d
    from support.orders import Site

    from smartsite.attendance import services
    from smartsite.attendance.models import Leave

    owner = Site(cast, django_user_model).owner
    owner.set_password("Owner-Pa55!")
    owner.save()
    leave = services.request_leave(cast.contractor_b, month["pm"], start_date=d(27),
                                   end_date=d(27), reason="参加公司安全例会")
    sign_in(phone, owner.username, "Owner-Pa55!")
    phone.goto("/attendance/")
    phone.click("#pending >> text=陆家嘴乙项目")
    phone.wait_for_url(f"**/attendance/projects/{cast.project_b.pk}/**")
    row = phone.locator("#requests tr", has_text="参加公司安全例会")
    _no_sideways_scroll(phone)
    shot(phone, "attendance-owner-phone")
    row.locator("input[name=note]").fill("同意")
    row.locator("button[value=approve]").click()
    phone.wait_for_selector(".messages")
    assert "已批准" in phone.locator(".messages").inner_text()
    assert Leave.objects.get(pk=leave.pk).status == "approved"
