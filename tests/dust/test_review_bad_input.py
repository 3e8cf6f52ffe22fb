"""Review of #6 (hostile input): query strings and ids that used to answer 500 are refused with
a Chinese message, and nothing is listed or changed."""

from __future__ import annotations

import pytest
from support.upkeep import make_upkeep

from smartsite.core import services as core_services

pytestmark = pytest.mark.django_db

API = "/api/v1"
HUGE = "99999999999999999999"  # beyond a 64-bit primary key


@pytest.fixture
def city_api(client, cast):
    make_upkeep(cast)
    _, key = core_services.issue_token(cast.city, actor=cast.city, name="pytest")
    client.raise_request_exception = False
    return lambda path: client.get(API + path, headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize("query", ["month=0000-01", f"project={HUGE}"])
def test_bad_review_filters_are_refused_not_500(city_api, query):
    response = city_api(f"/monthly-reviews?{query}")
    assert response.status_code == 422, response.content
    field = query.split("=")[0]
    assert response.json()["errors"][field]


@pytest.mark.parametrize("query", [f"project={HUGE}", "monitor=9223372036854775808"])
def test_bad_maintenance_filters_are_refused_not_500(city_api, query):
    response = city_api(f"/maintenance-records?{query}")
    assert response.status_code == 422, response.content
    assert response.json()["errors"][query.split("=")[0]]


def test_the_review_list_page_ignores_a_project_id_too_big_for_the_database(client, cast, login):
    make_upkeep(cast)
    client.raise_request_exception = False
    response = login(cast.city).get(f"/monitors/reviews/?project={HUGE}")
    assert response.status_code == 200


@pytest.mark.parametrize("started", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00"])
def test_a_maintenance_record_dated_year_1_is_refused_not_500(client, cast, started):
    from smartsite.dust.models import MaintenanceRecord

    kit = make_upkeep(cast)
    _, key = core_services.issue_token(kit.maint_a, actor=kit.maint_a, name="pytest")
    client.raise_request_exception = False
    response = client.post(f"{API}/monitors/{kit.a1.pk}/maintenance-records",
                           {"kind": "fault", "started_at": started, "description": "探头故障"},
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422, response.content
    assert "2000" in response.json()["errors"]["started_at"][0]
    assert not MaintenanceRecord.objects.exists()


def test_the_maintenance_form_refuses_year_1_with_the_message_on_the_field(client, cast, login):
    from smartsite.dust.models import MaintenanceRecord

    kit = make_upkeep(cast)
    client.raise_request_exception = False
    response = login(kit.maint_a).post(f"/monitors/{kit.a1.pk}/maintenance/", {
        "kind": "fault", "started_at": "0001-01-01 00:00", "description": "探头故障"})
    assert response.status_code == 422
    assert "开始时间不能早于 2000 年" in response.content.decode()
    assert not MaintenanceRecord.objects.exists()
