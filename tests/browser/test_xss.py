"""Stored text shown in charts, maps and their tooltips stays text (issue 12, stored XSS).

ECharts renders a tooltip formatter's return value as HTML. A district user once put a script
into a project name, and the city user who hovered that project on the home map ran it. Here
every free-text field that reaches a chart, a map or a tooltip holds a payload; each page that
draws it is opened by a user who sees it, every item of every chart is hovered (ECharts'
own `showTip`, so the formatter under test renders the tooltip), and the payload must show as
text with no element made from it and no script run. The page fixture also fails a test on
any Content-Security-Policy violation (conftest.py).
"""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import pytest
from support.dust_city import City
from support.monitors import SHANGHAI

from smartsite.core import geo
from smartsite.core import services as core_services
from smartsite.dust import services as dust_services
from smartsite.dust.models import SprayReading
from smartsite.video.models import Camera

from .conftest import sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMG = "<img src=x onerror=window.__xss=1>"
SCRIPT = "<script>window.__xss=1</script>"
MIN = datetime.timedelta(minutes=1)

# Shows every item of every series of the chart in `sel` (ECharts' own showTip action) and
# returns what each tooltip holds: its text, its markup, and any element a payload could make.
HOVER_ALL = """async (sel) => {
  const el = document.querySelector(sel);
  const chart = echarts.getInstanceByDom(el);
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const tips = [];
  const series = chart.getOption().series;
  for (let s = 0; s < series.length; s++) {
    for (let d = 0; d < (series[s].data || []).length; d++) {
      chart.dispatchAction({type: "showTip", seriesIndex: s, dataIndex: d});
      await frame();
      const tip = Array.from(el.children).find(c => c.tagName === "DIV" && !c.querySelector("canvas"));
      if (tip) tips.push({text: tip.textContent, html: tip.innerHTML,
                          made: tip.querySelectorAll("img, script, iframe, object, svg, a").length});
    }
  }
  chart.dispatchAction({type: "hideTip"});
  return tips;
}"""


@pytest.fixture
def hostile(clock, cast, django_user_model):
    """The dust city with a payload in every free-text field a chart or map shows:
    the project names (home map, dust map, an order's map), the spray devices' names (a
    project's spray timeline, a monitor's spray chart), and — shown beside them on the same
    pages — a monitor's location, an enterprise's name and a camera's name."""
    city = City(cast, django_user_model)
    for project, (lon, lat), payload, actor in (
            (cast.project_a, (121.4480, 31.2290), IMG, cast.district),
            (cast.project_b, (121.5050, 31.2380), SCRIPT, cast.city)):
        project.geofence = geo.square_geofence(lon, lat, 150)
        project.name = f"{project.name}{payload}"
        core_services.save_project(project, actor=actor)
    img_cannon = dust_services.add_spray_device(city.a1, actor=cast.contractor_a, name=IMG,
                                                sb_code="SB1")
    script_cannon = dust_services.add_spray_device(city.a1, actor=cast.contractor_a,
                                                   name=SCRIPT, sb_code="SB2")
    midnight = datetime.datetime.combine(city.today, datetime.time(), SHANGHAI)
    SprayReading.objects.bulk_create([
        SprayReading(device=device, data_time=midnight + minutes * MIN, running=running)
        for device in (img_cannon, script_cannon)
        for minutes, running in ((10, True), (40, False))])
    city.a1.location = f"东门{IMG}"
    city.a1.save()
    core_services.save(cast.enterprise_a, actor=cast.city, data={"name": f"甲建设{SCRIPT}"})
    Camera.objects.create(project=cast.project_a, name=f"东门球机{IMG}",
                          rtsp_url="rtsp://cam.invalid/1")
    return city


def hover(page, sel):
    wait_until(page, "sel => { const el = document.querySelector(sel); return !!(el && window.echarts"
                     " && echarts.getInstanceByDom(el)); }", sel)
    return page.evaluate(HOVER_ALL, sel)


def assert_text_only(page, tips, *payloads):
    """Every payload was hovered and shows as its own text; nothing ran, nothing was made."""
    assert tips, "no tooltip was shown"
    for tip in tips:
        assert tip["made"] == 0, tip["html"]
    shown = " ".join(t["text"] for t in tips)
    for payload in payloads:
        assert payload in shown, (payload, shown)
    assert page.evaluate("typeof window.__xss") == "undefined"


def assert_nothing_ran(page):
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("main img[src='x'], main script:not([src]):not([type])").count() == 0


def test_home_map_tooltips_show_project_names_as_text(page, hostile, cast, password, shot):
    sign_in(page, "city", password)
    page.wait_for_selector("#map[data-ready]")
    assert_text_only(page, hover(page, "#map"), IMG, SCRIPT)
    assert_nothing_ran(page)
    page.evaluate("echarts.getInstanceByDom(document.querySelector('#map'))"
                  ".dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0})")
    shot(page, "xss-home-city")  # with a tooltip open: the payload as text


def test_the_district_user_sees_their_own_payload_as_text(page, hostile, password):
    sign_in(page, "jingan", password)
    page.wait_for_selector("#map[data-ready]")
    assert_text_only(page, hover(page, "#map"), IMG)


def test_dust_dashboard_map_tooltips(page, hostile, password, shot):
    sign_in(page, "city", password)
    page.goto("/monitors/dashboard/")
    page.wait_for_selector("#map[data-ready]")
    assert_text_only(page, hover(page, "#map"), IMG, SCRIPT)
    assert_nothing_ran(page)
    shot(page, "xss-dust-dashboard")


