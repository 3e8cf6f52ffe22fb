"""One filterset per list; the page and the API route share it."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.db.models import Q

from smartsite.core import models as m
from smartsite.core.choices import (
    AuditAction,
    PartyRole,
    ProjectKind,
    ProjectStatus,
    QualificationKind,
    RegionLevel,
)
from smartsite.core.validators import normalise_code


class SearchFilterSet(df.FilterSet):
    """A filterset with a free-text `q` over `search_fields`."""

    search_fields: tuple[str, ...] = ()
    q = df.CharFilter(method="search", label="搜索")

    def search(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        q = Q()
        for field in self.search_fields:
            q |= Q(**{f"{field}__icontains": value})
        return qs.filter(q)


def districts():
    return m.Region.objects.filter(level=RegionLevel.DISTRICT)


def streets():
    return m.Region.objects.filter(level=RegionLevel.STREET)


class RegionFilterSet(SearchFilterSet):
    search_fields = ("name", "code")
    level = df.ChoiceFilter(choices=RegionLevel.choices, label="层级")
    parent = df.ModelChoiceFilter(queryset=m.Region.objects.exclude(level=RegionLevel.STREET),
                                  label="上级")

    class Meta:
        model = m.Region
        fields = ["q", "level", "parent"]


class ProjectFilterSet(SearchFilterSet):
    search_fields = ("name", "permit_no", "address")
    district = df.ModelChoiceFilter(queryset=districts(), label="区")
    street = df.ModelChoiceFilter(queryset=streets(), label="街镇")
    status = df.ChoiceFilter(choices=ProjectStatus.choices, label="状态")
    kind = df.ChoiceFilter(choices=ProjectKind.choices, label="工程类型")
    has_pit = df.BooleanFilter(label="含基坑", widget=forms.Select(
        choices=[("", "全部"), ("true", "是"), ("false", "否")]))
    enterprise = df.CharFilter(method="by_enterprise", label="参建单位（名称或信用代码）")
    started_after = df.DateFilter(field_name="start_date", lookup_expr="gte", label="开工不早于")
    started_before = df.DateFilter(field_name="start_date", lookup_expr="lte", label="开工不晚于")

    class Meta:
        model = m.Project
        fields = ["q", "district", "street", "status", "kind", "has_pit", "enterprise"]

    def by_enterprise(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        parties = m.ProjectParty.objects.filter(
            Q(enterprise__uscc=normalise_code(value)) | Q(enterprise__name__icontains=value))
        return qs.filter(pk__in=parties.values("project"))


class EnterpriseFilterSet(SearchFilterSet):
    search_fields = ("name", "uscc", "legal_representative")
    role = df.ChoiceFilter(choices=PartyRole.choices, method="by_role", label="参建角色")

    class Meta:
        model = m.Enterprise
        fields = ["q", "role"]

    def by_role(self, qs, name, value):
        return qs.filter(pk__in=m.ProjectParty.objects.filter(role=value).values("enterprise"))


class PersonFilterSet(SearchFilterSet):
    search_fields = ("name", "phone")
    resident_id = df.CharFilter(method="by_resident_id", label="身份证号（完整）")
    employer = df.CharFilter(method="by_employer", label="所在单位")
    post = df.ModelChoiceFilter(queryset=m.Post.objects.all(), method="by_post", label="岗位")
    qualification_expired = df.BooleanFilter(method="by_expired", label="有过期证书")

    class Meta:
        model = m.Person
        fields = ["q", "resident_id", "employer", "post"]

    def by_resident_id(self, qs, name, value):
        # Only an exact match: a partial search would let masked numbers be guessed.
        return qs.filter(resident_id=normalise_code(value)) if value.strip() else qs

    def by_employer(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(employer__name__icontains=value) | Q(employer__uscc=normalise_code(value)))

    def by_post(self, qs, name, value):
        return qs.filter(assignments__post=value).distinct() if value else qs

    def by_expired(self, qs, name, value):
        from django.utils import timezone

        if value is None:
            return qs
        expired = m.Qualification.objects.filter(expires_on__lt=timezone.localdate())
        ids = expired.values("person")
        return qs.filter(pk__in=ids) if value else qs.exclude(pk__in=ids)


class QualificationFilterSet(SearchFilterSet):
    search_fields = ("number", "person__name", "issuer")
    kind = df.ChoiceFilter(choices=QualificationKind.choices, label="证书类别")
    expires_before = df.DateFilter(field_name="expires_on", lookup_expr="lt", label="有效期早于")

    class Meta:
        model = m.Qualification
        fields = ["q", "kind"]


class PostAssignmentFilterSet(SearchFilterSet):
    search_fields = ("person__name", "project__name", "project__permit_no")
    project = df.CharFilter(field_name="project__permit_no", label="报建编号")
    post = df.ModelChoiceFilter(queryset=m.Post.objects.all(), label="岗位")
    current = df.BooleanFilter(method="by_current", label="在任")

    class Meta:
        model = m.PostAssignment
        fields = ["q", "project", "post"]

    def by_current(self, qs, name, value):
        from django.utils import timezone

        if value is None:
            return qs
        today = timezone.localdate()
        current = Q(start_date__lte=today) & (Q(end_date__isnull=True) | Q(end_date__gte=today))
        return qs.filter(current) if value else qs.exclude(current)


class AuditFilterSet(SearchFilterSet):
    search_fields = ("object_repr", "actor_name")
    action = df.ChoiceFilter(choices=AuditAction.choices, label="操作")
    model = df.CharFilter(label="对象类型")
    object_id = df.CharFilter(label="对象编号")
    after = df.DateFilter(field_name="at", lookup_expr="date__gte", label="起始日期")
    before = df.DateFilter(field_name="at", lookup_expr="date__lte", label="截止日期")

    class Meta:
        model = m.AuditEntry
        fields = ["q", "action", "model", "object_id"]
