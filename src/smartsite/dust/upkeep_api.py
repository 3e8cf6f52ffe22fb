"""Upkeep REST routes (mounted at /api/v1/ with the monitor routes): inspections with their
certificates, linked spray/fog cannons, maintenance records, and the monthly O&M reviews.

Reads start from `scoped()` (absent or out of scope → the same 404); writes go through
`dust.services` (403 for a visible object the user may not change; field-level 422 for bad
input; nothing changed either way).
"""


import datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError

from smartsite.core.api import ProjectBrief
from smartsite.core.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Id,
    In,
    Invalid,
    LocalTime,
    Pagination,
    Text,
    invalid_from_ninja,
    json_body,
    pk_param,
    writing,
)
from smartsite.core.errors import DomainError
from smartsite.core.scoping import scoped
from smartsite.dust import permissions, selectors, services
from smartsite.dust import upkeep_selectors as upkeep
from smartsite.dust.choices import InspectionKind, MaintenanceKind, ReviewState, SprayKind
from smartsite.dust.models import Inspection, MaintenanceRecord, SprayDevice

__all__ = ["router"]

router = Router()


def _actor(request):
    return request.auth


# ================================================================ schemas


class MonitorRef(Schema):
    id: int
    mn: str = Field(description="设备编码（MN）")


class InspectionOut(Schema):
    id: int
    monitor: MonitorRef = Field(description="设备")
    kind: str = Field(description="类型：annual 年检 / calibration 校准 / comparison 比对")
    kind_display: str = Field(description="类型（中文）")
    inspected_on: datetime.date = Field(description="检定/校准日期")
    expires_on: datetime.date = Field(description="有效期至")
    body: str = Field(description="检测机构")
    certificate_no: str = Field(description="证书编号")
    passed: bool = Field(description="结论合格")
    certificate_url: str | None = Field(None, description="证书文件")
    recorded_at: LocalTime = Field(description="登记时间")

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_certificate_url(obj):
        return obj.certificate_link or None


class InspectionsOut(Schema):
    status: str = Field(description="年检状态：valid 有效 / expiring 即将到期 / expired 已过期 / none 无记录")
    status_display: str = Field(description="年检状态（中文）")
    expires_on: datetime.date | None = Field(None, description="年检有效期至")
    items: list[InspectionOut] = Field(description="年检与校准记录，新的在前")


class InspectionIn(In):
    kind: InspectionKind = Field(InspectionKind.ANNUAL, description="类型")
    inspected_on: datetime.date = Field(description="检定/校准日期（不能晚于今天）")
    expires_on: datetime.date = Field(description="有效期至（须晚于检定日期）")
    body: Text = Field(max_length=100, description="检测机构")
    certificate_no: Text = Field(min_length=1, max_length=60, description="证书编号（不能重复）")
    passed: bool = Field(True, description="结论合格")


class SprayOut(Schema):
    id: int
    monitor: MonitorRef = Field(description="联动监测设备")
    kind: str = Field(description="类型：fog_cannon 雾炮 / spray 喷淋")
    kind_display: str = Field(description="类型（中文）")
    name: str = Field(description="名称")
    sb_code: str = Field(description="设施编码（HJ 212 报文中的 SBn）")
    running: bool = Field(description="运行中（最近上报的状态）")
    state_at: LocalTime | None = Field(None, description="状态时间（从未上报为 null）")
    active: bool = Field(description="启用")

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()


class SprayIn(In):
    name: Text = Field(description="名称（最多 60 字）")
    kind: SprayKind = Field(SprayKind.FOG_CANNON, description="类型")
    sb_code: Text = Field("SB1", description="设施编码：SB 加 1–3 位数字，同一监测设备内不能重复")
    active: bool = Field(True, description="启用")


class SprayPatch(In):
    """Only the fields given change."""

    name: Text = Field(None, description="名称")
    kind: SprayKind = Field(None, description="类型")
    sb_code: Text = Field(None, description="设施编码")
    active: bool = Field(None, description="启用；false 停止联动")


