"""The monitor REST routes (mounted at /api/v1/): monitors with their live state, and the
means a monitor's readings roll up into.

Reads start from `scoped()` (absent or out of scope → the same 404) and the list is filtered
with the page's FilterSet (bad values → 422). Means are valid real-time values only; noise
means are energy means (equivalent continuous level), never arithmetic.
"""

import datetime

from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import field_validator

from smartsite.core.api import (
    READ_ERRORS,
    Invalid,
    LocalTime,
    Pagination,
    ProjectBrief,
    RegionBrief,
    filter_params,
    filtered,
    pk_param,
)
from smartsite.dust import filtersets, selectors
from smartsite.dust.choices import Connectivity
from smartsite.dust.metrics import DATA_FLAGS, PERIODS, ROLLED_UP

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


# ================================================================ query schemas


MonitorParams = filter_params(filtersets.MonitorFilterSet)


class MeansParams(Schema):
    period: int = Field(
        900, description="时段长度（秒）：60 分钟、900 十五分钟、3600 小时、86400 日（上海时间零点起）")
    since: datetime.datetime | None = Field(
        None, description="起（含，ISO 8601；不带时区按上海时间）；默认按时段长度往前取 1–31 天")
    until: datetime.datetime | None = Field(None, description="止（不含）；默认现在")

    @field_validator("period")
    @classmethod
    def _known_period(cls, value: int) -> int:
        if value not in PERIODS:
            raise ValueError(f"应为 {'、'.join(map(str, PERIODS))} 之一")
        return value


def _range(params: MeansParams) -> tuple[datetime.datetime, datetime.datetime]:
    """[since, until) with the defaults filled in; a reversed or too long range is a 422."""
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



# ================================================================ upkeep (inspections, O&M, monthly reviews)

from smartsite.dust.upkeep_api import router as upkeep_router  # noqa: E402

router.add_router("", upkeep_router)
