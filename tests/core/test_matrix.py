"""The permission matrix: every role of the cast × every registry list, detail page and API
detail endpoint sees exactly its scope (design.md §3), written out by hand here so that the
expectation does not come from the scoping code it checks."""

from __future__ import annotations

import datetime

import pytest

from smartsite.core import models as m
from smartsite.core import services
from smartsite.core.choices import QualificationKind

ROLES = ["city", "district", "street", "contractor_a", "contractor_b", "manager_a", "nobody"]

# What each role may see of the cast, by letter. Projects: the city all; 静安区 regulator A
# (静安区); 陆家嘴 squad B; parties and the project manager their own. People follow the projects
# they hold posts on. Enterprises: regulators read the whole register; companies see the
# parties of their projects (甲/乙 are the contractors, 丙 the owner and 丁 the supervisor of both).
PROJECTS = {"city": "AB", "district": "A", "street": "B", "contractor_a": "A",
            "contractor_b": "B", "manager_a": "A", "nobody": ""}
ENTERPRISES = {"city": "AB丙丁", "district": "AB丙丁", "street": "AB丙丁",
               "contractor_a": "A丙丁", "contractor_b": "B丙丁", "manager_a": "A丙丁",
               "nobody": ""}
REFERENCE = {role: role != "nobody" for role in ROLES}  # regions, agencies: any role
AUDIT = {"city", "district"}
USER_ADMIN = {"city"}


@pytest.fixture
def world(cast):
    """The cast's objects by letter, plus one qualification per person."""
    enterprise = m.Enterprise.objects.get
    w = {
        "project": {"A": cast.project_a, "B": cast.project_b},
        "person": {"A": cast.person_a, "B": cast.person_b},
        "enterprise": {"A": cast.enterprise_a, "B": cast.enterprise_b, "丙": cast.owner,
                       "丁": enterprise(name="丁监理咨询有限公司")},
        "qualification": {
            letter: m.Qualification.objects.create(
                person=person, kind=QualificationKind.SAFETY_B, number=f"沪建安B（2025）{i:04d}",
                issuer="上海市住房和城乡建设管理委员会", expires_on=datetime.date(2028, 1, 1))
            for i, (letter, person) in enumerate(
                (("A", cast.person_a), ("B", cast.person_b)), start=1)},
        "assignment": {"A": cast.project_a.assignments.get(),
                       "B": cast.project_b.assignments.get()},
    }
    return w


def _seen(kind: str, role: str) -> str:
    return (ENTERPRISES if kind == "enterprise" else PROJECTS)[role]


def _status(visible: bool) -> int:
    return 200 if visible else 404


# ---------------------------------------------------------------- list pages


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "kind", "label"), [
    ("/projects/", "project", lambda o: o.permit_no),
    ("/people/", "person", lambda o: o.masked_id),
    ("/enterprises/", "enterprise", lambda o: o.uscc),
])
def test_each_list_page_shows_exactly_the_scope(cast, world, login, role, url, kind, label):
    response = login(cast.users()[role]).get(url, {"per_page": 500})
    assert response.status_code == 200
    html = response.content.decode()
    for letter, obj in world[kind].items():
        assert (label(obj) in html) == (letter in _seen(kind, role)), (kind, letter)


@pytest.mark.parametrize("role", ROLES)
def test_reference_lists_are_open_to_every_role_and_closed_to_nobody(cast, login, role):
    html = login(cast.users()[role]).get("/regions/", {"q": "静安"}).content.decode()
    assert ("310106000000" in html) == REFERENCE[role]


@pytest.mark.parametrize("role", ROLES)
def test_the_audit_list_is_for_city_and_district_regulators(cast, login, role):
    services.save(cast.project_b, actor=cast.city, data={"name": "陆家嘴乙项目（二期）"})
    response = login(cast.users()[role]).get("/audit/")
    assert response.status_code == (200 if role in AUDIT else 403)
    if role in AUDIT:
        # The district sees the trail of its own projects only.
        assert ("陆家嘴乙项目（二期）" in response.content.decode()) == (role == "city")


@pytest.mark.parametrize("role", ROLES)
def test_user_administration_is_for_the_city(cast, login, role):
    client = login(cast.users()[role])
    assert client.get("/users/").status_code == (200 if role in USER_ADMIN else 403)
    assert client.get(f"/users/{cast.nobody.pk}/").status_code == (
        200 if role in USER_ADMIN else 403)


# ---------------------------------------------------------------- detail pages


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("kind", "url"), [
    ("project", "/projects/{pk}/"),
    ("person", "/people/{pk}/"),
    ("enterprise", "/enterprises/{pk}/"),
])
def test_each_detail_page_opens_in_scope_and_404s_outside(cast, world, login, role, kind, url):
    client = login(cast.users()[role])
    for letter, obj in world[kind].items():
        response = client.get(url.format(pk=obj.pk))
        assert response.status_code == _status(letter in _seen(kind, role)), (kind, letter)


@pytest.mark.parametrize("role", ROLES)
def test_edit_pages_of_hidden_objects_404_rather_than_403(cast, world, login, role):
    client = login(cast.users()[role])
    for kind, url in (("project", "/projects/{pk}/edit/"), ("person", "/people/{pk}/edit/")):
        for letter, obj in world[kind].items():
            status = client.get(url.format(pk=obj.pk)).status_code
            if letter not in _seen(kind, role):
                assert status == 404, (kind, letter)
            else:
                assert status in (200, 403), (kind, letter)


@pytest.mark.parametrize("role", ROLES)
def test_region_and_agency_pages_follow_the_reference_rule(cast, login, role):
    client = login(cast.users()[role])
    agency = m.Agency.objects.filter(region=cast.lujiazui).get()
    for url in (f"/regions/{cast.jingan.pk}/", f"/agencies/{agency.pk}/"):
        assert client.get(url).status_code == _status(REFERENCE[role]), url


# ---------------------------------------------------------------- API detail endpoints


@pytest.fixture
def api_get(client):
    def _get(user, path):
        _, key = services.issue_token(user, actor=user, name="matrix")
        return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {key}"})

    return _get


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("kind", "path", "seen_as"), [
    ("project", "/projects/{pk}", "project"),
    ("person", "/people/{pk}", "person"),
    ("enterprise", "/enterprises/{pk}", "enterprise"),
    ("qualification", "/qualifications/{pk}", "person"),
    ("assignment", "/assignments/{pk}", "project"),
])
def test_each_api_detail_answers_in_scope_and_404s_outside(cast, world, api_get, role, kind,
                                                           path, seen_as):
    user = cast.users()[role]
    for letter, obj in world[kind].items():
        response = api_get(user, path.format(pk=obj.pk))
        assert response.status_code == _status(letter in _seen(seen_as, role)), (kind, letter)


@pytest.mark.parametrize("role", ROLES)
def test_api_reference_details_follow_the_reference_rule(cast, api_get, role):
    user = cast.users()[role]
    agency = m.Agency.objects.filter(region=cast.lujiazui).get()
    for path in (f"/regions/{cast.jingan.pk}", f"/agencies/{agency.pk}"):
        assert api_get(user, path).status_code == _status(REFERENCE[role]), path