class MaintenanceOut(Schema):
    id: int
    monitor: MonitorRef = Field(description="设备")
    project: ProjectBrief = Field(description="项目")
    kind: str = Field(description="类型：visit 巡检 / fault 故障 / repair 维修 / replacement 更换 / "
                                  "calibration 校准")
    kind_display: str = Field(description="类型（中文）")
    started_at: LocalTime = Field(description="开始时间")
    ended_at: LocalTime | None = Field(None, description="结束时间（故障未修复为 null）")
    description: str = Field(description="内容")
    technician: str = Field(description="运维人员")
    enterprise: str | None = Field(None, description="运维单位")
    recorded_at: LocalTime = Field(description="登记时间")

    @staticmethod
    def resolve_project(obj):
        return obj.monitor.project

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_enterprise(obj):
        return obj.enterprise.name if obj.enterprise_id else None


class MaintenanceIn(In):
    kind: MaintenanceKind = Field(description="类型")
    started_at: datetime.datetime = Field(description="开始时间（ISO 8601；不带时区按上海时间）")
    ended_at: datetime.datetime | None = Field(None, description="结束时间（故障未修复时不填）")
    description: Text = Field(min_length=1, max_length=2000, description="内容")
    technician: Text = Field("", max_length=40, description="运维人员")


class MaintenanceEndIn(In):
    ended_at: datetime.datetime | None = Field(
        None, description="结束时间（ISO 8601；不带时区按上海时间）；不填为现在")


class MaintenanceParams(Schema):
    project: Id | None = Field(None, description="项目编号")
    monitor: Id | None = Field(None, description="设备编号")
    kind: MaintenanceKind | None = Field(None, description="类型")


class ReviewOut(Schema):
    id: int
    project: ProjectBrief = Field(description="项目")
    month: str = Field(description="月份（YYYY-MM）")
    state: str = Field(description="状态：pending 待审核 / approved 已审核 / rejected 已驳回")
    state_display: str = Field(description="状态（中文）")
    generated_at: LocalTime = Field(description="统计时间")
    reviewed_at: LocalTime | None = Field(None, description="审核时间")
    reviewer: str | None = Field(None, description="审核人")
    comment: str = Field(description="审核意见")
    stats: dict = Field(description="统计：total（合计）与 monitors（各设备）；uptime 在线率、"
                                    "completeness 数据完整率（0–1），faults 故障次数，mttr_hours "
                                    "平均修复时长（小时），visits 巡检次数")

    @staticmethod
    def resolve_month(obj):
        return f"{obj.month:%Y-%m}"

    @staticmethod
    def resolve_state_display(obj):
        return obj.get_state_display()

    @staticmethod
    def resolve_reviewer(obj):
        return (obj.reviewer.get_full_name() or obj.reviewer.username) if obj.reviewer else None


class ReviewParams(Schema):
    project: Id | None = Field(None, description="项目编号")
    state: ReviewState | None = Field(None, description="状态")
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="月份（YYYY-MM）")


class ReviewIn(In):
    action: str = Field(pattern="^(approve|reject)$", description="approve 审核通过 / reject 驳回")
    comment: Text = Field("", max_length=500, description="审核意见（驳回时必填）")


# ================================================================ helpers


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, selectors.SHANGHAI)
    return moment


def _form_or_json(request, schema: type[Schema], file_field: str):
    """(validated fields, the one uploaded file or None) from multipart or a JSON body."""
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        data: dict = {key: request.POST.get(key) for key in request.POST}
        stray = sorted(set(request.FILES) - {file_field})
        if stray:
            raise Invalid({key: [f"不是可接受的文件字段，文件请放在 {file_field} 中"]
                           for key in stray}, title="请求数据有误")
        upload = request.FILES.get(file_field)
    else:
        data = json_body(request)
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise Invalid({"__all__": ["请求体应为 JSON 对象"]}, title="请求数据有误")
        upload = None
    try:
        return schema.model_validate(data), upload
    except PydanticValidationError as exc:
        raise invalid_from_ninja(exc.errors(include_url=False)) from None


def _inspections_out(monitor):
    state = upkeep.inspection_states([monitor.pk], timezone.localdate())[monitor.pk]
    return {"status": state.status, "status_display": state.label,
            "expires_on": state.expires_on, "items": list(upkeep.inspections(monitor))}


def _field_error(exc: DomainError) -> Invalid | DomainError:
    """A service's refusal about one input field is a field-level 422 like the rest."""
    if exc.field:
        return Invalid({exc.field: [exc.message]}, title="数据校验未通过")
    return exc


# ================================================================ inspections


