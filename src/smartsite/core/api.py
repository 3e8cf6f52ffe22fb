"""The registry's REST routes (mounted at /api/v1/): regions, agencies, posts, projects,
enterprises, people, qualifications, post assignments, the audit trail and `me`.

Each route is a few lines: read from `scoped()` (absent or out of scope → the same 404),
filter with the page's FilterSet, and write only through `core.services`, which checks
permission (403) and validates the whole object (422).

The pieces every app's `api.py` builds its routes from (`Invalid`, `json_body`, `filtered`,
`Pagination`, …) are in `core.apikit`; the brief schemas other apps embed (`ProjectBrief`,
`RegionBrief`, `EnterpriseBrief`, `PostBrief`) are here, with the registry they describe.
"""

from datetime import date
from decimal import Decimal

from django.db import models
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from smartsite.core import filtersets, permissions, services
from smartsite.core import models as m
from smartsite.core.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    Id,
    In,
    Invalid,
    LocalTime,
    Pagination,
    Text,
    check_resolved,
    filter_params,
    filtered,
    pk_param,
    refuse_nulls,
    visible_or_404,
    writing,
)
from smartsite.core.bounds import MAX_ID
from smartsite.core.choices import (
    AgencyKind,
    PartyRole,
    ProjectKind,
    ProjectStatus,
    QualificationKind,
)
from smartsite.core.errors import Forbidden
from smartsite.core.scoping import grant_for, scoped
from smartsite.core.validators import mask_resident_id, normalise_code

__all__ = [
    "EnterpriseBrief",
    "PostBrief",
    "ProjectBrief",
    "RegionBrief",
    "router",
]

router = Router()

# ================================================================ output schemas


class RegionBrief(Schema):
    id: int
    code: str = Field(description="区划代码")
    name: str = Field(description="名称")


class RegionOut(RegionBrief):
    level: str = Field(description="层级：city / district / street")
    level_display: str = Field(description="层级（中文）")
    parent: RegionBrief | None = Field(None, description="上级")

    @staticmethod
    def resolve_level_display(obj):
        return obj.get_level_display()


class RegionDetailOut(RegionOut):
    children: list[RegionBrief] = Field(description="下级区划")

    @staticmethod
    def resolve_children(obj):
        return list(obj.children.all())


class AgencyOut(Schema):
    id: int
    name: str = Field(description="名称")
    kind: str = Field(description="类型")
    kind_display: str = Field(description="类型（中文）")
    region: RegionBrief = Field(description="辖区")

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()


class PostOut(Schema):
    id: int
    code: str = Field(description="代码")
    name: str = Field(description="岗位名称")
    party_role: str = Field(description="所属参建单位")
    source: str = Field(description="依据")


class EnterpriseBrief(Schema):
    id: int
    uscc: str = Field(description="统一社会信用代码")
    name: str = Field(description="企业名称")


class EnterpriseOut(EnterpriseBrief):
    legal_representative: str = Field(description="法定代表人")
    address: str = Field(description="地址")
    phone: str = Field(description="联系电话")
    created: LocalTime = Field(description="创建时间")
    updated: LocalTime = Field(description="更新时间")


class ProjectBrief(Schema):
    id: int
    permit_no: str = Field(description="报建编号")
    name: str = Field(description="项目名称")


class ProjectOut(ProjectBrief):
    address: str = Field(description="项目地址")
    kind: str = Field(description="工程类型")
    kind_display: str = Field(description="工程类型（中文）")
    status: str = Field(description="状态")
    status_display: str = Field(description="状态（中文）")
    district: RegionBrief = Field(description="所属区")
    street: RegionBrief = Field(description="所属街镇")
    site_area_m2: float | None = Field(None, description="占地面积（m²）")
    contract_value: float | None = Field(None, description="合同价（万元）")
    start_date: date | None = Field(None, description="开工日期")
    finish_date: date | None = Field(None, description="计划竣工日期")
    has_pit: bool = Field(description="含基坑工程")
    longitude: float | None = Field(None, description="电子围栏中心经度（WGS-84）")
    latitude: float | None = Field(None, description="电子围栏中心纬度（WGS-84）")
    created: LocalTime = Field(description="创建时间")
    updated: LocalTime = Field(description="更新时间")

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_status_display(obj):
        return obj.get_status_display()


