"""Who may register and edit monitors: city and district regulators (their district's
projects) and the project's 施工单位 — its enterprise users and its project-role users
(design.md §3). Reads are decided by `scoped()`; this narrows writes further."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smartsite.core.choices import PartyRole, RoleKind
from smartsite.core.errors import Forbidden
from smartsite.core.models import Project, Role
from smartsite.core.permissions import equipment_projects, party_projects
from smartsite.core.scoping import grant_for, scoped


def registrable_projects(user) -> QuerySet[Project]:
    """Projects on which `user` may register or edit monitors: those on which they may
    install site equipment (`core.permissions.equipment_projects`)."""
    return equipment_projects(user)


def can_register(user) -> bool:
    return registrable_projects(user).exists()


def require_manage(user, project: Project) -> None:
    """Forbidden (403) unless `user` may register or edit monitors on `project`."""
    if not registrable_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有市、区监管部门和项目的施工单位可以登记或修改该项目的监测设备")


# ---------------------------------------------------------------- O&M (设备运维)


def maintainable_projects(user) -> QuerySet[Project]:
    """Projects on which `user` may enter O&M records (运维记录): the project's O&M company
    (运维单位) and its 施工单位."""
    return scoped(user, Project.objects.all()).filter(
        party_projects(user, (PartyRole.MAINTAINER, PartyRole.CONTRACTOR)))


def require_maintain(user, project: Project) -> None:
    """Forbidden (403) unless `user` may enter O&M records on `project`."""
    if not maintainable_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有该项目的运维单位和施工单位可以登记该项目监测设备的运维记录")


def inspecting_projects(user) -> QuerySet[Project]:
    """Projects on which `user` may record annual inspections and calibrations (年检/校准):
    the project's 施工单位 and 运维单位, and the city's and the project's district regulators."""
    grant = grant_for(user)
    projects = scoped(user, Project.objects.all())
    if grant.sees_all:
        return projects
    q = party_projects(user, (PartyRole.MAINTAINER, PartyRole.CONTRACTOR))
    if grant.district_ids:
        q |= Q(district__in=grant.district_ids)
    return projects.filter(q)


def require_inspect(user, project: Project) -> None:
    """Forbidden (403) unless `user` may record inspections on `project`."""
    if not inspecting_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有市、区监管部门和该项目的施工单位、运维单位"
                        "可以登记该项目监测设备的年检和校准记录")


def is_project_manager(user, project: Project) -> bool:
    """Whether `user` is the 施工单位's 项目经理 on `project` (the one who reviews the monthly
    O&M statistics)."""
    if user is None or not user.is_authenticated:
        return False
    return Role.objects.filter(user=user, kind=RoleKind.PROJECT, project=project,
                               party_role=PartyRole.CONTRACTOR,
                               post__code=PROJECT_MANAGER_POST).exists()


PROJECT_MANAGER_POST = "project_manager"


def require_review(user, project: Project) -> None:
    """Forbidden (403) unless `user` is the project manager who reviews `project`'s months."""
    if not is_project_manager(user, project):
        raise Forbidden("只有该项目施工单位的项目经理可以审核运维月报")


def project_managers(project: Project):
    """The active users who review `project`'s monthly O&M statistics."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(
        is_active=True, roles__kind=RoleKind.PROJECT, roles__project=project,
        roles__party_role=PartyRole.CONTRACTOR, roles__post__code=PROJECT_MANAGER_POST,
    ).distinct().order_by("pk")
