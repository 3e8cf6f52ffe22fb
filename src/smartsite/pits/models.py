"""Pits, their construction stages and monitoring points, the readings and inclinometer
profiles of every survey, uploads, and the reference tables the assessment reads (GB 50497-2019
预警值, survey frequencies, assessment parameters — each row with its citation).

A reading's natural key is (point, measured_at) (design.md §2 rule 5): a re-sent survey adds
nothing. A point's `value` is what the instrument gives (an elevation change, a force, a water
level in mm …); its cumulative change is `value - baseline`, the baseline being the mean of
the first surveys (GB 50497-2019 §6.1: the initial value is the mean of at least three stable
observations; how many is the `baseline_surveys` parameter).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from smartsite.core.models import Enterprise, Project, ScopedModel
from smartsite.pits.choices import (
    Colour,
    Grade,
    Item,
    Level,
    Retaining,
    Source,
    Support,
    measure_of,
    unit_of,
)

__all__ = ["AlarmValue", "ColourChange", "Parameter", "Pit", "Point", "ProfileReading",
           "Reading", "Stage", "SurveyFrequency", "Upload", "UploadGap"]

CONFIDENCE = [("high", "两个来源一致"), ("medium", "单一来源"), ("low", "来源有疑问")]


def _range_ok(lo, hi) -> bool:
    return lo is None or hi is None or lo <= hi


class AlarmValue(models.Model):
    """One row of GB 50497-2019 表8.0.4 / 表8.0.5: the default 预警值 of an item for a pit
    grade (and retaining type, where the table distinguishes them). Values are the table's
    ranges; the designer chooses within them, and a point's own design values override the
    row (`Point.design_*`). Without a design value the assessment uses the range's lower
    (stricter) end."""

    public_reference = True

    code = models.SlugField("编码", max_length=60, unique=True)
    table = models.CharField("表", max_length=60)
    item = models.CharField("监测项目", max_length=30, choices=Item.choices)
    structure = models.CharField(
        "适用支护类型", max_length=120, blank=True,
        help_text="适用的围护结构代码（空格分隔，见 Retaining）；空 = 不区分；周边环境行为保护对象")
    structure_label = models.CharField("支护类型（表中写法）", max_length=100, blank=True)
    grade = models.PositiveSmallIntegerField("基坑安全等级", choices=Grade.choices)
    cumulative_mm_lo = models.DecimalField("累计绝对值下限（mm）", max_digits=9, decimal_places=2,
                                           null=True, blank=True)
    cumulative_mm_hi = models.DecimalField("累计绝对值上限（mm）", max_digits=9, decimal_places=2,
                                           null=True, blank=True)
    cumulative_pct_h_lo = models.DecimalField("相对开挖深度下限（%H）", max_digits=6,
                                              decimal_places=3, null=True, blank=True)
    cumulative_pct_h_hi = models.DecimalField("相对开挖深度上限（%H）", max_digits=6,
                                              decimal_places=3, null=True, blank=True)
    rate_lo = models.DecimalField("变化速率下限（mm/d）", max_digits=8, decimal_places=2,
                                  null=True, blank=True)
    rate_hi = models.DecimalField("变化速率上限（mm/d）", max_digits=8, decimal_places=2,
                                  null=True, blank=True)
    design_pct_lo = models.DecimalField("设计值百分比下限（%）", max_digits=6, decimal_places=2,
                                        null=True, blank=True)
    design_pct_hi = models.DecimalField("设计值百分比上限（%）", max_digits=6, decimal_places=2,
                                        null=True, blank=True)
    confidence = models.CharField("可信度", max_length=10, choices=CONFIDENCE)
    source = models.TextField("出处")
    note = models.TextField("说明", blank=True)

    class Meta:
        ordering = ["item", "structure", "grade"]
        verbose_name = verbose_name_plural = "监测预警值（GB 50497-2019）"

    def __str__(self) -> str:
        return f"{self.get_item_display()} {self.structure_label} {self.get_grade_display()}"

    def clean(self):
        for name in ("cumulative_mm", "cumulative_pct_h", "rate", "design_pct"):
            if not _range_ok(getattr(self, f"{name}_lo"), getattr(self, f"{name}_hi")):
                raise ValidationError({f"{name}_hi": "上限不能小于下限"})


class SurveyFrequency(models.Model):
    """The longest allowed gap between two surveys of a pit of a grade in a phase (GB 50497
    表7.0.3 practice): during excavation by the excavated fraction of H, after the base slab
    by days since it was cast."""

    public_reference = True

    code = models.SlugField("编码", max_length=60, unique=True)
    table = models.CharField("表", max_length=60)
    grade = models.PositiveSmallIntegerField("基坑安全等级", choices=Grade.choices)
    phase = models.CharField("阶段", max_length=20,
                             choices=[("excavation", "开挖期"), ("after_slab", "底板浇筑后")])
    depth_pct_h_from = models.DecimalField("开挖深度自（%H）", max_digits=6, decimal_places=2,
                                           null=True, blank=True)
    depth_pct_h_to = models.DecimalField("开挖深度至（%H）", max_digits=6, decimal_places=2,
                                         null=True, blank=True)
    days_after_slab_from = models.PositiveIntegerField("底板后天数自", null=True, blank=True)
    days_after_slab_to = models.PositiveIntegerField("底板后天数至", null=True, blank=True)
    interval_days = models.DecimalField("最长间隔（天）", max_digits=5, decimal_places=2,
                                        validators=[MinValueValidator(Decimal("0.1"))])
    text = models.CharField("表中写法", max_length=60)
    confidence = models.CharField("可信度", max_length=10, choices=CONFIDENCE)
    source = models.TextField("出处")
    note = models.TextField("说明", blank=True)

    class Meta:
        ordering = ["grade", "phase", "depth_pct_h_from", "days_after_slab_from"]
        verbose_name = verbose_name_plural = "监测频率"

    def __str__(self) -> str:
        return f"{self.get_grade_display()} {self.get_phase_display()} {self.text}"


class Parameter(models.Model):
    """A number the assessment uses (the 70 % watch line, how many surveys make a baseline,
    how soon a survey must be uploaded …), as data with its citation."""

    public_reference = True

    code = models.SlugField("编码", max_length=60, unique=True)
    name = models.CharField("名称", max_length=100)
    value = models.DecimalField("取值", max_digits=10, decimal_places=3)
    unit = models.CharField("单位", max_length=20, blank=True)
    confidence = models.CharField("可信度", max_length=10, choices=CONFIDENCE)
    source = models.TextField("出处")

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "评估参数"

    def __str__(self) -> str:
        return f"{self.name} = {self.value}{self.unit}"


class Pit(ScopedModel):
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="pits")
    code = models.SlugField("基坑编号", max_length=30)
    name = models.CharField("名称", max_length=100)
    safety_grade = models.PositiveSmallIntegerField("安全等级", choices=Grade.choices)
    environment_grade = models.PositiveSmallIntegerField("环境保护等级", choices=Grade.choices)
    design_depth_m = models.DecimalField(
        "设计开挖深度 H（m）", max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("80"))])
    retaining = models.CharField("围护结构", max_length=30, choices=Retaining.choices)
    support = models.CharField("支撑形式", max_length=30, choices=Support.choices)
    outline = models.JSONField(
        "基坑轮廓", default=list, blank=True,
        help_text="平面坐标（米，基坑局部坐标系）[[x, y], …]，至少三点，不自相交")
    monitoring_company = models.ForeignKey(
        Enterprise, verbose_name="监测单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="monitored_pits")
    design_unit = models.ForeignKey(
        Enterprise, verbose_name="设计单位", null=True, blank=True, on_delete=models.PROTECT,
        related_name="designed_pits")
    base_slab_on = models.DateField("底板浇筑日期", null=True, blank=True)
    colour = models.CharField("预警颜色", max_length=10, choices=Colour.choices,
                              default=Colour.GREEN,
                              help_text="设计单位研判确认的颜色")
    proposed_colour = models.CharField("平台建议颜色", max_length=10, choices=Colour.choices,
                                       default=Colour.GREEN)
    proposed_reasons = models.JSONField("建议依据", default=list, blank=True)
    assessed_at = models.DateTimeField("最近评估", null=True, blank=True)
    created = models.DateTimeField("创建时间", auto_now_add=True)
    updated = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["project", "code"]
        verbose_name = verbose_name_plural = "基坑"
        constraints = [models.UniqueConstraint(fields=["project", "code"],
                                               name="pits_pit_code_per_project")]

    def __str__(self) -> str:
        return f"{self.project.name} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("pits:pit", args=[self.pk])

    @property
    def deep(self) -> bool:
        """深基坑 the city watches closely: deeper than 12 m (design.md §4: 243 of ~1,074)."""
        return self.design_depth_m > 12

    def clean(self):
        from smartsite.pits.geometry import outline_error

        error = outline_error(self.outline) if self.outline else None
        if error:
            raise ValidationError({"outline": error})


class Stage(ScopedModel):
    """A construction stage (工况) from the day it starts: the excavation depth reached and
    whether the base slab is cast."""

    project_path = "pit__project"

    pit = models.ForeignKey(Pit, verbose_name="基坑", on_delete=models.CASCADE,
                            related_name="stages")
    name = models.CharField("工况", max_length=100)
    started_on = models.DateField("开始日期")
    excavation_depth_m = models.DecimalField("当前开挖深度（m）", max_digits=5, decimal_places=2,
                                             validators=[MinValueValidator(Decimal("0"))])
    base_slab = models.BooleanField("底板已浇筑", default=False)

    class Meta:
        ordering = ["pit", "started_on"]
        verbose_name = verbose_name_plural = "工况"
        constraints = [models.UniqueConstraint(fields=["pit", "started_on"],
                                               name="pits_stage_one_per_day")]

    def __str__(self) -> str:
        return f"{self.started_on} {self.name}"


class Point(ScopedModel):
    project_path = "pit__project"

    pit = models.ForeignKey(Pit, verbose_name="基坑", on_delete=models.CASCADE,
                            related_name="points")
    code = models.CharField("测点编号", max_length=30)
    item = models.CharField("监测项目", max_length=30, choices=Item.choices)
    x_m = models.FloatField("平面位置 x（m）", default=0)
    y_m = models.FloatField("平面位置 y（m）", default=0)
    instrument = models.CharField("仪器", max_length=100, blank=True)
    automated = models.BooleanField("自动化监测", default=False)
    tube_depth_m = models.DecimalField("测斜管深度（m）", max_digits=5, decimal_places=2,
                                       null=True, blank=True)
    design_value = models.DecimalField(
        "设计值（kN/kPa）", max_digits=10, decimal_places=2, null=True, blank=True,
        help_text="内力、压力类测点的设计值（如支撑轴力设计值），预警按其百分比判定")
    alarm_cumulative = models.DecimalField(
        "设计预警值：累计（mm 或 %设计值）", max_digits=9, decimal_places=2, null=True, blank=True,
        help_text="设计单位给定；留空则按 GB 50497-2019 表列默认值（区间下限）")
    alarm_rate = models.DecimalField("设计预警值：速率（mm/d）", max_digits=8, decimal_places=2,
                                     null=True, blank=True)
    baseline = models.DecimalField("初始值", max_digits=12, decimal_places=3, null=True,
                                   blank=True, editable=False)
    # An inclinometer uploaded as raw A0/A180 readings: the position profiles of its first
    # surveys and, once `baseline_surveys` of them are in, their mean (services.record_survey,
    # pits.uploads docstring). None for a hole whose surveys arrive as displacements.
    baseline_profile = models.JSONField("初始剖面（A0/A180 读数换算）", null=True, blank=True,
                                        editable=False)
    # What the latest assessment found (pits.assessment); shown on the plan. Its cumulative
    # change and rate are on the point's latest reading (`Reading.cumulative`), read with
    # the reading's time through `selectors.with_latest`: a survey writes a point only when
    # its level, reasons or baseline change.
    level = models.CharField("状态", max_length=10, choices=Level.choices, default=Level.NORMAL)
    reasons = models.JSONField("依据", default=list, blank=True, editable=False)
    active = models.BooleanField("在用", default=True)

    class Meta:
        ordering = ["pit", "item", "code"]
        verbose_name = verbose_name_plural = "监测点"
        constraints = [models.UniqueConstraint(fields=["pit", "code"],
                                               name="pits_point_code_per_pit")]

    def __str__(self) -> str:
        return f"{self.code} {self.get_item_display()}"

    @property
    def measure(self) -> str:
        return measure_of(self.item)

    @property
    def unit(self) -> str:
        return unit_of(self.item)


class Upload(ScopedModel):
    """One batch of survey data as it arrived (file, API, MQTT): who sent it, when, how many
    readings, how many of them late."""

    project_path = "pit__project"

    pit = models.ForeignKey(Pit, verbose_name="基坑", on_delete=models.CASCADE,
                            related_name="uploads")
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", null=True,
                                    blank=True, on_delete=models.SET_NULL)
    enterprise = models.ForeignKey(Enterprise, verbose_name="上传单位", null=True, blank=True,
                                   on_delete=models.SET_NULL)
    filename = models.CharField("文件名", max_length=200, blank=True)
    received_at = models.DateTimeField("接收时间")
    readings = models.PositiveIntegerField("新增读数", default=0)
    duplicates = models.PositiveIntegerField("重复读数（已忽略）", default=0)
    late = models.PositiveIntegerField("逾期上传读数", default=0)
    first_measured_at = models.DateTimeField("最早观测", null=True, blank=True)
    last_measured_at = models.DateTimeField("最晚观测", null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = verbose_name_plural = "数据上传"

    def __str__(self) -> str:
        return f"{self.pit} {self.received_at:%Y-%m-%d %H:%M} {self.readings}"


class Reading(ScopedModel):
    project_path = "point__pit__project"

    point = models.ForeignKey(Point, verbose_name="测点", on_delete=models.CASCADE,
                              related_name="readings")
    measured_at = models.DateTimeField("观测时间")
    value = models.DecimalField("观测值", max_digits=12, decimal_places=3)
    upload = models.ForeignKey(Upload, verbose_name="上传批次", on_delete=models.CASCADE,
                               related_name="rows")
    late = models.BooleanField("逾期上传", default=False)
    # What the assessment found when this was its point's latest reading (services.
    # assess_pits): the point's cumulative change and rate then. The latest reading's are
    # the point's (selectors.with_latest); a reading never assessed as the latest has none.
    cumulative = models.DecimalField("累计变化", max_digits=12, decimal_places=3, null=True,
                                     blank=True, editable=False)
    rate = models.DecimalField("变化速率（/d）", max_digits=10, decimal_places=3, null=True,
                               blank=True, editable=False)

    class Meta:
        ordering = ["point", "measured_at"]
        verbose_name = verbose_name_plural = "观测值"
        constraints = [models.UniqueConstraint(fields=["point", "measured_at"],
                                               name="pits_reading_natural_key")]

    def __str__(self) -> str:
        return f"{self.point.code} {self.measured_at:%Y-%m-%d %H:%M} {self.value}"


class ProfileReading(ScopedModel):
    """An inclinometer survey's cumulative displacement at one depth (mm, from the fixed
    bottom up, relative to the baseline profile: pits.inclinometer)."""

    project_path = "point__pit__project"

    point = models.ForeignKey(Point, verbose_name="测斜孔", on_delete=models.CASCADE,
                              related_name="profile")
    measured_at = models.DateTimeField("观测时间")
    depth_m = models.DecimalField("深度（m）", max_digits=6, decimal_places=2)
    displacement_mm = models.DecimalField("累计位移（mm）", max_digits=9, decimal_places=2)

    class Meta:
        ordering = ["point", "measured_at", "depth_m"]
        verbose_name = verbose_name_plural = "测斜剖面"
        constraints = [models.UniqueConstraint(fields=["point", "measured_at", "depth_m"],
                                               name="pits_profile_natural_key")]


class ColourChange(ScopedModel):
    """A pit's colour history: the platform's proposals and the design unit's judgements."""

    project_path = "pit__project"

    pit = models.ForeignKey(Pit, verbose_name="基坑", on_delete=models.CASCADE,
                            related_name="colour_changes")
    at = models.DateTimeField("时间")
    colour = models.CharField("颜色", max_length=10, choices=Colour.choices)
    proposed = models.BooleanField("平台建议", default=True,
                                   help_text="否 = 设计单位研判确认")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="研判人", null=True,
                              blank=True, on_delete=models.SET_NULL)
    reasons = models.JSONField("依据", default=list, blank=True)
    opinion = models.TextField("研判意见", blank=True)

    class Meta:
        ordering = ["pit", "-at", "-pk"]
        verbose_name = verbose_name_plural = "预警颜色记录"


class UploadGap(ScopedModel):
    """A survey that was due (by the frequency table for the pit's stage) and did not arrive
    in time: the monthly compliance report counts these per monitoring company."""

    project_path = "pit__project"

    pit = models.ForeignKey(Pit, verbose_name="基坑", on_delete=models.CASCADE,
                            related_name="gaps")
    item = models.CharField("监测项目", max_length=30, choices=Item.choices)
    due_at = models.DateTimeField("应测时间")
    interval_days = models.DecimalField("要求间隔（天）", max_digits=5, decimal_places=2)
    filled_at = models.DateTimeField("补测时间", null=True, blank=True)
    monitoring_company = models.ForeignKey(Enterprise, verbose_name="监测单位", null=True,
                                           blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-due_at"]
        verbose_name = verbose_name_plural = "漏测/迟报"
        constraints = [models.UniqueConstraint(fields=["pit", "item", "due_at"],
                                               name="pits_gap_natural_key"),
                       models.CheckConstraint(condition=Q(interval_days__gt=0),
                                              name="pits_gap_interval_positive")]
