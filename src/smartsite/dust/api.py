"""The monitor REST routes (mounted at /api/v1/): monitors with their live state, the
means a monitor's readings roll up into, and registering and changing monitors.

Reads start from `scoped()` (absent or out of scope → the same 404) and the list is filtered
with the page's FilterSet (bad values → 422). Means are valid real-time values only; noise
means are energy means (equivalent continuous level), never arithmetic. Writes go through
`dust.services`, as the registration page's do: the same permission (403), the same model
validation and messages (field-level 422), the same audit entry. The PW goes in and never
comes out.
"""

import datetime
from typing import Literal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from smartsite.core.api import ProjectBrief, RegionBrief
from smartsite.core.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Id,
    In,
    Invalid,
    LocalTime,
    Pagination,
    Text,
    filter_params,
    filtered,
    pk_param,
    visible_project,
    writing,
)
from smartsite.core.bounds import check_moment
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.permissions import is_city_admin
from smartsite.dust import filtersets, permissions, rules, selectors, services
from smartsite.dust.choices import Connectivity, MonitorKind, ParticulateUnit
from smartsite.dust.metrics import DATA_FLAGS, METRICS, PERIODS, ROLLED_UP
from smartsite.dust.models import DustRule, Monitor

__all__ = ["router"]

router = Router()

#: The longest range one request may ask for, in buckets (a week of minutes).
MAX_BUCKETS = 10_080
#: The range given when `since` is left out.
DEFAULT_SPAN = {60: datetime.timedelta(hours=24), 900: datetime.timedelta(days=1),
                3600: datetime.timedelta(days=7), 86400: datetime.timedelta(days=31)}


def _actor(request):
    return request.auth


# ================================================================ output schemas


class LatestOut(Schema):
    pm10: float | None = Field(None, description="PM10（µg/m³）")
    pm25: float | None = Field(None, description="PM2.5（µg/m³）")
    noise: float | None = Field(None, description="噪声（dB(A)）")


