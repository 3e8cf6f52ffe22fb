"""The monitor pages (扬尘噪声在线监测): the city list with online/offline state, a monitor's
live panel, 24 h chart, 15-minute means against the limit and connection history, the
district's 15-minute exceedance list, rejected devices and the registration form.

Thin callers: reads through `selectors` (all from `scoped()`), writes through `services`.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from smartsite.core.bounds import check_date
from smartsite.core.errors import Forbidden
from smartsite.core.generic import Column, ObjectListView, _errors_to_form, _page_size, export_xlsx
from smartsite.core.templatetags.smartsite import badge
from smartsite.dust import filtersets, permissions, selectors, services
from smartsite.dust.choices import Connectivity, Particulate
from smartsite.dust.forms import MonitorForm
from smartsite.dust.models import DeviceRejection, DustLimit, Monitor


class BadgeColumn(Column):
    """A column of a ColouredChoices value carried by the row (e.g. an annotation)."""

    def value(self, obj):
        raw = getattr(obj, self.accessor, "")
        return self.badge(raw).label if raw in self.badge.values else raw


def _latest(column: str):
    return lambda m: selectors.latest(m, column)


# ---------------------------------------------------------------- city list


class MonitorListView(ObjectListView):
    queryset = Monitor.objects.select_related("project__district", "project__street", "status")
    filterset_class = filtersets.MonitorFilterSet
    title = "监测设备"
    template_name = "dust/monitor_list.html"
    columns = [
        # State and values first: on a phone they are what shows without scrolling sideways.
        Column("MN", "mn", link=True),
        BadgeColumn("连接状态", "connectivity", badge=Connectivity),
        Column("PM10（µg/m³）", _latest("pm10")),
        Column("PM2.5（µg/m³）", _latest("pm25")),
        Column("噪声（dB(A)）", _latest("noise")),
        Column("最近通信", "status.last_seen"),
        Column("项目", "project.name"),
        Column("区", "project.district.name"),
        Column("街镇", "project.street.name"),
        Column("安装位置", "location"),
    ]

    def get_queryset(self, request):
        return selectors.with_connectivity(super().get_queryset(request), timezone.now())

    def extra_context(self, request):
        # The counts follow every filter but the connectivity one (they are its choices).
        data = request.GET.copy()
        data.pop("connectivity", None)
        qs = selectors.monitors(request.user)
        filterset = self.filterset_class(data or None, queryset=qs, request=request)
        if filterset.is_bound:
            qs = filterset.qs if filterset.is_valid() else qs.none()
        counts = selectors.connectivity_counts(qs, timezone.now())
        base = data.copy()
        base.pop("page", None)
        chips = []
        for state in Connectivity:
            base["connectivity"] = state.value
            chips.append({"label": state.label, "n": counts[state.value],
                          "colour": Connectivity.colour(state.value),
                          "url": "?" + base.urlencode(),
                          "on": request.GET.get("connectivity") == state.value})
        base.pop("connectivity", None)
        return {"counts": counts, "chips": chips, "all_url": "?" + base.urlencode(),
                "offline_minutes": _offline_minutes(),
                "add_url_name": "dust:monitor_add" if permissions.can_register(request.user)
                else None}


def _offline_minutes() -> int:
    from django.conf import settings

    return settings.MONITOR_OFFLINE_MINUTES


# ---------------------------------------------------------------- one monitor


def _ago(moment, now) -> str:
    """“刚刚” under a minute, else Django's “3 小时，5 分钟”."""
    from django.utils.timesince import timesince

    if moment is None:
        return ""
    return "刚刚" if (now - moment).total_seconds() < 60 else timesince(moment, now)


def _live_context(monitor, now) -> dict:
    status = selectors.status_of(monitor)
    state = selectors.connectivity_of(monitor, now)
    return {
        "last_seen_ago": _ago(status.last_seen, now) if status else "",
        "connected_for": _ago(status.connected_since, now) if status else "",
        "monitor": monitor,
        "status": status,
        "connectivity": Connectivity(state),
        "connectivity_badge": badge(Connectivity.colour(state), Connectivity(state).label),
        "values": selectors.current_values(monitor),
        "offline_minutes": _offline_minutes(),
        "now": now,
    }


