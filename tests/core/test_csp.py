"""Every response carries a Content-Security-Policy that allows scripts from our own origin
only (issue 12: a stored script in a project name ran in the city user's browser)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders


def directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (d.split() for d in header.split(";") if d.strip())}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/", "/monitors/dashboard/", "/api/v1/docs",
                                 "/no-such-page/"])
def test_pages_allow_scripts_from_our_origin_only(cast, login, url):
    policy = directives(login(cast.city).get(url))
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other host
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["default-src"]


@pytest.mark.django_db
def test_api_docs_page_takes_swagger_from_our_static_files(cast, login):
    html = login(cast.city).get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html


@pytest.mark.django_db
def test_the_street_options_escape_street_names(cast, login):
    """The project form's street <select> is filled from server-made HTML (HTMX)."""
    from smartsite.core import models as m
    from smartsite.core.choices import RegionLevel

    m.Region.objects.create(code="310106999000", name="<b>新</b>街道", level=RegionLevel.STREET,
                            parent=cast.jingan)
    html = login(cast.district).get("/regions/streets", {"district": cast.jingan.pk}).content.decode()
    assert "&lt;b&gt;新&lt;/b&gt;街道" in html
    assert "<b>" not in html


def test_big_scripts_are_compressed_for_phones_and_arrive_intact(tmp_path):
    """Phones on a slow link get Brotli and gzip copies of the vendored scripts, made once by
    collectstatic with the storage in settings (`smartsite.core.staticfiles`, Brotli 9), and
    identical once unpacked."""
    import gzip
    from pathlib import Path

    import brotli
    from django.core.files.storage import storages

    source = Path(finders.find("vendor/echarts/echarts.min.js")).read_bytes()
    script = tmp_path / "echarts.min.js"
    script.write_bytes(source)
    made = set(storages["staticfiles"].create_compressor(quiet=True).compress(str(script)))
    assert made == {f"{script}.br", f"{script}.gz"}
    packed = Path(f"{script}.br").read_bytes()
    assert brotli.decompress(packed) == source
    assert gzip.decompress(Path(f"{script}.gz").read_bytes()) == source
    assert len(packed) < 0.35 * len(source)
