"""The event center (事件中心) and the disposal center (处置中心): events, work orders, their
hash-chained action log, durable timers, notifications and the loop policies they follow."""

from __future__ import annotations

import copy
import datetime
import hashlib
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from smartsite.core.choices import PartyRole
from smartsite.core.models import Agency, Enterprise, Post, Project, Region, ScopedModel
from smartsite.workorders import policy as policy_spec
from smartsite.workorders.choices import (
    OPEN_EVENT_STATES,
    WORKING_ORDER_STATES,
    Action,
    EventState,
    LoopLevel,
    OrderState,
    Severity,
    TimerKind,
)

__all__ = ["Event", "LegalBasis", "LoopPolicy", "Notification", "OrderAction", "OrderAttachment",
           "Penalty", "Timer", "WorkOrder"]


class LoopPolicy(models.Model):
    """One version of the loop policy of a scenario's order kind. Editing makes a new version;
    orders keep the version they were opened under."""

    public_reference = True  # every signed-in user may read the rules they are held to

    scenario = models.SlugField("场景", max_length=30)
    kind = models.SlugField("工单类型", max_length=40)
    kind_label = models.CharField("工单类型名称", max_length=50)
    version = models.PositiveIntegerField("版本", default=1)
    active = models.BooleanField("生效", default=True)
    source = models.TextField("依据", help_text="标准或文件及条款")
    spec = models.JSONField("策略", help_text="见 workorders/policy.py 的格式说明")
    created = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["scenario", "kind", "-version"]
        verbose_name = verbose_name_plural = "闭环策略"
        constraints = [
            models.UniqueConstraint(fields=["scenario", "kind", "version"],
                                    name="loop_policy_version_unique"),
            models.UniqueConstraint(fields=["scenario", "kind"], condition=Q(active=True),
                                    name="loop_policy_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label}（{self.scenario} v{self.version}）"

    #: What a version is; once saved, none of it changes (publish a new version instead).
    VERSIONED_FIELDS = ("scenario", "kind", "kind_label", "version", "source", "spec")

    def clean(self):
        if self.pk:
            stored = LoopPolicy.objects.filter(pk=self.pk).values(*self.VERSIONED_FIELDS).first()
            if stored and any(stored[f] != getattr(self, f) for f in self.VERSIONED_FIELDS):
                raise ValidationError("闭环策略的已有版本不能直接修改，请发布新版本")
        try:
            policy_spec.parse(self.spec)
        except ValidationError as exc:
            raise ValidationError({"spec": exc.messages}) from exc

    @property
    def rules(self) -> policy_spec.Policy:
        """The parsed document, parsed once per saved version and process (`_RULES`)."""
        if self.pk is not None:
            cached = _RULES.get(self.pk)
            if cached is not None and cached[0] == self.spec:
                return cached[1]
        rules = policy_spec.parse(self.spec)
        if self.pk is not None:
            _RULES[self.pk] = (copy.deepcopy(self.spec), rules)
        return rules


#: Parsed rules by policy pk, with the document they came from. A saved version is never
#: edited (`LoopPolicy.clean()`), so every order of a version shares one parse; the document is
#: compared anyway (a few microseconds), so a row changed behind the application's back, or a
#: pk reused by another database, is parsed anew rather than answered from the cache.
_RULES: dict[int, tuple[dict, policy_spec.Policy]] = {}


class Event(ScopedModel):
    """Something a scenario found (发现/预警). A repeating condition updates the one open event
    with its dedup key instead of adding rows."""

    scenario = models.SlugField("场景", max_length=30)
    rule = models.SlugField("规则", max_length=60)
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="events")
    subject = models.CharField("对象", max_length=100, blank=True,
                               help_text="设备 MN、监测点或人员等")
    title = models.CharField("标题", max_length=200)
    severity = models.CharField("等级", max_length=10, choices=Severity.choices,
                                default=Severity.WARNING)
    state = models.CharField("状态", max_length=12, choices=EventState.choices,
                             default=EventState.NEW)
    dedup_key = models.CharField("去重键", max_length=200)
    occurred_at = models.DateTimeField("发生时间")
    first_seen = models.DateTimeField("首次发现")
    last_seen = models.DateTimeField("最近发现")
    count = models.PositiveIntegerField("次数", default=1)
    recovered_at = models.DateTimeField(
        "条件解除时间", null=True, blank=True,
        help_text="发现条件已不再成立的时间；未派单的事件随之“已自动恢复”，已派单的工单照常闭环")
    evidence = models.JSONField("证据", default=dict, blank=True)
    ignore_reason = models.CharField("忽略原因", max_length=200, blank=True)
    order = models.ForeignKey("WorkOrder", verbose_name="工单", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="events")

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = verbose_name_plural = "事件"
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], condition=Q(state__in=OPEN_EVENT_STATES),
                                    name="event_one_open_per_key"),
        ]
        indexes = [models.Index(fields=["project", "state"]),
                   models.Index(fields=["scenario", "state", "last_seen"])]

    def __str__(self) -> str:
        return self.title


