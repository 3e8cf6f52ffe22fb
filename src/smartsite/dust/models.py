"""Monitors, their readings and means, live status, connections and rejected devices.

Readings and means are the big tables (design.md §2 rule 7: ~6.5 million readings a day for
the city's 4,500 monitors at one packet a minute). Their natural key is the primary key
(monitor, CN, DataTime; design.md §2 rule 5), so a re-sent packet cannot add a row. On
PostgreSQL they are range-partitioned by time (`dust.partitions`); every hot query is filtered
by monitor first, which is what the primary key serves.
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from smartsite.core.models import Enterprise, Project, Region, ScopedModel
from smartsite.dust.choices import (
    InspectionKind,
    MaintenanceKind,
    MonitorKind,
    Particulate,
    ParticulateUnit,
    RejectReason,
    ReviewState,
    SprayKind,
)
from smartsite.dust.metrics import BY_COLUMN, METRICS, ROLLED_UP, from_energy

__all__ = ["DeviceRejection", "DustLimit", "DustRule", "Inspection", "MaintenanceRecord",
           "Monitor", "MonitorConnection", "MonitorStatus", "MonthlyReview", "NoiseDay",
           "PeriodMean", "Reading", "RollupPending", "SprayDevice", "SprayReading"]

# (Its length is max_length's: one message per fault.)
mn_validator = RegexValidator(r"^[0-9A-Za-z]+$", "设备编码（MN）为 1–24 位字母或数字")
#: Characters that delimit HJ 212 fields: a password holding one could not be sent.
PACKET_DELIMITERS = set(";,=&") | {" "}
#: No record (installation, maintenance) is dated before this year: year 1 is a typo, and
#: does not survive the conversion to UTC either.
EARLIEST_YEAR = 2000


def validate_packet_password(value: str) -> None:
    """A PW the device can send: printable ASCII without the packet's delimiters."""
    bad = sorted({c for c in value or "" if c in PACKET_DELIMITERS or not c.isascii()
                  or not c.isprintable()})
    if bad:
        shown = "、".join("空格" if c == " " else f"“{c}”" for c in bad)
        raise ValidationError(
            f"访问密码（PW）不能含有 {shown}（HJ 212 报文的分隔符或非 ASCII 字符）",
            code="packet_delimiter")