class PartyOut(Schema):
    role: str = Field(description="参建角色")
    role_display: str = Field(description="参建角色（中文）")
    enterprise: EnterpriseBrief = Field(description="企业")

    @staticmethod
    def resolve_role_display(obj):
        return obj.get_role_display()


_ROLE_ORDER = {role.value: i for i, role in enumerate(PartyRole)}


class ProjectDetailOut(ProjectOut):
    parties: list[PartyOut] = Field(description="参建单位（报建登记）")
    geofence: dict | None = Field(None, description="电子围栏（GeoJSON，WGS-84）")

    @staticmethod
    def resolve_parties(obj):
        parties = obj.parties.select_related("enterprise")
        return sorted(parties, key=lambda p: _ROLE_ORDER.get(p.role, 99))


class PersonBrief(Schema):
    id: int
    name: str = Field(description="姓名")


class PersonOut(PersonBrief):
    resident_id_masked: str = Field(description="身份证号（脱敏，只显示前 6 位和后 4 位）")
    phone: str = Field(description="手机号")
    employer: EnterpriseBrief | None = Field(None, description="所在单位")
    created: LocalTime = Field(description="创建时间")
    updated: LocalTime = Field(description="更新时间")

    @staticmethod
    def resolve_resident_id_masked(obj):
        return obj.masked_id


class QualificationOut(Schema):
    id: int
    person: PersonBrief = Field(description="人员")
    kind: str = Field(description="证书类别")
    kind_display: str = Field(description="证书类别（中文）")
    number: str = Field(description="证书编号")
    issuer: str = Field(description="发证机关")
    issued_on: date | None = Field(None, description="发证日期")
    expires_on: date | None = Field(None, description="有效期至")
    expired: bool = Field(description="已过期")

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()


class PostBrief(Schema):
    id: int
    code: str = Field(description="岗位代码")
    name: str = Field(description="岗位名称")


class AssignmentOut(Schema):
    id: int
    project: ProjectBrief = Field(description="项目")
    person: PersonBrief = Field(description="人员")
    post: PostBrief = Field(description="岗位")
    start_date: date = Field(description="任职开始")
    end_date: date | None = Field(None, description="任职结束")


class PersonDetailOut(PersonOut):
    qualifications: list[QualificationOut] = Field(description="资格证书")
    assignments: list[AssignmentOut] = Field(description="在可见项目上的岗位任职")

    @staticmethod
    def resolve_qualifications(obj):
        return list(obj.qualifications.select_related("person"))

    @staticmethod
    def resolve_assignments(obj):
        return getattr(obj, "visible_assignments", [])


class AuditOut(Schema):
    id: int
    at: LocalTime = Field(description="时间")
    actor_name: str = Field(description="操作人")
    action: str = Field(description="操作")
    action_display: str = Field(description="操作（中文）")
    model: str = Field(description="对象类型，如 core.project")
    object_id: str = Field(description="对象编号")
    object_repr: str = Field(description="对象")
    changes: dict = Field(description="变更：字段 → [原值, 新值]")
    project_id: int | None = Field(None, description="所属项目编号")

    @staticmethod
    def resolve_action_display(obj):
        return obj.get_action_display()

    @staticmethod
    def resolve_changes(obj):
        # Identity numbers never leave the server in full, the audit trail included.
        if obj.model != "core.person" or "resident_id" not in obj.changes:
            return obj.changes
        changes = dict(obj.changes)
        changes["resident_id"] = [mask_resident_id(v) if v else v
                                  for v in changes["resident_id"]]
        return changes


