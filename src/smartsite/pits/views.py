"""Pages of the pit scenario: thin callers of `selectors` (reads) and `services` (writes).

Charts get their data through `json_script` (the Content-Security-Policy allows no inline
script): static/smartsite/pits.js draws the pit page, pits3d.js the 3D view."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from smartsite.core.errors import DomainError
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.pits import permissions, reports, selectors, services
from smartsite.pits.choices import LEVEL_ORDER, Colour, Item, Level
from smartsite.pits.forecast import APPROACHING, CROSSED, forecast
from smartsite.pits.forms import JudgeForm

#: Point levels on the plan and in the 3D view: value, label, colour (normal green, 70 %
#: amber, 预警 orange, over red; a point without data grey).
LEVEL_COLOURS = {Level.NORMAL: "#16a34a", Level.WATCH: "#f59e0b", Level.WARNING: "#ea580c",
                 Level.OVER: "#dc2626"}
NO_DATA = ("nodata", "暂无数据", "#9ca3af")
COLOUR_HEX = {Colour.GREEN: "#16a34a", Colour.YELLOW: "#eab308", Colour.RED: "#dc2626"}
#: An inclinometer chart shows this many of the latest surveys.
PROFILE_SURVEYS = 8
DEEP_M = 12


def chart_ms(at: datetime.datetime) -> int:
    """Shanghai wall-clock milliseconds (the charts draw with useUTC, like dust.js)."""
    local = timezone.localtime(at).replace(tzinfo=datetime.UTC)
    return int(local.timestamp() * 1000)


def _levels() -> list[list[str]]:
    return [[value, label, LEVEL_COLOURS[value]] for value, label in Level.choices] + [
        list(NO_DATA)]


def _level_key(point) -> str:
    return point.level if point.last_measured_at else NO_DATA[0]


@login_required
def dashboard(request):
    """基坑总览: pits by colour and district (deeper than 12 m marked), pits in warning,
    overdue order steps, parties that upload late this month, the monthly report."""
    now = timezone.now()
    pits = selectors.pits(request.user)
    districts = list(
        pits.values("project__district__name")
        .annotate(total=Count("pk"), deep=Count("pk", filter=Q(design_depth_m__gt=DEEP_M)),
                  green=Count("pk", filter=Q(colour=Colour.GREEN)),
                  yellow=Count("pk", filter=Q(colour=Colour.YELLOW)),
                  red=Count("pk", filter=Q(colour=Colour.RED)),
                  deep_yellow=Count("pk", filter=Q(colour=Colour.YELLOW,
                                                   design_depth_m__gt=DEEP_M)),
                  deep_red=Count("pk", filter=Q(colour=Colour.RED, design_depth_m__gt=DEEP_M)))
        .order_by("project__district__name"))
    watched = pits.exclude(colour=Colour.GREEN, proposed_colour=Colour.GREEN).order_by(
        "-colour", "-design_depth_m")[:50]
    month = timezone.localdate(now).replace(day=1)
    start, end = reports.month_bounds(month)
    chart = {"districts": [d["project__district__name"] for d in districts],
             "series": [[c, Colour(c).label, COLOUR_HEX[c], [d[c] for d in districts]]
                        for c in Colour.values],
             "deep": [d["deep"] for d in districts]}
    return render(request, "pits/dashboard.html", {
        "counts": selectors.by_colour(request.user), "districts": districts,
        "watched": watched, "total": pits.count(),
        "pending": pits.exclude(proposed_colour=F("colour")).count(),
        "deep": pits.filter(design_depth_m__gt=DEEP_M).count(), "deep_m": DEEP_M,
        "overdue": selectors.overdue_orders(request.user, now), "now": now,
        "late_parties": selectors.late_parties(request.user, start, end)[:20],
        "month": month, "chart": chart})


@login_required
def project(request, pk):
    project = get_object_or_404(scoped(request.user, Project.objects.all()), pk=pk)
    return render(request, "pits/project.html", {
        "project": project, "pits": selectors.pits(request.user).filter(project=project),
        "can_edit": permissions.editable_projects(request.user).filter(pk=project.pk).exists()})


def _pit_context(request, pit, form=None) -> dict:
    now = timezone.now()
    points = list(selectors.points(request.user, pit).select_related("pit")
                  .order_by("item", "code"))
    rows = selectors.alarm_values(pit.safety_grade)
    stages = list(pit.stages.all())
    curves, forecasts, profiles = {}, [], {}
    for point in points:
        limits = selectors.point_limits(point, rows)
        series = selectors.cumulative_series(point)
        limit = limits.cumulative
        point.limit = limit
        point.forecast = None
        sign = -1 if series and series[-1][1] < 0 else 1
        curves[point.code] = {
            "name": f"{point.code} {point.get_item_display()}", "level": _level_key(point),
            "unit": "%" if point.measure == "force" else point.unit,
            "force": point.measure == "force",
            "data": [[chart_ms(at), round(v, 3)] for at, v in series],
            "limit": limit * sign if limit else None,
            "watch": limit * sign * 0.7 if limit else None}
        if limit and len(series) >= 3:
            try:
                fc = forecast(series, limit, now=now)
            except ValueError:
                fc = None
            if fc is not None and fc.outcome in (APPROACHING, CROSSED):
                point.forecast = fc
                forecasts.append((point, fc))
        if point.item == Item.DEEP_HORIZONTAL:
            surveys = selectors.profiles(point, surveys=PROFILE_SURVEYS)
            profiles[point.code] = {
                "name": f"{point.code} 测斜", "limit": limit,
                "surveys": [[f"{timezone.localtime(at):%m-%d %H:%M}", [[v, d] for d, v in data]]
                            for at, data in surveys]}
    plan = {"outline": pit.outline or [],
            "points": [[p.x_m, p.y_m, p.code, p.get_item_display(), _level_key(p),
                        None if p.cumulative is None else float(p.cumulative),
                        "%" if p.measure == "force" else p.unit] for p in points],
            "levels": _levels()}
    marks = [[chart_ms(timezone.make_aware(datetime.datetime.combine(s.started_on,
                                                                     datetime.time()))),
              f"{s.name}（{s.excavation_depth_m} m）"] for s in stages]
    worst = max(points, key=lambda p: (LEVEL_ORDER[p.level], p.last_measured_at is not None),
                default=None)
    can_judge = permissions.judging_projects(request.user).filter(pk=pit.project_id).exists()
    if can_judge and form is None:
        form = JudgeForm(initial={"colour": pit.proposed_colour})
    current = next((s for s in reversed(stages) if s.started_on <= timezone.localdate(now)),
                   None)
    return {
        "pit": pit, "points": points, "stages": stages, "stage": current,
        "changes": pit.colour_changes.select_related("actor")[:30],
        "events": selectors.pit_events(request.user, pit),
        "orders": selectors.pit_orders(request.user, pit)[:30],
        # already crossed (days ≤ 0) first, then the soonest crossing
        "forecasts": sorted(forecasts, key=lambda pf: (pf[1].days is None, pf[1].days or 0)),
        "profiles": profiles,
        "plan": plan, "curves": curves, "stage_marks": marks,
        "first_point": worst.code if worst else None,
        "levels": _levels(), "form": form if can_judge else None,
        "can_upload": permissions.uploading_projects(request.user)
        .filter(pk=pit.project_id).exists(),
        "can_edit": permissions.editable_projects(request.user)
        .filter(pk=pit.project_id).exists(),
        "colour_hex": COLOUR_HEX.get(pit.colour), "proposed_hex": COLOUR_HEX.get(pit.proposed_colour),
    }


@login_required
def pit(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    return render(request, "pits/pit.html", _pit_context(request, pit))


@login_required
@require_POST
def judge(request, pk):
    """The design unit's judgement of the pit's colour (研判): 403 for anyone else who sees
    the pit; a bad form is shown again with its errors."""
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    permissions.require_judge(request.user, pit.project)
    form = JudgeForm(request.POST)
    if form.is_valid():
        try:
            change = services.judge_colour(pit, colour=form.cleaned_data["colour"],
                                           opinion=form.cleaned_data["opinion"],
                                           actor=request.user)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"已研判：{change.get_colour_display()}")
            return redirect(f"{pit.get_absolute_url()}#judge")
    return render(request, "pits/pit.html", _pit_context(request, pit, form), status=422)


@login_required
def pit_3d(request, pk):
    """The pit in 3D (echarts-gl): the excavation to the current depth, the walls to the
    design depth, the points by level."""
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    now = timezone.now()
    stage = (pit.stages.filter(started_on__lte=timezone.localdate(now))
             .order_by("-started_on").first())
    points = list(selectors.points(request.user, pit).order_by("item", "code"))
    scene = {
        "outline": pit.outline or [],
        "design_depth": float(pit.design_depth_m),
        "depth": float(stage.excavation_depth_m) if stage else 0.0,
        "points": [[p.x_m, p.y_m, _point_z(p), p.code, p.get_item_display(), _level_key(p)]
                   for p in points],
        "levels": _levels(),
    }
    return render(request, "pits/pit_3d.html", {"pit": pit, "stage": stage, "scene": scene,
                                                "points": points})


def _point_z(point) -> float:
    """Where a point sits in depth (m below ground, negative up): an inclinometer at half its
    tube, a column or heave point at the pit bottom, the rest at the ground surface."""
    if point.item == Item.DEEP_HORIZONTAL and point.tube_depth_m:
        return -float(point.tube_depth_m) / 2
    if point.item in (Item.COLUMN_VERTICAL, Item.COLUMN_FORCE, Item.HEAVE):
        return -float(point.pit.design_depth_m)
    if point.item in (Item.STRUT_FORCE, Item.ANCHOR_FORCE):
        return -1.0
    return 0.0


# ---------------------------------------------------------------- the monthly report


def _report(request):
    month = reports.parse_month(request.GET.get("month"), timezone.localdate())
    return reports.report(request.user, month)


def _download(content: bytes, content_type: str, name: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@login_required
def report_xlsx(request):
    rep = _report(request)
    return _download(reports.to_xlsx(rep), "application/vnd.openxmlformats-officedocument."
                     "spreadsheetml.sheet", reports.filename(rep, "xlsx"))


@login_required
def report_pdf(request):
    rep = _report(request)
    return _download(reports.to_pdf(rep), "application/pdf", reports.filename(rep, "pdf"))
