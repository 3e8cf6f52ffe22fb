"""Filters of the camera list; the page and the API share them."""

from __future__ import annotations

import django_filters as df

from smartsite.core.filtersets import SearchFilterSet, districts
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.video.models import Camera


def visible_projects(request):
    """Projects with cameras that the requesting user may see (the project filter's choices)."""
    user = getattr(request, "user", None)
    with_cameras = Project.objects.filter(pk__in=Camera.objects.values("project"))
    return scoped(user, with_cameras).order_by("name")


class CameraFilterSet(SearchFilterSet):
    search_fields = ("name", "location", "project__name")
    district = df.ModelChoiceFilter(field_name="project__district", queryset=districts(),
                                    label="区")
    project = df.ModelChoiceFilter(queryset=visible_projects, label="项目")
    active = df.BooleanFilter(label="启用")
    record = df.BooleanFilter(label="录像")
    ptz_capable = df.BooleanFilter(label="支持云台")

    class Meta:
        model = Camera
        fields = ["q", "district", "project", "active", "record", "ptz_capable"]
