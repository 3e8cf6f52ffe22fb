"""The dust dashboards: the city/district overview (扬尘总览) with its map points, and a
project's dust page (项目扬尘). Thin callers of `dust.dashboard` (all reads from `scoped()`)."""

from __future__ import annotations

import datetime
import json

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch
from django.utils import timezone

from smartsite.core.bounds import parse_id
from smartsite.core.models import Project
from smartsite.core.scoping import grant_for, scoped
from smartsite.dust import dashboard, selectors
from smartsite.dust.choices import Connectivity, Particulate
from smartsite.dust.models import DustLimit

#: The O&M helper's partial; included on the project page once it exists.
UPKEEP_TEMPLATE = "dust/partials/upkeep_summary.html"
#: A project page draws at most this many 24 h charts (a site has one to three monitors).
MAX_CHARTS = 6


def _window(request) -> int:
    raw = request.GET.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in dashboard.WINDOWS else \
        dashboard.DEFAULT_WINDOW


@login_required
def dashboard_page(request):
    """扬尘总览: the map, order counts by kind and loop, top projects, district ranking."""
    now = timezone.now()
    window = _window(request)
    data = dashboard.overview(request.user, now, window)
    grant = grant_for(request.user)
    band_list = dashboard.bands(data.limit)
    return render(request, "dust/dashboard.html", {
        "title": "扬尘总览",
        "o": data,
        "bands": [(b.value, b.label, b.colour, data.band_counts.get(b.value, 0))
                  for b in band_list],
        "statuses_json": json.dumps([[b.value, b.label, b.colour] for b in band_list],
                                    ensure_ascii=False),
        "windows": dashboard.WINDOWS,
        # The city's 4,500 points overlap at full size: smaller points for bigger scopes.
        "symbol_size": 4 if len(data.rows) > 1500 else 6 if len(data.rows) > 300 else 8,
        "sees_all": grant.sees_all,
        "scope_label": "全市" if grant.sees_all else "本辖区",
    })


@login_required
def dashboard_points(request):
    """The monitors of the user's scope as map points ([lon, lat, id, tooltip, band]); with
    ?project=<id>, one project's (404 if it is not visible)."""
    now = timezone.now()
    project = None
    if "project" in request.GET:
        project = get_object_or_404(scoped(request.user, Project.objects.all()),
                                    pk=parse_id(request.GET["project"]) or -1)
    limit = DustLimit.in_force(Particulate.PM10, timezone.localdate(now))
    rows = dashboard.monitor_rows(request.user, now, limit, project=project)
    points = dashboard.map_points(rows)
    if project is not None and not points and project.longitude is not None:
        points = [[project.longitude, project.latitude, None, project.name, "site"]]
    return JsonResponse({"points": points})


def _upkeep(request, project, now) -> str:
    """The O&M helper's summary card (`UPKEEP_TEMPLATE` rendered with
    `selectors.upkeep_summary(project, month)`), or "" while the O&M pages are not installed."""
    summary = getattr(selectors, "upkeep_summary", None)
    if summary is None:
        return ""
    try:
        template = get_template(UPKEEP_TEMPLATE)
    except TemplateDoesNotExist:
        return ""
    try:
        return template.render(summary(project, timezone.localdate(now).replace(day=1), now),
                               request)
    except NoReverseMatch:  # the O&M pages' routes are not hooked in yet
        return ""


@login_required
def project_dust(request, pk):
    """项目扬尘: a project's monitors with live values and 24 h charts, today's spray linkage
    against the exceedance periods, its dust events and orders, and O&M."""
    project = get_object_or_404(
        scoped(request.user, Project.objects.select_related("district", "street")), pk=pk)
    now = timezone.now()
    today = timezone.localdate(now)
    limit = DustLimit.in_force(Particulate.PM10, today)
    monitors = list(selectors.monitors(request.user).filter(project=project).order_by("mn"))
    cards = []
    for monitor in monitors:
        state = selectors.connectivity_of(monitor, now)
        quarters = selectors.quarter_means(monitor, today, limit, judged_at=now) if limit else []
        over = sum(1 for _b, v in quarters if v > limit.limit) if limit else 0
        cards.append({
            "monitor": monitor, "connectivity": state,
            "connectivity_label": Connectivity(state).label,
            "connectivity_colour": Connectivity.colour(state),
            "values": selectors.current_values(monitor)[:4],
            "last_seen": getattr(selectors.status_of(monitor), "last_seen", None),
            "over": over,
            "compliant": limit is None or over <= limit.max_exceedances_per_day,
            "chart_id": f"chart-{monitor.pk}",
        })
    charts = {c["chart_id"]: selectors.minute_series(c["monitor"], now)
              for c in cards[:MAX_CHARTS] if c["monitor"].active}
    events = list(dashboard.project_events(request.user, project))
    orders = list(dashboard.project_orders(request.user, project))
    labels = dashboard.kind_labels()
    for o in orders:
        o.kind_label = labels.get(o.kind, o.policy.kind_label)
    return render(request, "dust/project_dust.html", {
        "title": f"{project.name} · 扬尘监测",
        "project": project,
        "limit": limit,
        "today": today,
        "now": now,
        "cards": cards,
        "charts": charts,
        "limit_value": limit.limit if limit else None,
        "limit_label": limit.short_label if limit else None,
        "chart_window": [selectors.chart_ms(now - datetime.timedelta(hours=24)),
                         selectors.chart_ms(now)],
        "timeline": dashboard.spray_timeline(project, [m for m in monitors if m.active], today,
                                             now, limit),
        "events": events,
        "orders": orders,
        "open_orders": sum(1 for o in orders if o.state in dashboard.OPEN_ORDER_STATES),
        "upkeep": _upkeep(request, project, now),
    })
