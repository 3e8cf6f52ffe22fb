"""The work-order REST routes (mounted at /api/v1/): orders and their actions, events,
notifications and the loop policies (docs/api.md, "Work orders").

Every read starts from `scoped()` (absent or out of scope → the same 404) and is filtered with
the pages' FilterSets; every write is one call into `workorders.services`, which checks the
party (403), the state and the required comment/photo (400, with `field`) and the version
(409), and changes nothing when it refuses.

`POST /orders/{pk}/actions` takes the same fields as multipart form data (with photos in
`files`) or as JSON (without files).
"""


import datetime
import json
from typing import Literal

from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError
from pydantic import create_model

from smartsite.core import models as m
from smartsite.core.api import EnterpriseBrief, PostBrief, ProjectBrief
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
    filter_params,
    filtered,
    invalid_from_ninja,
    json_body,
    pk_param,
    visible_or_404,
)
from smartsite.core.bounds import MAX_ID
from smartsite.core.choices import PartyRole
from smartsite.core.scoping import scoped
from smartsite.workorders import filtersets, permissions, selectors, services, transitions
from smartsite.workorders.choices import Action, LoopLevel, OrderState
from smartsite.workorders.models import (
    Event,
    LoopPolicy,
    Notification,
    OrderAction,
    WorkOrder,
)

__all__ = ["router"]

router = Router()

#: The actions `services.act` takes in some state (not the worker's escalations and
#: reminders, creation, or entries other services write).
HUMAN_ACTIONS = tuple(a.value for a in Action if a in set().union(*transitions.ALLOWED.values()))
#: Booleans in query strings: exactly what the pages' filters understand.
Flag = Literal["true", "false"]
ACTION_ERRORS = {**WRITE_ERRORS, 409: ErrorOut}


def _actor(request):
    return request.auth


def _label(choices, value: str) -> str:
    return dict(choices.choices).get(value, value) if value else ""


# ================================================================ output schemas


class AgencyBrief(Schema):
    id: int
    name: str = Field(description="机构名称")
    kind: str = Field(description="机构类型")


class CourtOut(Schema):
    label: str = Field(description="当前办理方（中文）")
    agency: AgencyBrief | None = Field(None, description="办理机构（监管部门）")
    enterprise: EnterpriseBrief | None = Field(None, description="办理单位（参建企业）")
    party_role: str = Field(description="办理单位的参建角色")
    party_role_display: str = Field(description="参建角色（中文）")
    post: PostBrief | None = Field(None, description="办理岗位")


class OrderRef(Schema):
    id: int
    number: str = Field(description="工单编号")
    title: str = Field(description="标题")


class OrderOut(Schema):
    id: int
    number: str = Field(description="工单编号")
    scenario: str = Field(description="场景")
    kind: str = Field(description="工单类型")
    kind_label: str = Field(description="工单类型名称（闭环策略）")
    title: str = Field(description="标题")
    project: ProjectBrief = Field(description="项目")
    state: str = Field(description="状态")
    state_display: str = Field(description="状态（中文）")
    loop_level: str = Field(description="闭环层级")
    loop_level_display: str = Field(description="闭环层级（中文）")
    court: CourtOut = Field(description="球在谁手里：当前办理方")
    due_at: LocalTime | None = Field(None, description="办理时限")
    overdue: bool = Field(description="已逾期")
    rejections: int = Field(description="核查不通过次数")
    version: int = Field(description="版本；提交操作时带上，过期版本得 409")
    opened_at: LocalTime = Field(description="创建时间")
    closed_at: LocalTime | None = Field(None, description="闭环时间")
    closed_level: str = Field(description="闭环层级（已闭环时）")
    closed_level_display: str = Field(description="闭环层级（中文）")

    @staticmethod
    def resolve_kind_label(obj):
        return obj.policy.kind_label

    @staticmethod
    def resolve_state_display(obj):
        return obj.get_state_display()

    @staticmethod
    def resolve_loop_level_display(obj):
        return obj.get_loop_level_display()

    @staticmethod
    def resolve_closed_level_display(obj):
        return _label(LoopLevel, obj.closed_level)

    @staticmethod
    def resolve_overdue(obj):
        # As the list filter `overdue` counts it: flagged, or a working step past its time.
        return bool(obj.overdue or (obj.due_at is not None and obj.due_at < timezone.now()
                                    and obj.state in selectors.WORKING_STATES))

    @staticmethod
    def resolve_court(obj):
        return {
            "label": obj.court_label,
            "agency": obj.court_agency if obj.court_agency_id else None,
            "enterprise": obj.court_enterprise if obj.court_enterprise_id else None,
            "party_role": obj.court_party_role,
            "party_role_display": _label(PartyRole, obj.court_party_role),
            "post": obj.court_post if obj.court_post_id else None,
        }


