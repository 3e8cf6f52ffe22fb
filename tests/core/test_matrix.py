"""The permission matrix: every role of the cast × every registry list, detail page and API
detail endpoint sees exactly its scope (design.md §3), written out by hand here so that the
expectation does not come from the scoping code it checks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

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


# ---------------------------------------------------------------- API writes
#
# Every write route of the devices (monitors, spray/fog cannons, inspections, O&M records,
# monthly reviews, cameras) × every role × the object on project A and on project B. The
# expectation comes from these tables, not from the permission code: who may write which
# project, by letter. An object the role cannot see gives 404 (or, where the project is named
# in the body, the same 422 as an id that does not exist); one it can see but may not change
# gives 403; an allowed write answers 2xx and leaves an audit entry under the role's user.
# A refused one changes nothing and writes no audit entry.

# Register and change monitors, their spray/fog cannons and cameras: the city, the district
# regulator of the project, its 施工单位 (company users and project-role users).
MANAGE = {"city": "AB", "district": "A", "street": "", "contractor_a": "A",
          "contractor_b": "B", "manager_a": "A", "nobody": ""}
# Inspections (年检/校准): the same people (the O&M company too, not in the cast).
INSPECT = MANAGE
# O&M records and resubmitting a month: the project's O&M company and 施工单位 only.
MAINTAIN = {"city": "", "district": "", "street": "", "contractor_a": "A",
            "contractor_b": "B", "manager_a": "A", "nobody": ""}
# Reviewing a month: the 施工单位's 项目经理 only.
REVIEW = {"city": "", "district": "", "street": "", "contractor_a": "", "contractor_b": "",
          "manager_a": "A", "nobody": ""}

DAY = datetime.date(2020, 1, 1)  # every date below is in the past whatever the clock says
PUBLIC_RTSP = "rtsp://58.246.120.{n}:554/Streaming/Channels/101"


@dataclass
class Site:
    """One project's devices, as the write routes find them."""

    project: object
    monitor: object
    spray: object
    record: object  # an open fault
    pending: object  # a monthly review waiting for the project manager
    rejected: object  # a month sent back to the O&M company
    camera: object


@pytest.fixture
def sites(cast) -> dict[str, Site]:
    from smartsite.dust import services as dust
    from smartsite.dust.choices import MaintenanceKind, ReviewState
    from smartsite.dust.models import MaintenanceRecord, MonthlyReview
    from smartsite.video import services as video

    out = {}
    for n, (letter, project) in enumerate((("A", cast.project_a), ("B", cast.project_b)), 1):
        monitor = dust.register_monitor(project=project, mn=f"31MATRIX00000000000000{letter}1",
                                        password="123456")
        spray = dust.add_spray_device(monitor, actor=cast.city, name="东门雾炮", sb_code="SB1")
        record = MaintenanceRecord.objects.create(
            monitor=monitor, kind=MaintenanceKind.FAULT, description="PM10 传感器无数据",
            started_at=datetime.datetime(2020, 1, 1, 8, tzinfo=datetime.UTC))
        generated = datetime.datetime(2020, 2, 1, tzinfo=datetime.UTC)
        pending = MonthlyReview.objects.create(project=project, month=datetime.date(2020, 1, 1),
                                               stats={}, generated_at=generated)
        rejected = MonthlyReview.objects.create(project=project, month=datetime.date(2019, 12, 1),
                                                stats={}, generated_at=generated,
                                                state=ReviewState.REJECTED, comment="数据不全")
        camera = video.register_camera(project=project, name="东门", rtsp_url=PUBLIC_RTSP.format(n=n))
        out[letter] = Site(project, monitor, spray, record, pending, rejected, camera)
    return out


@dataclass(frozen=True)
class Write:
    """A write route: how to call it on a site, who may, and which object it audits."""

    name: str
    method: str
    path: str  # formatted with the site
    body: object  # a dict, or a callable(site, letter) -> dict
    allowed: dict
    status: int
    audited: object  # callable(site, response) -> (model label, object id)
    project_in_body: bool = False
    multipart: bool = False


def _new(label):
    return lambda site, response: (label, str(response.json()["id"]))