def test_project_dust_page_spray_timeline(page, hostile, cast, password, shot):
    sign_in(page, "city", password)
    page.goto(f"/monitors/projects/{cast.project_a.pk}/")
    page.wait_for_selector("#timeline[data-drawn]")
    assert_text_only(page, hover(page, "#timeline"), IMG, SCRIPT)
    for monitor in (hostile.a1, hostile.a2):
        hover(page, f"#chart-{monitor.pk}")
    assert IMG in page.locator("main").inner_text()  # the project's name, as text
    assert_nothing_ran(page)
    shot(page, "xss-project-dust")


def test_monitor_page_spray_chart(page, hostile, password):
    sign_in(page, "manager_a", password)
    page.goto(f"/monitors/{hostile.a1.pk}/")
    page.wait_for_selector("#chart-sprays[data-drawn]")
    assert_text_only(page, hover(page, "#chart-sprays"), IMG, SCRIPT)
    hover(page, "#chart-24h")
    assert IMG in page.locator("main").inner_text()  # the monitor's location
    assert_nothing_ran(page)


def test_order_evidence_map_on_the_officers_phone(phone, hostile, password):
    sign_in(phone, "lujiazui", password)
    phone.goto(f"/m/orders/{hostile.b_spray.pk}/")
    phone.wait_for_selector("#dust-evidence #map[data-ready]")
    assert_text_only(phone, hover(phone, "#dust-evidence #map"), SCRIPT)
    assert_nothing_ran(phone)


# ---------------------------------------------------------------- every page, every role

ROLES = ["city", "jingan", "lujiazui", "contractor_a", "contractor_b", "manager_a", "nobody"]
# Not pages: downloads, files, JSON, signing out, Django's admin; a camera's live view and
# playback start ffmpeg against the camera (tests/browser/test_video.py drives those).
SKIP = re.compile(r"^/(logout|admin|static|media|attachments|api/v1/(?!docs$))|^/cameras/\d+/"
                  r"|/export|\.(xlsx|json|geojson|jpe?g|png|pdf)$")


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _links(paths) -> list[str]:
    return [h.split("?")[0].split("#")[0] for h in paths if h and h.startswith("/")]


class _Markup(HTMLParser):
    """What a page's HTML holds that the policy would refuse or a payload could have made."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.links: list[str] = []
        self.fetched: list[str] = []  # same-origin URLs the page's scripts and images load

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>: an inline handler")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":
            self.problems.append("an inline <script>")
        if tag == "style":
            self.problems.append("a <style> element")
        if tag == "img" and attrs.get("src") == "x":
            self.problems.append("an <img> made from a payload")
        if tag == "a" and "download" not in attrs:
            self.links.append(attrs.get("href") or "")
        for name in ("src", "data-points", "data-url"):
            if (attrs.get(name) or "").startswith("/") and not attrs[name].startswith("/static/"):
                self.fetched.append(attrs[name])


def markup_crawl(client, start: str, limit=80) -> tuple[list[str], list[str]]:
    """Follow the links of our own pages from `start` with the Django test client, one page
    per URL shape: (the pages reached, what is wrong in their markup)."""
    seen, queue, visited, problems = set(), [start], [], []
    while queue and len(visited) < limit:
        path = queue.pop(0)
        if _shape(path) in seen or SKIP.search(path):
            continue
        seen.add(_shape(path))
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        visited.append(path)
        if "Content-Security-Policy" not in response.headers:
            problems.append(f"{path}: no Content-Security-Policy")
        markup = _Markup()
        markup.feed(response.content.decode())
        problems += [f"{path}: {problem}" for problem in markup.problems]
        for url in markup.fetched:
            status = client.get(url).status_code
            if status >= 400:
                problems.append(f"{path}: loads {url}, which answers {status}")
        queue += _links(markup.links)
    return visited, problems


def test_every_page_keeps_the_content_security_policy(browser, live_server, hostile, cast,
                                                      client, password):
    """Every page each role reaches from its home page, with the payloads in place.

    Its own copy of each page, read without a browser (the Django test client): the policy
    header, no inline script or handler, no javascript: URL, no <style> element, no element
    made from a payload, and everything the page loads from us answers. Then Chromium opens
    each page shape once, as the first role (in ROLES' order) that reaches it, and what it
    finds there: no violation, no script error, no failed request (conftest's `_open`), no
    payload run; links a page's scripts add are followed too. (Every page as every role in
    Chromium was ~360 page loads and ~80 s.)"""
    from .conftest import _open

    users = {"jingan": cast.district, "lujiazui": cast.street, **cast.users()}
    opened: dict[str, list[str]] = {}
    for role in ROLES:
        client.logout()
        if role != "nobody":
            client.force_login(users[role], backend="django.contrib.auth.backends.ModelBackend")
        reached, problems = markup_crawl(client, "/" if role != "nobody" else "/login/")
        assert not problems, f"{role}:\n" + "\n".join(problems)
        assert len(reached) >= (1 if role == "nobody" else 8), (role, reached)
        done = {_shape(p) for paths in opened.values() for p in paths}
        context, page, problems = _open(browser, live_server,
                                        viewport={"width": 1366, "height": 900})
        try:
            if role == "nobody":
                page.goto("/login/")
            else:
                sign_in(page, role, password)
            queue, opened[role] = [p for p in reached if _shape(p) not in done], []
            done |= {_shape(p) for p in reached}
            while queue:
                path = queue.pop(0)
                response = page.goto(path)
                assert response.status < 500, (role, path, response.status)
                page.wait_for_load_state("load")
                opened[role].append(path)
                assert_nothing_ran(page)
                for link in _links(page.eval_on_selector_all(
                        "a[href]:not([download])", "as => as.map(a => a.getAttribute('href'))")):
                    if _shape(link) not in done and not SKIP.search(link):
                        done.add(_shape(link))
                        queue.append(link)
        finally:
            context.close()
        assert not problems, (role, problems)
    assert len(opened["city"]) >= 30, opened
