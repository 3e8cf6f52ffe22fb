"""Who may change what on a pit (reads are `scoped()`'s):

* register and edit pits, stages and points: city and district regulators (their district)
  and the project's 施工单位, 监测单位 and 建设单位 (design.md §3);
* upload surveys: the project's 监测单位 (the party that answers for the data's truth,
  《上海市建设工程质量和安全管理条例》第五十二条) — its users and its API tokens;
* judge a pit's colour: the project's 设计单位 (GB 50497-2019 §8.0.1: the designer sets the
  预警值; the seed: design units judged 22 yellow and 4 red).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from smartsite.core.choices import PartyRole
from smartsite.core.errors import Forbidden
from smartsite.core.models import Project
from smartsite.core.permissions import party_projects
from smartsite.core.scoping import grant_for, scoped

EDITING_PARTIES = (PartyRole.CONTRACTOR, PartyRole.MONITOR, PartyRole.OWNER)


def editable_projects(user) -> QuerySet[Project]:
    grant = grant_for(user)
    projects = scoped(user, Project.objects.all())
    if grant.sees_all:
        return projects
    q = party_projects(user, EDITING_PARTIES)
    if grant.district_ids:
        q |= Q(district__in=grant.district_ids)
    return projects.filter(q)


def uploading_projects(user) -> QuerySet[Project]:
    return scoped(user, Project.objects.all()).filter(party_projects(user, (PartyRole.MONITOR,)))


def judging_projects(user) -> QuerySet[Project]:
    return scoped(user, Project.objects.all()).filter(party_projects(user, (PartyRole.DESIGNER,)))


def require_edit(user, project: Project) -> None:
    if not editable_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有市、区监管部门和该项目的建设、施工、监测单位可以登记或修改基坑和测点")


def require_upload(user, project: Project) -> None:
    if not uploading_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有该项目的监测单位可以上传监测数据")


def require_judge(user, project: Project) -> None:
    if not judging_projects(user).filter(pk=project.pk).exists():
        raise Forbidden("只有该项目的设计单位可以研判基坑预警颜色")