class OrderEventOut(Schema):
    id: int
    rule: str = Field(description="规则")
    subject: str = Field(description="对象（设备 MN、监测点或人员等）")
    title: str = Field(description="标题")
    severity: str = Field(description="等级")
    severity_display: str = Field(description="等级（中文）")
    count: int = Field(description="发现次数")
    first_seen: LocalTime = Field(description="首次发现")
    last_seen: LocalTime = Field(description="最近发现")
    evidence: dict = Field(description="证据（数值、照片、视频截图引用）")

    @staticmethod
    def resolve_severity_display(obj):
        return obj.get_severity_display()


class AttachmentOut(Schema):
    id: int
    name: str = Field(description="文件名")
    content_type: str = Field(description="类型（按文件内容判定）")
    size: int = Field(description="大小（字节）")
    sha256: str = Field(description="SHA-256")
    url: str = Field(description="下载地址（需登录或 API 令牌，同样按可见范围）")

    @staticmethod
    def resolve_url(obj):
        return reverse("workorders:attachment", args=[obj.pk])


class ActionOut(Schema):
    seq: int = Field(description="序号")
    action: str = Field(description="动作")
    action_display: str = Field(description="动作（中文）")
    actor_name: str = Field(description="操作人（系统动作为“系统”）")
    at: LocalTime = Field(description="时间")
    comment: str = Field(description="意见")
    from_state: str = Field(description="原状态")
    from_state_display: str = Field(description="原状态（中文）")
    to_state: str = Field(description="新状态")
    to_state_display: str = Field(description="新状态（中文）")
    loop_level: str = Field(description="闭环层级")
    loop_level_display: str = Field(description="闭环层级（中文）")
    court: str = Field(description="操作后的办理方")
    data: dict = Field(description="附加数据（如升级 [原层级, 新层级]）")
    prev_hash: str = Field(description="上一条记录的哈希（哈希链）")
    hash: str = Field(description="本条记录的哈希")
    attachments: list[AttachmentOut] = Field(description="附件")

    @staticmethod
    def resolve_action_display(obj):
        return obj.get_action_display()

    @staticmethod
    def resolve_from_state_display(obj):
        return _label(OrderState, obj.from_state)

    @staticmethod
    def resolve_to_state_display(obj):
        return _label(OrderState, obj.to_state)

    @staticmethod
    def resolve_loop_level_display(obj):
        return _label(LoopLevel, obj.loop_level)

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class AllowedActionOut(Schema):
    action: str = Field(description="动作")
    label: str = Field(description="动作（中文）")


class PolicyBrief(Schema):
    id: int
    version: int = Field(description="版本")
    kind_label: str = Field(description="工单类型名称")