class Monitor(ScopedModel):
    """A dust/noise online monitor (扬尘噪声在线监测设备) on a project, known by its HJ 212 MN."""

    # The messages live on the fields so that every path (the page's form, the API, the
    # CLI) refuses the same input with the same words (`full_clean`).
    mn = models.CharField(
        "设备编码（MN）", max_length=24, unique=True, validators=[mn_validator],
        error_messages={"unique": "该设备编码（MN）已登记给另一台设备，MN 不能重复",
                        "max_length": "设备编码（MN）最多 24 位",
                        "blank": "请填写设备编码（MN）"})
    password = models.CharField(
        "访问密码（PW）", max_length=6, validators=[validate_packet_password],
        error_messages={"max_length": "访问密码（PW）最多 6 位（HJ 212 报文的 PW 字段）",
                        "blank": "请填写访问密码（PW）"},
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
    model_name = models.CharField("设备型号", max_length=100, blank=True)
    measures = models.JSONField(
        "监测参数", default=list, blank=True,
        help_text="设备测量的参数（metrics 列名，如 pm10、noise）；空表示按设备类型")
    longitude = models.FloatField("经度（WGS-84）", null=True, blank=True)
    latitude = models.FloatField("纬度（WGS-84）", null=True, blank=True)
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

    def clean(self):
        from smartsite.dust import siting

        errors: dict[str, list[str]] = {}
        if (self.longitude is None) != (self.latitude is None):
            errors.setdefault("longitude", []).append("经度和纬度须同时填写")
        elif self.longitude is not None and self.project_id:
            problem = siting.position_problem(self.project, self.longitude, self.latitude)
            if problem:
                errors.setdefault("longitude", []).append(problem)
        if self.measures:
            known = set(BY_COLUMN)
            if not isinstance(self.measures, list) or set(map(str, self.measures)) - known:
                errors.setdefault("measures", []).append(
                    f"监测参数只能是 {', '.join(sorted(known))} 中的若干项")
        if self.installed_on and self.installed_on > timezone.localdate():  # Shanghai's today
            errors.setdefault("installed_on", []).append("安装日期不能晚于今天")
        if self.installed_on and self.installed_on.year < EARLIEST_YEAR:
            errors.setdefault("installed_on", []).append(f"安装日期不能早于 {EARLIEST_YEAR} 年")
        if errors:
            raise ValidationError(errors)


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
    confirmed = models.BooleanField(
        "限值已核实", default=False,
        help_text="限值已按标准正式文本核对；未核实的限值在每个显示它的页面标注“待核实”")
    valid_from = models.DateField("施行日期")
    active = models.BooleanField("有效", default=True)

    #: How an unconfirmed limit is marked wherever its value is shown.
    UNCONFIRMED = "待核实"

    class Meta:
        ordering = ["particulate", "-valid_from"]
        verbose_name = verbose_name_plural = "颗粒物浓度限值"
        constraints = [models.CheckConstraint(condition=Q(limit__gt=0), name="dust_limit_positive")]

    def __str__(self) -> str:
        return f"{self.standard} {self.clause} {self.get_particulate_display()} {self.value_text}"

    @property
    def status(self) -> str:
        """"" for a value checked against the standard's text, else "待核实"."""
        return "" if self.confirmed else self.UNCONFIRMED

    @property
    def value_text(self) -> str:
        """The value as users read it: "100 µg/m³", or "100 µg/m³（待核实）"."""
        return f"{self.limit:g} µg/m³" + (f"（{self.status}）" if self.status else "")

    @property
    def short_label(self) -> str:
        """For a chart's limit line: "限值 100", or "限值 100（待核实）"."""
        return f"限值 {self.limit:g}" + (f"（{self.status}）" if self.status else "")

    def clean(self):
        from smartsite.dust.ingest import MEAN_PERIODS

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


# ---------------------------------------------------------------- registry: inspections, spray


def _certificate_path(instance, filename):
    return f"dust/certificates/{instance.monitor_id}/{filename[-80:]}"


class Inspection(ScopedModel):
    """An annual inspection (年检), calibration or comparison of a monitor, with its certificate
    and the date it expires. The latest annual inspection's expiry decides 未年检."""

    project_path = "monitor__project"

    monitor = models.ForeignKey(Monitor, verbose_name="设备", on_delete=models.CASCADE,
                                related_name="inspections")
    kind = models.CharField("类型", max_length=12, choices=InspectionKind.choices,
                            default=InspectionKind.ANNUAL)
    inspected_on = models.DateField("检定/校准日期")
    expires_on = models.DateField("有效期至")
    body = models.CharField("检测机构", max_length=100)
    certificate_no = models.CharField("证书编号", max_length=60)
    certificate = models.FileField("证书文件", upload_to=_certificate_path, blank=True)
    passed = models.BooleanField("结论合格", default=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        ordering = ["-inspected_on", "-pk"]
        verbose_name = verbose_name_plural = "年检与校准记录"
        constraints = [models.UniqueConstraint(fields=["monitor", "kind", "certificate_no"],
                                               name="inspection_certificate_once")]
        indexes = [models.Index(fields=["monitor", "kind", "-expires_on"])]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.get_kind_display()} {self.certificate_no}"

    @property
    def certificate_name(self) -> str:
        return self.certificate.name.rsplit("/", 1)[-1] if self.certificate else ""

    @property
    def certificate_link(self) -> str:
        """The certificate's download link ("" without one): the scoped view, never the media
        path (no route serves it, and a web server serving it would skip the scope)."""
        from django.urls import reverse

        if not self.certificate:
            return ""
        return reverse("dust:inspection_certificate", args=[self.pk, self.certificate_name])

    def clean(self):
        errors: dict[str, list[str]] = {}
        today = timezone.localdate()  # Shanghai's date: the server's (UTC) lags 8 hours
        if self.inspected_on and self.inspected_on > today:
            errors.setdefault("inspected_on", []).append(
                f"检定日期 {self.inspected_on:%Y-%m-%d} 晚于今天，证书日期不能在未来")
        if self.inspected_on and self.expires_on and self.expires_on <= self.inspected_on:
            errors.setdefault("expires_on", []).append("有效期须晚于检定日期")
        if self.inspected_on and self.expires_on and \
                (self.expires_on - self.inspected_on).days > 2 * 366:
            errors.setdefault("expires_on", []).append("有效期不能超过检定日期后两年")
        if errors:
            raise ValidationError(errors)


SB_CODE_MESSAGE = "设施编码为 SB 加 1–3 位数字，如 SB1"


class SprayDevice(ScopedModel):
    """A fog cannon or spray system (雾炮/喷淋) linked to a monitor: it should start when the
    monitor's readings exceed. Its on/off state arrives as telemetry through the monitor's
    HJ 212 link (CN 2021, `SBn-RS`) under the code `sb_code`."""

    project_path = "monitor__project"

    monitor = models.ForeignKey(Monitor, verbose_name="联动监测设备", on_delete=models.CASCADE,
                                related_name="sprays")
    kind = models.CharField("类型", max_length=12, choices=SprayKind.choices,
                            default=SprayKind.FOG_CANNON)
    name = models.CharField("名称", max_length=60, error_messages={"blank": "请填写名称"})
    # Case-insensitive here: `services` stores it upper-case, on the page and over the API.
    sb_code = models.CharField(
        "设施编码", max_length=6, default="SB1",
        validators=[RegexValidator(r"^SB[0-9]{1,3}$", SB_CODE_MESSAGE, flags=re.IGNORECASE)],
        error_messages={"blank": "请填写设施编码，如 SB1", "max_length": SB_CODE_MESSAGE},
        help_text="HJ 212 报文中治理设施的编号（SB1-RS=1 表示运行）")
    running = models.BooleanField("运行中", default=False)
    state_at = models.DateTimeField("状态时间", null=True, blank=True)
    active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ["monitor", "sb_code"]
        verbose_name = verbose_name_plural = "喷淋雾炮"
        constraints = [models.UniqueConstraint(fields=["monitor", "sb_code"],
                                               name="spray_code_per_monitor")]

    def __str__(self) -> str:
        return f"{self.name}（{self.sb_code}）"


class SprayReading(models.Model):
    """One reported state of a spray device (natural key: device + data time; a re-sent packet
    adds nothing)."""

    pk = models.CompositePrimaryKey("device_id", "data_time")
    device = models.ForeignKey(SprayDevice, on_delete=models.CASCADE, related_name="+")
    data_time = models.DateTimeField("数据时间")
    running = models.BooleanField("运行")

    class Meta:
        verbose_name = verbose_name_plural = "喷淋雾炮状态"

    def __str__(self) -> str:
        return f"{self.device_id} {self.data_time:%Y-%m-%d %H:%M:%S} {'运行' if self.running else '关闭'}"


class NoiseDay(models.Model):
    """A noise monitor's own day figures (HJ 212-2017 CN 2031 with the noise suffixes of 表 4
    `-DayData` / `-NightData` / `-Data`, 附录 C 表 C.28): the day-time and night-time
    equivalent levels GB 12523 judges, as the device computed them over its local authority's
    day and night. One row per monitor and day (Shanghai date); a re-sent day adds nothing, a
    later packet of the same day fills what an earlier one lacked."""

    pk = models.CompositePrimaryKey("monitor_id", "day")
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="+")
    day = models.DateField("日期")
    day_leq = models.FloatField("昼间等效声级 dB(A)", null=True)
    night_leq = models.FloatField("夜间等效声级 dB(A)", null=True)
    ldn = models.FloatField("昼夜等效声级 dB(A)", null=True)
    day_max = models.FloatField("昼间最大声级 dB(A)", null=True)
    night_max = models.FloatField("夜间最大声级 dB(A)", null=True)
    received_at = models.DateTimeField("接收时间")

    class Meta:
        verbose_name = verbose_name_plural = "噪声日数据"

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.day:%Y-%m-%d}"


