"""Filters of the monitor lists; the pages and the API share them."""

from __future__ import annotations

import django_filters as df
from django.utils import timezone

from smartsite.core.filtersets import SearchFilterSet, districts, streets
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.dust import selectors
from smartsite.dust.choices import Connectivity, MonitorKind, RejectReason
from smartsite.dust.models import DeviceRejection, Monitor


def visible_projects(request):
    """Projects with monitors that the requesting user may see (the project filter's choices)."""
    user = getattr(request, "user", None)
    with_monitors = Project.objects.filter(pk__in=Monitor.objects.values("project"))
    return scoped(user, with_monitors).order_by("name")


class MonitorFilterSet(SearchFilterSet):
    search_fields = ("mn", "project__name")
    district = df.ModelChoiceFilter(field_name="project__district", queryset=districts(),
                                    label="区")
    street = df.ModelChoiceFilter(field_name="project__street", queryset=streets(), label="街镇")
    project = df.ModelChoiceFilter(queryset=visible_projects, label="项目")
    connectivity = df.ChoiceFilter(choices=Connectivity.choices, method="by_connectivity",
                                   label="连接状态")
    kind = df.ChoiceFilter(choices=MonitorKind.choices, label="设备类型")

    class Meta:
        model = Monitor
        fields = ["q", "district", "street", "project", "connectivity", "kind"]

    def by_connectivity(self, qs, name, value):
        if not value:
            return qs
        return qs.filter(selectors.connectivity_q(value, timezone.now()))


class RejectionFilterSet(SearchFilterSet):
    search_fields = ("mn", "detail", "peer")
    reason = df.ChoiceFilter(choices=RejectReason.choices, label="原因")
    district = df.ModelChoiceFilter(queryset=districts(), label="区")

    class Meta:
        model = DeviceRejection
        fields = ["q", "reason", "district"]
