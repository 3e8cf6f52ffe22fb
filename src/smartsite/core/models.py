"""The registry: regions, agencies, enterprises, projects and their parties, people, posts,
users' scoped roles, API tokens and the audit trail."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from smartsite.core import validators
from smartsite.core.choices import (
    AgencyKind,
    AuditAction,
    PartyRole,
    ProjectKind,
    ProjectStatus,
    QualificationKind,
    RegionLevel,
    RoleKind,
)

__all__ = [
    "Agency",
    "ApiToken",
    "AuditEntry",
    "Enterprise",
    "Person",
    "Post",
    "PostAssignment",
    "Project",
    "ProjectParty",
    "Qualification",
    "Region",
    "Role",
]


class ScopedModel(models.Model):
    """A model whose rows are visible through a project.

    `project_path` is the lookup from this model to `Project` ("pk" for Project itself).
    `core.scoping.scoped()` is the only place that uses it.
    """

    project_path = "project"
    scope_direct = True  # `project_path` follows foreign keys: `scoped()` may filter directly

    class Meta:
        abstract = True

    @classmethod
    def scope_filter(cls, grant) -> Q:
        return Q(**{f"{cls.project_path}__in": grant.projects().values("pk")})


class Region(models.Model):
    """An administrative unit: 上海市, its 16 districts, and their streets and towns (街镇)."""

    public_reference = True  # every signed-in user may read it

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=50)
    level = models.CharField("层级", max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "行政区划"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:region", args=[self.pk])

    @property
    def district(self) -> Region | None:
        """The district this region is, or belongs to."""
        if self.level == RegionLevel.DISTRICT:
            return self
        if self.level == RegionLevel.STREET:
            return self.parent
        return None


class Agency(models.Model):
    """A government body that takes part in supervision: 市住建委, a district's 建管委 or
    监督站, or a street's 城管执法中队."""

    public_reference = True  # every signed-in user may read it

    name = models.CharField("名称", max_length=100, unique=True)
    kind = models.CharField("类型", max_length=30, choices=AgencyKind.choices)
    region = models.ForeignKey(Region, verbose_name="辖区", on_delete=models.PROTECT,
                               related_name="agencies")

    class Meta:
        ordering = ["region__code", "kind"]
        verbose_name = verbose_name_plural = "监管机构"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:agency", args=[self.pk])


class Enterprise(models.Model):
    """A company that can be a party to projects, identified by its 统一社会信用代码."""

    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True,
                            validators=[validators.validate_uscc])
    name = models.CharField("企业名称", max_length=200)
    legal_representative = models.CharField("法定代表人", max_length=50, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=30, blank=True)
    created = models.DateTimeField("创建时间", auto_now_add=True)
    updated = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = verbose_name_plural = "企业"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:enterprise", args=[self.pk])

    def clean(self):
        if self.uscc:
            self.uscc = validators.normalise_code(self.uscc)

    @classmethod
    def scope_filter(cls, grant) -> Q:
        # Regulators see every enterprise (the register is public); companies see
        # themselves and the parties of the projects they can see.
        if grant.is_regulator:
            return Q()
        return Q(pk__in=grant.enterprise_ids) | Q(
            parties__project__in=grant.projects().values("pk"))


