"""Who may register and edit monitors: city and district regulators (their district's
projects) and the project's 施工单位 — its enterprise users and its project-role users
(design.md §3). Reads are decided by `scoped()`; this narrows writes further."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smartsite.core.choices import PartyRole, RoleKind
from smartsite.core.errors import Forbidden
from smartsite.core.models import Project, ProjectParty, Role
from smartsite.core.scoping import grant_for, scoped


def registrable_projects(user) -> QuerySet[Project]:
    """Projects on which `user` may register or edit monitors."""
    grant = grant_for(user)
    projects = scoped(user, Project.objects.all())
    if grant.sees_all:
        return projects
    q = Q(district__in=grant.district_ids)
    if grant.enterprise_ids:
        q |= Q(pk__in=ProjectParty.objects.filter(role=PartyRole.CONTRACTOR,
                                                  enterprise__in=grant.enterprise_ids)
               .values("project"))
    if grant.project_ids:
        q |= Q(pk__in=Role.objects.filter(user=user, kind=RoleKind.PROJECT,
                                          party_role=PartyRole.CONTRACTOR).values("project"))
    return projects.filter(q)


def can_register(user) -> bool:
    return registrable_projects(user).exists()


def require_manage(user, project: Project) -> None:
    """Forbidden (403) unless `user` may register or edit monitors on `project`."""
    if not registrable_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有市、区监管部门和项目的施工单位可以登记或修改该项目的监测设备")