@login_required
def monitor_detail(request, pk):
    monitor = selectors.monitor_or_404(request.user, pk)
    now = timezone.now()
    today = timezone.localdate(now)
    limit = DustLimit.in_force(Particulate.PM10, today)
    quarters, above = [], []
    if limit is not None:
        quarters = selectors.quarter_means(monitor, today, limit)
        above = [(bucket, mean) for bucket, mean in quarters if mean > limit.limit]
    step = datetime.timedelta(seconds=limit.averaging_seconds if limit else 900)
    return render(request, "dust/monitor.html", {
        "title": f"监测设备 {monitor.mn}",
        **_live_context(monitor, now),
        "chart": selectors.minute_series(monitor, now),
        "quarter_chart": {
            "points": [[selectors.chart_ms(b), round(v, 1)] for b, v in quarters],
            "limit": limit.limit if limit else None,
            "limit_label": limit.short_label if limit else None,
            "label": limit.get_particulate_display() if limit else "PM10",
            "day": [selectors.chart_ms(t) for t in selectors.local_day(today)],
            "step": step.total_seconds() * 1000,
        },
        "limit": limit,
        "above": [{"start": b, "end": b + step, "mean": v, "over": v - limit.limit}
                  for b, v in reversed(above)],
        "compliant": limit is not None and len(above) <= limit.max_exceedances_per_day,
        "today": today,
        "connections": selectors.connections(monitor),
        "rejections": selectors.rejections(request.user, monitor)[:50],
        "can_edit": permissions.registrable_projects(request.user)
        .filter(pk=monitor.project_id).exists(),
    })


@login_required
def monitor_live(request, pk):
    """The live panel alone, for HTMX to swap in every 30 s."""
    monitor = selectors.monitor_or_404(request.user, pk)
    return render(request, "dust/partials/live.html", _live_context(monitor, timezone.now()))


# ---------------------------------------------------------------- register / edit


@login_required
def monitor_edit(request, pk=None):
    """Register (no pk) or edit a monitor through `services`; a refused form shows its
    messages on the fields and nothing is saved."""
    if pk is None:
        if not permissions.can_register(request.user):
            raise Forbidden("只有市、区监管部门和项目的施工单位可以登记监测设备")
        stored, instance = None, Monitor()
    else:
        stored = selectors.monitor_or_404(request.user, pk)
        permissions.require_manage(request.user, stored.project)
        instance = Monitor.objects.get(pk=pk)  # the form writes into this copy, not `stored`
    form = MonitorForm(request.POST if request.method == "POST" else None, instance=instance,
                       user=request.user)
    if request.method != "POST":
        return _edit_page(request, form, stored)
    if form.is_valid():
        data = {f: form.cleaned_data[f] for f in MonitorForm.Meta.fields}
        try:
            saved = (services.register_monitor(**data, actor=request.user) if stored is None
                     else services.update_monitor(stored, **data, actor=request.user))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已{'登记' if stored is None else '保存'}监测设备：{saved.mn}")
            return redirect(saved)
    return _edit_page(request, form, stored, status=422)


def _edit_page(request, form, stored, status=200):
    # The generic page titles it 新增监测设备 or 编辑监测设备：<MN as stored>.
    return render(request, "generic/object_edit.html",
                  {"form": form, "object": stored or Monitor(), "title": "监测设备"}, status=status)


# ---------------------------------------------------------------- exceedances


class DayForm(forms.Form):
    date = forms.DateField(label="日期", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                           error_messages={"invalid": "日期格式应为 YYYY-MM-DD，如 2025-03-01"},
                           validators=[check_date])


def _quarter(period_mean) -> str:
    start = timezone.localtime(period_mean.bucket)
    end = start + datetime.timedelta(seconds=period_mean.period)
    return f"{start:%H:%M}–{end:%H:%M}"


