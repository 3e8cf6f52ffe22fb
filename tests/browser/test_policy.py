"""Pages that used to need inline script or a CDN work under the Content-Security-Policy
(no inline script, no eval, nothing from elsewhere): the API docs, the webhook delete
confirmation, the error page's back link. The page fixture fails on any violation."""

from __future__ import annotations

import pytest

from smartsite.exchange.models import Webhook

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_load_nothing_from_elsewhere(page, cast, password, live_server, shot):
    """Swagger UI comes from django-ninja's own static files, not from a CDN."""
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, "city", password)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert "smartsite API" in page.locator(".swagger-ui .info").inner_text()
    foreign = [u for u in requested if not u.startswith((live_server.url, "data:", "blob:"))]
    assert not foreign, foreign
    shot(page, "api-docs")


def test_deleting_a_webhook_asks_first(page, cast, password):
    hook = Webhook.objects.create(owner=cast.contractor_a, name="甲的'工单'推送",
                                  url="https://hooks.example.com/smartsite", events=[],
                                  secret=Webhook.new_secret())
    sign_in(page, "contractor_a", password)
    page.goto("/account/webhooks/")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click(f"#webhook-{hook.pk} button.danger")
    assert asked == ["删除 Webhook“甲的'工单'推送”及其推送记录？"]
    assert Webhook.objects.filter(pk=hook.pk).exists()  # dismissed: kept

    page.once("dialog", lambda d: answer(d, True))
    with page.expect_navigation():
        page.click(f"#webhook-{hook.pk} button.danger")
    assert len(asked) == 2
    assert not Webhook.objects.filter(pk=hook.pk).exists()


def test_the_error_page_goes_back(page, cast, password):
    sign_in(page, "jingan", password)
    page.goto("/projects/")
    page.goto("/projects/?q=%00")  # a NUL in the input: refused with the error page (400)
    assert "请求有误" in page.locator("main h1").inner_text()
    page.click("main a:has-text('返回')")
    page.wait_for_url("**/projects/", wait_until="commit")