class RoleOut(Schema):
    kind: str = Field(description="角色")
    kind_display: str = Field(description="角色（中文）")
    agency: str | None = Field(None, description="机构")
    enterprise: EnterpriseBrief | None = Field(None, description="企业")
    project: ProjectBrief | None = Field(None, description="项目")
    party_role: str = Field(description="参建角色")
    post: str | None = Field(None, description="岗位")

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_agency(obj):
        return obj.agency.name if obj.agency_id else None

    @staticmethod
    def resolve_post(obj):
        return obj.post.name if obj.post_id else None


class MeOut(Schema):
    username: str = Field(description="用户名")
    full_name: str = Field(description="姓名")
    auth: str = Field(description="本次请求的认证方式：token 或 session")
    roles: list[RoleOut] = Field(description="角色")
    sees_all: bool = Field(description="可见全市数据（市级）")
    is_regulator: bool = Field(description="监管人员（市/区/街镇）")
    can_edit_registry: bool = Field(description="可维护登记数据（市、区监管）")
    districts: list[RegionBrief] = Field(description="可见的区（区级角色）")
    streets: list[RegionBrief] = Field(description="可见的街镇（街镇角色）")
    enterprises: list[EnterpriseBrief] = Field(description="所属企业（企业角色）")
    project_count: int = Field(description="可见项目数")


# ================================================================ input schemas


class ProjectIn(In):
    permit_no: Text = Field(description="报建编号")
    name: Text = Field(description="项目名称")
    address: Text = Field(description="项目地址")
    kind: ProjectKind = Field(description="工程类型")
    district: Id = Field(description="所属区（行政区划编号）")
    street: Id = Field(description="所属街镇（行政区划编号）")
    site_area_m2: Decimal | None = Field(None, description="占地面积（m²）")
    contract_value: Decimal | None = Field(None, description="合同价（万元）")
    start_date: date | None = Field(None, description="开工日期")
    finish_date: date | None = Field(None, description="计划竣工日期")
    status: ProjectStatus = Field(ProjectStatus.ACTIVE, description="状态")
    has_pit: bool = Field(False, description="含基坑工程")
    geofence: dict | None = Field(None, description="电子围栏（GeoJSON Polygon，WGS-84）")
    parties: dict[str, Text | None] | None = Field(
        None, description="参建单位：角色 → 统一社会信用代码，如 {\"contractor\": \"91310…\"}；"
                          "修改时给出的即为全部参建单位，未列出的角色将被移除")


class ProjectPatch(In):
    """Only the fields given change; `null` only where the field may be empty."""

    permit_no: Text = Field(None, description="报建编号")
    name: Text = Field(None, description="项目名称")
    address: Text = Field(None, description="项目地址")
    kind: ProjectKind = Field(None, description="工程类型")
    district: Id = Field(None, description="所属区（行政区划编号）")
    street: Id = Field(None, description="所属街镇（行政区划编号）")
    site_area_m2: Decimal | None = Field(None, description="占地面积（m²）；null 清除")
    contract_value: Decimal | None = Field(None, description="合同价（万元）；null 清除")
    start_date: date | None = Field(None, description="开工日期；null 清除")
    finish_date: date | None = Field(None, description="计划竣工日期；null 清除")
    status: ProjectStatus = Field(None, description="状态")
    has_pit: bool = Field(None, description="含基坑工程")
    geofence: dict | None = Field(None, description="电子围栏（GeoJSON Polygon，WGS-84）；null 清除")
    parties: dict[str, Text | None] = Field(
        None, description="参建单位：角色 → 统一社会信用代码（给出即替换全部；{} 清除全部）")


class EnterpriseIn(In):
    uscc: Text = Field(description="统一社会信用代码")
    name: Text = Field(description="企业名称")
    legal_representative: Text = Field("", description="法定代表人")
    address: Text = Field("", description="地址")
    phone: Text = Field("", description="联系电话")