# ---------------------------------------------------------------- O&M (设备运维)


class MaintenanceRecord(ScopedModel):
    """A visit, fault, repair, replacement or calibration of a monitor, entered by the project's
    O&M company (运维单位). A fault is open until `ended_at`; time to repair is the difference."""

    project_path = "monitor__project"

    monitor = models.ForeignKey(Monitor, verbose_name="设备", on_delete=models.CASCADE,
                                related_name="maintenance")
    kind = models.CharField("类型", max_length=12, choices=MaintenanceKind.choices)
    started_at = models.DateTimeField("开始时间")
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    description = models.TextField("内容")
    technician = models.CharField("运维人员", max_length=40, blank=True)
    enterprise = models.ForeignKey(Enterprise, verbose_name="运维单位", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = verbose_name_plural = "运维记录"
        indexes = [models.Index(fields=["monitor", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.get_kind_display()} {self.started_at:%Y-%m-%d}"

    def clean(self):
        from django.utils import timezone

        errors: dict[str, list[str]] = {}
        soon = timezone.now() + datetime.timedelta(minutes=10)
        if self.started_at and self.started_at > soon:
            errors.setdefault("started_at", []).append("开始时间不能晚于现在")
        if self.ended_at and self.ended_at > soon:
            errors.setdefault("ended_at", []).append("结束时间不能晚于现在")
        # (year 1 in Shanghai time does not survive the conversion to UTC on save)
        for name, label in (("started_at", "开始时间"), ("ended_at", "结束时间")):
            value = getattr(self, name)
            if value and value.year < EARLIEST_YEAR:
                errors.setdefault(name, []).append(f"{label}不能早于 {EARLIEST_YEAR} 年")
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            errors.setdefault("ended_at", []).append("结束时间不能早于开始时间")
        if errors:
            raise ValidationError(errors)


class MonthlyReview(ScopedModel):
    """A project's monthly O&M statistics (uptime, data completeness, faults, time to repair),
    pushed to the contractor's project manager to review (审核) or send back (驳回)."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="dust_reviews")
    month = models.DateField("月份", help_text="该月 1 日")
    stats = models.JSONField("统计", default=dict)
    generated_at = models.DateTimeField("生成时间")
    state = models.CharField("状态", max_length=10, choices=ReviewState.choices,
                             default=ReviewState.PENDING)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    comment = models.CharField("审核意见", max_length=500, blank=True)

    class Meta:
        ordering = ["-month", "project"]
        verbose_name = verbose_name_plural = "运维月报"
        constraints = [models.UniqueConstraint(fields=["project", "month"],
                                               name="dust_review_per_month")]

    def __str__(self) -> str:
        return f"{self.project} {self.month:%Y-%m} 运维月报"


# ---------------------------------------------------------------- rules as data


class DustRule(models.Model):
    """A detection rule of the dust scenario with its parameters and citation (design.md §2
    rule 3). Rows come from fixtures/rules.json the first time; an administrator's later edits
    are kept (and audited), never overwritten by a deployment."""

    public_reference = True

    code = models.SlugField("编码", max_length=40, unique=True)
    label = models.CharField("名称", max_length=60)
    params = models.JSONField("参数", default=dict, blank=True,
                              help_text="只写与默认值不同的参数；未写的取默认值")
    source = models.TextField("依据", help_text="标准条款或本平台的取值理由")
    enabled = models.BooleanField("启用", default=True)
    last_run_at = models.DateTimeField("最近运行", null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "扬尘规则"

    def __str__(self) -> str:
        return self.label

    def clean(self):
        from smartsite.dust import rules

        try:
            rules.parse(self.code, self.params)
        except ValidationError as exc:
            raise ValidationError({"params": exc.messages}) from exc


# ---------------------------------------------------------------- readings and means


class RealField(models.FloatField):
    """A measured value: 4-byte `real` on PostgreSQL (SQLite's REAL is always 8 bytes).
    HJ 212 values carry a few decimals — well inside real's ~7 significant digits, and
    PostgreSQL prints a real back with the digits it was given (80.1 reads as 80.1)."""

    def db_type(self, connection):
        return "real" if connection.vendor == "postgresql" else super().db_type(connection)


class MonitorKey(models.ForeignKey):
    """A reading's monitor: a 4-byte `integer` on PostgreSQL (monitor ids stay far below
    2³¹), 4 bytes less per reading in the table and in its primary key."""

    def db_type(self, connection):
        return "integer" if connection.vendor == "postgresql" else super().db_type(connection)


def _add_value_columns(model) -> None:
    for metric in METRICS:
        model.add_to_class(metric.column, RealField(metric.label, null=True, blank=True))


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
    flag per column of `metrics.METRICS`, in that order ('-' where the packet had no value).

    Minute means are not stored: they are these rows grouped by minute (`dust.minutes`), so a
    monitor sending one packet a minute keeps each number once. On PostgreSQL the columns are
    laid out 8-byte first, then the 4-byte monitor and values, then `cn` and `flags`
    (migration 0008), so a row has no alignment padding."""

    pk = models.CompositePrimaryKey("monitor_id", "cn", "data_time")
    monitor = MonitorKey(Monitor, on_delete=models.DO_NOTHING, db_constraint=False,
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


class PeriodMean(MeanMixin, models.Model):
    """15-minute (DB31/964-2016), hour and day sums of valid real-time values. Days start at
    midnight Shanghai time. 15-minute rows are written with the readings they come from (in
    the acknowledged transaction); hour and day rows are rolled up from them a few seconds
    later (`ingest.roll_up`, from the `RollupPending` rows the same transaction wrote)."""

    pk = models.CompositePrimaryKey("monitor_id", "period", "bucket")
    monitor = models.ForeignKey(Monitor, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    period = models.PositiveIntegerField("时段（秒）")
    bucket = models.DateTimeField("时段起")
    samples = models.PositiveIntegerField("数据条数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "时段均值"


class RollupPending(models.Model):
    """Hours whose 15-minute means changed and whose hour and day means are not yet rolled up:
    one row per stored batch and hour, written in the batch's own transaction (so a packet
    acknowledged is a packet whose rollup is owed, even if the gateway is killed next), and
    deleted by `ingest.roll_up` in the transaction that rolls them up."""

    bucket = models.DateTimeField("小时起")
    monitors = models.JSONField("设备", default=list)

    class Meta:
        verbose_name = verbose_name_plural = "待汇总时段"

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d %H:%M} ({len(self.monitors)})"


_add_value_columns(Reading)
_add_mean_columns(PeriodMean)
