"""Who sees which orders: a district by the order's own (indexed) district, which follows the
project when a registry correction moves it; squads by street; companies by party."""

from __future__ import annotations

from smartsite.core import services as core_services
from smartsite.workorders import selectors


def test_orders_follow_their_project_into_another_district(site, cast):
    order = site.order_of(site.event("dust", "exceedance"))
    assert order.district == cast.pudong
    assert selectors.visible_orders(site.station).filter(pk=order.pk).exists()
    assert not selectors.visible_orders(cast.district).filter(pk=order.pk).exists()  # 静安

    project = site.project
    project.district, project.street = cast.jingan, cast.project_a.street
    core_services.save(project, actor=cast.city)
    order.refresh_from_db()
    assert order.district == cast.jingan
    assert selectors.visible_orders(cast.district).filter(pk=order.pk).exists()
    assert not selectors.visible_orders(site.station).filter(pk=order.pk).exists()


def test_street_company_and_project_users_see_orders_through_the_project(site, cast):
    order = site.order_of(site.event("dust", "exceedance"))
    for user in (site.squad, cast.contractor_b, site.pm, site.chief, cast.city):
        assert selectors.visible_orders(user).filter(pk=order.pk).exists(), user
    for user in (cast.contractor_a, cast.manager_a, cast.nobody):
        assert not selectors.visible_orders(user).filter(pk=order.pk).exists(), user