class EnterprisePatch(In):
    """Only the fields given change; text is cleared with "" (not null)."""

    uscc: Text = Field(None, description="统一社会信用代码")
    name: Text = Field(None, description="企业名称")
    legal_representative: Text = Field(None, description="法定代表人；\"\" 清除")
    address: Text = Field(None, description="地址；\"\" 清除")
    phone: Text = Field(None, description="联系电话；\"\" 清除")


class PersonIn(In):
    resident_id: Text = Field(description="身份证号（完整 18 位；登记后只以脱敏形式返回）")
    name: Text = Field(description="姓名")
    phone: Text = Field("", description="手机号")
    employer_uscc: Text | None = Field(None, description="所在单位的统一社会信用代码")


class PersonPatch(In):
    """Only the fields given change; `null` only where the field may be empty."""

    resident_id: Text = Field(None, description="不可修改")
    name: Text = Field(None, description="姓名")
    phone: Text = Field(None, description="手机号；\"\" 清除")
    employer_uscc: Text | None = Field(None, description="所在单位的统一社会信用代码；null 清除")


class QualificationIn(In):
    person: Id = Field(description="人员编号")
    kind: QualificationKind = Field(description="证书类别")
    number: Text = Field(description="证书编号")
    issuer: Text = Field(description="发证机关")
    issued_on: date | None = Field(None, description="发证日期")
    expires_on: date | None = Field(None, description="有效期至")


class AssignmentIn(In):
    project: Id = Field(description="项目编号")
    person: Id | None = Field(None, description="人员编号（与 person_resident_id 二选一）")
    person_resident_id: Text | None = Field(
        None, description="人员身份证号（完整；与 person 二选一，同登记页面）")
    post: Id = Field(description="岗位编号（见 /api/v1/posts）")
    start_date: date = Field(description="任职开始")
    end_date: date | None = Field(None, description="任职结束")


# ================================================================ helpers for the routes


def _actor(request):
    return request.auth


RegionParams = filter_params(filtersets.RegionFilterSet)
ProjectParams = filter_params(filtersets.ProjectFilterSet)
EnterpriseParams = filter_params(filtersets.EnterpriseFilterSet)
PersonParams = filter_params(filtersets.PersonFilterSet)
QualificationParams = filter_params(filtersets.QualificationFilterSet)
AssignmentParams = filter_params(filtersets.PostAssignmentFilterSet)
AuditParams = filter_params(filtersets.AuditFilterSet)


def _region(errors, field, pk, level, label):
    if pk is None:
        errors.setdefault(field, []).append("不能为空")
        return None
    region = m.Region.objects.filter(pk=pk, level=level).first()
    if region is None:
        errors.setdefault(field, []).append(f"未找到编号为 {pk} 的{label}")
    return region


def _enterprise_by_uscc(errors, field, code):
    code = normalise_code(code)
    enterprise = m.Enterprise.objects.filter(uscc=code).first()
    if enterprise is None:
        errors.setdefault(field, []).append(
            f"未找到统一社会信用代码为 {code} 的企业，请先登记企业")
    return enterprise


def _parties(errors, given: dict | None, has_pit: bool) -> dict | None:
    """{role: uscc} → {role: Enterprise}; every unknown role or code is named."""
    if given is None:
        return None
    parties = {}
    roles = [r.value for r in PartyRole]
    for role, code in given.items():
        field = f"parties.{role}"
        if role not in roles:
            errors.setdefault(field, []).append(
                f"未知的参建角色“{role}”，应为 {'、'.join(roles)} 之一")
        elif code:
            enterprise = _enterprise_by_uscc(errors, field, code)
            if enterprise is not None:
                parties[role] = enterprise
    if parties.get(PartyRole.MONITOR) and not has_pit:
        errors.setdefault(f"parties.{PartyRole.MONITOR.value}", []).append(
            "未登记“含基坑工程”的项目不能设置监测单位")
    return parties


