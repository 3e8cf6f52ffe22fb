"""The API docs page (/api/v1/docs) works offline and under the Content-Security-Policy:
Swagger UI comes from django-ninja's own static files, not from a CDN."""

from __future__ import annotations

import pytest

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_load_nothing_from_elsewhere(page, cast, password, live_server, shot):
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
