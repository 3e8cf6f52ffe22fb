"""The REST API at /api/v1/: token auth, scope (a permission matrix over the cast), the
422 shape, writes through the services, pagination, filtering and the OpenAPI document."""

from __future__ import annotations

import datetime
import json
import random

import pytest
from django.test import Client
from django.utils import timezone

from smartsite.core import models as m
from smartsite.core import services
from smartsite.core.choices import PartyRole, QualificationKind
from smartsite.core.validators import make_resident_id, make_uscc, resident_id_check_digit

API = "/api/v1"


class Api:
    """A client that sends `Authorization: Bearer <key>` and JSON bodies."""

    def __init__(self, client: Client, key: str | None = None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def get(self, path, params=None):
        return self.client.get(API + path, params or {}, headers=self.headers)

    def _send(self, method, path, body):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(API + path, data, content_type="application/json",
                                            headers=self.headers)

    def post(self, path, body):
        return self._send("post", path, body)

    def patch(self, path, body):
        return self._send("patch", path, body)

    def delete(self, path):
        return self.client.delete(API + path, headers=self.headers)

    def all_items(self, path, params=None):
        """Every item of a list, page by page (checking `count` on the way)."""
        items, page = [], 1
        while True:
            response = self.get(path, {**(params or {}), "page": page, "page_size": 500})
            assert response.status_code == 200, response.content
            body = response.json()
            items += body["items"]
            if not body["items"] or len(items) >= body["count"]:
                assert len(items) == body["count"]
                return items
            page += 1


def key_for(user) -> str:
    _, raw = services.issue_token(user, actor=user, name="pytest")
    return raw


@pytest.fixture
def api_as(client):
    def _as(user) -> Api:
        return Api(client, key_for(user))

    return _as


@pytest.fixture
def qualifications(cast):
    """One certificate each for person A (project A) and person B (project B)."""
    make = m.Qualification.objects.create
    return {
        "A": make(person=cast.person_a, kind=QualificationKind.CONSTRUCTOR_1, number="沪1312025000001",
                  issuer="上海市住房和城乡建设管理委员会"),
        "B": make(person=cast.person_b, kind=QualificationKind.SAFETY_B, number="沪建安B（2024）0002",
                  issuer="上海市住房和城乡建设管理委员会", expires_on=datetime.date(2027, 1, 1)),
    }


def new_uscc(seed=99) -> str:
    return make_uscc(random.Random(seed))


def project_body(cast, **extra) -> dict:
    body = {
        "permit_no": "2502JA0099", "name": "静安新建项目", "address": "静安区某路99号",
        "kind": "building", "district": cast.jingan.pk,
        "street": m.Region.objects.filter(parent=cast.jingan).first().pk,
        "start_date": "2025-06-01", "finish_date": "2027-06-30",
        "parties": {"contractor": cast.enterprise_a.uscc, "owner": cast.owner.uscc},
    }
    body.update(extra)
    return body


# ---------------------------------------------------------------- authentication


def test_a_token_authenticates_the_request(cast, api_as):
    response = api_as(cast.district).get("/me")
    assert response.status_code == 200
    assert response.json()["username"] == "jingan"
    assert response.json()["auth"] == "token"


def test_a_missing_token_gets_401(cast, client):
    response = Api(client).get("/projects")
    assert response.status_code == 401
    assert response.json()["code"] == "auth"
    assert "Bearer" in response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401_with_a_clear_message(cast, client):
    token, raw = services.issue_token(cast.city, actor=cast.city, name="集成")
    assert Api(client, raw).get("/me").status_code == 200
    services.revoke_token(token, actor=cast.city)
    response = Api(client, raw).get("/me")
    assert response.status_code == 401
    assert response.json() == {"code": "auth", "field": None, "message": "API 令牌无效或已撤销"}


def test_an_unknown_token_gets_401(cast, client):
    response = Api(client, "ss_not-a-real-key").get("/projects")
    assert response.status_code == 401
    assert response.json()["message"] == "API 令牌无效或已撤销"


def test_an_authorization_header_without_bearer_gets_401(cast, client):
    response = client.get(f"{API}/projects", headers={"Authorization": "Token abc"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["message"]


def test_a_token_of_a_deactivated_user_gets_401(cast, client):
    raw = key_for(cast.contractor_a)
    cast.contractor_a.is_active = False
    cast.contractor_a.save()
    assert Api(client, raw).get("/me").status_code == 401


def test_token_use_is_recorded_at_most_once_a_minute(cast, client):
    token, raw = services.issue_token(cast.city, actor=cast.city, name="集成")
    api = Api(client, raw)
    api.get("/me")
    token.refresh_from_db()
    first = token.last_used
    assert first is not None

    recent = timezone.now() - datetime.timedelta(seconds=30)
    m.ApiToken.objects.filter(pk=token.pk).update(last_used=recent)
    api.get("/me")
    token.refresh_from_db()
    assert token.last_used == recent

    old = timezone.now() - datetime.timedelta(minutes=2)
    m.ApiToken.objects.filter(pk=token.pk).update(last_used=old)
    api.get("/me")
    token.refresh_from_db()
    assert token.last_used > old + datetime.timedelta(minutes=1)


def test_the_browser_session_is_accepted(cast, login):
    response = login(cast.city).get(f"{API}/me")
    assert response.status_code == 200
    assert response.json()["auth"] == "session"


def test_a_session_write_without_the_csrf_token_gets_403(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.city, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(f"{API}/enterprises", json.dumps({"uscc": new_uscc(), "name": "某公司"}),
                           content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf"
    assert not m.Enterprise.objects.filter(name="某公司").exists()


def test_a_token_write_needs_no_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    response = Api(client, key_for(cast.city)).post(
        "/enterprises", {"uscc": new_uscc(), "name": "某公司"})
    assert response.status_code == 201


# ---------------------------------------------------------------- the permission matrix

# Which of the cast's projects each user sees, from design.md §3: the city sees all; the
# 静安区 regulator sees A (静安区); the 陆家嘴街道 officer sees B (浦东新区陆家嘴街道);
# contractors and the project manager see the projects they are a party to; nobody, nothing.
PROJECTS_SEEN = {
    "city": {"A", "B"},
    "district": {"A"},
    "street": {"B"},
    "contractor_a": {"A"},
    "contractor_b": {"B"},
    "manager_a": {"A"},
    "nobody": set(),
}
REGULATORS = {"city", "district", "street"}


def _expected(cast, who: str, endpoint: str) -> set[str]:
    seen = PROJECTS_SEEN[who]
    projects = {"A": cast.project_a, "B": cast.project_b}
    people = {"A": cast.person_a, "B": cast.person_b}
    if endpoint == "projects":
        return {projects[x].permit_no for x in seen}
    if endpoint in ("people", "qualifications"):
        # A person is seen through a visible project they hold a post on (or an employer).
        return {people[x].name for x in seen}
    if endpoint == "assignments":
        return {f"{projects[x].permit_no}/{people[x].name}" for x in seen}
    if endpoint == "enterprises":
        # Regulators read the whole register; others see the parties of their projects.
        everyone = {cast.enterprise_a, cast.enterprise_b, cast.owner,
                    m.Enterprise.objects.get(name="丁监理咨询有限公司")}
        if who in REGULATORS:
            return {e.uscc for e in everyone}
        return {p.enterprise.uscc for x in seen for p in projects[x].parties.all()}
    if endpoint in ("regions", "agencies", "posts"):
        # Public reference data: every user with a role, nobody without one.
        model = {"regions": m.Region, "agencies": m.Agency, "posts": m.Post}[endpoint]
        return set() if who == "nobody" else {str(pk) for pk in model.objects.values_list("pk", flat=True)}
    raise AssertionError(endpoint)


def _key(endpoint: str, item: dict) -> str:
    return {
        "projects": lambda i: i["permit_no"],
        "people": lambda i: i["name"],
        "qualifications": lambda i: i["person"]["name"],
        "assignments": lambda i: f"{i['project']['permit_no']}/{i['person']['name']}",
        "enterprises": lambda i: i["uscc"],
    }.get(endpoint, lambda i: str(i["id"]))(item)


@pytest.mark.parametrize("endpoint", ["projects", "people", "qualifications", "assignments",
                                      "enterprises", "regions", "agencies", "posts"])
@pytest.mark.parametrize("who", list(PROJECTS_SEEN))
def test_each_user_lists_exactly_its_scope(cast, qualifications, api_as, who, endpoint):
    user = cast.users()[who]
    items = api_as(user).all_items(f"/{endpoint}")
    assert {_key(endpoint, i) for i in items} == _expected(cast, who, endpoint)


# ---------------------------------------------------------------- out of scope → 404


def test_out_of_scope_and_missing_projects_get_the_same_404(cast, api_as):
    api = api_as(cast.contractor_b)
    hidden = api.get(f"/projects/{cast.project_a.pk}")
    missing = api.get("/projects/999999")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


def test_district_regulator_reads_enterprise_b_from_the_register(cast, api_as):
    response = api_as(cast.district).get(f"/enterprises/{cast.enterprise_b.pk}")
    assert response.status_code == 200
    assert response.json()["uscc"] == cast.enterprise_b.uscc


# ---------------------------------------------------------------- details


def test_project_detail_lists_parties_with_uscc_and_name(cast, api_as):
    body = api_as(cast.contractor_a).get(f"/projects/{cast.project_a.pk}").json()
    parties = {p["role"]: p["enterprise"] for p in body["parties"]}
    assert parties["contractor"] == {"id": cast.enterprise_a.pk, "uscc": cast.enterprise_a.uscc,
                                     "name": "甲建设集团有限公司"}
    assert [p["role"] for p in body["parties"]] == ["owner", "contractor", "supervisor"]
    assert body["district"]["name"] == "静安区"
    assert body["geofence"] is None
    assert body["start_date"] == "2025-03-01"


def test_the_resident_id_is_only_ever_returned_masked(cast, qualifications, api_as):
    api = api_as(cast.city)
    full = cast.person_a.resident_id
    responses = [api.get("/people"), api.get(f"/people/{cast.person_a.pk}"),
                 api.get("/qualifications"), api.get("/assignments")]
    for response in responses:
        assert response.status_code == 200
        assert full not in response.content.decode()
    detail = responses[1].json()
    assert detail["resident_id_masked"] == full[:6] + "*" * 8 + full[-4:]
    assert "resident_id" not in detail


def test_person_detail_shows_qualifications_and_visible_assignments(cast, qualifications, api_as):
    body = api_as(cast.district).get(f"/people/{cast.person_a.pk}").json()
    assert [q["number"] for q in body["qualifications"]] == ["沪1312025000001"]
    assert [a["project"]["permit_no"] for a in body["assignments"]] == ["2301JA0001"]


def test_me_describes_what_the_grant_sees(cast, api_as):
    body = api_as(cast.district).get("/me").json()
    assert body["sees_all"] is False
    assert [d["name"] for d in body["districts"]] == ["静安区"]
    assert body["can_edit_registry"] is True
    assert body["project_count"] == 1
    assert body["roles"][0]["kind"] == "district"
    assert api_as(cast.city).get("/me").json()["sees_all"] is True
    contractor = api_as(cast.contractor_a).get("/me").json()
    assert [e["uscc"] for e in contractor["enterprises"]] == [cast.enterprise_a.uscc]
    assert contractor["can_edit_registry"] is False


# ---------------------------------------------------------------- projects: writes


def test_district_regulator_creates_a_project_with_parties(cast, api_as):
    response = api_as(cast.district).post("/projects", project_body(cast))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["permit_no"] == "2502JA0099"
    assert {p["role"]: p["enterprise"]["uscc"] for p in body["parties"]} == {
        "owner": cast.owner.uscc, "contractor": cast.enterprise_a.uscc}
    project = m.Project.objects.get(permit_no="2502JA0099")
    assert project.party(PartyRole.CONTRACTOR) == cast.enterprise_a


def test_a_project_geofence_is_stored_and_returned_as_geojson(cast, api_as):
    from smartsite.core import geo

    lon, lat = geo.random_point_in_district("静安区", random.Random(1), margin_m=300)
    fence = geo.square_geofence(lon, lat, 100)
    response = api_as(cast.district).post("/projects", project_body(cast, geofence=fence))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["geofence"]["type"] == "Polygon"
    assert body["longitude"] == pytest.approx(lon, abs=1e-4)
    detail = api_as(cast.district).get(f"/projects/{body['id']}").json()
    assert detail["geofence"] == body["geofence"]


def test_a_geofence_outside_the_district_gets_422(cast, api_as):
    from smartsite.core import geo

    lon, lat = geo.random_point_in_district("浦东新区", random.Random(2), margin_m=500)
    body = project_body(cast, geofence=geo.square_geofence(lon, lat, 100))
    response = api_as(cast.district).post("/projects", body)
    assert response.status_code == 422
    assert "浦东新区" in response.json()["errors"]["geofence"][0]
    assert not m.Project.objects.filter(permit_no="2502JA0099").exists()


@pytest.mark.parametrize("permit, message", [
    ("2301JA0001", "已存在"),  # already registered (project A)
    ("", "空"),
])
def test_creating_a_project_with_a_bad_permit_gets_422_and_saves_nothing(cast, api_as, permit,
                                                                         message):
    before = m.Project.objects.count()
    response = api_as(cast.city).post("/projects", project_body(cast, permit_no=permit))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation"
    assert message in " ".join(body["errors"]["permit_no"])
    assert "报建编号" in body["message"]
    assert m.Project.objects.count() == before


def test_creating_a_project_with_an_unknown_party_code_gets_422_naming_it(cast, api_as):
    before = (m.Project.objects.count(), m.ProjectParty.objects.count())
    unknown = new_uscc(seed=12345)
    body = project_body(cast, parties={"contractor": unknown, "owner": cast.owner.uscc})
    response = api_as(cast.city).post("/projects", body)
    assert response.status_code == 422
    assert unknown in response.json()["errors"]["parties.contractor"][0]
    assert unknown in response.json()["message"]
    assert (m.Project.objects.count(), m.ProjectParty.objects.count()) == before


def test_creating_a_project_reports_every_error_at_once(cast, api_as):
    body = project_body(cast, start_date="2025-06-01", finish_date="2025-01-01",
                        parties={"builder": cast.owner.uscc})
    errors = api_as(cast.city).post("/projects", body).json()["errors"]
    assert "finish_date" in errors
    assert "未知的参建角色" in errors["parties.builder"][0]


def test_a_street_from_another_district_gets_422(cast, api_as):
    response = api_as(cast.city).post("/projects", project_body(cast, street=cast.lujiazui.pk))
    assert response.status_code == 422
    assert "不属于" in response.json()["errors"]["street"][0]


def test_an_unknown_district_gets_422(cast, api_as):
    response = api_as(cast.city).post("/projects", project_body(cast, district=999999))
    assert response.status_code == 422
    assert "999999" in response.json()["errors"]["district"][0]


def test_district_regulator_creating_a_project_in_another_district_gets_403(cast, api_as):
    body = project_body(cast, district=cast.pudong.pk, street=cast.lujiazui.pk)
    response = api_as(cast.district).post("/projects", body)
    assert response.status_code == 403
    assert response.json() == {"code": "forbidden", "field": None, "message": "只能维护本区的项目"}
    assert not m.Project.objects.filter(permit_no="2502JA0099").exists()


def test_a_contractor_cannot_create_a_project(cast, api_as):
    response = api_as(cast.contractor_a).post("/projects", project_body(cast))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_a_contractor_gets_403_for_changing_its_own_project(cast, api_as):
    response = api_as(cast.contractor_a).patch(f"/projects/{cast.project_a.pk}", {"name": "x"})
    assert response.status_code == 403


def test_patching_a_project_changes_only_the_given_fields(cast, api_as):
    response = api_as(cast.district).patch(f"/projects/{cast.project_a.pk}",
                                           {"status": "suspended", "site_area_m2": "1234.5"})
    assert response.status_code == 200, response.content
    cast.project_a.refresh_from_db()
    assert cast.project_a.status == "suspended"
    assert str(cast.project_a.site_area_m2) == "1234.5"
    assert cast.project_a.name == "静安甲项目"
    assert cast.project_a.party(PartyRole.CONTRACTOR) == cast.enterprise_a


def test_patching_parties_replaces_them(cast, api_as):
    response = api_as(cast.city).patch(f"/projects/{cast.project_a.pk}",
                                       {"parties": {"contractor": cast.enterprise_b.uscc}})
    assert response.status_code == 200, response.content
    assert [(p["role"], p["enterprise"]["uscc"]) for p in response.json()["parties"]] == [
        ("contractor", cast.enterprise_b.uscc)]


def test_a_monitoring_company_needs_a_pit(cast, api_as):
    response = api_as(cast.city).patch(f"/projects/{cast.project_a.pk}",
                                       {"parties": {"monitor": cast.owner.uscc}})
    assert response.status_code == 422
    assert "基坑" in response.json()["errors"]["parties.monitor"][0]


def test_deleting_a_project_is_audited(cast, api_as):
    api = api_as(cast.city)
    assert api.delete(f"/projects/{cast.project_b.pk}").status_code == 204
    assert not m.Project.objects.filter(pk=cast.project_b.pk).exists()
    entries = api.get("/audit", {"model": "core.project", "action": "delete"}).json()["items"]
    assert [e["object_repr"] for e in entries] == ["陆家嘴乙项目"]


# ---------------------------------------------------------------- enterprises, people


def test_enterprises_can_be_created_changed_and_deleted(cast, api_as):
    api = api_as(cast.district)
    uscc = new_uscc()
    created = api.post("/enterprises", {"uscc": uscc.lower(), "name": " 戊建筑劳务有限公司 "})
    assert created.status_code == 201, created.content
    assert created.json()["uscc"] == uscc
    assert created.json()["name"] == "戊建筑劳务有限公司"
    pk = created.json()["id"]
    changed = api.patch(f"/enterprises/{pk}", {"phone": "021-12345678"})
    assert changed.json()["phone"] == "021-12345678"
    assert api.delete(f"/enterprises/{pk}").status_code == 204
    assert not m.Enterprise.objects.filter(pk=pk).exists()


def test_an_enterprise_with_a_bad_uscc_gets_422(cast, api_as):
    uscc = new_uscc()
    bad = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    response = api_as(cast.city).post("/enterprises", {"uscc": bad, "name": "某公司"})
    assert response.status_code == 422
    assert "校验位错误" in response.json()["errors"]["uscc"][0]
    assert response.json()["message"].startswith("数据校验未通过：统一社会信用代码：")


def test_an_enterprise_that_is_a_party_cannot_be_deleted(cast, api_as):
    response = api_as(cast.city).delete(f"/enterprises/{cast.owner.pk}")
    assert response.status_code == 422
    assert "引用" in response.json()["errors"]["__all__"][0]
    assert m.Enterprise.objects.filter(pk=cast.owner.pk).exists()


def test_a_person_is_created_from_the_full_number_and_returned_masked(cast, api_as):
    number = make_resident_id(random.Random(3))
    response = api_as(cast.city).post("/people", {"resident_id": number, "name": "王五",
                                                  "employer_uscc": cast.enterprise_a.uscc})
    assert response.status_code == 201, response.content
    assert number not in response.content.decode()
    assert response.json()["resident_id_masked"] == number[:6] + "********" + number[-4:]
    assert response.json()["employer"]["uscc"] == cast.enterprise_a.uscc
    assert m.Person.objects.get(name="王五").resident_id == number


def test_a_person_with_a_wrong_check_digit_gets_422_naming_the_expected_digit(cast, api_as):
    number = make_resident_id(random.Random(4))
    expected = resident_id_check_digit(number[:17])
    wrong = "0" if expected != "0" else "1"
    before = m.Person.objects.count()
    response = api_as(cast.city).post("/people", {"resident_id": number[:17] + wrong,
                                                  "name": "赵六"})
    assert response.status_code == 422
    assert f"应为 {expected}" in response.json()["errors"]["resident_id"][0]
    assert f"应为 {expected}" in response.json()["message"]
    assert m.Person.objects.count() == before


def test_a_person_born_in_a_county_that_never_existed_gets_422(cast, api_as):
    first17 = "31999919900101123"
    before = m.Person.objects.count()
    response = api_as(cast.city).post("/people", {
        "resident_id": first17 + resident_id_check_digit(first17), "name": "赵六"})
    assert response.status_code == 422
    assert response.json()["errors"]["resident_id"] == [
        "公民身份号码前 6 位（出生地行政区划代码）“319999”不是 GB/T 2260 中的行政区划代码"]
    assert m.Person.objects.count() == before


def test_an_enterprise_typed_full_width_in_lower_case_is_stored_normalised(cast, api_as):
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in "91310115ma1k3btp2b")
    response = api_as(cast.city).post("/enterprises", {"uscc": full_width, "name": "全角公司"})
    assert response.status_code == 201, response.content
    assert response.json()["uscc"] == "91310115MA1K3BTP2B"
    assert m.Enterprise.objects.get(name="全角公司").uscc == "91310115MA1K3BTP2B"


def test_a_person_with_an_unknown_employer_gets_422(cast, api_as):
    number = make_resident_id(random.Random(5))
    response = api_as(cast.city).post("/people", {"resident_id": number, "name": "钱七",
                                                  "employer_uscc": new_uscc(seed=777)})
    assert response.status_code == 422
    assert "未找到" in response.json()["errors"]["employer_uscc"][0]


def test_the_resident_id_cannot_be_changed(cast, api_as):
    response = api_as(cast.city).patch(f"/people/{cast.person_a.pk}",
                                       {"resident_id": make_resident_id(random.Random(6))})
    assert response.status_code == 422
    assert "resident_id" in response.json()["errors"]


def test_a_person_holding_a_post_cannot_be_deleted(cast, api_as):
    response = api_as(cast.city).delete(f"/people/{cast.person_a.pk}")
    assert response.status_code == 422
    assert m.Person.objects.filter(pk=cast.person_a.pk).exists()


# ---------------------------------------------------------------- qualifications, assignments


def test_qualifications_are_created_filtered_by_person_and_deleted(cast, qualifications, api_as):
    api = api_as(cast.district)
    created = api.post("/qualifications", {
        "person": cast.person_a.pk, "kind": "safety_b", "number": "沪建安B（2025）0100",
        "issuer": "上海市住房和城乡建设管理委员会", "issued_on": "2025-01-01",
        "expires_on": "2028-01-01"})
    assert created.status_code == 201, created.content
    listed = api.get("/qualifications", {"person": cast.person_a.pk}).json()
    assert sorted(q["number"] for q in listed["items"]) == ["沪1312025000001", "沪建安B（2025）0100"]
    assert api.delete(f"/qualifications/{created.json()['id']}").status_code == 204
    assert listed["count"] == 2


def test_a_qualification_for_a_hidden_person_gets_422(cast, api_as):
    response = api_as(cast.district).post("/qualifications", {
        "person": cast.person_b.pk, "kind": "safety_b", "number": "X-1", "issuer": "某机关"})
    assert response.status_code == 422
    assert str(cast.person_b.pk) in response.json()["errors"]["person"][0]


def test_assignments_are_created_by_resident_id_and_filtered_by_permit_and_post(cast, api_as):
    api = api_as(cast.district)
    chief = m.Post.objects.get(code="chief_supervising_engineer")
    number = make_resident_id(random.Random(8))
    services.save(m.Person(resident_id=number, name="孙八"), actor=cast.city)
    created = api.post("/assignments", {
        "project": cast.project_a.pk, "person_resident_id": number, "post": chief.pk,
        "start_date": "2025-03-01"})
    assert created.status_code == 201, created.content
    assert created.json()["post"]["code"] == "chief_supervising_engineer"
    by_post = api.get("/assignments", {"project": "2301JA0001", "post": chief.pk}).json()
    assert [a["person"]["name"] for a in by_post["items"]] == ["孙八"]
    assert api.get("/assignments", {"project": "2301PD0002"}).json()["count"] == 0
    assert api.delete(f"/assignments/{created.json()['id']}").status_code == 204


def test_an_assignment_on_a_hidden_project_gets_422_naming_it(cast, api_as):
    response = api_as(cast.district).post("/assignments", {
        "project": cast.project_b.pk, "person": cast.person_a.pk,
        "post": m.Post.objects.get(code="project_manager").pk, "start_date": "2025-03-01"})
    assert response.status_code == 422
    assert str(cast.project_b.pk) in response.json()["errors"]["project"][0]


def test_an_assignment_ending_before_it_starts_gets_422(cast, api_as):
    response = api_as(cast.city).post("/assignments", {
        "project": cast.project_a.pk, "person": cast.person_a.pk,
        "post": m.Post.objects.get(code="safety_officer").pk,
        "start_date": "2025-03-01", "end_date": "2025-02-01"})
    assert response.status_code == 422
    assert "end_date" in response.json()["errors"]


# ---------------------------------------------------------------- audit


def test_audit_entries_appear_after_an_api_write(cast, api_as):
    api = api_as(cast.city)
    uscc = new_uscc()
    api.post("/enterprises", {"uscc": uscc, "name": "己幕墙工程有限公司"})
    entries = api.get("/audit", {"model": "core.enterprise"}).json()["items"]
    assert entries[0]["object_repr"] == "己幕墙工程有限公司"
    assert entries[0]["action"] == "create"
    assert entries[0]["actor_name"] == "市住建委"
    assert entries[0]["changes"]["uscc"] == [None, uscc]


def test_a_district_regulator_sees_audit_entries_of_its_projects_only(cast, api_as):
    api_as(cast.district).patch(f"/projects/{cast.project_a.pk}", {"name": "静安甲项目（一期）"})
    api_as(cast.city).patch(f"/projects/{cast.project_b.pk}", {"name": "陆家嘴乙项目（一期）"})
    entries = api_as(cast.district).all_items("/audit")
    assert {e["object_repr"] for e in entries} == {"静安甲项目（一期）"}
    assert len(api_as(cast.city).all_items("/audit", {"model": "core.project"})) == 2


def test_the_audit_trail_masks_resident_ids(cast, api_as):
    api = api_as(cast.city)
    number = make_resident_id(random.Random(9))
    api.post("/people", {"resident_id": number, "name": "周九"})
    response = api.get("/audit", {"model": "core.person"})
    assert number not in response.content.decode()
    assert response.json()["items"][0]["changes"]["resident_id"][1].startswith(number[:6] + "*")


# ---------------------------------------------------------------- lists


def test_lists_are_paginated_with_a_count(cast, api_as):
    api = api_as(cast.city)
    first = api.get("/projects", {"page_size": 1}).json()
    second = api.get("/projects", {"page_size": 1, "page": 2}).json()
    assert (first["count"], first["page"], first["page_size"]) == (2, 1, 1)
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["id"] != second["items"][0]["id"]
    assert api.get("/projects", {"page": 3, "page_size": 1}).json()["items"] == []


def test_the_page_size_is_capped_at_500(cast, api_as):
    body = api_as(cast.city).get("/regions", {"page_size": 100000}).json()
    assert body["page_size"] == 500
    assert len(body["items"]) == min(500, body["count"])


def test_lists_are_filtered_with_the_pages_filtersets(cast, api_as):
    api = api_as(cast.city)
    by_district = api.get("/projects", {"district": cast.pudong.pk}).json()
    assert [p["permit_no"] for p in by_district["items"]] == ["2301PD0002"]
    by_party = api.get("/projects", {"enterprise": cast.enterprise_a.uscc}).json()
    assert [p["permit_no"] for p in by_party["items"]] == ["2301JA0001"]
    searched = api.get("/people", {"q": "张"}).json()
    assert [p["name"] for p in searched["items"]] == ["张三"]
    streets = api.get("/regions", {"level": "district"}).json()
    assert streets["count"] == 16


def test_filters_never_widen_the_scope(cast, api_as):
    response = api_as(cast.contractor_a).get("/projects", {"district": cast.pudong.pk})
    assert response.json()["count"] == 0


def test_a_bad_filter_value_gets_422(cast, api_as):
    response = api_as(cast.city).get("/projects", {"status": "nonsense"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation"
    assert "status" in body["errors"]
    assert body["message"].startswith("筛选条件有误：状态：")


def test_a_bad_date_filter_gets_422(cast, api_as):
    response = api_as(cast.city).get("/projects", {"started_after": "2025-13-01"})
    assert response.status_code == 422
    assert "started_after" in response.json()["errors"]


# ---------------------------------------------------------------- schema validation → 422


def test_a_missing_field_is_named_in_chinese(cast, api_as):
    response = api_as(cast.city).post("/enterprises", {"name": "某公司"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"uscc": ["必填"]}
    assert response.json()["message"] == "请求数据有误：uscc：必填"


def test_wrong_types_are_reported_per_field(cast, api_as):
    body = project_body(cast, district="静安", start_date="2025-02-30", has_pit="maybe")
    response = api_as(cast.city).post("/projects", body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["district"][0].startswith("应为整数")
    assert errors["start_date"] == ["应为日期（YYYY-MM-DD），实为“2025-02-30”"]
    assert errors["has_pit"][0].startswith("应为布尔值")


def test_an_unknown_choice_lists_the_allowed_values(cast, api_as):
    response = api_as(cast.city).post("/projects", project_body(cast, kind="bridge"))
    assert "building" in response.json()["errors"]["kind"][0]


def test_an_unknown_field_is_rejected(cast, api_as):
    response = api_as(cast.city).post("/enterprises", {"uscc": new_uscc(), "name": "某公司",
                                                       "credit": 1})
    assert response.status_code == 422
    assert response.json()["errors"]["credit"] == ["不是可接受的字段"]


@pytest.mark.parametrize("method, path, body", [
    ("post", "/projects", "{not json"),
    ("post", "/projects", "[]"),
    ("post", "/projects", '"a string"'),
    ("post", "/projects", {"permit_no": 1, "name": None}),
    ("post", "/projects", {"district": 10**30}),
    ("post", "/enterprises", {"uscc": "\x00", "name": "x"}),
    ("post", "/people", {"resident_id": 310101, "name": ["x"]}),
    ("post", "/qualifications", {"person": -1, "kind": "x", "number": "", "issuer": ""}),
    ("post", "/assignments", {"project": 999999, "person": 999999, "post": 999999,
                              "start_date": "yesterday"}),
    ("patch", "/projects/999999", {"name": "x"}),
    ("patch", "/projects/abc", {"name": "x"}),
    ("get", "/projects/99999999999999999999999", None),
    ("get", "/projects", {"page": 0}),
    ("get", "/projects", {"page": "abc"}),
    ("get", "/projects", {"page": 10**30}),
    ("get", "/projects", {"district": "99999999999999999999999"}),
    ("get", "/projects", {"q": "\x00"}),
    ("get", "/people", {"post": "abc"}),
    ("get", "/qualifications", {"person": "abc"}),
    ("get", "/agencies", {"kind": "nonsense"}),
    ("delete", "/enterprises/0", None),
])
def test_bad_input_gets_a_json_4xx_never_a_500(cast, api_as, method, path, body):
    api = api_as(cast.city)
    if method in ("get", "delete"):
        response = api.get(path, body) if method == "get" else api.delete(path)
    else:
        response = getattr(api, method)(path, body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["code"] in {"validation", "bad_request", "not_found"}
    assert response.json()["message"]


def test_an_unknown_api_path_gets_a_json_404(cast, api_as):
    response = api_as(cast.city).get("/projects/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "/api/v1/docs" in response.json()["message"]


def test_bad_json_gets_400_with_a_chinese_message(cast, api_as):
    response = api_as(cast.city).post("/enterprises", "{")
    assert response.status_code == 400
    assert response.json()["message"] == "请求体不是合法的 JSON"


# ---------------------------------------------------------------- OpenAPI and docs


def test_the_openapi_document_lists_the_paths(cast, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "smartsite API"
    assert schema["info"]["version"] == "1"
    for path in ("regions", "agencies", "projects", "projects/{pk}", "enterprises", "people",
                 "qualifications", "assignments", "audit", "me"):
        assert f"{API}/{path}" in schema["paths"], path
    params = {p["name"] for p in schema["paths"][f"{API}/projects"]["get"]["parameters"]}
    assert {"page", "page_size", "status", "district", "q"} <= params
    assert "BearerAuth" in json.dumps(schema["components"]["securitySchemes"]) or \
        "bearer" in json.dumps(schema["components"]["securitySchemes"])


def test_the_interactive_docs_load(cast, client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_a_post_to_a_mistyped_api_path_gets_a_json_404_not_a_csrf_page(cast, client):
    csrf_client = type(client)(enforce_csrf_checks=True)
    csrf_client.force_login(cast.city, backend="django.contrib.auth.backends.ModelBackend")
    response = csrf_client.post("/api/v1/projectz", {"name": "x"})
    assert response.status_code == 404
    assert "没有这个 API 路径" in response.json()["message"]
