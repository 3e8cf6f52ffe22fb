"""Walk a running demo as every demo login and save screenshots (headless Debian Chromium).

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000/ [out_dir]

For each login: the home map, 事件中心, 处置中心 and its first order, the project list and the
first project, the people and enterprise lists, notifications, the phone view, the monitor
pages, and the dust overview with the dust page of its worst project. Prints each
page's HTTP status and load time and any script error or failed request, and exits non-zero
if there was one (a Content-Security-Policy violation counts as one). The README's
screenshots come from here.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartsite.settings")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = [("home", "/"), ("events", "/events/"), ("orders", "/orders/"),
         ("projects", "/projects/"), ("people", "/people/"), ("enterprises", "/enterprises/"),
         ("notifications", "/notifications/"), ("mobile", "/m/"), ("monitors", "/monitors/"),
         ("exceedances", "/monitors/exceedances/"), ("rejections", "/monitors/rejections/"),
         ("dust-dashboard", "/monitors/dashboard/")]


def demo_usernames() -> list[tuple[str, str]]:
    import django

    django.setup()
    from smartsite.simulator.city import DEMO_PASSWORD, demo_logins

    return [(username, DEMO_PASSWORD) for _, username in demo_logins()]


def main(base: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    logins = demo_usernames()  # before Playwright starts its event loop in this thread
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for username, password in logins:
            context = browser.new_context(base_url=base, locale="zh-CN",
                                          viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.on("pageerror", lambda exc, u=username: problems.append(f"{u}: {exc}"))
            # Content-Security-Policy violations (docs/operations.md) count as script errors.
            context.expose_binding("__cspViolation", lambda _s, text, u=username:
                                   problems.append(f"{u}: CSP {text}"))
            context.add_init_script("""document.addEventListener("securitypolicyviolation", e =>
                window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                                      + ` at ${e.documentURI}`));""")
            page.on("requestfailed", lambda r, u=username: "ERR_ABORTED" not in (r.failure or "")
                    and problems.append(f"{u}: failed {r.url} ({r.failure})"))
            page.goto("/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button.primary")
            page.wait_for_url("**/")
            pages = list(PAGES)
            for name, path in pages:
                started = time.monotonic()
                response = page.goto(path)
                took = time.monotonic() - started
                page.wait_for_load_state("networkidle")
                for chart in ("#map", "#fence"):
                    if page.locator(chart).count():
                        page.wait_for_selector(f"{chart}[data-ready]")
                print(f"{username:<18} {path:<22} {response.status} {took * 1000:6.0f} ms")
                if response.status >= 400:
                    problems.append(f"{username}: {path} → {response.status}")
                page.screenshot(path=str(out / f"{username}-{name}.png"), full_page=name != "home")
                if name in ("projects", "orders", "monitors"):
                    link = page.locator("#results tbody tr a").first
                    if link.count():
                        pages.append((name.rstrip("s"), link.get_attribute("href")))
                if name == "dust-dashboard":  # the worst project's dust page
                    link = page.locator("#top-projects tbody tr a").first
                    if link.count():
                        pages.append(("dust-project", link.get_attribute("href")))
            context.close()
        browser.close()
    for problem in problems:
        print("PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("artifacts/demo")
    sys.exit(main(sys.argv[1], target))
