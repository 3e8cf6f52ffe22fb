"""Key-post attendance (关键岗位到岗履职, 沪住建规范〔2022〕12号): which registered posts are key
posts and of which class, the rule parameters with their citations, reference face photos,
check-ins and their review cases, leave, stand-ins, stoppages and the closed days.

The registry (core.Person, Qualification, Post, PostAssignment) says who holds which post on
which project; this app never copies it. A check-in's natural key is (person, client_id): a
re-sent check-in adds nothing (design.md §2 rule 5). A day is closed once per assignment
(`AttendanceDay`, unique per assignment and date); `rates.py` decides its status.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from smartsite.attendance.choices import (
    CONFIDENCE,
    CaseStatus,
    Datum,
    DayStatus,
    Direction,
    IdentityResult,
    Outcome,
    PostClass,
    RequestStatus,
    SanctionKind,
    SanctionState,
    Signal,
    StoppageStatus,
)
from smartsite.core.models import Enterprise, Person, Post, PostAssignment, Project, ScopedModel

__all__ = ["AttendanceDay", "CheckIn", "Consequence", "Enrolment", "KeyPost", "Leave",
           "Parameter", "ReviewCase", "Sanction", "StandIn", "Stoppage"]


def _dates_ok(start, end) -> bool:
    return start is None or end is None or start <= end


class KeyPost(models.Model):
    """A registry post that is a key post (关键岗位) and its class (第一类 / 第二类)."""

    public_reference = True

    code = models.SlugField("编码", max_length=40, unique=True,
                            help_text="与岗位（core.Post）的代码相同")
    post = models.OneToOneField(Post, verbose_name="岗位", on_delete=models.PROTECT,
                                related_name="key_post")
    post_class = models.CharField("类别", max_length=2, choices=PostClass.choices)
    citation = models.TextField("依据")
    confidence = models.CharField("可信度", max_length=20, choices=CONFIDENCE,
                                  default="issue brief")

    class Meta:
        ordering = ["post_class", "code"]
        verbose_name = verbose_name_plural = "关键岗位"

    def __str__(self) -> str:
        return f"{self.post}（{self.get_post_class_display()}）"


class Parameter(models.Model):
    """A number the rules use (80 %, 5 hours, 20 %, the face distance …) with its citation."""

    public_reference = True

    code = models.SlugField("编码", max_length=60, unique=True)
    name = models.CharField("名称", max_length=100)
    value = models.FloatField("取值")
    unit = models.CharField("单位", max_length=30, blank=True)
    citation = models.TextField("依据")
    confidence = models.CharField("可信度", max_length=20, choices=CONFIDENCE)

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "考勤参数"

    def __str__(self) -> str:
        return f"{self.name} = {self.value:g}{self.unit}"


def _enrolment_path(instance, filename):
    return f"attendance/enrolments/{instance.person_id}/{filename[-80:]}"


def _checkin_path(instance, filename):
    return f"attendance/checkins/{instance.project_id}/{instance.person_id}/{filename[-80:]}"


class Enrolment(models.Model):
    """A person's reference face photo (现场人员录入 by the district 监督站) and its dlib
    encoding; `identity_result` is the comparison with the identity source (公安人脸库)."""

    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.CASCADE,
                               related_name="enrolments")
    photo = models.FileField("照片", upload_to=_enrolment_path)
    encoding = models.JSONField("人脸特征（128 维）", default=list)
    photo_sha256 = models.CharField("照片 SHA-256", max_length=64, db_index=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    enrolled_at = models.DateTimeField("录入时间")
    identity_result = models.CharField("身份核验", max_length=20, blank=True,
                                       choices=IdentityResult.choices)
    identity_distance = models.FloatField("身份核验距离", null=True, blank=True)
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["person", "-enrolled_at"]
        verbose_name = verbose_name_plural = "人脸录入"
        constraints = [models.UniqueConstraint(fields=["person"], condition=Q(active=True),
                                               name="attendance_one_active_enrolment")]

    def __str__(self) -> str:
        return f"{self.person} · {self.enrolled_at:%Y-%m-%d}"

    @classmethod
    def scope_filter(cls, grant) -> Q:
        return Q(person__in=Person.objects.filter(Person.scope_filter(grant)).values("pk"))


class _Request(ScopedModel):
    """What a leave and a stand-in share: whole days, requested by the post's party and
    decided by the 建设单位."""

    project_path = "assignment__project"

    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    status = models.CharField("状态", max_length=20, choices=RequestStatus.choices,
                              default=RequestStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="申请人", null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField("申请时间", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审批人", null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    note = models.CharField("审批意见", max_length=200, blank=True)

    class Meta:
        abstract = True

    def clean(self):
        if not _dates_ok(self.start_date, self.end_date):
            raise ValidationError({"end_date": "结束日期不能早于开始日期"})


class StandIn(_Request):
    """A stand-in (顶岗) for a key-post holder over some days, holding a valid qualification of
    the same kind as the holder's; approved by the 建设单位."""

    assignment = models.ForeignKey(PostAssignment, verbose_name="被顶岗任职",
                                   on_delete=models.CASCADE, related_name="stand_ins")
    person = models.ForeignKey(Person, verbose_name="顶岗人员", on_delete=models.PROTECT,
                               related_name="stand_ins")
    reason = models.CharField("事由", max_length=200, blank=True)

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = verbose_name_plural = "顶岗"

    def __str__(self) -> str:
        return f"{self.person} 顶岗 {self.assignment} {self.start_date}～{self.end_date}"



