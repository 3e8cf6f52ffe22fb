"""Registry pages: what each role sees, what it may change, and how bad input is refused."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse

from smartsite.core import models as m
from smartsite.core import validators

USERS = ["city", "district", "street", "contractor_a", "contractor_b", "manager_a", "nobody"]
SEES_A = {"city", "district", "contractor_a", "manager_a"}
SEES_B = {"city", "street", "contractor_b"}


@pytest.mark.parametrize("who", USERS)
def test_people_list_never_shows_full_resident_ids(login, cast, who):
    html = login(cast.users()[who]).get("/people/").content.decode()
    assert cast.person_a.resident_id not in html
    assert (cast.person_a.masked_id in html) == (who in SEES_A)


@pytest.mark.parametrize("who", USERS)
def test_export_contains_only_the_scope(login, cast, who):
    from openpyxl import load_workbook

    response = login(cast.users()[who]).get("/projects/?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    permits = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (cast.project_a.permit_no in permits) == (who in SEES_A)
    assert (cast.project_b.permit_no in permits) == (who in SEES_B)


def test_filters_and_search_narrow_the_list(login, cast):
    client = login(cast.city)
    html = client.get("/projects/", {"district": cast.pudong.pk}).content.decode()
    assert cast.project_b.permit_no in html and cast.project_a.permit_no not in html
    html = client.get("/projects/", {"q": "静安甲"}).content.decode()
    assert cast.project_a.permit_no in html and cast.project_b.permit_no not in html
    html = client.get("/projects/", {"enterprise": cast.enterprise_b.uscc}).content.decode()
    assert cast.project_b.permit_no in html and cast.project_a.permit_no not in html


def test_an_invalid_filter_value_is_reported_not_a_500(login, cast):
    response = login(cast.city).get("/projects/", {"status": "nonsense", "district": "x"})
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()


def project_form(cast, **overrides):
    data = {
        "permit_no": "2311JA0099", "name": "新建项目", "address": "静安区新路 9 号",
        "kind": "building", "district": cast.jingan.pk, "street": cast.project_a.street.pk,
        "site_area_m2": "12000", "contract_value": "35000", "start_date": "2026-03-01",
        "finish_date": "2028-06-30", "status": "active", "geofence": "",
        "party_contractor": cast.enterprise_a.uscc, "party_owner": cast.owner.uscc,
    }
    data.update(overrides)
    return data


def test_district_regulator_creates_a_project_with_parties(login, cast):
    response = login(cast.district).post("/projects/add/", project_form(cast))
    project = m.Project.objects.get(permit_no="2311JA0099")
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    assert project.party("contractor") == cast.enterprise_a
    assert m.AuditEntry.objects.filter(model="core.project", object_id=str(project.pk)).exists()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"permit_no": "2301JA0001"}, "permit_no", "已存在"),
    ({"finish_date": "2020-01-01"}, "finish_date", "不能早于开工日期"),
    ({"start_date": "2026-02-30"}, "start_date", "有效的日期"),
    ({"party_contractor": "91310000000000000X"}, "party_contractor", "未找到"),
    ({"geofence": "{not json"}, "geofence", "JSON"),
    ({"geofence": json.dumps({"type": "Point", "coordinates": [121.45, 31.23]})},
     "geofence", "多边形"),
    ({"geofence": json.dumps({"type": "Polygon", "coordinates": [[
        [116.39, 39.90], [116.40, 39.90], [116.40, 39.91], [116.39, 39.91], [116.39, 39.90]]]})},
     "geofence", "上海"),
    ({"geofence": json.dumps({"type": "Polygon", "coordinates": [[
        [121.440, 31.230], [121.445, 31.235], [121.445, 31.230], [121.440, 31.235],
        [121.440, 31.230]]]})}, "geofence", "有效"),
    ({"street": "999999"}, "street", "有效的选项"),
])
def test_bad_project_form_shows_the_error_and_saves_nothing(login, cast, overrides, field,
                                                            message):
    before = m.Project.objects.count(), m.AuditEntry.objects.count()
    response = login(cast.district).post("/projects/add/", project_form(cast, **overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in e for e in errors[field]), errors[field]
    assert (m.Project.objects.count(), m.AuditEntry.objects.count()) == before


def test_a_valid_geofence_sets_the_map_point(login, cast):
    from smartsite.core import geo

    lon, lat = 121.4480, 31.2290  # 静安区
    assert geo.district_of(lon, lat) == "静安区"
    fence = geo.square_geofence(lon, lat, 120)
    response = login(cast.district).post("/projects/add/", project_form(
        cast, geofence=json.dumps(fence)))
    assert response.status_code == 302, response.context["form"].errors
    project = m.Project.objects.get(permit_no="2311JA0099")
    assert abs(project.longitude - lon) < 1e-3 and abs(project.latitude - lat) < 1e-3
    points = login(cast.district).get("/projects/points.json").json()["points"]
    assert [project.pk, project.name] in [p[2:4] for p in points]


def test_district_regulator_cannot_create_in_another_district(login, cast):
    response = login(cast.district).post("/projects/add/", project_form(
        cast, district=cast.pudong.pk, street=cast.lujiazui.pk))
    assert response.status_code == 403
    assert "只能维护本区的项目" in response.content.decode()
    assert not m.Project.objects.filter(permit_no="2311JA0099").exists()


def test_enterprise_form_names_the_wrong_check_character(login, cast):
    code = cast.enterprise_a.uscc
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = login(cast.city).post("/enterprises/add/", {"uscc": wrong, "name": "错码公司"})
    assert response.status_code == 422
    assert f"应为 {code[-1]}" in response.content.decode()
    assert not m.Enterprise.objects.filter(name="错码公司").exists()


def test_person_form_names_the_wrong_check_digit(login, cast):
    rid = cast.person_a.resident_id
    wrong = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    response = login(cast.city).post("/people/add/", {"resident_id": wrong, "name": "王五"})
    assert response.status_code == 422
    assert f"应为 {rid[-1]}" in response.content.decode()


def _with_check_digit(first17):
    return first17 + validators.resident_id_check_digit(first17)


def test_person_form_refuses_a_birth_place_that_never_existed(login, cast):
    response = login(cast.city).post("/people/add/", {
        "resident_id": _with_check_digit("31999919900101123"), "name": "王五"})
    assert response.status_code == 422
    assert "“319999”不是 GB/T 2260 中的行政区划代码" in response.content.decode()
    assert not m.Person.objects.filter(name="王五").exists()


def test_enterprise_form_refuses_region_000000(login, cast):
    first16 = "91000000MA1BUFLT"
    first17 = first16 + validators.org_code_check_char(first16[8:])
    response = login(cast.city).post("/enterprises/add/", {
        "uscc": first17 + validators.uscc_check_char(first17), "name": "无地公司"})
    assert response.status_code == 422
    assert "“000000”不是 GB/T 2260 中的行政区划代码" in response.content.decode()
    assert not m.Enterprise.objects.filter(name="无地公司").exists()


def test_forms_store_full_width_and_lower_case_codes_normalised(login, cast):
    client = login(cast.city)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in "91310115ma1k3btp2b")
    response = client.post("/enterprises/add/", {"uscc": full_width, "name": "全角公司"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert m.Enterprise.objects.get(name="全角公司").uscc == "91310115MA1K3BTP2B"
    response = client.post("/people/add/", {"resident_id": "44011320141005001x", "name": "小写"})
    assert response.status_code == 302
    assert m.Person.objects.get(name="小写").resident_id == "44011320141005001X"
    # and the people list finds the number however it is typed
    page = client.get("/people/", {"resident_id": "４４０１１３２０１４１００５００１ｘ"}).content.decode()
    assert "小写" in page


def test_edit_then_see_the_change_in_the_history(login, cast):
    client = login(cast.city)
    url = f"/enterprises/{cast.enterprise_a.pk}/edit/"
    response = client.post(url, {"uscc": cast.enterprise_a.uscc, "name": "甲建设集团股份有限公司"})
    assert response.status_code == 302
    html = client.get(f"/enterprises/{cast.enterprise_a.pk}/").content.decode()
    assert "甲建设集团有限公司 → 甲建设集团股份有限公司" in html
    audit_html = client.get("/audit/", {"q": "股份"}).content.decode()
    assert "甲建设集团股份有限公司" in audit_html


def test_the_audit_page_shows_a_district_the_trail_of_its_own_projects_only(login, cast):
    from smartsite.core import services

    services.save(cast.project_b, actor=cast.city, data={"name": "陆家嘴乙项目（二期）"})
    assert "陆家嘴乙项目（二期）" in login(cast.city).get("/audit/").content.decode()
    assert "陆家嘴乙项目（二期）" not in login(cast.district).get("/audit/").content.decode()


def test_add_qualification_and_assignment_from_detail_pages(login, cast):
    client = login(cast.district)
    response = client.post(f"/people/{cast.person_a.pk}/qualifications/add/", {
        "kind": "constructor_1", "number": "沪131000001", "issuer": "住房和城乡建设部",
        "issued_on": "2020-01-01", "expires_on": "2019-01-01"})
    assert response.status_code == 302
    assert not cast.person_a.qualifications.exists()
    page = client.get(f"/people/{cast.person_a.pk}/").content.decode()
    assert "有效期不能早于发证日期" in page
    response = client.post(f"/projects/{cast.project_a.pk}/assignments/add/", {
        "person_id_number": cast.person_a.resident_id, "post": m.Post.objects.get(
            code="safety_officer").pk, "start_date": "2026-01-05"})
    assert response.status_code == 302
    assert cast.project_a.assignments.filter(post__code="safety_officer").exists()


def test_login_is_throttled_after_repeated_failures(client, cast, password):
    for _ in range(5):
        response = client.post("/login/", {"username": "jingan", "password": "wrong"})
    response = client.post("/login/", {"username": "jingan", "password": password})
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_with_the_right_password_works(client, cast, password):
    response = client.post("/login/", {"username": "jingan", "password": password})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_forms_require_csrf(cast):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.city, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/enterprises/add/", {"uscc": cast.owner.uscc, "name": "x"})
    assert response.status_code == 403


def test_token_page_shows_the_key_once_and_stores_a_hash(login, cast):
    client = login(cast.district)
    response = client.post("/account/tokens/", {"name": "数据对接"})
    key = response.context["new_key"]
    assert key.startswith("ss_")
    token = m.ApiToken.objects.get(user=cast.district)
    assert token.digest == m.ApiToken.digest_of(key)
    assert key not in client.get("/account/tokens/").content.decode()


def test_city_admin_grants_a_role_through_the_page(login, cast):
    client = login(cast.city)
    response = client.post(reverse("core:user", args=[cast.nobody.pk]), {
        "kind": "project", "project_permit_no": cast.project_b.permit_no,
        "enterprise_uscc": cast.enterprise_b.uscc, "party_role": "contractor"})
    assert response.status_code == 302
    assert cast.nobody.roles.get().project == cast.project_b
    response = client.post(reverse("core:user", args=[cast.nobody.pk]), {
        "kind": "project", "project_permit_no": "NOPE", "party_role": "contractor"})
    assert response.status_code == 422 and "未找到报建编号为 NOPE 的项目" in \
        response.content.decode()


def test_only_the_city_revokes_roles_and_others_learn_nothing_about_role_ids(login, cast):
    """Anyone else gets the same 403 for a role that exists and one that does not (a 404
    for the missing one told which role ids exist), and the role stays."""
    role = cast.contractor_a.roles.get()
    client = login(cast.district)
    for pk in (role.pk, role.pk + 10_000):
        assert client.post(reverse("core:role_revoke", args=[pk])).status_code == 403, pk
    assert cast.contractor_a.roles.filter(pk=role.pk).exists()
    assert login(cast.city).post(reverse("core:role_revoke", args=[role.pk + 10_000])
                                 ).status_code == 404
    assert login(cast.city).post(reverse("core:role_revoke", args=[role.pk])).status_code == 302
    assert not cast.contractor_a.roles.exists()


def test_oversized_upload_is_refused_with_a_clear_message(login, cast, settings):
    response = login(cast.city).post("/enterprises/add/", data=b"x" * 100,
                                     content_type="application/octet-stream",
                                     CONTENT_LENGTH=str(settings.MAX_UPLOAD_BYTES + 1))
    assert response.status_code == 413
    assert "上传内容过大" in response.content.decode()


def test_home_page_and_district_shapes_load(login, cast):
    client = login(cast.district)
    html = client.get("/").content.decode()
    assert 'id="map"' in html
    shapes = json.loads(client.get("/map/districts.geojson").content)
    assert len(shapes["features"]) == 16


def test_numbers_are_grouped_on_pages_and_typed_in_exports(login, cast):
    from decimal import Decimal

    from openpyxl import load_workbook

    m.Project.objects.filter(pk=cast.project_a.pk).update(
        site_area_m2=20440, contract_value=Decimal("17740.27"))
    client = login(cast.district)
    detail = client.get(f"/projects/{cast.project_a.pk}/").content.decode()
    assert "20,440 m²" in detail and "17,740.27 万元" in detail
    assert "20,440" in client.get("/projects/").content.decode()
    sheet = load_workbook(io.BytesIO(client.get("/projects/?export=xlsx").content)).active
    header, row = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    assert row[header.index("占地面积（m²）")] == 20440


def test_an_empty_token_form_is_refused_with_the_field_message(login, cast):
    from smartsite.core.models import ApiToken

    response = login(cast.district).post("/account/tokens/", {})
    assert response.status_code == 422
    assert '<p class="error">这个字段是必填项。</p>' in response.content.decode()
    assert not ApiToken.objects.exists()