class PenaltyOut(Schema):
    id: int
    basis: str = Field(description="处罚依据编码")
    basis_display: str = Field(description="处罚依据")
    range: list[str] = Field(description="登记时依据规定的罚款范围（元）")
    amount: str = Field(description="罚款金额（元）")
    decision_number: str = Field(description="处罚决定书文号")
    decided_on: datetime.date = Field(description="决定日期")
    party: EnterpriseBrief = Field(description="被处罚单位")
    note: str = Field(description="说明")

    @staticmethod
    def resolve_basis(obj):
        return obj.basis.code

    @staticmethod
    def resolve_basis_display(obj):
        return str(obj.basis)

    @staticmethod
    def resolve_range(obj):
        return [str(obj.basis_min), str(obj.basis_max)]

    @staticmethod
    def resolve_amount(obj):
        return str(obj.amount)


class OrderDetailOut(OrderOut):
    description: str = Field(description="说明")
    penalties: list[PenaltyOut] = Field(description="立案处罚记录")
    events: list[OrderEventOut] = Field(description="关联事件（证据）")
    actions: list[ActionOut] = Field(description="操作记录（时间线，按序号）")
    allowed_actions: list[AllowedActionOut] = Field(description="您现在可以执行的操作")
    policy: PolicyBrief = Field(description="工单所依据的闭环策略版本")

    @staticmethod
    def resolve_events(obj):
        return list(obj.events.all())

    @staticmethod
    def resolve_penalties(obj):
        return list(obj.penalties.select_related("basis", "party").order_by("created"))

    @staticmethod
    def resolve_actions(obj):
        return list(obj.actions.all())

    @staticmethod
    def resolve_allowed_actions(obj):
        return [{"action": a, "label": Action(a).label} for a in getattr(obj, "allowed", [])]


class EventOut(Schema):
    id: int
    scenario: str = Field(description="场景")
    rule: str = Field(description="规则")
    project: ProjectBrief = Field(description="项目")
    subject: str = Field(description="对象（设备 MN、监测点或人员等）")
    title: str = Field(description="标题")
    severity: str = Field(description="等级")
    severity_display: str = Field(description="等级（中文）")
    state: str = Field(description="状态")
    state_display: str = Field(description="状态（中文）")
    occurred_at: LocalTime = Field(description="发生时间")
    first_seen: LocalTime = Field(description="首次发现")
    last_seen: LocalTime = Field(description="最近发现")
    count: int = Field(description="发现次数（重复的情况只更新这一条事件）")
    order: OrderRef | None = Field(None, description="派出的工单")

    @staticmethod
    def resolve_severity_display(obj):
        return obj.get_severity_display()

    @staticmethod
    def resolve_state_display(obj):
        return obj.get_state_display()


class EventDetailOut(EventOut):
    evidence: dict = Field(description="证据（数值、照片、视频截图引用）")
    ignore_reason: str = Field(description="忽略原因")


class NotificationOut(Schema):
    id: int
    text: str = Field(description="内容")
    order: OrderRef | None = Field(None, description="工单（不涉及工单的通知为 null）")
    link: str = Field("", description="不涉及工单的通知所指的页面（如运维月报）")
    created: LocalTime = Field(description="时间")
    read: bool = Field(description="已读")
    read_at: LocalTime | None = Field(None, description="已读时间")

    @staticmethod
    def resolve_read(obj):
        return obj.read_at is not None


class MarkedOut(Schema):
    marked: int = Field(description="本次标为已读的条数")
    unread_count: int = Field(description="剩余未读条数")


class PolicyOut(Schema):
    id: int
    scenario: str = Field(description="场景")
    kind: str = Field(description="工单类型")
    kind_label: str = Field(description="工单类型名称")
    version: int = Field(description="版本（修改策略生成新版本，已有工单沿用原版本）")
    active: bool = Field(description="现行版本")
    source: str = Field(description="依据（标准或文件及条款）")
    created: LocalTime = Field(description="创建时间")


class PolicyDetailOut(PolicyOut):
    spec: dict = Field(description="策略内容：各层级的处置方/核查方、时限、升级规则"
                                   "（格式见 workorders/policy.py）")


# ================================================================ input schemas