class CheckIn(ScopedModel):
    """One clock-in or clock-out from the phone (entry 进场 / exit 离场), with what the server
    checked and why it was accepted, rejected or sent to review (`reasons`)."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="checkins")
    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.PROTECT,
                               related_name="checkins")
    assignment = models.ForeignKey(PostAssignment, verbose_name="打卡岗位", null=True,
                                   blank=True, on_delete=models.SET_NULL,
                                   related_name="checkins")
    stand_in = models.ForeignKey(StandIn, verbose_name="顶岗", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="checkins")
    client_id = models.CharField("客户端编号", max_length=64)
    direction = models.CharField("方向", max_length=10, choices=Direction.choices)
    device_time = models.DateTimeField("设备时间", null=True, blank=True)
    at = models.DateTimeField("服务器时间", db_index=True)
    lng_raw = models.FloatField("上报经度")
    lat_raw = models.FloatField("上报纬度")
    datum = models.CharField("坐标系", max_length=10, choices=Datum.choices)
    accuracy_m = models.FloatField("定位精度（m）", null=True, blank=True)
    lng = models.FloatField("经度（WGS-84）", null=True, blank=True)
    lat = models.FloatField("纬度（WGS-84）", null=True, blank=True)
    device_id = models.CharField("设备标识", max_length=100, blank=True)
    photo = models.FileField("现场照片", upload_to=_checkin_path, blank=True)
    photo_sha256 = models.CharField("照片 SHA-256", max_length=64, blank=True, db_index=True)
    face_distance = models.FloatField("人脸距离", null=True, blank=True)
    outcome = models.CharField("结果", max_length=10, choices=Outcome.choices)
    reasons = models.JSONField("原因", default=list, blank=True,
                               help_text='[{"code": …, "message": …}]')
    created = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = verbose_name_plural = "考勤打卡"
        constraints = [models.UniqueConstraint(fields=["person", "client_id"],
                                               name="attendance_checkin_once")]
        indexes = [models.Index(fields=["person", "at"], name="attendance_checkin_person_at"),
                   models.Index(fields=["project", "at"], name="attendance_checkin_proj_at")]

    def __str__(self) -> str:
        return f"{self.person} {self.get_direction_display()} {self.at:%Y-%m-%d %H:%M}"


class ReviewCase(ScopedModel):
    """A spoofing signal on a check-in, waiting for a person's decision. A confirmed case
    (确认作假) makes the check-in not count: faked attendance counts as absence."""

    project_path = "checkin__project"

    checkin = models.ForeignKey(CheckIn, verbose_name="打卡", on_delete=models.CASCADE,
                                related_name="review_cases")
    signal = models.CharField("信号", max_length=30, choices=Signal.choices)
    evidence = models.JSONField("证据", default=dict, blank=True)
    status = models.CharField("状态", max_length=20, choices=CaseStatus.choices,
                              default=CaseStatus.OPEN)
    created = models.DateTimeField("发现时间", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="复核人", null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField("复核时间", null=True, blank=True)
    note = models.CharField("复核意见", max_length=200, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = verbose_name_plural = "考勤复核"
        constraints = [models.UniqueConstraint(fields=["checkin", "signal"],
                                               name="attendance_case_once")]

    def __str__(self) -> str:
        return f"{self.get_signal_display()} · {self.checkin}"


class Leave(_Request):
    """A key-post holder's leave (请假) over whole days, approved by the 建设单位."""

    assignment = models.ForeignKey(PostAssignment, verbose_name="任职", on_delete=models.CASCADE,
                                   related_name="leaves")
    reason = models.CharField("事由", max_length=200)

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = verbose_name_plural = "请假"

    def __str__(self) -> str:
        return f"{self.assignment} 请假 {self.start_date}～{self.end_date}"



