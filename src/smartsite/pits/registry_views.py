"""The pit registry's pages: register and edit a pit, add its construction stages and its
monitoring points. Thin callers of `services` (permission, validation, audit); a refused form
shows its messages on the fields and nothing is saved."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from smartsite.core.errors import DomainError
from smartsite.core.generic import _errors_to_form
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.pits import permissions, selectors, services
from smartsite.pits.forms import PitForm, PointForm, StageForm
from smartsite.pits.models import Pit, Point, Stage


def _save(form, write) -> object | None:
    """Run `write(cleaned_data)`; its refusals become the form's errors."""
    if not form.is_valid():
        return None
    try:
        return write(form.cleaned_data)
    except ValidationError as exc:
        _errors_to_form(form, exc)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return None


def _page(request, form, title, obj, status=200):
    return render(request, "generic/object_edit.html",
                  {"form": form, "object": obj, "title": title}, status=status)


@login_required
def pit_add(request, pk):
    project = get_object_or_404(scoped(request.user, Project.objects.all()), pk=pk)
    permissions.require_edit(request.user, project)
    form = PitForm(request.POST or None, project=project, instance=Pit(project=project))
    if request.method == "POST":
        pit = _save(form, lambda data: services.register_pit(project=project,
                                                             actor=request.user, **data))
        if pit is not None:
            messages.success(request, f"已登记基坑：{pit.name}")
            return redirect(pit)
    return _page(request, form, f"基坑（{project.name}）", Pit(),
                 status=422 if request.method == "POST" else 200)


@login_required
def pit_edit(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    permissions.require_edit(request.user, pit.project)
    form = PitForm(request.POST or None, project=pit.project,
                   instance=Pit.objects.get(pk=pit.pk))
    if request.method == "POST":
        saved = _save(form, lambda data: services.update_pit(pit, actor=request.user, **data))
        if saved is not None:
            messages.success(request, f"已保存基坑：{saved.name}")
            return redirect(saved)
    return _page(request, form, "基坑", pit, status=422 if request.method == "POST" else 200)


@login_required
def stage_add(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    permissions.require_edit(request.user, pit.project)
    form = StageForm(request.POST or None, instance=Stage(pit=pit))
    if request.method == "POST":
        stage = _save(form, lambda data: services.add_stage(pit, actor=request.user, **data))
        if stage is not None:
            messages.success(request, f"已登记工况：{stage}")
            return redirect(f"{pit.get_absolute_url()}#stages")
    return _page(request, form, f"工况（{pit.name}）", Stage(),
                 status=422 if request.method == "POST" else 200)


@login_required
def point_add(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    permissions.require_edit(request.user, pit.project)
    form = PointForm(request.POST or None, instance=Point(pit=pit))
    if request.method == "POST":
        point = _save(form, lambda data: services.register_point(pit, actor=request.user,
                                                                 **data))
        if point is not None:
            messages.success(request, f"已登记测点：{point.code}")
            return redirect(f"{pit.get_absolute_url()}#points")
    return _page(request, form, f"测点（{pit.name}）", Point(),
                 status=422 if request.method == "POST" else 200)
