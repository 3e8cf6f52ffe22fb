"""Who may do what with cameras (reads are decided by `scoped()`; this narrows writes).

* Register, edit, delete: city and district regulators (their district's projects) and the
  project's 施工单位 — its enterprise users and its project-role users — as for any equipment
  installed on a site (`core.permissions.equipment_projects`; design.md §3).
* Operate (PTZ, manual snapshot): those, plus any regulator who can see the camera (a street
  squad officer checking an order looks through the site's cameras).
* Watch (live, playback, snapshots): anyone who can see the camera.
"""

from __future__ import annotations

from django.db.models import QuerySet

from smartsite.core.errors import Forbidden
from smartsite.core.models import Project
from smartsite.core.permissions import equipment_projects
from smartsite.core.scoping import grant_for, scoped


def manageable_projects(user) -> QuerySet[Project]:
    """Projects on which `user` may register or edit cameras: those on which they may
    install site equipment."""
    return equipment_projects(user)


def can_register(user) -> bool:
    return manageable_projects(user).exists()


def may_manage(user, project: Project) -> bool:
    return manageable_projects(user).filter(pk=project.pk).exists()


def require_manage(user, project: Project) -> None:
    """Forbidden (403) unless `user` may register or edit cameras on `project`."""
    if not may_manage(user, project):
        raise Forbidden("只有市、区监管部门和项目的施工单位可以登记或修改该项目的摄像头")


def may_operate(user, camera) -> bool:
    if not scoped(user, camera.__class__.objects.filter(pk=camera.pk)).exists():
        return False
    return grant_for(user).is_regulator or may_manage(user, camera.project)


def require_operate(user, camera) -> None:
    if not may_operate(user, camera):
        raise Forbidden("只有监管部门和项目的施工单位可以操作该摄像头（云台、抓拍）")