class Project(ScopedModel):
    """A construction project as registered in 报建, with its site geofence."""

    project_path = "pk"

    permit_no = models.CharField("报建编号", max_length=40, unique=True)
    name = models.CharField("项目名称", max_length=200)
    address = models.CharField("项目地址", max_length=200)
    kind = models.CharField("工程类型", max_length=20, choices=ProjectKind.choices)
    district = models.ForeignKey(Region, verbose_name="所属区", on_delete=models.PROTECT,
                                 related_name="district_projects",
                                 limit_choices_to={"level": RegionLevel.DISTRICT})
    street = models.ForeignKey(Region, verbose_name="所属街镇", on_delete=models.PROTECT,
                               related_name="street_projects",
                               limit_choices_to={"level": RegionLevel.STREET})
    site_area_m2 = models.DecimalField("占地面积（m²）", max_digits=12, decimal_places=1,
                                       null=True, blank=True)
    contract_value = models.DecimalField("合同价（万元）", max_digits=14, decimal_places=2,
                                         null=True, blank=True)
    start_date = models.DateField("开工日期", null=True, blank=True)
    finish_date = models.DateField("计划竣工日期", null=True, blank=True)
    status = models.CharField("状态", max_length=20, choices=ProjectStatus.choices,
                              default=ProjectStatus.ACTIVE)
    has_pit = models.BooleanField("含基坑工程", default=False)
    geofence = models.JSONField("电子围栏（GeoJSON，WGS-84）", null=True, blank=True)
    longitude = models.FloatField("经度", null=True, blank=True, editable=False)
    latitude = models.FloatField("纬度", null=True, blank=True, editable=False)
    created = models.DateTimeField("创建时间", auto_now_add=True)
    updated = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-start_date", "permit_no"]
        verbose_name = verbose_name_plural = "项目"
        indexes = [
            models.Index(fields=["district", "status"]),
            models.Index(fields=["street", "status"]),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:project", args=[self.pk])

    def clean(self):
        from smartsite.core import geo

        errors: dict[str, list[str]] = {}
        if self.street_id and self.district_id and self.street.parent_id != self.district_id:
            errors.setdefault("street", []).append(
                f"街镇“{self.street}”不属于“{self.district}”")
        if self.start_date and self.finish_date and self.finish_date < self.start_date:
            errors.setdefault("finish_date", []).append("计划竣工日期不能早于开工日期")
        if self.site_area_m2 is not None and self.site_area_m2 <= 0:
            errors.setdefault("site_area_m2", []).append("占地面积必须大于 0")
        if self.contract_value is not None and self.contract_value < 0:
            errors.setdefault("contract_value", []).append("合同价不能为负数")
        if self.geofence in ("", {}):
            self.geofence = None
        if self.geofence is not None:
            try:
                shape = geo.parse_geofence(self.geofence)
            except ValidationError as exc:
                errors.setdefault("geofence", []).extend(exc.messages)
            else:
                self.geofence = geo.to_geojson(shape)
                self.longitude, self.latitude = geo.centroid_lonlat(shape)
                where = geo.district_of(self.longitude, self.latitude)
                if self.district_id and where and where != self.district.name:
                    errors.setdefault("geofence", []).append(
                        f"电子围栏位于{where}，与所属区“{self.district}”不符")
        else:
            self.longitude = self.latitude = None
        if errors:
            raise ValidationError(errors)

    def party(self, role: str) -> Enterprise | None:
        for party in self.parties.all():
            if party.role == role:
                return party.enterprise
        return None


class ProjectParty(ScopedModel):
    """An enterprise in one of the party roles of a project (as registered in 报建)."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="parties")
    role = models.CharField("参建角色", max_length=20, choices=PartyRole.choices)
    enterprise = models.ForeignKey(Enterprise, verbose_name="企业", on_delete=models.PROTECT,
                                   related_name="parties")

    class Meta:
        ordering = ["project", "role"]
        verbose_name = verbose_name_plural = "参建单位"
        constraints = [
            models.UniqueConstraint(fields=["project", "role"], name="one_party_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.get_role_display()} · {self.enterprise}"

    def get_absolute_url(self) -> str:
        return self.project.get_absolute_url()

    def clean(self):
        if self.role == PartyRole.MONITOR and self.project_id and not self.project.has_pit:
            raise ValidationError({"role": "该项目未登记基坑工程，不能设置监测单位"})


class Person(models.Model):
    """A person who holds posts on projects, identified by a 居民身份证 number."""

    resident_id = models.CharField("身份证号", max_length=18, unique=True,
                                   validators=[validators.validate_resident_id])
    name = models.CharField("姓名", max_length=50)
    phone = models.CharField("手机号", max_length=20, blank=True)
    employer = models.ForeignKey(Enterprise, verbose_name="所在单位", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="employees")
    created = models.DateTimeField("创建时间", auto_now_add=True)
    updated = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = verbose_name_plural = "人员"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core:person", args=[self.pk])

    @property
    def masked_id(self) -> str:
        return validators.mask_resident_id(self.resident_id)

    def clean(self):
        if self.resident_id:
            self.resident_id = validators.normalise_code(self.resident_id)

    @classmethod
    def scope_filter(cls, grant) -> Q:
        return Q(assignments__project__in=grant.projects().values("pk")) | Q(
            employer__in=grant.enterprise_ids)


class Qualification(models.Model):
    """A certificate a person holds (注册建造师, 安全生产考核合格证书 …)."""

    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.CASCADE,
                               related_name="qualifications")
    kind = models.CharField("证书类别", max_length=30, choices=QualificationKind.choices)
    number = models.CharField("证书编号", max_length=50)
    issuer = models.CharField("发证机关", max_length=100)
    issued_on = models.DateField("发证日期", null=True, blank=True)
    expires_on = models.DateField("有效期至", null=True, blank=True)

    class Meta:
        ordering = ["person", "kind"]
        verbose_name = verbose_name_plural = "资格证书"
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="unique_certificate"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def get_absolute_url(self) -> str:
        return self.person.get_absolute_url()

    def clean(self):
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            raise ValidationError({"expires_on": "有效期不能早于发证日期"})

    @property
    def expired(self) -> bool:
        return bool(self.expires_on and self.expires_on < timezone.localdate())

    @classmethod
    def scope_filter(cls, grant) -> Q:
        return Q(person__in=Person.objects.filter(Person.scope_filter(grant)).values("pk"))


class Post(models.Model):
    """A post on a project (岗位), e.g. 项目经理; which party fills it. Loaded from a fixture."""

    public_reference = True  # every signed-in user may read it

    code = models.SlugField("代码", max_length=40, unique=True)
    name = models.CharField("岗位名称", max_length=50, unique=True)
    party_role = models.CharField("所属参建单位", max_length=20, choices=PartyRole.choices)
    source = models.CharField("依据", max_length=200, blank=True)

    class Meta:
        ordering = ["party_role", "pk"]
        verbose_name = verbose_name_plural = "岗位"

    def __str__(self) -> str:
        return self.name


class PostAssignment(ScopedModel):
    """A person appointed to a post on a project, as registered in 报建."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE,
                                related_name="assignments")
    person = models.ForeignKey(Person, verbose_name="人员", on_delete=models.PROTECT,
                               related_name="assignments")
    post = models.ForeignKey(Post, verbose_name="岗位", on_delete=models.PROTECT,
                             related_name="assignments")
    start_date = models.DateField("任职开始")
    end_date = models.DateField("任职结束", null=True, blank=True)

    class Meta:
        ordering = ["project", "post", "start_date"]
        verbose_name = verbose_name_plural = "岗位任职"
        constraints = [
            models.UniqueConstraint(fields=["project", "person", "post", "start_date"],
                                    name="unique_assignment"),
        ]

    def __str__(self) -> str:
        return f"{self.project} · {self.post} · {self.person}"

    def get_absolute_url(self) -> str:
        return self.project.get_absolute_url()

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "任职结束日期不能早于开始日期"})