class WorkOrder(ScopedModel):
    """A work order (工单). It always has a ball in court — the organisation (and role) whose
    turn it is — and, while open, a due time."""

    number = models.CharField("工单编号", max_length=30, unique=True, blank=True)
    scenario = models.SlugField("场景", max_length=30)
    kind = models.SlugField("工单类型", max_length=40)
    policy = models.ForeignKey(LoopPolicy, verbose_name="闭环策略", on_delete=models.PROTECT,
                               related_name="orders")
    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.PROTECT,
                                related_name="orders")
    district = models.ForeignKey(Region, verbose_name="区", on_delete=models.PROTECT,
                                 related_name="+",
                                 help_text="项目所在区（随项目变更）；区级查询与分片按此键")
    title = models.CharField("标题", max_length=200)
    description = models.TextField("说明", blank=True)
    state = models.CharField("状态", max_length=24, choices=OrderState.choices,
                             default=OrderState.PENDING_DISPATCH)
    loop_level = models.CharField("闭环层级", max_length=10, choices=LoopLevel.choices,
                                  default=LoopLevel.SMALL)
    court_agency = models.ForeignKey(Agency, verbose_name="当前办理机构", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    court_enterprise = models.ForeignKey(Enterprise, verbose_name="当前办理单位", null=True,
                                         blank=True, on_delete=models.PROTECT, related_name="+")
    court_party_role = models.CharField("当前办理单位角色", max_length=20, blank=True)
    court_post = models.ForeignKey(Post, verbose_name="当前办理岗位", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="接单人", null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="办理方中接单的人；换环节或换层级时清空")
    due_at = models.DateTimeField("办理时限", null=True, blank=True)
    overdue = models.BooleanField("已逾期", default=False)
    step = models.PositiveIntegerField("环节序号", default=0,
                                       help_text="每次换环节或换层级加一；过期的定时器据此作废")
    rejections = models.PositiveIntegerField("核查不通过次数", default=0)
    resume_state = models.CharField("挂起前状态", max_length=24, blank=True)
    version = models.PositiveIntegerField("版本", default=1)
    issuer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="派单人", null=True,
                               blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField("创建时间")
    closed_at = models.DateTimeField("闭环时间", null=True, blank=True)
    closed_level = models.CharField("闭环层级", max_length=10, choices=LoopLevel.choices,
                                    blank=True)

    class Meta:
        ordering = ["due_at", "-opened_at"]
        verbose_name = verbose_name_plural = "工单"
        indexes = [models.Index(fields=["state", "due_at"]),
                   models.Index(fields=["district", "due_at"], name="order_open_by_district",
                                condition=Q(state__in=WORKING_ORDER_STATES)),
                   models.Index(fields=["project", "state"]),
                   models.Index(fields=["court_agency", "state"]),
                   models.Index(fields=["court_enterprise", "state"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("workorders:order", args=[self.pk])

    @classmethod
    def scope_filter(cls, grant) -> Q:
        """A district grant filters on the order's own district (indexed; design.md §2.7 keeps
        hot queries keyed by district); other grants go through the project."""
        from smartsite.core.scoping import Grant

        q = Q(district__in=grant.district_ids) if grant.district_ids else Q(pk__in=[])
        rest = Grant(street_ids=grant.street_ids, enterprise_ids=grant.enterprise_ids,
                     project_ids=grant.project_ids)
        if not rest.is_empty:
            q |= Q(project__in=rest.projects().values("pk"))
        return q

    @property
    def court_label(self) -> str:
        if self.court_agency_id:
            return str(self.court_agency)
        if self.court_enterprise_id:
            post = f" · {self.court_post.name}" if self.court_post_id else ""
            return f"{self.court_enterprise}{post}"
        return "—"


class OrderAction(models.Model):
    """One entry of an order's history. Entries are hash-chained: each stores the hash of the
    one before, so an edit behind the application's back shows (`smartsite verify-orders`)."""

    order = models.ForeignKey(WorkOrder, verbose_name="工单", on_delete=models.CASCADE,
                              related_name="actions")
    seq = models.PositiveIntegerField("序号")
    action = models.CharField("动作", max_length=20, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField("操作人", max_length=150)
    at = models.DateTimeField("时间")
    comment = models.TextField("意见", blank=True)
    from_state = models.CharField("原状态", max_length=24, blank=True)
    to_state = models.CharField("新状态", max_length=24)
    loop_level = models.CharField("闭环层级", max_length=10)
    court = models.CharField("办理方", max_length=200, blank=True)
    data = models.JSONField("数据", default=dict, blank=True)
    prev_hash = models.CharField("上一条哈希", max_length=64)
    hash = models.CharField("哈希", max_length=64)

    class Meta:
        ordering = ["order", "seq"]
        verbose_name = verbose_name_plural = "工单操作记录"
        constraints = [models.UniqueConstraint(fields=["order", "seq"], name="order_action_seq")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.seq} {self.get_action_display()}"

    def content(self) -> dict:
        """What the hash covers (everything but the hash itself)."""
        return {
            "order": self.order_id, "seq": self.seq, "action": self.action,
            "actor": self.actor_id, "actor_name": self.actor_name,
            # In UTC whatever offset the caller's `now` had: the row reads back as UTC.
            "at": self.at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
            "comment": self.comment,
            "from_state": self.from_state, "to_state": self.to_state,
            "loop_level": self.loop_level, "court": self.court, "data": self.data,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        canonical = json.dumps(self.content(), ensure_ascii=False, sort_keys=True,
                               separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _attachment_path(instance, filename):
    return f"orders/{instance.action.order_id}/{instance.sha256[:16]}-{filename[-80:]}"


class OrderAttachment(models.Model):
    action = models.ForeignKey(OrderAction, verbose_name="操作", on_delete=models.CASCADE,
                               related_name="attachments")
    file = models.FileField("文件", upload_to=_attachment_path)
    name = models.CharField("文件名", max_length=200)
    content_type = models.CharField("类型", max_length=100)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "工单附件"

    def __str__(self) -> str:
        return self.name


class Timer(models.Model):
    """A durable timer: a row with a due time, fired once by `smartsite worker`."""

    order = models.ForeignKey(WorkOrder, verbose_name="工单", on_delete=models.CASCADE,
                              related_name="timers")
    kind = models.CharField("类型", max_length=12, choices=TimerKind.choices)
    step = models.PositiveIntegerField("环节序号")
    due_at = models.DateTimeField("到期时间")
    fired_at = models.DateTimeField("执行时间", null=True, blank=True)
    cancelled = models.BooleanField("已作废", default=False)
    outcome = models.CharField("结果", max_length=200, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = verbose_name_plural = "定时器"
        indexes = [models.Index(fields=["due_at"], condition=Q(fired_at__isnull=True,
                                                               cancelled=False),
                                name="timer_pending_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_id} @ {self.due_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An in-app notification for one user (the unread count in the header): about a work
    order, or (`link`, no order) about something else to act on, e.g. a monthly O&M review."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户",
                             on_delete=models.CASCADE, related_name="notifications")
    order = models.ForeignKey(WorkOrder, verbose_name="工单", on_delete=models.CASCADE,
                              related_name="notifications", null=True, blank=True)
    link = models.CharField("链接", max_length=200, blank=True,
                            help_text="不涉及工单的通知打开的页面")
    text = models.CharField("内容", max_length=300)
    created = models.DateTimeField("时间")
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = verbose_name_plural = "通知"
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.text


class LegalBasis(models.Model):
    """A legal basis for a penalty (处罚依据): the law and clause, the scenario it applies to
    and the fine range it allows. Reference data loaded from fixtures/legal_bases.json."""

    public_reference = True  # every signed-in user may read the law they are held to

    code = models.SlugField("编码", max_length=60, unique=True)
    law = models.CharField("法律法规", max_length=100, help_text="名称，不含书名号")
    clause = models.CharField("条款", max_length=100)
    scenario = models.SlugField("场景", max_length=30)
    violation = models.CharField("违法行为", max_length=300)
    party_role = models.CharField("处罚对象", max_length=20, choices=PartyRole.choices,
                                  default=PartyRole.CONTRACTOR)
    min_amount = models.DecimalField("罚款下限（元）", max_digits=12, decimal_places=2)
    max_amount = models.DecimalField("罚款上限（元）", max_digits=12, decimal_places=2)
    citation = models.TextField("出处", help_text="条文出处及核对情况")
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["scenario", "code"]
        verbose_name = verbose_name_plural = "处罚依据"
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0) & Q(max_amount__gte=F("min_amount")),
                                   name="legal_basis_range"),
        ]

    def __str__(self) -> str:
        return f"《{self.law}》{self.clause}"

    def clean(self):
        if (self.min_amount is not None and self.max_amount is not None
                and not 0 < self.min_amount <= self.max_amount):
            raise ValidationError({"max_amount": "罚款范围应满足 0 < 下限 ≤ 上限"})


class Penalty(ScopedModel):
    """A penalty decision (立案处罚) on a work order. Recorded by `services.record_penalty`,
    which also writes it into the order's hash-chained history (with its attachments)."""

    project_path = "order__project"

    order = models.ForeignKey(WorkOrder, verbose_name="工单", on_delete=models.PROTECT,
                              related_name="penalties")
    basis = models.ForeignKey(LegalBasis, verbose_name="处罚依据", on_delete=models.PROTECT,
                              related_name="penalties")
    amount = models.DecimalField("罚款金额（元）", max_digits=12, decimal_places=2)
    # The range the amount was checked against, as the basis said on the day: a later change
    # of the reference data must not rewrite what a decision was held to.
    basis_min = models.DecimalField("当时罚款下限（元）", max_digits=12, decimal_places=2)
    basis_max = models.DecimalField("当时罚款上限（元）", max_digits=12, decimal_places=2)
    decision_number = models.CharField("处罚决定书文号", max_length=60, unique=True)
    decided_on = models.DateField("决定日期")
    party = models.ForeignKey(Enterprise, verbose_name="被处罚单位", on_delete=models.PROTECT,
                              related_name="penalties")
    note = models.TextField("说明", blank=True)
    action = models.OneToOneField(OrderAction, verbose_name="工单操作记录", null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="penalty")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField("登记时间")

    class Meta:
        ordering = ["-decided_on", "-pk"]
        verbose_name = verbose_name_plural = "处罚记录"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="penalty_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.decision_number} ¥{self.amount}"
