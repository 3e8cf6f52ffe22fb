"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def _open(browser, live_server, **options):
    """A page that records script errors and failed requests; the test fails on any."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and "Failed to load resource" not in msg.text
            and problems.append(f"console: {msg.text}"))
    # Leaving a page aborts its pending fetches (net::ERR_ABORTED); anything else is a problem.
    page.on("requestfailed", lambda req: "ERR_ABORTED" not in (req.failure or "")
            and problems.append(f"request failed: {req.url} ({req.failure})"))

    def check(response):
        # A page may answer a bad form with 4xx; a missing script, style or JSON never may.
        subresource = response.request.resource_type != "document"
        if response.status >= 500 or (subresource and response.status >= 400):
            problems.append(f"{response.status}: {response.url}")

    page.on("response", check)
    # The Content-Security-Policy (settings.CONTENT_SECURITY_POLICY): every page of ours
    # carries it, and nothing on any page breaks it (Chromium also logs each violation as a
    # console error; the event names the directive and what was blocked).
    context.expose_binding("__cspViolation", lambda _source, text: problems.append(f"CSP: {text}"))
    context.add_init_script("""document.addEventListener("securitypolicyviolation", e =>
        window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                              + ` at ${e.sourceFile || e.documentURI}:${e.lineNumber}`));""")
    page.on("response", lambda response: response.request.resource_type == "document"
            and response.url.startswith(live_server.url)
            and "content-security-policy" not in response.headers
            and problems.append(f"no Content-Security-Policy: {response.url}"))
    return context, page, problems


@pytest.fixture
def page(browser, live_server):
    context, page, problems = _open(browser, live_server, viewport={"width": 1366, "height": 900})
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def phone(browser, live_server):
    context, page, problems = _open(browser, live_server, viewport={"width": 390, "height": 844},
                                    is_mobile=True, has_touch=True, device_scale_factor=2)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def shot():
    """Save a screenshot under artifacts/screenshots/ for people to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name):
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return _shot


def sign_in(page, username, password):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url("**/")


def wait_until(page, expression, arg=None, timeout=15.0):
    """Wait until the page function `expression` returns something truthy (its value).

    Playwright's `wait_for_function` polls by evaluating a string inside the page, which our
    Content-Security-Policy (no eval) refuses; `page.evaluate` is not evaluated by the page,
    so this polls with it instead."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(100)
