"""What a person sees in the browser: sign in, the map, filtering, a bad form."""

from __future__ import annotations

import json

import pytest

from smartsite.core import geo
from smartsite.core import models as m

from .conftest import sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mapped(cast):
    """Give both cast projects geofences so they appear on the map."""
    for project, (lon, lat) in ((cast.project_a, (121.4480, 31.2290)),
                                (cast.project_b, (121.5050, 31.2380))):
        project.geofence = geo.square_geofence(lon, lat, 150)
        project.full_clean()
        project.save()
    return cast


def test_sign_in_and_see_the_offline_map(page, mapped, password, shot):
    sign_in(page, "jingan", password)
    page.wait_for_selector("#map[data-ready]")
    assert page.get_attribute("#map", "data-ready") == "1"  # only 静安 project is in scope
    assert page.locator("#map canvas").count() >= 1
    assert "在建工程总览" in page.content()
    shot(page, "home-district")


def test_wrong_password_shows_an_error(page, cast):
    page.goto("/login/")
    page.fill("input[name=username]", "jingan")
    page.fill("input[name=password]", "wrong-password")
    page.click("button.primary")
    assert page.locator("p.error").inner_text() == "用户名或密码错误，请重试。"


def test_filter_the_project_list_by_district(page, cast, password, shot):
    sign_in(page, "city", password)
    page.goto("/projects/")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 2
    page.select_option("select[name=district]", str(cast.pudong.pk))
    wait_until(page, "() => document.querySelectorAll('#results tbody tr').length === 1")
    assert cast.project_b.permit_no in page.locator("#results").inner_text()
    assert f"district={cast.pudong.pk}" in page.url  # the filter is in the address bar
    shot(page, "project-list-filtered")


def test_a_bad_form_shows_the_field_error_and_saves_nothing(page, cast, password, shot):
    sign_in(page, "jingan", password)
    page.goto("/projects/add/")
    page.fill("input[name=permit_no]", cast.project_a.permit_no)
    page.fill("input[name=name]", "重复编号的项目")
    page.fill("input[name=address]", "静安区某路")
    page.select_option("select[name=kind]", "building")
    page.select_option("select[name=district]", str(cast.jingan.pk))
    wait_until(page, "() => document.querySelectorAll('#id_street option').length > 1")
    page.select_option("select[name=street]", str(cast.project_a.street_id))
    page.fill("textarea[name=geofence]", json.dumps(
        {"type": "Polygon", "coordinates": [[[116.39, 39.9], [116.4, 39.9], [116.4, 39.91],
                                             [116.39, 39.9]]]}))
    page.click("form.edit button.primary")
    page.wait_for_selector(".field.invalid .error")  # the answer page (422), not the form sent
    errors = page.locator(".field.invalid .error").all_inner_texts()
    assert any("报建编号" in e and "已存在" in e for e in errors), errors
    assert any("上海" in e for e in errors), errors
    assert m.Project.objects.filter(name="重复编号的项目").count() == 0
    shot(page, "project-form-errors")


def test_project_detail_shows_the_geofence(page, mapped, password, shot):
    sign_in(page, "manager_a", password)
    page.goto(f"/projects/{mapped.project_a.pk}/")
    page.wait_for_selector("#fence[data-ready]")
    assert page.locator("#fence canvas").count() >= 1
    shot(page, "project-detail")


def test_phone_layout_has_a_menu(phone, cast, password, shot):
    sign_in(phone, "manager_a", password)
    phone.goto("/projects/")
    assert not phone.is_visible("header nav")
    phone.click("label.burger")
    assert phone.is_visible("header nav")
    shot(phone, "phone-projects")
