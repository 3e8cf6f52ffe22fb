"""Filters of the disposal center's and event center's lists; pages and API share them."""

from __future__ import annotations

import django_filters as df
from django import forms
from django.db.models import Q
from django.utils import timezone

from smartsite.core.filtersets import SearchFilterSet, districts, streets
from smartsite.workorders import courts, selectors
from smartsite.workorders.choices import (
    OPEN_ORDER_STATES,
    EventState,
    LoopLevel,
    OrderState,
    Scenario,
    Severity,
)
from smartsite.workorders.models import Event, LoopPolicy, WorkOrder

YES_NO = [("", "全部"), ("true", "是"), ("false", "否")]


def order_kinds():
    return sorted({(p.kind, p.kind_label) for p in LoopPolicy.objects.all()})


class OrderFilterSet(SearchFilterSet):
    search_fields = ("number", "title", "project__name", "project__permit_no")
    scenario = df.ChoiceFilter(choices=Scenario.choices, label="场景")
    kind = df.ChoiceFilter(choices=order_kinds, label="工单类型")
    state = df.ChoiceFilter(choices=OrderState.choices, label="状态")
    open = df.BooleanFilter(method="by_open", label="未办结", widget=forms.Select(choices=YES_NO))
    loop_level = df.ChoiceFilter(choices=LoopLevel.choices, label="闭环层级")
    district = df.ModelChoiceFilter(field_name="project__district", queryset=districts(),
                                    label="区")
    street = df.ModelChoiceFilter(field_name="project__street", queryset=streets(), label="街镇")
    overdue = df.BooleanFilter(method="by_overdue", label="逾期",
                               widget=forms.Select(choices=YES_NO))
    mine = df.BooleanFilter(method="by_mine", label="待我办理",
                            widget=forms.Select(choices=YES_NO))

    class Meta:
        model = WorkOrder
        fields = ["q", "scenario", "kind", "state", "loop_level", "district", "street"]

    def by_open(self, qs, name, value):
        if value is None:
            return qs
        working = Q(state__in=OPEN_ORDER_STATES)
        return qs.filter(working) if value else qs.exclude(working)

    def by_overdue(self, qs, name, value):
        if value is None:
            return qs
        late = selectors.late_q(timezone.now())
        return qs.filter(late) if value else qs.exclude(late)

    def by_mine(self, qs, name, value):
        if value is None:
            return qs
        mine = courts.court_q(self.request.user if self.request else None)
        return qs.filter(mine) if value else qs.exclude(mine)


class EventFilterSet(SearchFilterSet):
    search_fields = ("title", "subject", "project__name")
    scenario = df.ChoiceFilter(choices=Scenario.choices, label="场景")
    state = df.ChoiceFilter(choices=EventState.choices, label="状态")
    severity = df.ChoiceFilter(choices=Severity.choices, label="等级")
    district = df.ModelChoiceFilter(field_name="project__district", queryset=districts(),
                                    label="区")

    class Meta:
        model = Event
        fields = ["q", "scenario", "state", "severity", "district"]