PROJECT_LABELS = {"district": "所属区", "street": "所属街镇", "parties": "参建单位",
                  **{f"parties.{r.value}": r.label for r in PartyRole}}
PROJECT_RENAMES = {"role": "parties", "enterprise": "parties"}  # errors of ProjectParty


def _save_project(request, project: m.Project, data: dict) -> m.Project:
    errors: dict[str, list[str]] = {}
    given_parties = data.pop("parties", None)
    for field in ("district", "street"):
        if field in data:
            level = "district" if field == "district" else "street"
            region = _region(errors, field, data.pop(field), level, PROJECT_LABELS[field])
            setattr(project, f"{field}_id", region.pk if region else None)
    for field, value in refuse_nulls(m.Project, data, errors).items():
        setattr(project, field, value)
    if project.district_id:
        permissions.require_edit(_actor(request), project)  # 403 before any 422
    parties = _parties(errors, given_parties, bool(project.has_pit))
    check_resolved(project, errors, **PROJECT_LABELS)
    with writing(m.Project, renames=PROJECT_RENAMES, **PROJECT_LABELS):
        services.save_project(project, actor=_actor(request), parties=parties)
    return project


PERSON_LABELS = {"employer_uscc": "所在单位（统一社会信用代码）"}
PERSON_RENAMES = {"employer": "employer_uscc"}


def _save_person(request, person: m.Person, data: dict) -> m.Person:
    errors: dict[str, list[str]] = {}
    if "employer_uscc" in data:
        code = data.pop("employer_uscc")
        person.employer = _enterprise_by_uscc(errors, "employer_uscc", code) if code else None
    for field, value in refuse_nulls(m.Person, data, errors).items():
        setattr(person, field, value)
    permissions.require_edit(_actor(request), person)
    check_resolved(person, errors, renames=PERSON_RENAMES, **PERSON_LABELS)
    with writing(m.Person, renames=PERSON_RENAMES, **PERSON_LABELS):
        services.save(person, actor=_actor(request))
    return person


def _save(request, instance: models.Model, data: dict | None = None) -> models.Model:
    permissions.require_edit(_actor(request), instance)
    errors: dict[str, list[str]] = {}
    data = refuse_nulls(type(instance), data or {}, errors)
    check_resolved(instance, errors)
    with writing(type(instance)):
        services.save(instance, actor=_actor(request), data=data)
    return instance


def _delete(request, instance: models.Model):
    with writing(type(instance)):
        services.delete(instance, actor=_actor(request))
    return Status(204, None)


# ================================================================ regions, agencies, posts


@router.get("/regions", response={200: list[RegionOut], **READ_ERRORS}, tags=["regions"],
            summary="行政区划（市/区/街镇）")
@paginate(Pagination)
def list_regions(request, filters: Query[RegionParams]):
    qs = scoped(_actor(request), m.Region.objects.select_related("parent"))
    return filtered(request, filtersets.RegionFilterSet, qs)


@router.get("/regions/{pk}", response={200: RegionDetailOut, **READ_ERRORS}, tags=["regions"],
            summary="行政区划详情")
def get_region(request, pk: int = pk_param()):
    return visible_or_404(request, m.Region.objects.select_related("parent"), pk)


@router.get("/agencies", response={200: list[AgencyOut], **READ_ERRORS}, tags=["agencies"],
            summary="监管机构（市住建委、区建管委、区监督站、街镇城管执法中队）")
@paginate(Pagination)
def list_agencies(request, kind: AgencyKind | None = None,
                  region: int | None = Query(None, ge=1, le=MAX_ID, description="辖区编号")):
    qs = scoped(_actor(request), m.Agency.objects.select_related("region"))
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region=region)
    return qs.order_by("region__code", "kind", "pk")


@router.get("/agencies/{pk}", response={200: AgencyOut, **READ_ERRORS}, tags=["agencies"],
            summary="监管机构详情")