class MonitorOut(Schema):
    id: int
    mn: str = Field(description="设备编码（MN）")
    project: ProjectBrief = Field(description="项目")
    district: RegionBrief = Field(description="所属区")
    street: RegionBrief = Field(description="所属街镇")
    location: str = Field(description="安装位置")
    kind: str = Field(description="设备类型")
    kind_display: str = Field(description="设备类型（中文）")
    particulate_unit: str = Field(description="颗粒物上报单位（ug / mg）；数据一律按 µg/m³ 保存和输出")
    vendor: str = Field(description="设备厂商")
    model_name: str = Field(description="设备型号")
    measures: list[str] = Field(description="监测参数（空表示按设备类型）")
    longitude: float | None = Field(None, description="经度（WGS-84）")
    latitude: float | None = Field(None, description="纬度（WGS-84）")
    installed_on: datetime.date | None = Field(None, description="安装日期")
    active: bool = Field(description="启用（停用设备的报文被拒收）")
    connectivity: str = Field(description="连接状态：online / offline / never")
    connectivity_display: str = Field(description="连接状态（中文）")
    last_seen: LocalTime | None = Field(None, description="最近通信")
    latest: LatestOut = Field(description="最新数值")

    @staticmethod
    def resolve_district(obj):
        return obj.project.district

    @staticmethod
    def resolve_street(obj):
        return obj.project.street

    @staticmethod
    def resolve_kind_display(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_connectivity(obj):
        return selectors.connectivity_of(obj, timezone.now())

    @staticmethod
    def resolve_connectivity_display(obj):
        return Connectivity(selectors.connectivity_of(obj, timezone.now())).label

    @staticmethod
    def resolve_last_seen(obj):
        status = selectors.status_of(obj)
        return status.last_seen if status else None

    @staticmethod
    def resolve_latest(obj):
        return {c: selectors.latest(obj, c) for c in selectors.HEADLINE}


class ValueOut(Schema):
    column: str = Field(description="指标")
    label: str = Field(description="指标名称")
    unit: str = Field(description="单位")
    value: float = Field(description="数值")
    flag: str = Field(description="HJ 212 数据标记：" + "、".join(
        f"{k} {v}" for k, v in DATA_FLAGS.items()))
    flag_label: str = Field(description="数据标记（中文）")


class StatusOut(Schema):
    connected: bool = Field(description="连接中")
    transport: str = Field(description="通道：tcp / mqtt")
    peer: str = Field(description="对端地址")
    connected_since: LocalTime | None = Field(None, description="本次连接开始时间")
    last_seen: LocalTime | None = Field(None, description="最近通信")
    last_data_time: LocalTime | None = Field(None, description="最近数据时间（DataTime）")
    packets: int = Field(description="累计报文")
    values: list[ValueOut] = Field(description="最新数值及数据标记")


class MonitorDetailOut(MonitorOut):
    status: StatusOut | None = Field(None, description="实时状态（从未上线为 null）")

    @staticmethod
    def resolve_status(obj):
        status = selectors.status_of(obj)
        if status is None:
            return None
        return {"connected": status.connected, "transport": status.transport,
                "peer": status.peer, "connected_since": status.connected_since,
                "last_seen": status.last_seen, "last_data_time": status.last_data_time,
                "packets": status.packets,
                "values": [v.__dict__ for v in selectors.current_values(obj)]}


class MetricOut(Schema):
    column: str = Field(description="指标（items 中 mean / max 的键）")
    label: str = Field(description="指标名称")
    unit: str = Field(description="单位")
    energy_mean: bool = Field(description="true：能量平均（噪声）")


class MeanOut(Schema):
    bucket: LocalTime = Field(description="时段起")
    samples: int = Field(description="时段内实时数据条数")
    mean: dict[str, float | None] = Field(description="各指标均值（只计标记为 N 的有效值）")
    max: dict[str, float | None] = Field(description="各指标最大值（有效值）")
    n: dict[str, int] = Field(description="各指标有效值个数")


class MeansOut(Schema):
    monitor: int = Field(description="设备编号")
    period: int = Field(description="时段长度（秒）")
    period_display: str = Field(description="时段（中文）")
    since: LocalTime = Field(description="起（含）")
    until: LocalTime = Field(description="止（不含）")
    metrics: list[MetricOut] = Field(description="指标说明")
    items: list[MeanOut] = Field(description="各时段均值，按时间先后")


# ================================================================ input schemas

#: What a monitor may measure (`metrics.METRICS` columns).
Metric = Literal[tuple(m.column for m in METRICS)]  # type: ignore[valid-type]


class MonitorIn(In):
    mn: Text = Field(description="设备编码（MN）：1–24 位字母或数字，不能与已登记设备重复")
    password: Text = Field(description="访问密码（PW）：1–6 位可打印 ASCII，不含 ; , = & 和空格；"
                                       "只写入，任何响应和审计日志都不返回")
    project: Id = Field(description="项目编号（您有权登记监测设备的项目）")
    location: Text = Field("", description="安装位置（最多 100 字）")
    longitude: float | None = Field(None, description="经度（WGS-84），须与纬度同时给出，"
                                                      "且在项目电子围栏内或边界附近")
    latitude: float | None = Field(None, description="纬度（WGS-84）")
    kind: MonitorKind = Field(MonitorKind.DUST_NOISE, description="设备类型")
    particulate_unit: ParticulateUnit = Field(
        ParticulateUnit.UG, description="颗粒物上报单位：ug（µg/m³）或 mg（mg/m³）")
    vendor: Text = Field("", description="设备厂商（最多 100 字）")
    model_name: Text = Field("", description="设备型号（最多 100 字）")
    measures: list[Metric] = Field([], description="监测参数；空表示按设备类型")
    installed_on: datetime.date | None = Field(None, description="安装日期（不能晚于今天）")
    active: bool = Field(True, description="启用；停用设备的报文被拒收")


class MonitorPatch(In):
    """Only the fields given change; `null` only where the field may be empty."""

    mn: Text = Field(None, description="设备编码（MN）")
    password: Text = Field(None, description="访问密码（PW），只写入")
    project: Id = Field(None, description="项目编号（迁到另一项目：两个项目都须有权登记）")
    location: Text = Field(None, description="安装位置")
    longitude: float | None = Field(None, description="经度（WGS-84）；null 清除")
    latitude: float | None = Field(None, description="纬度（WGS-84）；null 清除")
    kind: MonitorKind = Field(None, description="设备类型")
    particulate_unit: ParticulateUnit = Field(None, description="颗粒物上报单位")
    vendor: Text = Field(None, description="设备厂商")
    model_name: Text = Field(None, description="设备型号")
    measures: list[Metric] = Field(None, description="监测参数（给出即替换）")
    installed_on: datetime.date | None = Field(None, description="安装日期；null 清除")
    active: bool = Field(None, description="启用；false 停用（报文被拒收）")


# ================================================================ query schemas


MonitorParams = filter_params(filtersets.MonitorFilterSet)


class MeansParams(Schema):
    period: int = Field(
        900, description="时段长度（秒）：60 分钟、900 十五分钟、3600 小时、86400 日（上海时间零点起）")
    since: datetime.datetime | None = Field(
        None, description="起（含，ISO 8601；不带时区按上海时间；2000—2099 年）；"
                         "默认按时段长度往前取 1–31 天")
    until: datetime.datetime | None = Field(None, description="止（不含）；默认现在")

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: int) -> int:
        if value not in PERIODS:
            raise ValueError(f"应为 {'、'.join(map(str, PERIODS))} 之一")
        return value


