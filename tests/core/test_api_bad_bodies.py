"""Bad requests a hostile review sent to a running demo, each a 500 before: a form or a file
sent to a JSON route, JSON nested 100,000 deep, `null` patched into optional text fields,
and an id larger than the database's integer. Each now gets a specific 4xx and changes
nothing (docs/api.md "Errors")."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from support.monitors import add_monitor

from smartsite.core import models as m
from smartsite.core import services as core_services
from smartsite.core.apikit import MAX_JSON_BYTES, MAX_JSON_DEPTH
from smartsite.dust.models import Inspection
from smartsite.workorders import services as order_services
from smartsite.workorders.models import OrderAction

API = "/api/v1"


@pytest.fixture
def city(cast, client) -> Client:
    _, key = core_services.issue_token(cast.city, actor=cast.city, name="pytest")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def counts():
    return (m.Project.objects.count(), m.Enterprise.objects.count(), m.AuditEntry.objects.count(),
            OrderAction.objects.count(), Inspection.objects.count())


# ---------------------------------------------------------------- a form to a JSON route


@pytest.mark.parametrize("path", ["/projects", "/enterprises", "/people", "/qualifications"])
def test_a_multipart_form_posted_to_a_json_route_gets_415(cast, city, path):
    before = counts()
    response = city.post(API + path, {"name": "甲公司", "uscc": "91310000MA1FL0000X"})  # multipart
    assert response.status_code == 415, response.content
    assert response.json() == {
        "code": "unsupported_media_type", "field": None,
        "message": "此接口的请求体应为 JSON（Content-Type: application/json），"
                   "收到的是 multipart/form-data"}
    assert counts() == before


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain",
                                          "multipart/form-data; boundary=x"])
def test_a_patch_in_another_format_gets_415_and_changes_nothing(cast, city, content_type):
    path = f"{API}/enterprises/{cast.enterprise_a.pk}"
    response = city.patch(path, '{"name": "改名"}', content_type=content_type)
    assert response.status_code == 415, response.content
    assert response.json()["message"].endswith(content_type.split(";")[0])
    cast.enterprise_a.refresh_from_db()
    assert cast.enterprise_a.name == "甲建设集团有限公司"
    # JSON with a charset, or a JSON-based type, is still JSON
    for json_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert city.patch(path, '{"phone": "021-1"}', content_type=json_type).status_code == 200


# ---------------------------------------------------------------- nesting and size


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def targets(cast, city):
    """A path of each route that reads its own body (order actions, penalties, inspections)
    and of one ninja schema route (projects)."""
    order = order_services.open_order(scenario="dust", kind="exceedance", project=cast.project_a,
                                      title="PM10 超标", actor=cast.city)
    monitor = add_monitor(cast.project_a)
    return {"actions": f"/orders/{order.pk}/actions", "penalties": f"/orders/{order.pk}/penalties",
            "inspections": f"/monitors/{monitor.pk}/inspections", "projects": "/projects"}


@pytest.mark.parametrize("route", ["actions", "penalties", "inspections", "projects"])
@pytest.mark.parametrize("body", [_nested(100_000), '{"action": ' + _nested(3_000) + "}",
                                  '{"a":' * 5_000 + "1" + "}" * 5_000])
def test_deeply_nested_json_gets_400_and_changes_nothing(cast, city, targets, route, body):
    before = counts()
    response = city.post(API + targets[route], body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json() == {"code": "bad_request", "field": None,
                               "message": f"请求体的 JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）"}
    assert counts() == before


@pytest.mark.parametrize("route", ["actions", "projects"])
def test_nesting_just_past_the_bound_is_refused_and_at_the_bound_is_read(cast, city, targets, route):
    too_deep = city.post(API + targets[route], '{"comment": ' + _nested(MAX_JSON_DEPTH) + "}",
                         content_type="application/json")
    assert too_deep.status_code == 400
    deep_enough = city.post(API + targets[route], '{"comment": ' + _nested(MAX_JSON_DEPTH - 1) + "}",
                            content_type="application/json")
    assert deep_enough.status_code == 422  # read, then refused by the schema: a field error
    assert "comment" in deep_enough.json()["errors"] or "__all__" in deep_enough.json()["errors"]


def test_a_json_body_over_the_size_bound_gets_413(cast, city, targets):
    before = counts()
    body = json.dumps({"permit_no": "2025X1", "name": "x" * MAX_JSON_BYTES})
    for route in ("projects", "actions"):
        response = city.post(API + targets[route], body, content_type="application/json")
        assert response.status_code == 413, response.content
        assert response.json()["code"] == "too_large"
        assert response.json()["message"].endswith("上限为 1024 KB")
    assert counts() == before


# ---------------------------------------------------------------- null in a PATCH


@pytest.mark.parametrize(("path", "null", "cleared"), [
    ("enterprises", {"phone": None, "address": None, "legal_representative": None},
     {"phone": "", "address": ""}),
    ("people", {"phone": None}, {"phone": ""}),
    ("projects", {"has_pit": None, "address": None, "parties": None},
     {"start_date": None, "parties": {}}),  # (parties come back as a list: [] when none)
])
def test_null_for_a_field_that_cannot_be_empty_is_a_field_error(cast, city, path, null, cleared):
    """(A 500 before: NOT NULL.) Text is cleared with "", dates and the like with null."""
    pk = {"enterprises": cast.enterprise_a.pk, "people": cast.person_a.pk,
          "projects": cast.project_a.pk}[path]
    audit = m.AuditEntry.objects.count()
    response = city.patch(f"{API}/{path}/{pk}", null, content_type="application/json")
    assert response.status_code == 422, response.content
    assert set(response.json()["errors"]) == set(null)
    assert m.AuditEntry.objects.count() == audit
    response = city.patch(f"{API}/{path}/{pk}", cleared, content_type="application/json")
    assert response.status_code == 200, response.content
    shown = {key: response.json()[key] for key in cleared}
    assert shown == {key: [] if key == "parties" else value for key, value in cleared.items()}


def test_the_write_path_refuses_a_null_its_schema_let_through(cast):
    """`refuse_nulls` guards the save helpers: full_clean skips a blank-allowed None, and
    the database's NOT NULL would make it a 500."""
    from smartsite.core.apikit import refuse_nulls

    errors: dict[str, list[str]] = {}
    kept = refuse_nulls(m.Enterprise, {"phone": None, "name": "甲", "nonsense": None}, errors)
    assert kept == {"name": "甲", "nonsense": None}
    assert errors == {"phone": ["不能为 null；清空请用空字符串 \"\""]}
    errors = {}
    assert refuse_nulls(m.Project, {"has_pit": None, "start_date": None}, errors) == \
        {"start_date": None}
    assert errors == {"has_pit": ["不能为 null"]}


# ---------------------------------------------------------------- ids past the integer column


def test_the_street_options_for_a_huge_district_id_are_empty(cast, login):
    client = login(cast.city)
    for district in ("9" * 30, "²", str(2**63)):
        response = client.get("/regions/streets", {"district": district})
        assert response.status_code == 200
        assert response.content.decode() == '<option value="">---------</option>'
    listed = client.get("/regions/streets", {"district": cast.jingan.pk}).content.decode()
    assert listed.count("<option") > 1


def test_the_project_form_with_a_huge_district_id_shows_a_field_error(cast, login):
    response = login(cast.city).post("/projects/add/", {
        "permit_no": "2025X0001", "name": "测试", "address": "x", "kind": "building",
        "district": "9" * 30, "street": "9" * 30, "status": "active"})
    assert response.status_code == 422  # the form again, with its errors
    assert response.context["form"].errors["district"]
    assert not m.Project.objects.filter(permit_no="2025X0001").exists()
