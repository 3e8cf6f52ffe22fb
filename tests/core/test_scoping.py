"""The one scoping function: each role sees exactly its scope, for every project-bound model."""

from __future__ import annotations

import pytest

from smartsite.core import models as m
from smartsite.core.scoping import grant_for, scoped


def visible_projects(cast, who):
    """What each user of the cast should see, from first principles (design.md §3)."""
    a, b = cast.project_a, cast.project_b
    everything = set(m.Project.objects.values_list("pk", flat=True))
    return {
        "city": everything,
        "district": {p.pk for p in m.Project.objects.filter(district=cast.jingan)},
        "street": {p.pk for p in m.Project.objects.filter(street=cast.lujiazui)},
        "contractor_a": {a.pk},
        "contractor_b": {b.pk},
        "manager_a": {a.pk},
        "nobody": set(),
    }[who]


USERS = ["city", "district", "street", "contractor_a", "contractor_b", "manager_a", "nobody"]


@pytest.mark.parametrize("who", USERS)
def test_each_role_sees_exactly_its_projects(cast, who):
    user = cast.users()[who]
    expected = visible_projects(cast, who)
    assert set(scoped(user, m.Project.objects.all()).values_list("pk", flat=True)) == expected


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("model", [m.ProjectParty, m.PostAssignment])
def test_project_bound_rows_follow_their_project(cast, who, model):
    user = cast.users()[who]
    expected = visible_projects(cast, who)
    rows = scoped(user, model.objects.all())
    assert {r.project_id for r in rows} == expected
    assert rows.count() == model.objects.filter(project__in=expected).count()


@pytest.mark.parametrize("who", USERS)
def test_people_are_visible_through_projects_or_employer(cast, who):
    user = cast.users()[who]
    seen = set(scoped(user, m.Person.objects.all()).values_list("name", flat=True))
    expected = set(m.Person.objects.filter(
        assignments__project__in=visible_projects(cast, who)).values_list("name", flat=True))
    grant = grant_for(user)
    expected |= set(m.Person.objects.filter(employer__in=grant.enterprise_ids)
                    .values_list("name", flat=True))
    if who == "city":
        expected = set(m.Person.objects.values_list("name", flat=True))
    assert seen == expected
    if who == "contractor_b":
        assert seen == {"李四"}


def test_regulators_see_every_enterprise_companies_only_their_partners(cast):
    all_ids = set(m.Enterprise.objects.values_list("pk", flat=True))
    for who in ("city", "district", "street"):
        assert set(scoped(cast.users()[who], m.Enterprise.objects.all())
                   .values_list("pk", flat=True)) == all_ids
    seen = set(scoped(cast.contractor_b, m.Enterprise.objects.all()))
    assert cast.enterprise_b in seen and cast.owner in seen
    assert cast.enterprise_a not in seen
    assert not scoped(cast.nobody, m.Enterprise.objects.all()).exists()


def test_a_user_without_roles_sees_no_reference_data_either(cast):
    assert not scoped(cast.nobody, m.Region.objects.all()).exists()
    assert scoped(cast.contractor_a, m.Region.objects.all()).count() == m.Region.objects.count()


def test_roles_combine_as_a_union(cast):
    from smartsite.core.choices import PartyRole, RoleKind
    from smartsite.core.scoping import forget_grant

    m.Role.objects.create(user=cast.contractor_a, kind=RoleKind.PROJECT,
                          project=cast.project_b, enterprise=cast.enterprise_b,
                          party_role=PartyRole.CONTRACTOR)
    forget_grant(cast.contractor_a)
    seen = set(scoped(cast.contractor_a, m.Project.objects.all()))
    assert seen == {cast.project_a, cast.project_b}


def test_an_unscoped_model_is_refused_not_leaked(cast):
    from django.contrib.auth import get_user_model

    with pytest.raises(TypeError):
        scoped(cast.district, get_user_model().objects.all())


def test_inactive_user_sees_nothing(cast):
    cast.city.is_active = False
    assert not scoped(cast.city, m.Project.objects.all()).exists()