class OrderIn(In):
    scenario: Text = Field(description="场景，如 dust", max_length=30)
    kind: Text = Field(description="工单类型，如 missing_monitor（见 /api/v1/policies）",
                       max_length=40)
    project: Id = Field(description="项目编号")
    title: Text = Field(description="标题", min_length=1, max_length=200)
    description: Text = Field("", description="说明", max_length=5000)


class ActionIn(In):
    action: Literal[HUMAN_ACTIONS] = Field(  # type: ignore[valid-type]
        description="动作：" + "、".join(f"{a}（{Action(a).label}）" for a in HUMAN_ACTIONS))
    version: int = Field(ge=1, le=MAX_ID, description="您看到的工单版本（详情中的 version）")
    comment: Text = Field("", max_length=2000, description="意见（挂起、恢复、撤销、转派、"
                                                        "核查不通过必填；策略也可要求）")
    to_level: Literal["", "small", "medium", "large"] = Field(
        "", description="转派到的闭环层级（只用于 reassign；不填为上一层级）")


class PenaltyIn(In):
    version: int = Field(ge=1, le=MAX_ID, description="您看到的工单版本（详情中的 version）")
    basis: Text = Field(description="处罚依据编码（如 sh-air-55-2，见详情 penalty_bases）",
                        max_length=60)
    amount: Text = Field(description="罚款金额（元，最多两位小数），须在依据规定的范围内",
                         max_length=20)
    decision_number: Text = Field(description="处罚决定书文号", max_length=60)
    decided_on: datetime.date = Field(description="决定日期（不晚于今天）")
    party: Id | None = Field(None, description="被处罚单位（企业编号，须为本项目参建单位）；"
                                               "不填为依据规定的默认单位")
    note: Text = Field("", max_length=2000, description="说明")


class IgnoreIn(In):
    reason: Text = Field(description="忽略原因", max_length=200)


class ReadIn(In):
    ids: list[Id] | None = Field(None, description="要标为已读的通知编号；不给出则全部标为已读")


# ================================================================ query schemas


def _params(filterset, **extra) -> type[Schema]:
    """The FilterSet's query schema, with its yes/no filters strict (true or false; anything
    else is a 422 rather than silently "all") and `extra` parameters the route applies."""
    base = filter_params(filterset)
    flags = {name: (Flag | None, Field(None, description=base.model_fields[name].description))
             for name, flt in filterset.base_filters.items()
             if flt.__class__.__name__ == "BooleanFilter"}
    return create_model(base.__name__, __base__=base, **flags, **extra)


def _project_param():
    return (Id | None, Field(None, description="项目编号"))


OrderParams = _params(filtersets.OrderFilterSet, project=_project_param())
EventParams = _params(filtersets.EventFilterSet, project=_project_param(),
                      rule=(str | None, Field(None, max_length=60, description="规则，如 exceedance")))


class NotificationParams(Schema):
    unread: Flag | None = Field(None, description="只看未读（true）或已读（false）")


class PolicyParams(Schema):
    scenario: str | None = Field(None, max_length=30, description="场景，如 dust")
    kind: str | None = Field(None, max_length=40, description="工单类型")
    active: Flag | None = Field(None, description="true：只看现行版本")


class NotificationPagination(Pagination):
    """Pagination plus the caller's unread count (the badge in the header)."""

    class Output(Pagination.Output):
        unread_count: int = Field(description="未读通知数")

    def paginate_queryset(self, queryset, pagination, request, **params):
        result = super().paginate_queryset(queryset, pagination, request, **params)
        result["unread_count"] = selectors.unread_count(_actor(request))
        return result


# ================================================================ helpers


def _orders():
    return WorkOrder.objects.select_related("project", "policy", "court_agency",
                                            "court_enterprise", "court_post")


def _order_detail(request, pk: int) -> WorkOrder:
    qs = _orders().prefetch_related(
        Prefetch("actions", OrderAction.objects.order_by("seq").prefetch_related("attachments")),
        Prefetch("events", Event.objects.order_by("first_seen", "pk")))
    order = visible_or_404(request, qs, pk)
    order.allowed = permissions.allowed_actions(order, _actor(request))
    return order


