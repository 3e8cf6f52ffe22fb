"""Who may change what. Reads are decided by `scoping.scoped`; this decides writes."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smartsite.core import models as m
from smartsite.core.choices import PartyRole, RoleKind
from smartsite.core.errors import Forbidden
from smartsite.core.scoping import grant_for, scoped

# Registry models regulators maintain (design.md §3: city and district regulators).
REGISTRY_MODELS = (m.Project, m.ProjectParty, m.Enterprise, m.Person, m.Qualification,
                   m.PostAssignment)


def is_city_admin(user) -> bool:
    return grant_for(user).sees_all


def can_edit_registry(user) -> bool:
    """City and district regulators maintain the registry (报建 data)."""
    kinds = grant_for(user).kinds
    return grant_for(user).sees_all or RoleKind.DISTRICT in kinds


def require_edit(user, instance) -> None:
    """Raise Forbidden unless `user` may create/change/delete `instance`.

    A district regulator may only touch projects (and their parties, posts) in its district;
    enterprises and people are city-wide registers any registry editor may maintain.
    """
    if not isinstance(instance, REGISTRY_MODELS) or not can_edit_registry(user):
        raise Forbidden("您没有修改登记数据的权限")
    grant = grant_for(user)
    if grant.sees_all:
        return
    project = instance if isinstance(instance, m.Project) else getattr(instance, "project", None)
    if project is None:
        return
    if project.district_id not in grant.district_ids:
        raise Forbidden("只能维护本区的项目")
    if project.pk and not scoped(user, m.Project.objects.filter(pk=project.pk)).exists():
        raise Forbidden("只能维护本区的项目")


def require_city_admin(user) -> None:
    if not is_city_admin(user):
        raise Forbidden("只有市级管理员可以修改用户权限")


def equipment_projects(user) -> QuerySet[m.Project]:
    """Projects on which `user` may register or edit equipment installed on the site (dust
    monitors, cameras, and the devices of scenarios to come): city and district regulators
    (their district's projects) and the project's 施工单位 — its enterprise users and its
    project-role users (design.md §3)."""
    grant = grant_for(user)
    projects = scoped(user, m.Project.objects.all())
    if grant.sees_all:
        return projects
    q = Q(district__in=grant.district_ids)
    if grant.enterprise_ids:
        q |= Q(pk__in=m.ProjectParty.objects.filter(role=PartyRole.CONTRACTOR,
                                                    enterprise__in=grant.enterprise_ids)
               .values("project"))
    if grant.project_ids:
        q |= Q(pk__in=m.Role.objects.filter(user=user, kind=RoleKind.PROJECT,
                                            party_role=PartyRole.CONTRACTOR).values("project"))
    return projects.filter(q)


def party_projects(user, roles) -> Q:
    """A filter on Project: the projects where `user` acts for one of the party `roles`, as a
    user of the enterprise in that role or with a project role of that party."""
    grant = grant_for(user)
    q = Q(pk__in=[])
    if grant.enterprise_ids:
        q |= Q(pk__in=m.ProjectParty.objects.filter(role__in=roles,
                                                    enterprise__in=grant.enterprise_ids)
               .values("project"))
    if grant.project_ids:
        q |= Q(pk__in=m.Role.objects.filter(user=user, kind=RoleKind.PROJECT,
                                            party_role__in=roles).values("project"))
    return q