def get_agency(request, pk: int = pk_param()):
    return visible_or_404(request, m.Agency.objects.select_related("region"), pk)


@router.get("/posts", response={200: list[PostOut], **READ_ERRORS}, tags=["posts"],
            summary="岗位（项目经理、总监理工程师 …）")
@paginate(Pagination)
def list_posts(request):
    return scoped(_actor(request), m.Post.objects.all()).order_by("party_role", "pk")


# ================================================================ projects


@router.get("/projects", response={200: list[ProjectOut], **READ_ERRORS}, tags=["projects"],
            summary="项目")
@paginate(Pagination)
def list_projects(request, filters: Query[ProjectParams]):
    qs = scoped(_actor(request), m.Project.objects.select_related("district", "street"))
    return filtered(request, filtersets.ProjectFilterSet, qs)


@router.get("/projects/{pk}", response={200: ProjectDetailOut, **READ_ERRORS},
            tags=["projects"], summary="项目详情（含参建单位和电子围栏）")
def get_project(request, pk: int = pk_param()):
    return visible_or_404(request, m.Project.objects.select_related("district", "street"), pk)


@router.post("/projects", response={201: ProjectDetailOut, **WRITE_ERRORS}, tags=["projects"],
             summary="登记项目")
def create_project(request, payload: ProjectIn):
    project = _save_project(request, m.Project(), payload.model_dump())
    return Status(201, project)


@router.patch("/projects/{pk}", response={200: ProjectDetailOut, **WRITE_ERRORS},
              tags=["projects"], summary="修改项目（只改给出的字段）")
def update_project(request, payload: ProjectPatch, pk: int = pk_param()):
    project = visible_or_404(request, m.Project.objects.all(), pk)
    permissions.require_edit(_actor(request), project)
    return _save_project(request, project, payload.model_dump(exclude_unset=True))


@router.delete("/projects/{pk}", response={204: None, **WRITE_ERRORS}, tags=["projects"],
               summary="删除项目")
def delete_project(request, pk: int = pk_param()):
    return _delete(request, visible_or_404(request, m.Project.objects.all(), pk))


# ================================================================ enterprises


@router.get("/enterprises", response={200: list[EnterpriseOut], **READ_ERRORS},
            tags=["enterprises"], summary="企业")
@paginate(Pagination)
def list_enterprises(request, filters: Query[EnterpriseParams]):
    qs = scoped(_actor(request), m.Enterprise.objects.all())
    return filtered(request, filtersets.EnterpriseFilterSet, qs)


@router.get("/enterprises/{pk}", response={200: EnterpriseOut, **READ_ERRORS},
            tags=["enterprises"], summary="企业详情")
def get_enterprise(request, pk: int = pk_param()):
    return visible_or_404(request, m.Enterprise.objects.all(), pk)


@router.post("/enterprises", response={201: EnterpriseOut, **WRITE_ERRORS},
             tags=["enterprises"], summary="登记企业")
def create_enterprise(request, payload: EnterpriseIn):
    return Status(201, _save(request, m.Enterprise(**payload.model_dump())))


@router.patch("/enterprises/{pk}", response={200: EnterpriseOut, **WRITE_ERRORS},
              tags=["enterprises"], summary="修改企业")
def update_enterprise(request, payload: EnterprisePatch, pk: int = pk_param()):
    enterprise = visible_or_404(request, m.Enterprise.objects.all(), pk)
    return _save(request, enterprise, payload.model_dump(exclude_unset=True))


@router.delete("/enterprises/{pk}", response={204: None, **WRITE_ERRORS},
               tags=["enterprises"], summary="删除企业")
def delete_enterprise(request, pk: int = pk_param()):
    return _delete(request, visible_or_404(request, m.Enterprise.objects.all(), pk))


# ================================================================ people


@router.get("/people", response={200: list[PersonOut], **READ_ERRORS}, tags=["people"],
            summary="人员（身份证号脱敏）")