def _range(params: MeansParams) -> tuple[datetime.datetime, datetime.datetime]:
    """[since, until) with the defaults filled in; a reversed or too long range is a 422."""
    errors = {name: [reason] for name, value in (("since", params.since), ("until", params.until))
              if value is not None and (reason := check_moment(_aware(value)))}
    if errors:
        raise Invalid(errors, title="请求数据有误")
    until = _aware(params.until) if params.until else timezone.now()
    since = _aware(params.since) if params.since else until - DEFAULT_SPAN[params.period]
    if since >= until:
        raise Invalid({"until": ["应晚于 since"]}, title="请求数据有误")
    if (until - since).total_seconds() / params.period > MAX_BUCKETS:
        raise Invalid({"until": [f"时间范围过长：一次最多 {MAX_BUCKETS} 个时段，"
                                 "请缩短 since–until 或加大 period"]}, title="请求数据有误")
    return since, until


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, selectors.SHANGHAI)
    return moment


# ================================================================ routes


@router.get("/monitors", response={200: list[MonitorOut], **READ_ERRORS}, tags=["monitors"],
            summary="监测设备（含连接状态和最新数值）")
@paginate(Pagination)
def list_monitors(request, filters: Query[MonitorParams]):
    return filtered(request, filtersets.MonitorFilterSet, selectors.monitors(_actor(request)))


@router.get("/monitors/{pk}", response={200: MonitorDetailOut, **READ_ERRORS}, tags=["monitors"],
            summary="监测设备详情（含实时状态、最新数值及数据标记）")
def get_monitor(request, pk: int = pk_param()):
    return selectors.monitor_or_404(_actor(request), pk)


@router.get("/monitors/{pk}/means", response={200: MeansOut, **READ_ERRORS}, tags=["monitors"],
            summary="监测设备的分钟、15 分钟、小时、日均值（噪声为能量平均）")
def get_means(request, params: Query[MeansParams], pk: int = pk_param()):
    monitor = selectors.monitor_or_404(_actor(request), pk)
    since, until = _range(params)
    columns = [m.column for m in ROLLED_UP]
    rows = selectors.means(monitor, params.period, since, until, columns)
    items = [{"bucket": row.bucket, "samples": row.samples,
              "mean": {c: _round(row.mean(c)) for c in columns},
              "max": {c: getattr(row, f"max_{c}") for c in columns},
              "n": {c: getattr(row, f"n_{c}") for c in columns}} for row in rows]
    return {"monitor": monitor.pk, "period": params.period,
            "period_display": PERIODS[params.period], "since": since, "until": until,
            "metrics": [{"column": m.column, "label": m.label, "unit": m.unit,
                         "energy_mean": m.energy_mean} for m in ROLLED_UP],
            "items": items}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# ================================================================ writes