class Role(models.Model):
    """A user's scoped role (design.md §3). A user may hold several; scope is their union."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户",
                             on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField("角色", max_length=20, choices=RoleKind.choices)
    agency = models.ForeignKey(Agency, verbose_name="机构", null=True, blank=True,
                               on_delete=models.CASCADE, related_name="roles")
    enterprise = models.ForeignKey(Enterprise, verbose_name="企业", null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="roles")
    project = models.ForeignKey(Project, verbose_name="项目", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="roles")
    party_role = models.CharField("参建角色", max_length=20, choices=PartyRole.choices,
                                  blank=True)
    post = models.ForeignKey(Post, verbose_name="岗位", null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="roles")
    created = models.DateTimeField("授权时间", auto_now_add=True)

    class Meta:
        ordering = ["user", "kind"]
        verbose_name = verbose_name_plural = "用户角色"
        # A role is granted once: the same scope twice is refused (clean() says so first).
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "agency"], name="role_once_per_agency",
                condition=Q(kind__in=["city", "district", "street"])),
            models.UniqueConstraint(
                fields=["user", "enterprise"], name="role_once_per_enterprise",
                condition=Q(kind="enterprise")),
            models.UniqueConstraint(
                fields=["user", "project", "enterprise", "party_role"],
                name="role_once_per_project_party", condition=Q(kind="project", post__isnull=True)),
            models.UniqueConstraint(
                fields=["user", "project", "enterprise", "party_role", "post"],
                name="role_once_per_project_post", condition=Q(kind="project", post__isnull=False)),
        ]

    def __str__(self) -> str:
        where = self.agency or self.project or self.enterprise or ""
        return f"{self.get_kind_display()} · {where}"

    def get_absolute_url(self) -> str:
        return reverse("core:user", args=[self.user_id])

    REQUIRED = {
        RoleKind.CITY: ("agency",),
        RoleKind.DISTRICT: ("agency",),
        RoleKind.STREET: ("agency",),
        RoleKind.ENTERPRISE: ("enterprise",),
        RoleKind.PROJECT: ("project", "enterprise", "party_role"),
    }
    AGENCY_LEVEL = {
        RoleKind.CITY: RegionLevel.CITY,
        RoleKind.DISTRICT: RegionLevel.DISTRICT,
        RoleKind.STREET: RegionLevel.STREET,
    }

    def clean(self):
        errors = {}
        for field in self.REQUIRED.get(self.kind, ()):
            if not getattr(self, field if field == "party_role" else f"{field}_id"):
                label = self._meta.get_field(field).verbose_name
                errors[field] = f"“{self.get_kind_display()}”角色必须指定{label}"
        level = self.AGENCY_LEVEL.get(self.kind)
        if level and self.agency_id and self.agency.region.level != level:
            errors["agency"] = f"机构“{self.agency}”的辖区不是{RegionLevel(level).label}级"
        if (self.kind == RoleKind.PROJECT and not errors
                and not ProjectParty.objects.filter(
                    project=self.project_id, enterprise=self.enterprise_id,
                    role=self.party_role).exists()):
            errors["party_role"] = (f"“{self.enterprise}”不是项目“{self.project}”的"
                                    f"{PartyRole(self.party_role).label}")
        if not errors and self.user_id and self.same_roles().exists():
            errors["kind"] = self.duplicate_message()
        if errors:
            raise ValidationError(errors)

    def duplicate_message(self) -> str:
        return f"该用户已有“{self}”这一角色，不能重复授予"

    def same_roles(self):
        """The user's other roles of the same scope (what the constraints forbid)."""
        same = Role.objects.filter(user_id=self.user_id, kind=self.kind).exclude(pk=self.pk)
        if self.kind in self.AGENCY_LEVEL:
            return same.filter(agency_id=self.agency_id)
        if self.kind == RoleKind.ENTERPRISE:
            return same.filter(enterprise_id=self.enterprise_id)
        return same.filter(project_id=self.project_id, enterprise_id=self.enterprise_id,
                           party_role=self.party_role, post_id=self.post_id)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A revocable API token. Only its SHA-256 is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户",
                             on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=100)
    prefix = models.CharField("前缀", max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField("创建时间", auto_now_add=True)
    last_used = models.DateTimeField("最近使用", null=True, blank=True)
    revoked = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = verbose_name_plural = "API 令牌"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def new_key() -> str:
        return "ss_" + secrets.token_urlsafe(32)

    @classmethod
    def digest_of(cls, raw: str) -> str:
        return _hash_token(raw)

    @classmethod
    def find(cls, raw: str) -> ApiToken | None:
        token = (cls.objects.select_related("user")
                 .filter(digest=_hash_token(raw), revoked__isnull=True).first())
        if token is None or not token.user.is_active:
            return None
        return token


class AuditEntry(models.Model):
    """Who changed what, when, from what to what. Written only by `core.audit.record`."""

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    action = models.CharField("操作", max_length=20, choices=AuditAction.choices)
    model = models.CharField("对象类型", max_length=60, db_index=True)
    object_id = models.CharField("对象编号", max_length=40, db_index=True)
    object_repr = models.CharField("对象", max_length=200)
    changes = models.JSONField("变更", default=dict)
    project = models.ForeignKey(Project, verbose_name="项目", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+", db_constraint=False)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = verbose_name_plural = "审计日志"
        indexes = [models.Index(fields=["model", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.object_repr}"

    @classmethod
    def scope_filter(cls, grant) -> Q:
        return Q(project__in=grant.projects().values("pk"))



class JobRun(models.Model):
    """The durable state of one periodic job of `smartsite worker` (core.scheduler): when it
    last started and ended, how that went, and the lease of the worker running it now.
    Not scoped: operators' data, shown only to superusers (admin)."""

    name = models.CharField("任务", max_length=100, primary_key=True)
    last_started = models.DateTimeField("上次开始", null=True, blank=True)
    last_finished = models.DateTimeField("上次结束", null=True, blank=True)
    last_ok = models.BooleanField("上次成功", null=True, blank=True)
    last_error = models.TextField("上次错误", blank=True)
    last_found = models.IntegerField("上次处理数", default=0)
    runs = models.PositiveIntegerField("运行次数", default=0)
    failures = models.PositiveIntegerField("失败次数", default=0)
    lease_owner = models.CharField("租约持有者", max_length=100, blank=True)
    lease_until = models.DateTimeField("租约到期", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = verbose_name_plural = "后台任务"

    def __str__(self) -> str:
        return self.name