@router.get("/monitors/{pk}/inspections", response={200: InspectionsOut, **READ_ERRORS},
            tags=["upkeep"], summary="监测设备的年检与校准记录（含年检状态）")
def list_inspections(request, pk: int = pk_param()):
    return _inspections_out(selectors.monitor_or_404(_actor(request), pk))


def _inspection_body() -> dict:
    """The request body the route parses itself (`_form_or_json`), for the OpenAPI document."""
    fields = InspectionIn.model_json_schema()
    defs = fields.pop("$defs", {})

    def inline(node):  # the document has no "#/$defs": put each definition in its place
        if isinstance(node, dict):
            if "$ref" in node:
                return inline({**defs[node["$ref"].rsplit("/", 1)[-1]],
                               **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: inline(v) for k, v in node.items()}
        return [inline(v) for v in node] if isinstance(node, list) else node

    fields = inline(fields)
    multipart = {**fields, "properties": {**fields["properties"], "certificate": {
        "type": "string", "format": "binary", "description": "证书文件：PDF、JPEG 或 PNG"}}}
    multipart.pop("title", None)
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": multipart},
        "application/json": {"schema": fields}}}}


@router.post("/monitors/{pk}/inspections", response={201: InspectionOut, **WRITE_ERRORS},
             tags=["upkeep"], summary="登记年检/校准（施工单位、运维单位、市区监管部门）",
             description="multipart/form-data（证书文件放在 certificate：PDF、JPEG 或 PNG，"
                         "按内容判断，不超过 10 MB）或 JSON（无附件）。日期不能晚于今天，有效期须晚于"
                         "检定日期，证书编号不能重复。",
             openapi_extra=_inspection_body())
def create_inspection(request, pk: int = pk_param()):
    monitor = selectors.monitor_or_404(_actor(request), pk)
    data, upload = _form_or_json(request, InspectionIn, "certificate")
    try:
        with writing(Inspection):
            inspection = services.record_inspection(
                monitor, actor=_actor(request), kind=data.kind, inspected_on=data.inspected_on,
                expires_on=data.expires_on, body=data.body, certificate_no=data.certificate_no,
                passed=data.passed, certificate=upload)
    except DomainError as exc:
        raise _field_error(exc) from None
    return Status(201, inspection)


# ================================================================ spray / fog cannons


def _sprays(request):
    return scoped(_actor(request), SprayDevice.objects.select_related("monitor__project"))


@router.get("/monitors/{pk}/spray-devices", response={200: list[SprayOut], **READ_ERRORS},
            tags=["upkeep"], summary="监测设备联动的喷淋/雾炮（含最近上报的运行状态）")
def list_sprays(request, pk: int = pk_param()):
    return list(upkeep.sprays(selectors.monitor_or_404(_actor(request), pk))
                .select_related("monitor"))


@router.get("/spray-devices/{pk}", response={200: SprayOut, **READ_ERRORS}, tags=["upkeep"],
            summary="喷淋/雾炮详情")
def get_spray(request, pk: int = pk_param()):
    return get_object_or_404(_sprays(request), pk=pk)


@router.post("/monitors/{pk}/spray-devices", response={201: SprayOut, **WRITE_ERRORS},
             tags=["upkeep"], summary="登记联动喷淋/雾炮（市、区监管部门和项目的施工单位）")
def create_spray(request, payload: SprayIn, pk: int = pk_param()):
    monitor = selectors.monitor_or_404(_actor(request), pk)
    with writing(SprayDevice):
        device = services.add_spray_device(monitor, actor=_actor(request), **payload.model_dump())
    return Status(201, device)


@router.patch("/spray-devices/{pk}", response={200: SprayOut, **WRITE_ERRORS}, tags=["upkeep"],
              summary="修改喷淋/雾炮（只改给出的字段；active=false 停止联动）")
def update_spray(request, payload: SprayPatch, pk: int = pk_param()):
    device = get_object_or_404(_sprays(request), pk=pk)
    permissions.require_manage(_actor(request), device.monitor.project)  # 403 before any 422
    with writing(SprayDevice):
        return services.update_spray_device(device, actor=_actor(request),
                                            **payload.model_dump(exclude_unset=True))


# ================================================================ maintenance records


@router.get("/maintenance-records", response={200: list[MaintenanceOut], **READ_ERRORS},
            tags=["upkeep"], summary="运维记录（巡检、故障、维修、更换、校准）")