def _events():
    return Event.objects.select_related("project", "order")


def _flag(value: str | None) -> bool | None:
    return None if value is None else value == "true"


FILE_FIELDS = ("files", "files[]")


def _action_input(request, schema: type[Schema] | None = None) -> tuple:
    """The fields of `schema` (default: an action) from a multipart/urlencoded form (with
    files) or a JSON body."""
    schema = schema or ActionIn
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        data: dict = {key: request.POST.get(key) for key in request.POST}
        stray = sorted(set(request.FILES) - set(FILE_FIELDS))
        if stray:
            raise Invalid({key: ["不是可接受的文件字段，附件请放在 files 中"] for key in stray},
                          title="请求数据有误")
        files = [f for key in FILE_FIELDS for f in request.FILES.getlist(key)]
    else:
        data = json_body(request)
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise Invalid({"__all__": ["请求体应为 JSON 对象"]}, title="请求数据有误")
        files = []
    try:
        return schema.model_validate(data), files
    except PydanticValidationError as exc:
        raise invalid_from_ninja(exc.errors(include_url=False)) from None


def _action_body_doc() -> dict:
    fields = ActionIn.model_json_schema()
    form = json.loads(json.dumps(fields))
    form["properties"]["files"] = {"type": "array", "items": {"type": "string",
                                                               "format": "binary"},
                                   "description": "附件（JPEG/PNG/WebP 照片或 PDF，每个不超过 10 MB）"}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": form},
        "application/json": {"schema": fields},
    }}}


# ================================================================ orders


@router.get("/orders", response={200: list[OrderOut], **READ_ERRORS}, tags=["orders"],
            summary="工单（处置中心）")
@paginate(Pagination)
def list_orders(request, filters: Query[OrderParams]):
    qs = filtered(request, filtersets.OrderFilterSet, scoped(_actor(request), _orders()))
    if filters.project:
        qs = qs.filter(project=filters.project)
    return qs


@router.get("/orders/{pk}", response={200: OrderDetailOut, **READ_ERRORS}, tags=["orders"],
            summary="工单详情（含事件证据、操作时间线和您可执行的操作）")
def get_order(request, pk: int = pk_param()):
    return _order_detail(request, pk)


@router.post("/orders", response={201: OrderDetailOut, **WRITE_ERRORS}, tags=["orders"],
             summary="人工派单（市级或项目所在区的监管部门）")
def create_order(request, payload: OrderIn):
    actor = _actor(request)
    project = scoped(actor, m.Project.objects.all()).filter(pk=payload.project).first()
    if project is None:
        raise Invalid({"project": [f"未找到编号为 {payload.project} 的项目"]},
                      labels={"project": "项目"})
    order = services.open_order(scenario=payload.scenario, kind=payload.kind, project=project,
                                title=payload.title, description=payload.description,
                                actor=actor)
    return Status(201, _order_detail(request, order.pk))


@router.post("/orders/{pk}/actions", response={200: OrderDetailOut, **ACTION_ERRORS},
             tags=["orders"], summary="办理工单：派单、提交处置、核查、转派、挂起、恢复、撤销、备注",
             description="multipart/form-data（照片放在 files，可多个）或 JSON（无附件）。"
                         "version 为您看到的版本；工单已被他人更新时 409，什么都不改变。",
             openapi_extra=_action_body_doc())
def act_on_order(request, pk: int = pk_param()):
    order = visible_or_404(request, WorkOrder.objects.all(), pk)
    data, files = _action_input(request)
    services.act(order, data.action, _actor(request), version=data.version,
                 comment=data.comment, files=files, to_level=data.to_level)
    return _order_detail(request, pk)


@router.post("/orders/{pk}/penalties", response={201: OrderDetailOut, **ACTION_ERRORS},
             tags=["orders"], summary="立案处罚（市级、项目所在区或所在街镇执法中队）",
             description="multipart/form-data（决定书扫描件或照片放在 files）或 JSON。金额须在"
                         "处罚依据规定的范围内；文号不能重复；工单已被他人更新时 409。")