WRITES = [
    Write("register monitor", "post", "/monitors",
          lambda s, letter: {"mn": f"31MATRIXNEW00000000000{letter}9", "password": "654321",
                             "project": s.project.pk, "location": "北门"},
          MANAGE, 201, _new("dust.monitor"), project_in_body=True),
    Write("change monitor", "patch", "/monitors/{s.monitor.pk}",
          {"location": "西门", "active": False}, MANAGE, 200,
          lambda s, r: ("dust.monitor", str(s.monitor.pk))),
    Write("link a spray", "post", "/monitors/{s.monitor.pk}/spray-devices",
          {"name": "北门喷淋", "kind": "spray", "sb_code": "SB2"}, MANAGE, 201,
          _new("dust.spraydevice")),
    Write("change a spray", "patch", "/spray-devices/{s.spray.pk}",
          {"name": "东门雾炮（新）", "active": False}, MANAGE, 200,
          lambda s, r: ("dust.spraydevice", str(s.spray.pk))),
    Write("record an inspection", "post", "/monitors/{s.monitor.pk}/inspections",
          lambda s, letter: {"kind": "annual", "inspected_on": "2020-01-01",
                             "expires_on": "2021-01-01", "body": "上海市计量测试技术研究院",
                             "certificate_no": f"JL2020-{letter}01", "passed": "true"},
          INSPECT, 201, _new("dust.inspection"), multipart=True),
    Write("record maintenance", "post", "/monitors/{s.monitor.pk}/maintenance-records",
          {"kind": "visit", "started_at": "2020-01-02T09:00:00+08:00",
           "ended_at": "2020-01-02T10:00:00+08:00", "description": "月度巡检"},
          MAINTAIN, 201, _new("dust.maintenancerecord")),
    Write("end maintenance", "post", "/maintenance-records/{s.record.pk}/end",
          {"ended_at": "2020-01-03T10:00:00+08:00"}, MAINTAIN, 200,
          lambda s, r: ("dust.maintenancerecord", str(s.record.pk))),
    Write("review a month", "post", "/monthly-reviews/{s.pending.pk}/review",
          {"action": "reject", "comment": "1 月 3 日数据缺失，请补录"}, REVIEW, 200,
          lambda s, r: ("dust.monthlyreview", str(s.pending.pk))),
    Write("resubmit a month", "post", "/monthly-reviews/{s.rejected.pk}/resubmit", None,
          MAINTAIN, 200, lambda s, r: ("dust.monthlyreview", str(s.rejected.pk))),
    Write("register camera", "post", "/cameras",
          lambda s, letter: {"name": "北门", "project": s.project.pk,
                             "rtsp_url": PUBLIC_RTSP.format(n=9), "username": "admin",
                             "password": "Cam-Pa55!"},
          MANAGE, 201, _new("video.camera"), project_in_body=True),
    Write("change camera", "patch", "/cameras/{s.camera.pk}",
          {"location": "西门", "password": "New-Pa55!"}, MANAGE, 200,
          lambda s, r: ("video.camera", str(s.camera.pk))),
    Write("delete camera", "delete", "/cameras/{s.camera.pk}", None, MANAGE, 204,
          lambda s, r: ("video.camera", str(s.camera.pk))),
]


@pytest.fixture
def api_call(client):
    tokens = {}

    def _call(user, write: Write, site: Site, letter: str):
        if user.pk not in tokens:
            _, tokens[user.pk] = services.issue_token(user, actor=user, name="matrix")
        headers = {"Authorization": f"Bearer {tokens[user.pk]}"}
        body = write.body(site, letter) if callable(write.body) else write.body
        path = "/api/v1" + write.path.format(s=site)
        if write.multipart:
            return client.post(path, body, headers=headers)
        if body is None:
            return getattr(client, write.method)(path, headers=headers)
        return getattr(client, write.method)(path, body, content_type="application/json",
                                             headers=headers)

    return _call


def _audit_count() -> int:
    """Audit entries of anything but API tokens (the call issues one)."""
    return m.AuditEntry.objects.exclude(model=m.ApiToken._meta.label_lower).count()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
def test_each_api_write_is_allowed_forbidden_or_hidden_by_role(cast, sites, api_call, role,
                                                               write):
    user = cast.users()[role]
    for letter, site in sites.items():
        before = _audit_count()
        response = api_call(user, write, site, letter)
        if letter not in PROJECTS[role]:
            if write.project_in_body:  # the same answer as for a project that does not exist
                assert response.status_code == 422, (letter, response.content)
                assert response.json()["errors"] == {
                    "project": [f"未找到编号为 {site.project.pk} 的项目"]}, letter
            else:
                assert response.status_code == 404, (letter, response.content)
                assert response.json()["code"] == "not_found"
            assert _audit_count() == before, letter
        elif letter not in write.allowed[role]:
            assert response.status_code == 403, (letter, response.content)
            assert response.json()["code"] == "forbidden"
            assert _audit_count() == before, letter
        else:
            assert response.status_code == write.status, (letter, response.content)
            model, object_id = write.audited(site, response)
            assert m.AuditEntry.objects.filter(actor=user, model=model,
                                               object_id=object_id).exists(), letter


@pytest.mark.parametrize("role", ROLES)
def test_only_the_city_changes_a_dust_rule_over_the_api(cast, api_call, role, client):
    from smartsite.dust.models import DustRule

    _, key = services.issue_token(cast.users()[role], actor=cast.users()[role], name="matrix")
    rule = DustRule.objects.get(code="exceedance")
    response = client.patch("/api/v1/dust-rules/exceedance", {"params": {"min_samples": 12},
                                                               "source": "DB31/964-2016 5.2"},
                            content_type="application/json",
                            headers={"Authorization": f"Bearer {key}"})
    audited = m.AuditEntry.objects.filter(model="dust.dustrule", object_id=str(rule.pk))
    if role == "city":
        assert response.status_code == 200, response.content
        assert response.json()["effective"]["min_samples"] == 12
        assert audited.filter(actor=cast.city).exists()
    else:
        assert response.status_code == 403, response.content
        assert not audited.exists()
        rule.refresh_from_db()
        assert "min_samples" not in rule.params