class Stoppage(ScopedModel):
    """A filed 停工; once approved it pauses counting on the project (its days are not
    construction days)."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="stoppages")
    start_date = models.DateField("停工日期")
    end_date = models.DateField("复工前一日", null=True, blank=True,
                                help_text="空 = 尚未复工")
    reason = models.CharField("停工原因", max_length=200)
    status = models.CharField("状态", max_length=20, choices=StoppageStatus.choices,
                              default=StoppageStatus.FILED)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="报备人", null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")
    filed_at = models.DateTimeField("报备时间", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审批人", null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = verbose_name_plural = "停工报备"

    def __str__(self) -> str:
        return f"{self.project} 停工 {self.start_date}～{self.end_date or ''}"

    def clean(self):
        if not _dates_ok(self.start_date, self.end_date):
            raise ValidationError({"end_date": "复工日期不能早于停工日期"})


class AttendanceDay(ScopedModel):
    """One closed day of one key-post assignment: first accepted entry, last accepted exit,
    the hours between them and the day's status (rates.day_status)."""

    assignment = models.ForeignKey(PostAssignment, verbose_name="任职", on_delete=models.CASCADE,
                                   related_name="attendance_days")
    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.PROTECT,
                               related_name="attendance_days")
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="attendance_days")
    post_class = models.CharField("类别", max_length=2, choices=PostClass.choices)
    date = models.DateField("日期")
    first_in = models.DateTimeField("首次进场", null=True, blank=True)
    last_out = models.DateTimeField("末次离场", null=True, blank=True)
    hours = models.FloatField("在场小时", default=0)
    status = models.CharField("状态", max_length=20, choices=DayStatus.choices)
    stand_in = models.ForeignKey(StandIn, verbose_name="顶岗", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField("结算时间")

    class Meta:
        ordering = ["-date", "assignment"]
        verbose_name = verbose_name_plural = "考勤日"
        constraints = [models.UniqueConstraint(fields=["assignment", "date"],
                                               name="attendance_day_once")]
        indexes = [models.Index(fields=["project", "date"], name="attendance_day_proj_date"),
                   models.Index(fields=["person", "date"], name="attendance_day_person_date")]

    def __str__(self) -> str:
        return f"{self.person} {self.date} {self.get_status_display()}"


class Consequence(models.Model):
    """A consequence the rules attach to a post below the rate (fixtures/sanctions.json): the
    rectification steps the loops carry and the sanctions the platform proposes (`kind`)."""

    public_reference = True

    code = models.SlugField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100)
    post_class = models.CharField("类别", max_length=2, blank=True, choices=PostClass.choices,
                                  help_text="空 = 两类均适用")
    kind = models.CharField("后果类型", max_length=20, blank=True, choices=SanctionKind.choices,
                            help_text="空 = 由闭环工单承载的整改步骤")
    trigger = models.TextField("触发条件")
    citation = models.TextField("依据")
    confidence = models.CharField("可信度", max_length=20, choices=CONFIDENCE)
    note = models.TextField("说明", blank=True)

    class Meta:
        ordering = ["post_class", "code"]
        verbose_name = verbose_name_plural = "考勤后果"

    def __str__(self) -> str:
        return self.name


class Sanction(ScopedModel):
    """A consequence the platform derived from the month verdicts and their orders
    (services.derive_sanctions) — a proposal until the project's district regulator confirms
    or withdraws it (services.decide_sanction). `key` makes deriving idempotent: one row per
    post and month (penalty), post and quarter (rating), enterprise and year (no awards)."""

    key = models.CharField("去重键", max_length=120, unique=True)
    kind = models.CharField("后果", max_length=20, choices=SanctionKind.choices)
    consequence = models.ForeignKey(Consequence, verbose_name="依据条目", null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="sanctions")
    enterprise = models.ForeignKey(Enterprise, verbose_name="企业", on_delete=models.PROTECT,
                                   related_name="attendance_sanctions",
                                   help_text="岗位所属的参建单位")
    assignment = models.ForeignKey(PostAssignment, verbose_name="任职", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="sanctions")
    person = models.ForeignKey(Person, verbose_name="人员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="sanctions")
    post_class = models.CharField("类别", max_length=2, blank=True, choices=PostClass.choices)
    period = models.CharField("期间", max_length=10,
                              help_text="月 2026-11 / 季度 2026Q4 / 年 2026")
    reason = models.TextField("理由")
    evidence = models.JSONField("证据", default=dict, blank=True,
                                help_text="所依据的工单与月度认定")
    state = models.CharField("状态", max_length=12, choices=SanctionState.choices,
                             default=SanctionState.PROPOSED)
    proposed_at = models.DateTimeField("提出时间")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="确认人", null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField("确认时间", null=True, blank=True)
    note = models.CharField("意见", max_length=200, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        verbose_name = verbose_name_plural = "考勤后果认定"
        indexes = [models.Index(fields=["enterprise", "kind", "period"],
                                name="attendance_sanction_ent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.enterprise} · {self.period}"