@paginate(Pagination)
def list_people(request, filters: Query[PersonParams]):
    qs = scoped(_actor(request), m.Person.objects.select_related("employer"))
    return filtered(request, filtersets.PersonFilterSet, qs)


@router.get("/people/{pk}", response={200: PersonDetailOut, **READ_ERRORS}, tags=["people"],
            summary="人员详情（含证书和可见项目上的任职）")
def get_person(request, pk: int = pk_param()):
    person = visible_or_404(request, m.Person.objects.select_related("employer"), pk)
    projects = scoped(_actor(request), m.Project.objects.all())
    person.visible_assignments = list(
        person.assignments.filter(project__in=projects.values("pk"))
        .select_related("project", "person", "post"))
    return person


@router.post("/people", response={201: PersonOut, **WRITE_ERRORS}, tags=["people"],
             summary="登记人员（提交完整身份证号）")
def create_person(request, payload: PersonIn):
    return Status(201, _save_person(request, m.Person(), payload.model_dump()))


@router.patch("/people/{pk}", response={200: PersonOut, **WRITE_ERRORS}, tags=["people"],
              summary="修改人员（身份证号不可修改）")
def update_person(request, payload: PersonPatch, pk: int = pk_param()):
    person = visible_or_404(request, m.Person.objects.select_related("employer"), pk)
    data = payload.model_dump(exclude_unset=True)
    if "resident_id" in data:
        raise Invalid({"resident_id": ["身份证号登记后不能修改；如登记有误，请删除后重新登记"]},
                      labels={"resident_id": "身份证号"})
    return _save_person(request, person, data)


@router.delete("/people/{pk}", response={204: None, **WRITE_ERRORS}, tags=["people"],
               summary="删除人员")
def delete_person(request, pk: int = pk_param()):
    return _delete(request, visible_or_404(request, m.Person.objects.all(), pk))


# ================================================================ qualifications


@router.get("/qualifications", response={200: list[QualificationOut], **READ_ERRORS},
            tags=["qualifications"], summary="资格证书")
@paginate(Pagination)
def list_qualifications(request, filters: Query[QualificationParams],
                        person: int | None = Query(None, ge=1, le=MAX_ID, description="人员编号")):
    qs = scoped(_actor(request), m.Qualification.objects.select_related("person"))
    if person:
        qs = qs.filter(person=person)
    return filtered(request, filtersets.QualificationFilterSet, qs)


@router.get("/qualifications/{pk}", response={200: QualificationOut, **READ_ERRORS},
            tags=["qualifications"], summary="资格证书详情")
def get_qualification(request, pk: int = pk_param()):
    return visible_or_404(request, m.Qualification.objects.select_related("person"), pk)


@router.post("/qualifications", response={201: QualificationOut, **WRITE_ERRORS},
             tags=["qualifications"], summary="登记资格证书")
def create_qualification(request, payload: QualificationIn):
    data = payload.model_dump()
    person = scoped(_actor(request), m.Person.objects.all()).filter(pk=data.pop("person")).first()
    qualification = m.Qualification(person=person, **data)
    permissions.require_edit(_actor(request), qualification)
    if person is None:
        check_resolved(qualification, {"person": [f"未找到编号为 {payload.person} 的人员"]})
    return Status(201, _save(request, qualification))


@router.delete("/qualifications/{pk}", response={204: None, **WRITE_ERRORS},
               tags=["qualifications"], summary="删除资格证书")
def delete_qualification(request, pk: int = pk_param()):
    return _delete(request, visible_or_404(request, m.Qualification.objects.all(), pk))


# ================================================================ post assignments


def _assignments():
    return m.PostAssignment.objects.select_related("project", "person", "post")


@router.get("/assignments", response={200: list[AssignmentOut], **READ_ERRORS},
            tags=["assignments"], summary="岗位任职（project=报建编号，post=岗位编号）")
