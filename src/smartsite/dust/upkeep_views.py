"""The upkeep pages (设备运维): a monitor's inspections and calibrations with certificates, its
linked spray/fog cannons, maintenance records per monitor and per project (a technician on a
phone), the monthly O&M reviews and the regulator's list of projects that leave them
unreviewed.

Thin callers: reads through `selectors` / `upkeep_selectors` (all from `scoped()`; out of
scope → 404), writes through `services` (permission → 403; bad input → the message on the
field, status 422, nothing changed).
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from smartsite.core.bounds import parse_id
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.generic import _errors_to_form
from smartsite.core.models import Project
from smartsite.core.scoping import grant_for, scoped
from smartsite.core.uploads import _sniff
from smartsite.dust import permissions, selectors, services
from smartsite.dust import upkeep_selectors as upkeep
from smartsite.dust.choices import MaintenanceKind, ReviewState
from smartsite.dust.models import Inspection, MaintenanceRecord, Monitor
from smartsite.dust.upkeep_forms import InspectionForm, MaintenanceForm, ReviewForm, SprayDeviceForm


def _refused(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _form_page(request, form, *, title: str, back: str, monitor=None, status=200,
               multipart=False):
    return render(request, "dust/upkeep/form.html", {
        "title": title, "form": form, "back": back, "monitor": monitor,
        "multipart": multipart}, status=status)


# ---------------------------------------------------------------- inspections


@login_required
def inspection_add(request, pk):
    monitor = selectors.monitor_or_404(request.user, pk)
    permissions.require_inspect(request.user, monitor.project)
    form = InspectionForm(request.POST or None, request.FILES or None)
    title = f"登记年检/校准 · {monitor.mn}"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_inspection(
                monitor, actor=request.user, kind=data["kind"],
                inspected_on=data["inspected_on"], expires_on=data["expires_on"],
                body=data["body"], certificate_no=data["certificate_no"],
                passed=data["passed"], certificate=data["certificate"])
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, f"已登记{monitor.mn}的证书 {data['certificate_no']}")
            return redirect(reverse("dust:monitor", args=[monitor.pk]) + "#upkeep")
    return _form_page(request, form, title=title, back=monitor.get_absolute_url(),
                      monitor=monitor, multipart=True,
                      status=422 if request.method == "POST" else 200)


@login_required
def inspection_certificate(request, pk, name):
    """An inspection's certificate file, to users who can see its monitor only (404 otherwise,
    as for a missing file); served with the type its bytes show."""
    inspection = get_object_or_404(scoped(request.user, Inspection.objects.exclude(certificate="")),
                                   pk=pk)
    if name != inspection.certificate_name:
        raise Http404
    try:
        handle = inspection.certificate.open("rb")
    except FileNotFoundError:
        raise Http404("证书文件已不存在") from None
    content_type = _sniff(handle.read(16)) or "application/octet-stream"
    handle.seek(0)
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- spray / fog cannons


@login_required
def spray_add(request, pk):
    monitor = selectors.monitor_or_404(request.user, pk)
    permissions.require_manage(request.user, monitor.project)
    form = SprayDeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.add_spray_device(monitor, actor=request.user, name=data["name"],
                                      kind=data["kind"], sb_code=data["sb_code"],
                                      active=data["active"])
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已登记联动设备：{data['name']}")
            return redirect(reverse("dust:monitor", args=[monitor.pk]) + "#sprays")
    return _form_page(request, form, title=f"登记联动喷淋/雾炮 · {monitor.mn}",
                      back=monitor.get_absolute_url(), monitor=monitor,
                      status=422 if request.method == "POST" else 200)


# ---------------------------------------------------------------- maintenance records


def _save_maintenance(request, form, monitor) -> bool:
    data = form.cleaned_data
    try:
        services.record_maintenance(
            monitor, actor=request.user, kind=data["kind"], started_at=data["started_at"],
            ended_at=data["ended_at"], description=data["description"],
            technician=data["technician"])
    except ValidationError as exc:
        _errors_to_form(form, exc)
        return False
    messages.success(request, f"已登记{monitor.mn}的{MaintenanceKind(data['kind']).label}记录")
    return True


def _initial():
    return {"started_at": timezone.localtime().replace(second=0, microsecond=0),
            "technician": ""}


@login_required
def monitor_maintenance(request, pk):
    """One monitor's O&M records, with the form on top for those who may enter them."""
    monitor = selectors.monitor_or_404(request.user, pk)
    can_add = permissions.maintainable_projects(request.user).filter(
        pk=monitor.project_id).exists()
    form, status = None, 200
    if request.method == "POST":
        permissions.require_maintain(request.user, monitor.project)
        form = MaintenanceForm(request.POST)
        if form.is_valid() and _save_maintenance(request, form, monitor):
            return redirect("dust:monitor_maintenance", pk=monitor.pk)
        status = 422
    elif can_add:
        form = MaintenanceForm(initial=_initial())
    records = upkeep.maintenance(request.user).filter(monitor=monitor)[:200]
    return render(request, "dust/upkeep/maintenance_list.html", {
        "title": f"运维记录 · {monitor.mn}", "monitor": monitor, "project": monitor.project,
        "records": records, "form": form, "can_add": can_add}, status=status)