@paginate(Pagination)
def list_maintenance(request, filters: Query[MaintenanceParams]):
    qs = upkeep.maintenance(_actor(request))
    if filters.project:
        qs = qs.filter(monitor__project=filters.project)
    if filters.monitor:
        qs = qs.filter(monitor=filters.monitor)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return qs.order_by("-started_at", "-pk")


@router.post("/monitors/{pk}/maintenance-records",
             response={201: MaintenanceOut, **WRITE_ERRORS}, tags=["upkeep"],
             summary="登记运维记录（该项目的运维单位或施工单位）")
def create_maintenance(request, payload: MaintenanceIn, pk: int = pk_param()):
    monitor = selectors.monitor_or_404(_actor(request), pk)
    with writing(MaintenanceRecord):
        record = services.record_maintenance(
            monitor, actor=_actor(request), kind=payload.kind,
            started_at=_aware(payload.started_at), ended_at=_aware(payload.ended_at),
            description=payload.description, technician=payload.technician)
    return Status(201, upkeep.maintenance(_actor(request)).get(pk=record.pk))


@router.get("/maintenance-records/{pk}", response={200: MaintenanceOut, **READ_ERRORS},
            tags=["upkeep"], summary="运维记录详情")
def get_maintenance(request, pk: int = pk_param()):
    return get_object_or_404(upkeep.maintenance(_actor(request)), pk=pk)


@router.post("/maintenance-records/{pk}/end", response={200: MaintenanceOut, **WRITE_ERRORS},
             tags=["upkeep"], summary="结束未结束的运维记录（故障已修复、巡检结束）")
def end_maintenance(request, payload: MaintenanceEndIn, pk: int = pk_param()):
    record = get_object_or_404(upkeep.maintenance(_actor(request)), pk=pk)
    try:
        with writing(MaintenanceRecord):
            services.end_maintenance(record, actor=_actor(request),
                                     ended_at=_aware(payload.ended_at) or timezone.now())
    except DomainError as exc:
        raise _field_error(exc) from None
    return get_object_or_404(upkeep.maintenance(_actor(request)), pk=pk)


# ================================================================ monthly reviews


@router.get("/monthly-reviews", response={200: list[ReviewOut], **READ_ERRORS},
            tags=["upkeep"], summary="运维月报")
@paginate(Pagination)
def list_reviews(request, filters: Query[ReviewParams]):
    qs = upkeep.reviews(_actor(request))
    if filters.project:
        qs = qs.filter(project=filters.project)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.month:
        year, month = map(int, filters.month.split("-"))
        if not 1 <= month <= 12:
            raise Invalid({"month": ["月份应为 01–12"]}, title="筛选条件有误")
        if year < 1:
            raise Invalid({"month": ["年份应为 0001–9999"]}, title="筛选条件有误")
        qs = qs.filter(month=datetime.date(year, month, 1))
    return qs.order_by("-month", "project", "pk")


@router.get("/monthly-reviews/{pk}", response={200: ReviewOut, **READ_ERRORS}, tags=["upkeep"],
            summary="运维月报详情（含统计）")
def get_review(request, pk: int = pk_param()):
    return upkeep.review_or_404(_actor(request), pk)


@router.post("/monthly-reviews/{pk}/review", response={200: ReviewOut, **WRITE_ERRORS},
             tags=["upkeep"], summary="审核或驳回运维月报（施工单位项目经理；驳回须填写意见）")
def review(request, payload: ReviewIn, pk: int = pk_param()):
    current = upkeep.review_or_404(_actor(request), pk)
    try:
        services.review_month(current, actor=_actor(request),
                              approve=payload.action == "approve", comment=payload.comment)
    except DomainError as exc:
        if exc.field == "comment":
            raise _field_error(exc) from None
        raise
    return upkeep.review_or_404(_actor(request), pk)


@router.post("/monthly-reviews/{pk}/resubmit", response={200: ReviewOut, **WRITE_ERRORS},
             tags=["upkeep"],
             summary="重新提交已驳回的运维月报（运维单位或施工单位；统计重新计算，待项目经理审核）")
def resubmit(request, pk: int = pk_param()):
    services.resubmit_review(upkeep.review_or_404(_actor(request), pk), actor=_actor(request))
    return upkeep.review_or_404(_actor(request), pk)