def _exceedance_columns(limit: DustLimit, counts: dict[int, int]) -> list[Column]:
    allowed = limit.max_exceedances_per_day

    def verdict(p):
        n = counts.get(p.monitor_id, 0)
        return "不达标" if n > allowed else "达标"

    class VerdictColumn(Column):
        def html(self, obj):
            text = verdict(obj)
            return badge("#dc2626" if text == "不达标" else "#16a34a", text)

    class MonitorColumn(Column):
        def html(self, obj):
            return format_html('<a href="{}">{}</a>', obj.monitor.get_absolute_url(), obj.monitor.mn)

    label = limit.get_particulate_display()
    return [
        MonitorColumn("设备 MN", "monitor.mn"),
        Column("项目", "monitor.project.name"),
        Column("区", "monitor.project.district.name"),
        Column("日期", lambda p: timezone.localtime(p.bucket).date()),
        Column("时段", _quarter),
        Column(f"{label} 均值（µg/m³）", lambda p: round(p.mean(limit.particulate), 1)),
        Column(f"限值（µg/m³，{limit.status}）" if limit.status else "限值（µg/m³）",
               lambda p: limit.limit),
        Column("当日超标次数", lambda p: counts.get(p.monitor_id, 0)),
        VerdictColumn(f"当日判定（允许 {allowed} 次）", verdict),
    ]


@login_required
def exceedance_list(request):
    """超标时段: every averaging period above the limit on one day, in the user's scope."""
    form = DayForm(request.GET)  # no date: today
    today = timezone.localdate()
    day = (form.cleaned_data.get("date") or today) if form.is_valid() else today
    limit = DustLimit.in_force(Particulate.PM10, day)
    context = {"title": "超标时段", "form": form, "day": day, "limit": limit,
               "prev_day": day - datetime.timedelta(days=1),
               "next_day": day + datetime.timedelta(days=1) if day < today else None,
               "today": today}
    if not form.is_valid() or limit is None:
        context.update(columns=[], rows=[], page=None, query="", counts={})
        return render(request, "dust/exceedance_list.html", context, status=400 if form.errors else 200)
    qs = selectors.exceedances(request.user, day, limit)
    counts = selectors.exceedance_counts(qs)
    columns = _exceedance_columns(limit, counts)
    if request.GET.get("export") == "xlsx":
        return export_xlsx(qs[:ObjectListView.export_limit], columns, f"超标时段-{day:%Y%m%d}")
    paginator = Paginator(qs, _page_size(request))
    paginator.count = sum(counts.values())  # known already: spare the table a second scan
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        columns=columns, page=page, query=query.urlencode(),
        rows=[[c.html(o) for c in columns] for o in page.object_list],
        summary={"periods": sum(counts.values()), "monitors": len(counts),
                 "failing": sum(1 for n in counts.values() if n > limit.max_exceedances_per_day)},
    )
    template = "generic/partials/table.html" if request.headers.get("HX-Request") else \
        "dust/exceedance_list.html"
    return render(request, template, context)


# ---------------------------------------------------------------- rejected devices


class LinkedMonitorColumn(Column):
    def value(self, obj):
        if obj.monitor_id is None:
            return "未登记"
        return f"{obj.monitor.mn} · {obj.monitor.project.name}"

    def html(self, obj):
        if obj.monitor_id is None:
            return mark_safe('<span class="muted">未登记</span>')
        return format_html('<a href="{}">{}</a> · <a href="{}">{}</a>',
                           obj.monitor.get_absolute_url(), obj.monitor.mn,
                           reverse("core:project", args=[obj.monitor.project_id]),
                           obj.monitor.project.name)


class RejectionListView(ObjectListView):
    queryset = DeviceRejection.objects.select_related("monitor__project", "district")
    filterset_class = filtersets.RejectionFilterSet
    title = "拒收设备"
    columns = [
        Column("MN", "mn"),
        Column("原因", "reason"),
        Column("说明", "detail"),
        Column("对端地址", "peer"),
        Column("首次", "first_seen"),
        Column("最近", "last_seen"),
        Column("次数", "count"),
        LinkedMonitorColumn("设备 / 项目", "monitor"),
        Column("区", "district.name"),
    ]

    def extra_context(self, request):
        return {"add_url_name": None}