@login_required
def project_maintenance(request, pk):
    """A project's O&M records across its monitors; the form picks the monitor."""
    project = get_object_or_404(scoped(request.user, Project.objects.all()), pk=pk)
    can_add = permissions.maintainable_projects(request.user).filter(pk=project.pk).exists()
    monitors = Monitor.objects.filter(project=project).order_by("mn")
    form, status = None, 200
    if request.method == "POST":
        permissions.require_maintain(request.user, project)
        form = MaintenanceForm(request.POST, monitors=monitors)
        if form.is_valid() and _save_maintenance(request, form, form.cleaned_data["monitor"]):
            return redirect("dust:project_maintenance", pk=project.pk)
        status = 422
    elif can_add:
        form = MaintenanceForm(initial=_initial(), monitors=monitors)
    records = upkeep.maintenance(request.user).filter(monitor__project=project)[:200]
    return render(request, "dust/upkeep/maintenance_list.html", {
        "title": f"运维记录 · {project.name}", "project": project, "records": records,
        "form": form, "can_add": can_add, "per_project": True}, status=status)


@login_required
@require_POST
def maintenance_end(request, pk):
    """End an open record now (a fault repaired, a visit over)."""
    record = get_object_or_404(upkeep.maintenance(request.user), pk=pk)
    try:
        services.end_maintenance(record, actor=request.user, ended_at=timezone.now())
    except (ValidationError, DomainError) as exc:
        messages.error(request, getattr(exc, "message", None) or "；".join(exc.messages))
    else:
        messages.success(request, f"已结束{record.get_kind_display()}记录")
    target = request.POST.get("next")
    if target == "project":
        return redirect("dust:project_maintenance", pk=record.monitor.project_id)
    return redirect("dust:monitor_maintenance", pk=record.monitor_id)


# ---------------------------------------------------------------- monthly reviews


@login_required
def review_list(request):
    qs = upkeep.reviews(request.user)
    state = request.GET.get("state", "")
    if state in ReviewState.values:
        qs = qs.filter(state=state)
    if project := parse_id(request.GET.get("project")):
        qs = qs.filter(project=project)
    return render(request, "dust/upkeep/review_list.html", {
        "title": "运维月报", "reviews": qs[:300], "state": state, "states": ReviewState,
        "is_regulator": grant_for(request.user).is_regulator})


@login_required
def review_detail(request, pk):
    review = upkeep.review_or_404(request.user, pk)
    can_review = review.state == ReviewState.PENDING and \
        permissions.is_project_manager(request.user, review.project)
    can_resubmit = review.state == ReviewState.REJECTED and \
        permissions.maintainable_projects(request.user).filter(pk=review.project_id).exists()
    form, status = (ReviewForm() if can_review else None), 200
    if request.method == "POST":
        if request.POST.get("action") == "resubmit":
            try:
                services.resubmit_review(review, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "已重新提交，等待项目经理审核")
            return redirect("dust:review", pk=review.pk)
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.review_month(review, actor=request.user,
                                      approve=form.cleaned_data["action"] == "approve",
                                      comment=form.cleaned_data["comment"])
            except DomainError as exc:
                _refused(form, exc)
            else:
                messages.success(request, "已审核" if form.cleaned_data["action"] == "approve"
                                 else "已驳回，已通知运维单位")
                return redirect("dust:review", pk=review.pk)
        status = 422
    return render(request, "dust/upkeep/review_detail.html", {
        "title": f"运维月报 · {review.project.name} {review.month:%Y-%m}", "review": review,
        "stats": review.stats, "form": form, "can_resubmit": can_resubmit,
        "state_colour": ReviewState.colour(review.state)}, status=status)


DEFAULT_LAG_DAYS = 7


@login_required
def review_lag_list(request):
    """The regulator's view: projects whose monthly reviews wait more than N days, or that
    never reviewed one (their district only)."""
    grant = grant_for(request.user)
    if not grant.is_regulator:
        raise Forbidden("只有市、区监管部门可以查看各项目运维月报的审核情况")
    try:
        days = int(request.GET.get("days", DEFAULT_LAG_DAYS))
        if not 0 <= days <= 366:
            raise ValueError
    except ValueError:
        days, bad = DEFAULT_LAG_DAYS, True
    else:
        bad = False
    show_all = request.GET.get("all") == "1"
    lags = upkeep.review_lags(request.user, days, timezone.now(), only_lagging=not show_all)
    return render(request, "dust/upkeep/review_lags.html", {
        "title": "运维月报审核情况", "lags": lags, "days": days, "bad_days": bad,
        "show_all": show_all, "today": timezone.localdate()}, status=400 if bad else 200)


def _coloured(records) -> list[MaintenanceRecord]:
    records = list(records)
    for r in records:
        r.kind_colour = MaintenanceKind.colour(r.kind)
    return records


def monitor_upkeep_context(user, monitor, now: datetime.datetime | None = None) -> dict:
    """What the monitor page's upkeep section shows (`{% monitor_upkeep monitor %}`)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sprays = list(upkeep.sprays(monitor))
    timelines = upkeep.spray_timelines(sprays, now)
    project_ok = {
        "inspect": permissions.inspecting_projects(user).filter(pk=monitor.project_id).exists(),
        "maintain": permissions.maintainable_projects(user).filter(pk=monitor.project_id)
        .exists(),
        "manage": permissions.registrable_projects(user).filter(pk=monitor.project_id).exists(),
    }
    return {
        "monitor": monitor,
        "inspection_state": upkeep.inspection_states([monitor.pk], today)[monitor.pk],
        "inspections": list(upkeep.inspections(monitor)[:20]),
        "sprays": sprays,
        "spray_chart": {"devices": [{"id": d.pk, "name": str(d), "points": timelines[d.pk]}
                                    for d in sprays],
                        "window": [selectors.chart_ms(now - datetime.timedelta(hours=24)),
                                   selectors.chart_ms(now)]},
        "maintenance": _coloured(MaintenanceRecord.objects.filter(monitor=monitor)
                                 .select_related("enterprise")[:5]),
        "can": project_ok,
        "today": today,
    }
