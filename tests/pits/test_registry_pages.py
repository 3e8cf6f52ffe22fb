"""Registering a pit, its stages and its points from the pages: who may (403 otherwise, 404
out of scope), field-level Chinese errors with nothing saved, and the audit trail."""

from __future__ import annotations

import pytest
from support.pits import build_site

from smartsite.core.models import AuditEntry
from smartsite.pits.models import Pit, Point, Stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(cast):
    return build_site(cast)


PIT = {"code": "JK-2", "name": "2号基坑", "safety_grade": "1", "environment_grade": "2",
       "design_depth_m": "16.5", "retaining": "diaphragm_wall", "support": "concrete_strut",
       "outline": "[[0, 0], [60, 0], [60, 30], [0, 30]]"}


def test_the_contractor_registers_a_pit_with_the_projects_monitoring_company(site, cast, login):
    client = login(cast.contractor_a)
    page = client.get(f"/pits/projects/{cast.project_a.pk}/")
    assert f"/pits/projects/{cast.project_a.pk}/add/" in page.content.decode()
    response = client.post(f"/pits/projects/{cast.project_a.pk}/add/", PIT)
    pit = Pit.objects.get(code="JK-2")
    assert response.status_code == 302 and response["Location"] == pit.get_absolute_url()
    assert pit.monitoring_company == site.pit.monitoring_company  # the project's 监测单位
    assert pit.outline == [[0, 0], [60, 0], [60, 30], [0, 30]]
    assert AuditEntry.objects.filter(model="pits.pit", object_id=str(pit.pk)).exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("outline", "[[0, 0], [60, 30], [60, 0], [0, 30]]", "自相交"),
    ("outline", "[[0, 0], [1, 1]]", "至少需要三个角点"),
    ("outline", "not json", "应为 JSON"),
    ("design_depth_m", "120", "小于或等于"),
    ("code", "JK-1", "已有编号为 JK-1 的基坑"),
])
def test_a_bad_pit_form_names_the_field_and_saves_nothing(site, cast, login, field, value,
                                                          message):
    client = login(cast.contractor_a)
    response = client.post(f"/pits/projects/{cast.project_a.pk}/add/", {**PIT, field: value})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Pit.objects.count() == 1


def test_stages_and_points_are_added_and_a_stage_deeper_than_h_is_refused(site, cast, login):
    client = login(cast.contractor_a)
    pit = site.pit
    ok = client.post(f"/pits/{pit.pk}/stages/add/", {"name": "第一层土方开挖",
                                                     "started_on": "2026-03-01",
                                                     "excavation_depth_m": "3"})
    assert ok.status_code == 302
    deep = client.post(f"/pits/{pit.pk}/stages/add/", {"name": "超挖", "started_on": "2026-03-05",
                                                       "excavation_depth_m": "18"})
    assert deep.status_code == 422 and "超过设计开挖深度" in deep.content.decode()
    assert Stage.objects.filter(pit=pit).count() == 1
    point = client.post(f"/pits/{pit.pk}/points/add/", {"code": "ZL-02", "item": "strut_force",
                                                        "x_m": "10", "y_m": "20"})
    assert point.status_code == 422 and "须填写设计值" in point.content.decode()
    point = client.post(f"/pits/{pit.pk}/points/add/", {"code": "ZL-02", "item": "strut_force",
                                                        "x_m": "10", "y_m": "20",
                                                        "design_value": "4200"})
    assert point.status_code == 302
    assert Point.objects.get(pit=pit, code="ZL-02").design_value == 4200


def test_who_may_register(site, cast, login):
    for user, status in ((cast.contractor_b, 404), (site.designer_user, 403), (cast.street, 404),
                         (cast.district, 200), (site.monitor_user, 200), (site.owner_user, 200)):
        client = login(user)
        assert client.get(f"/pits/{site.pit.pk}/points/add/").status_code == status, user