@paginate(Pagination)
def list_assignments(request, filters: Query[AssignmentParams]):
    qs = scoped(_actor(request), _assignments())
    return filtered(request, filtersets.PostAssignmentFilterSet, qs)


@router.get("/assignments/{pk}", response={200: AssignmentOut, **READ_ERRORS},
            tags=["assignments"], summary="岗位任职详情")
def get_assignment(request, pk: int = pk_param()):
    return visible_or_404(request, _assignments(), pk)


@router.post("/assignments", response={201: AssignmentOut, **WRITE_ERRORS},
             tags=["assignments"], summary="登记岗位任职")
def create_assignment(request, payload: AssignmentIn):
    actor, errors = _actor(request), {}
    project = scoped(actor, m.Project.objects.all()).filter(pk=payload.project).first()
    if project is None:
        errors["project"] = [f"未找到编号为 {payload.project} 的项目"]
    person = None
    if (payload.person is None) == (payload.person_resident_id is None):
        errors["person"] = ["请填写 person（人员编号）或 person_resident_id（身份证号）其中之一"]
    elif payload.person is not None:
        person = scoped(actor, m.Person.objects.all()).filter(pk=payload.person).first()
        if person is None:
            errors["person"] = [f"未找到编号为 {payload.person} 的人员"]
    else:
        # As on the page: whoever knows the full number may appoint the person.
        person = m.Person.objects.filter(resident_id=normalise_code(payload.person_resident_id)).first()
        if person is None:
            errors["person_resident_id"] = ["未找到该身份证号的人员，请先登记人员"]
    post = m.Post.objects.filter(pk=payload.post).first()
    if post is None:
        errors["post"] = [f"未找到编号为 {payload.post} 的岗位"]
    assignment = m.PostAssignment(project=project, person=person, post=post,
                                  start_date=payload.start_date, end_date=payload.end_date)
    if project is not None:
        permissions.require_edit(actor, assignment)
    check_resolved(assignment, errors, person_resident_id="人员身份证号")
    return Status(201, _save(request, assignment))


@router.delete("/assignments/{pk}", response={204: None, **WRITE_ERRORS},
               tags=["assignments"], summary="删除岗位任职")
def delete_assignment(request, pk: int = pk_param()):
    return _delete(request, visible_or_404(request, m.PostAssignment.objects.all(), pk))


# ================================================================ audit, me


@router.get("/audit", response={200: list[AuditOut], 403: ErrorOut, **READ_ERRORS},
            tags=["audit"], summary="审计日志（市、区监管人员）")
@paginate(Pagination)
def list_audit(request, filters: Query[AuditParams]):
    grant = grant_for(_actor(request))
    if not (grant.sees_all or grant.district_ids):
        raise Forbidden("只有市、区监管人员可以查看审计日志")
    qs = scoped(_actor(request), m.AuditEntry.objects.all())
    return filtered(request, filtersets.AuditFilterSet, qs)


@router.get("/me", response={200: MeOut, 400: ErrorOut, 401: ErrorOut}, tags=["me"],
            summary="当前用户、角色和可见范围")
def me(request):
    user = _actor(request)
    grant = grant_for(user)
    regions = m.Region.objects.order_by("code")
    return {
        "username": user.get_username(),
        "full_name": user.get_full_name(),
        "auth": "token" if getattr(request, "api_token", None) else "session",
        "roles": list(user.roles.select_related("agency", "enterprise", "project", "post")),
        "sees_all": grant.sees_all,
        "is_regulator": grant.is_regulator,
        "can_edit_registry": permissions.can_edit_registry(user),
        "districts": list(regions.filter(pk__in=grant.district_ids)),
        "streets": list(regions.filter(pk__in=grant.street_ids)),
        "enterprises": list(m.Enterprise.objects.filter(pk__in=grant.enterprise_ids)),
        "project_count": grant.projects().count() if not grant.is_empty else 0,
    }
