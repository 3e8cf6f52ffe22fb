"""Monitors, their readings and means, live status, connections and rejected devices.

Readings and means are the big tables (design.md §2 rule 7: ~6.5 million readings a day for
the city's 4,500 monitors at one packet a minute). Their natural key is the primary key
(monitor, CN, DataTime; design.md §2 rule 5), so a re-sent packet cannot add a row. On
PostgreSQL they are range-partitioned by time (`dust.partitions`); every hot query is filtered
by monitor first, which is what the primary key serves.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from smartsite.core.models import Project, Region, ScopedModel
from smartsite.dust.choices import MonitorKind, Particulate, ParticulateUnit, RejectReason
from smartsite.dust.metrics import BY_COLUMN, METRICS, ROLLED_UP, from_energy

__all__ = ["DeviceRejection", "DustLimit", "MinuteMean", "Monitor", "MonitorConnection",
           "MonitorStatus", "PeriodMean", "Reading"]

mn_validator = RegexValidator(r"^[0-9A-Za-z]{1,24}$", "设备编码（MN）为 1–24 位字母或数字")


class Monitor(ScopedModel):
    """A dust/noise online monitor (扬尘噪声在线监测设备) on a project, known by its HJ 212 MN."""

    mn = models.CharField("设备编码（MN）", max_length=24, unique=True, validators=[mn_validator])
    password = models.CharField("访问密码（PW）", max_length=6,
                                help_text="设备上报报文中的 PW 字段，不符的报文被拒收")
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT,
                                related_name="monitors")
    location = models.CharField("安装位置", max_length=100, blank=True)
    kind = models.CharField("设备类型", max_length=12, choices=MonitorKind.choices,
                            default=MonitorKind.DUST_NOISE)
    particulate_unit = models.CharField(
        "颗粒物上报单位", max_length=2, choices=ParticulateUnit.choices, default=ParticulateUnit.UG,
        help_text="HJ 212 报文不带单位；按此设置换算为 µg/m³ 保存")
    vendor = models.CharField("设备厂商", max_length=100, blank=True)
    installed_on = models.DateField("安装日期", null=True, blank=True)
    active = models.BooleanField("启用", default=True, help_text="停用的设备上报的数据被拒收")
    created = models.DateTimeField("创建时间", auto_now_add=True)
    updated = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["mn"]
        verbose_name = verbose_name_plural = "监测设备"

    def __str__(self) -> str:
        return self.mn

    def get_absolute_url(self) -> str:
        return reverse("dust:monitor", args=[self.pk])


class MonitorStatus(ScopedModel):
    """A monitor's live state as the gateway last flushed it (a few seconds behind the wire).
    One row per monitor, written in bulk — never a query per packet."""

    project_path = "monitor__project"

    monitor = models.OneToOneField(Monitor, verbose_name="设备", on_delete=models.CASCADE,
                                   primary_key=True, related_name="status")
    last_seen = models.DateTimeField("最近通信", null=True, blank=True)
    last_data_time = models.DateTimeField("最近数据时间", null=True, blank=True)
    values = models.JSONField("最新数值", default=dict, blank=True)
    flags = models.JSONField("数据标记", default=dict, blank=True)
    connected = models.BooleanField("连接中", default=False)
    transport = models.CharField("通道", max_length=8, blank=True)  # tcp | mqtt
    peer = models.CharField("对端地址", max_length=60, blank=True)
    connected_since = models.DateTimeField("连接时间", null=True, blank=True)
    packets = models.BigIntegerField("累计报文", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "设备状态"


class MonitorConnection(ScopedModel):
    """One TCP connection (or MQTT session) of a monitor: the connection history."""

    project_path = "monitor__project"

    monitor = models.ForeignKey(Monitor, verbose_name="设备", on_delete=models.CASCADE,
                                related_name="connections")
    transport = models.CharField("通道", max_length=8, default="tcp")
    peer = models.CharField("对端地址", max_length=60, blank=True)
    opened_at = models.DateTimeField("连接时间")
    closed_at = models.DateTimeField("断开时间", null=True, blank=True)
    packets = models.PositiveIntegerField("报文数", default=0)
    rejected = models.PositiveIntegerField("拒收数", default=0)
    close_reason = models.CharField("断开原因", max_length=100, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = verbose_name_plural = "连接记录"
        indexes = [models.Index(fields=["monitor", "-opened_at"])]


class DeviceRejection(models.Model):
    """Packets the gateway refused from a device (unknown MN, wrong PW, stopped device):
    one row per MN and reason, counted. Never stored as data."""

    mn = models.CharField("设备编码（MN）", max_length=24)
    reason = models.CharField("原因", max_length=20, choices=RejectReason.choices)
    monitor = models.ForeignKey(Monitor, verbose_name="设备", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="rejections")
    district = models.ForeignKey(Region, verbose_name="所属区", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 help_text="已登记设备取其项目所在区；未登记设备取同一地址最近的已登记设备")
    detail = models.CharField("说明", max_length=200, blank=True)
    peer = models.CharField("对端地址", max_length=60, blank=True)
    first_seen = models.DateTimeField("首次")
    last_seen = models.DateTimeField("最近")
    count = models.PositiveIntegerField("次数", default=0)

    scope_direct = True

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = verbose_name_plural = "拒收设备"
        constraints = [models.UniqueConstraint(fields=["mn", "reason"], name="rejection_per_mn")]

    def __str__(self) -> str:
        return f"{self.mn} {self.get_reason_display()}"

    @classmethod
    def scope_filter(cls, grant) -> Q:
        q = Q(district__in=grant.district_ids) | Q(monitor__project__street__in=grant.street_ids)
        return q | Q(monitor__project__in=grant.projects().values("pk"))


class DustLimit(models.Model):
    """A concentration limit at the monitoring point (监控点浓度限值) with its averaging time
    and how many exceedances a day still count as compliant (达标判定). Reference data with
    its citation (design.md §2 rule 3), loaded from fixtures/limits.json; a new edition of a
    standard is a new row with a later `valid_from`."""

    public_reference = True  # every signed-in user may read the limit they are held to

    code = models.SlugField("编码", max_length=60, unique=True)
    particulate = models.CharField("颗粒物", max_length=8, choices=Particulate.choices)
    limit = models.FloatField("限值（µg/m³）")
    averaging_seconds = models.PositiveIntegerField(
        "平均时间（秒）", default=900,
        help_text="按此时段的均值判定（须为已计算的均值时段：900、3600 或 86400）")
    max_exceedances_per_day = models.PositiveSmallIntegerField(
        "每日允许超标次数", help_text="一日内超过限值的时段数不超过此数即为达标")
    standard = models.CharField("标准", max_length=100)
    clause = models.CharField("条款", max_length=100)
    citation = models.TextField("出处", help_text="条文出处及核对情况")
    valid_from = models.DateField("施行日期")
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["particulate", "-valid_from"]
        verbose_name = verbose_name_plural = "颗粒物浓度限值"
        constraints = [models.CheckConstraint(condition=Q(limit__gt=0), name="dust_limit_positive")]

    def __str__(self) -> str:
        return f"{self.standard} {self.clause} {self.get_particulate_display()} {self.limit:g} µg/m³"

    def clean(self):
        from smartsite.dust.services import MEAN_PERIODS

        if self.averaging_seconds not in MEAN_PERIODS:
            raise ValidationError(
                {"averaging_seconds": "平均时间须为 900、3600 或 86400 秒（平台计算的均值时段）"})
        if self.limit is not None and self.limit <= 0:
            raise ValidationError({"limit": "限值必须大于 0"})

    @classmethod
    def in_force(cls, particulate: str = Particulate.PM10,
                 on: datetime.date | None = None) -> DustLimit | None:
        """The active row for `particulate` in force on `on` (default today), or None."""
        from django.utils import timezone

        on = on or timezone.localdate()
        return (cls.objects.filter(particulate=particulate, active=True, valid_from__lte=on)
                .order_by("-valid_from", "-pk").first())


# ---------------------------------------------------------------- readings and means


def _add_value_columns(model) -> None:
    for metric in METRICS:
        model.add_to_class(metric.column, models.FloatField(metric.label, null=True, blank=True))


def _add_mean_columns(model) -> None:
    for metric in ROLLED_UP:
        model.add_to_class(f"n_{metric.column}", models.PositiveIntegerField(default=0))
        model.add_to_class(f"sum_{metric.column}", models.FloatField(default=0.0))
        model.add_to_class(f"max_{metric.column}", models.FloatField(null=True))


class MeanMixin:
    """Means from the stored sums: valid values only; noise as an energy mean."""

    def mean(self, column: str) -> float | None:
        n = getattr(self, f"n_{column}")
        if not n:
            return None
        value = getattr(self, f"sum_{column}") / n
        return from_energy(value) if BY_COLUMN[column].energy_mean else value

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.bucket:%Y-%m-%d %H:%M}"


class Reading(models.Model):
    """One packet's values (wide row), particulate in µg/m³. `flags` holds one HJ 212 data
    flag per column of `metrics.METRICS`, in that order ('-' where the packet had no value)."""

    pk = models.CompositePrimaryKey("monitor_id", "cn", "data_time")
    monitor = models.ForeignKey(Monitor, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    cn = models.PositiveSmallIntegerField("命令编码")
    data_time = models.DateTimeField("数据时间")
    received_at = models.DateTimeField("接收时间")
    flags = models.CharField("数据标记", max_length=len(METRICS))

    class Meta:
        verbose_name = verbose_name_plural = "监测数据"

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.cn} {self.data_time:%Y-%m-%d %H:%M:%S}"

    def value(self, column: str) -> tuple[float | None, str]:
        """(value, data flag) of one column."""
        index = next(i for i, m in enumerate(METRICS) if m.column == column)
        return getattr(self, column), self.flags[index:index + 1] or "-"


class MinuteMean(MeanMixin, models.Model):
    """Per-minute sums of valid (flag N) real-time values; mean = sum / n (noise: energy)."""

    pk = models.CompositePrimaryKey("monitor_id", "bucket")
    monitor = models.ForeignKey(Monitor, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    bucket = models.DateTimeField("时段起")
    samples = models.PositiveIntegerField("数据条数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "分钟均值"


class PeriodMean(MeanMixin, models.Model):
    """15-minute (DB31/964-2016), hour and day sums of valid real-time values. Days start at
    midnight Shanghai time."""

    pk = models.CompositePrimaryKey("monitor_id", "period", "bucket")
    monitor = models.ForeignKey(Monitor, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    period = models.PositiveIntegerField("时段（秒）")
    bucket = models.DateTimeField("时段起")
    samples = models.PositiveIntegerField("数据条数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "时段均值"


_add_value_columns(Reading)
_add_mean_columns(MinuteMean)
_add_mean_columns(PeriodMean)
