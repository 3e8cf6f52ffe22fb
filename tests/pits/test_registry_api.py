"""The pit registry through /api/v1/: the same service, permission and messages as the
pages (a field-level 422 for what the model refuses, 400 for the rules), nothing saved on
refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.api import Api
from support.pits import build_site

from smartsite.pits.models import Pit, Point, Stage

pytestmark = pytest.mark.django_db

PIT = {"code": "JK-9", "name": "9号基坑", "safety_grade": 2, "environment_grade": 3,
       "design_depth_m": 9.5, "retaining": "smw", "support": "steel_strut",
       "outline": [[0, 0], [50, 0], [50, 25], [0, 25]]}


@pytest.fixture
def site(cast):
    return build_site(cast)


def test_the_monitoring_company_registers_a_pit_its_stages_and_points(client, site, cast):
    api = Api(client, site.monitor_user)
    made = api.call("post", "/pits", {"project": cast.project_a.pk, **PIT})
    assert made.status_code == 201, made.content
    pit = Pit.objects.get(pk=made.json()["id"])
    assert (pit.design_depth_m, pit.monitoring_company) == (9.5, site.pit.monitoring_company)
    stage = api.call("post", f"/pits/{pit.pk}/stages",
                     {"name": "第一层土方开挖", "started_on": "2026-03-01",
                      "excavation_depth_m": 3.2})
    assert stage.status_code == 201
    assert Stage.objects.get(pit=pit).excavation_depth_m == Decimal("3.2")
    point = api.call("post", f"/pits/{pit.pk}/points",
                     {"code": "CX-01", "item": "deep_horizontal", "tube_depth_m": 20})
    assert point.status_code == 201 and point.json()["unit"] == "mm"
    assert Point.objects.filter(pit=pit).count() == 1


def test_refusals_name_the_field_and_save_nothing(client, site, cast):
    api = Api(client, cast.contractor_a)
    assert "retaining" in api.call("post", "/pits", {"project": cast.project_a.pk,
                                                     **PIT, "retaining": "wood"}).json()["errors"]
    bad_outline = api.call("post", "/pits", {"project": cast.project_a.pk, **PIT,
                                             "outline": [[0, 0], [50, 25], [50, 0], [0, 25]]})
    assert bad_outline.status_code == 422 and "自相交" in str(bad_outline.json()["errors"])
    hidden = api.call("post", "/pits", {"project": cast.project_b.pk, **PIT})
    assert hidden.status_code == 422 and "project" in hidden.json()["errors"]
    deep = api.call("post", f"/pits/{site.pit.pk}/stages",
                    {"name": "超挖", "started_on": "2026-03-01", "excavation_depth_m": 20})
    assert deep.status_code == 400 and "超过设计开挖深度" in deep.json()["message"]
    force = api.call("post", f"/pits/{site.pit.pk}/points", {"code": "ZL-09", "item": "strut_force"})
    assert force.status_code == 400 and force.json()["field"] == "design_value"
    assert Pit.objects.count() == 1 and not Stage.objects.exists()
    assert not Point.objects.filter(code="ZL-09").exists()


def test_a_designer_who_sees_the_pit_may_not_register_on_it(client, site, cast):
    api = Api(client, site.designer_user)
    refused = api.call("post", f"/pits/{site.pit.pk}/points", {"code": "WY-09",
                                                               "item": "wall_top_vertical"})
    assert refused.status_code == 403
    assert not Point.objects.filter(code="WY-09").exists()