def record_penalty(request, pk: int = pk_param()):
    order = visible_or_404(request, WorkOrder.objects.select_related("project"), pk)
    data, files = _action_input(request, PenaltyIn)
    party = None
    if data.party is not None:
        party = m.Enterprise.objects.filter(pk=data.party).first()
        if party is None:
            raise Invalid({"party": [f"未找到编号为 {data.party} 的企业"]},
                          labels={"party": "被处罚单位"})
    services.record_penalty(order, _actor(request), version=data.version, basis=data.basis,
                            amount=data.amount, decision_number=data.decision_number,
                            decided_on=data.decided_on, party=party, note=data.note,
                            files=files)
    return Status(201, _order_detail(request, pk))


# ================================================================ events


@router.get("/events", response={200: list[EventOut], **READ_ERRORS}, tags=["events"],
            summary="事件（事件中心）")
@paginate(Pagination)
def list_events(request, filters: Query[EventParams]):
    qs = filtered(request, filtersets.EventFilterSet, scoped(_actor(request), _events()))
    if filters.project:
        qs = qs.filter(project=filters.project)
    if filters.rule:
        qs = qs.filter(rule=filters.rule)
    return qs


@router.get("/events/{pk}", response={200: EventDetailOut, **READ_ERRORS}, tags=["events"],
            summary="事件详情（含证据）")
def get_event(request, pk: int = pk_param()):
    return visible_or_404(request, _events(), pk)


@router.post("/events/{pk}/ignore", response={200: EventDetailOut, **WRITE_ERRORS},
             tags=["events"], summary="忽略事件（监管部门，须填写原因）")
def ignore_event(request, payload: IgnoreIn, pk: int = pk_param()):
    event = visible_or_404(request, _events(), pk)
    services.ignore_event(event, actor=_actor(request), reason=payload.reason)
    return visible_or_404(request, _events(), pk)


# ================================================================ notifications


@router.get("/notifications", response={200: list[NotificationOut], **READ_ERRORS},
            tags=["notifications"], summary="我的通知（含未读数 unread_count）")
@paginate(NotificationPagination)
def list_notifications(request, filters: Query[NotificationParams]):
    qs = Notification.objects.filter(user=_actor(request)).select_related("order")
    unread = _flag(filters.unread)
    if unread is not None:
        qs = qs.filter(read_at__isnull=unread)
    return qs.order_by("-created", "-pk")


@router.post("/notifications/read", response={200: MarkedOut, **WRITE_ERRORS},
             tags=["notifications"], summary="标为已读（给出的编号，或全部）")
def read_notifications(request, payload: ReadIn):
    actor = _actor(request)
    marked = services.mark_read(actor, payload.ids)
    return {"marked": marked, "unread_count": selectors.unread_count(actor)}


# ================================================================ loop policies


@router.get("/policies", response={200: list[PolicyOut], **READ_ERRORS}, tags=["policies"],
            summary="闭环策略（各场景各工单类型的处置方、时限和升级规则，含历史版本）")
@paginate(Pagination)
def list_policies(request, filters: Query[PolicyParams]):
    qs = scoped(_actor(request), LoopPolicy.objects.all())
    conditions = Q()
    if filters.scenario:
        conditions &= Q(scenario=filters.scenario)
    if filters.kind:
        conditions &= Q(kind=filters.kind)
    if filters.active is not None:
        conditions &= Q(active=_flag(filters.active))
    return qs.filter(conditions).order_by("scenario", "kind", "-version", "pk")


@router.get("/policies/{pk}", response={200: PolicyDetailOut, **READ_ERRORS},
            tags=["policies"], summary="闭环策略详情")
def get_policy(request, pk: int = pk_param()):
    return visible_or_404(request, LoopPolicy.objects.all(), pk)