@router.post("/monitors", response={201: MonitorDetailOut, **WRITE_ERRORS}, tags=["monitors"],
             summary="登记监测设备（市、区监管部门和项目的施工单位）")
def create_monitor(request, payload: MonitorIn):
    data = payload.model_dump()
    data["project"] = visible_project(_actor(request), data["project"])
    with writing(Monitor):
        monitor = services.register_monitor(**data, actor=_actor(request))
    return Status(201, selectors.monitor_or_404(_actor(request), monitor.pk))


@router.patch("/monitors/{pk}", response={200: MonitorDetailOut, **WRITE_ERRORS},
              tags=["monitors"],
              summary="修改监测设备（只改给出的字段；active=false 停用）")
def update_monitor(request, payload: MonitorPatch, pk: int = pk_param()):
    monitor = selectors.monitor_or_404(_actor(request), pk)
    permissions.require_manage(_actor(request), monitor.project)  # 403 before any 422
    data = payload.model_dump(exclude_unset=True)
    if "project" in data:
        data["project"] = visible_project(_actor(request), data["project"])
    with writing(Monitor):
        services.update_monitor(Monitor.objects.get(pk=monitor.pk), **data, actor=_actor(request))
    return selectors.monitor_or_404(_actor(request), pk)


# ================================================================ rules (扬尘规则)


class RuleOut(Schema):
    code: str = Field(description="编码")
    label: str = Field(description="名称")
    params: dict = Field(description="已设置的参数（只含与默认值不同的）")
    effective: dict = Field(description="生效的全部参数（含默认值）")
    source: str = Field(description="依据")
    enabled: bool = Field(description="启用")
    last_run_at: LocalTime | None = Field(None, description="最近运行")

    @staticmethod
    def resolve_effective(obj):
        try:
            return rules.parse(obj.code, obj.params)
        except Exception:  # a row edited outside the platform: its defaults
            return rules.parse(obj.code, {}) if obj.code in rules.RULES else {}


class RulePatch(In):
    """Only the fields given change (the rest are kept)."""

    params: dict = Field(None, description="参数：只写与默认值不同的，如 {\"minutes\": 90}；"
                                           "给出即替换已设置的全部参数")
    source: Text = Field(None, description="依据（标准条款或取值理由），不能为空")
    enabled: bool = Field(None, description="启用")


def _rules():
    return DustRule.objects.filter(code__in=list(rules.RULES)).order_by("code")


@router.get("/dust-rules", response={200: list[RuleOut], **READ_ERRORS}, tags=["rules"],
            summary="扬尘规则（参数、依据、启用）")
def list_rules(request):
    return list(_rules())


@router.get("/dust-rules/{code}", response={200: RuleOut, **READ_ERRORS}, tags=["rules"],
            summary="扬尘规则详情")
def get_rule(request, code: str = Path(..., max_length=40, description="规则编码")):
    return get_object_or_404(_rules(), code=code)


@router.patch("/dust-rules/{code}", response={200: RuleOut, **WRITE_ERRORS}, tags=["rules"],
              summary="修改扬尘规则（市级管理员；下一次运行起生效）")
def update_rule(request, payload: RulePatch,
                code: str = Path(..., max_length=40, description="规则编码")):
    if not is_city_admin(_actor(request)):  # as the page: 403 for any code, before the lookup
        raise Forbidden("只有市级管理员可以修改扬尘规则")
    rule = get_object_or_404(_rules(), code=code)
    data = payload.model_dump(exclude_unset=True)
    try:
        services.update_rule(rule, actor=_actor(request), params=data.get("params", rule.params),
                             source=data.get("source", rule.source),
                             enabled=data.get("enabled", rule.enabled))
    except DomainError as exc:
        if exc.field:
            raise Invalid({exc.field: [exc.message]}, title="数据校验未通过") from None
        raise
    return rule


# ================================================================ upkeep (inspections, O&M, monthly reviews)

from smartsite.dust.upkeep_api import router as upkeep_router  # noqa: E402

router.add_router("", upkeep_router)
