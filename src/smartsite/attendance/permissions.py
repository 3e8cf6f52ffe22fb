"""Who may change what in attendance (reads are `scoped()`'s):

* request leave or a stand-in for a key post: the project's party that fills the post
  (施工单位 for its posts, 监理单位 for the supervisor's) — its enterprise users and project
  users;
* approve or reject them: the project's 建设单位 (issue 15: "leave and stand-in requests
  approved by the 建设单位");
* file a stoppage (停工报备): the project's 建设单位 or 施工单位; approve it: the district's
  regulators (and the city);
* decide a spoofing review case: the district's regulators (the 监督站 enrols the faces and
  answers for the check-ins' truth, seed 场景二 (三)) and the city.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smartsite.core.choices import PartyRole
from smartsite.core.errors import Forbidden
from smartsite.core.models import Project
from smartsite.core.permissions import party_projects
from smartsite.core.scoping import grant_for, scoped


def _projects(user, roles) -> QuerySet[Project]:
    return scoped(user, Project.objects.all()).filter(party_projects(user, roles))


def regulated_projects(user) -> QuerySet[Project]:
    grant = grant_for(user)
    projects = scoped(user, Project.objects.all())
    if grant.sees_all:
        return projects
    return projects.filter(district__in=grant.district_ids) if grant.district_ids \
        else projects.none()


def require_request(user, project: Project, party_role: str) -> None:
    if not _projects(user, (party_role,)).filter(pk=project.pk).exists():
        raise Forbidden(f"只有该项目的{PartyRole(party_role).label}可以为本单位的关键岗位"
                        "申请请假或顶岗")


def require_owner(user, project: Project) -> None:
    if not _projects(user, (PartyRole.OWNER,)).filter(pk=project.pk).exists():
        raise Forbidden("请假和顶岗由该项目的建设单位审批")


def require_file_stoppage(user, project: Project) -> None:
    roles = (PartyRole.OWNER, PartyRole.CONTRACTOR)
    if not _projects(user, roles).filter(pk=project.pk).exists():
        raise Forbidden("只有该项目的建设单位或施工单位可以报备停工")


def require_regulator(user, project: Project) -> None:
    if not regulated_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有项目所在区的监管部门可以审批停工或复核考勤")


def owner_q(user) -> Q:
    """Projects whose requests `user` may decide (a filter on Project)."""
    return party_projects(user, (PartyRole.OWNER,))


def require_sanction_decider(user, project: Project) -> None:
    """Confirm or withdraw a proposed sanction: the project's district regulators (or the
    city) — the platform proposes, a regulator decides."""
    if not regulated_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("处理与后果由项目所在区的监管部门确认或撤销")
