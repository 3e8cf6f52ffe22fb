"""Pages of the event center (事件中心) and the disposal center (处置中心), and the phone view
of the large loop. Thin callers: reads through `selectors`, writes through `services`."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from smartsite.core.errors import Conflict, DomainError, SmartsiteError
from smartsite.core.generic import Column, ObjectListView
from smartsite.core.models import Project
from smartsite.core.scoping import grant_for, scoped
from smartsite.workorders import (
    filtersets,
    panels,
    permissions,
    selectors,
    services,
    transitions,
)
from smartsite.workorders.choices import (
    Action,
    EventState,
    LoopLevel,
    OrderState,
    Scenario,
)
from smartsite.workorders.forms import ActionForm, BulkReassignForm, IgnoreEventForm, first_error
from smartsite.workorders.models import (
    Event,
    LegalBasis,
    Notification,
    OrderAttachment,
    WorkOrder,
)
from smartsite.workorders.templatetags.workorders import countdown

ID = re.compile(r"[0-9]{1,18}")
#: Buttons shown first, and as primary, when allowed.
PRIMARY_ACTIONS = [Action.ACCEPT, Action.DISPATCH, Action.DISPOSE, Action.VERIFY_PASS]


# ---------------------------------------------------------------- event center


@login_required
def todo(request):
    """事件中心: my todos (overdue first), counts by scenario and urgency, new warnings."""
    now = timezone.now()
    user = request.user
    mine = selectors.todo(user, now)
    scenario = request.GET.get("scenario", "")
    if scenario in Scenario.values:
        mine = mine.filter(scenario=scenario)
    by_scenario = selectors.todo_counts(user, now)
    regulator = _is_district_regulator(user)
    scope = selectors.scope_counts(user, now)
    warnings = selectors.warnings(user)
    # A regulator also watches the orders of the jurisdiction that are late or at the large loop.
    watch = selectors.watch_list(user, now) if regulator else []
    return render(request, "workorders/todo.html", {
        "title": "事件中心",
        "orders": list(mine[:50]),
        "shown_total": mine.count() if scenario else None,
        "todo_total": sum(r["total"] for r in by_scenario),
        "todo_late": sum(r["late"] for r in by_scenario),
        "todo_soon": sum(r["soon"] for r in by_scenario),
        "by_scenario": [{**r, "label": Scenario.label_of(r["scenario"]),
                         "later": r["total"] - r["late"] - r["soon"]} for r in by_scenario],
        "scenario": scenario,
        "scenarios": Scenario.choices,
        "scope": scope,
        "regulator": regulator,
        "warnings": warnings,
        "watch": watch,
        "warning_count": selectors.open_events(user).count(),
        "now": now,
    })


@login_required
def project_timeline(request, pk):
    """A project's events and orders on one time line, newest first."""
    project = get_object_or_404(scoped(request.user, Project.objects.all()), pk=pk)
    return render(request, "workorders/timeline.html",
                  {"title": f"{project.name} · 事件与工单", "project": project,
                   "items": selectors.timeline(request.user, project)})


@login_required
@require_POST
def event_ignore(request, pk):
    event = get_object_or_404(scoped(request.user, Event.objects.all()), pk=pk)
    form = IgnoreEventForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        services.ignore_event(event, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, f"已忽略事件：{event.title}")
    return redirect(_next(request, reverse("workorders:todo")))


@login_required
@require_POST
def event_dispatch(request, pk):
    """Turn a warning into an order by hand (a regulator), under its rule's policy."""
    event = get_object_or_404(scoped(request.user, Event.objects.all()), pk=pk)
    if event.state != EventState.NEW:
        messages.error(request, f"事件当前为“{event.get_state_display()}”，不能派单")
        return redirect(_next(request, reverse("workorders:todo")))
    order = services.open_order(scenario=event.scenario, kind=event.rule,
                                project=event.project, title=event.title, actor=request.user,
                                events=[event])
    messages.success(request, f"已派单：{order.number}")
    return redirect(order)


# ---------------------------------------------------------------- disposal center


class SelectColumn(Column):
    """A row checkbox for bulk actions (page only, not exported)."""

    def __init__(self):
        super().__init__("", "pk", export=False)

    def html(self, obj) -> str:
        return format_html('<input type="checkbox" name="ids" value="{}:{}" form="bulk" '
                           'aria-label="选择 {}">', obj.pk, obj.version, obj.number)


class OrderListView(ObjectListView):
    queryset = WorkOrder.objects.select_related("project__district", "court_agency",
                                                "court_enterprise", "court_post", "policy")
    filterset_class = filtersets.OrderFilterSet
    title = "处置中心 · 工单"
    template_name = "workorders/order_list.html"
    columns = [
        Column("工单编号", "number", link=True),
        Column("标题", "title", link=True),
        Column("场景", lambda o: Scenario.label_of(o.scenario)),
        Column("类型", "policy.kind_label"),
        Column("项目", "project.name"),
        Column("区", "project.district.name"),
        Column("状态", "state", badge=OrderState),
        Column("闭环层级", "loop_level", badge=LoopLevel),
        Column("当前办理方", "court_label"),
        Column("办理时限", "due_at"),
        Column("剩余", lambda o: countdown(o) if o.state in selectors.WORKING_STATES else "—",
               export=False),
        Column("逾期", "overdue"),
        Column("创建时间", "opened_at"),
    ]

    def get_columns(self, request):
        if _is_district_regulator(request.user):
            return [SelectColumn(), *self.columns]
        return self.columns

    def extra_context(self, request):
        if not _is_district_regulator(request.user):
            return {}
        return {"bulk_form": BulkReassignForm()}


def _order_page(request, order, *, mobile=False, status=200, form=None, error=None,
                conflict=False, penalty_data=None, penalty_error=None):
    """The order page (or its phone layout), optionally with a refused form's input and
    message; both carry the penalties and their form, the phone layout also the scenario's
    evidence panel (`panels`)."""
    context = _detail_context(request, order, form=form, error=error, conflict=conflict)
    context.update(_penalty_context(request, order, data=penalty_data, error=penalty_error))
    if mobile:
        context["panel"] = panels.render(request, order)
    template = "workorders/mobile_order.html" if mobile else "workorders/order.html"
    return render(request, template, context, status=status)


def _detail_context(request, order, *, form=None, error=None, conflict=False) -> dict:
    allowed = permissions.allowed_actions(order, request.user)
    rules = order.policy.rules
    buttons = []
    for action in allowed:
        needs = set(rules.requires.get(action, ()))
        if action in transitions.REASON_REQUIRED:
            needs.add("comment")
        label = "备注 / 上传现场照片" if action == Action.COMMENT else Action(action).label
        buttons.append({"action": action, "label": label,
                        "primary": action in PRIMARY_ACTIONS, "needs": needs,
                        "levels": [(lv, LoopLevel(lv).label) for lv in rules.levels
                                   if lv != order.loop_level]
                        if action == Action.REASSIGN else []})
    actions = order.actions.select_related("actor").prefetch_related("attachments")
    return {
        "title": f"{order.number} {order.title}",
        "order": order,
        "events": order.events.all()[:20],
        "actions": actions,
        "buttons": buttons,
        "form": form,
        "error": error,
        "conflict": conflict,
        "working": order.state in selectors.WORKING_STATES,
    }


def _penalty_context(request, order, *, data=None, error=None) -> dict:
    """The penalties of `order`, and the form to record one for those who may."""
    context = {"penalties": order.penalties.select_related("basis", "party").order_by("created")}
    if permissions.can_penalise(request.user, order.project) and order.state != OrderState.CANCELLED:
        context["penalty_form"] = {
            "bases": LegalBasis.objects.filter(scenario=order.scenario, active=True),
            "parties": order.project.parties.select_related("enterprise").order_by("role"),
            "data": data or {}, "error": error,
            "today": timezone.localdate().isoformat(),
        }
    return context


@login_required
@require_POST
def penalty_add(request, pk):
    """立案处罚: record a penalty decision on the order (services.record_penalty checks it)."""
    order = selectors.order_or_404(request.user, pk)
    data = request.POST
    mobile = data.get("view") == "mobile"
    try:
        party = None
        if data.get("party"):
            party = order.project.parties.filter(enterprise=data["party"]).first() \
                if ID.fullmatch(data["party"]) else None
            if party is None:
                raise DomainError("被处罚单位不是本项目的参建单位", field="party")
            party = party.enterprise
        if not ID.fullmatch(data.get("version", "")):
            raise DomainError("缺少工单版本号，请刷新页面后重试", field="version")
        services.record_penalty(order, request.user, version=int(data["version"]),
                                basis=data.get("basis", ""), amount=data.get("amount", ""),
                                decision_number=data.get("decision_number", ""),
                                decided_on=data.get("decided_on", ""), party=party,
                                note=data.get("note", ""), files=request.FILES.getlist("files"))
    except SmartsiteError as exc:
        return _order_page(request, selectors.order_or_404(request.user, pk), mobile=mobile,
                           status=exc.status, conflict=isinstance(exc, Conflict),
                           penalty_data=data, penalty_error=exc.message)
    messages.success(request, f"已登记立案处罚：{data.get('decision_number', '').strip()}")
    return redirect(reverse("workorders:mobile_order", args=[pk]) if mobile else order)


@login_required
def order_detail(request, pk):
    return _order_page(request, selectors.order_or_404(request.user, pk))


@login_required
def mobile_order(request, pk):
    return _order_page(request, selectors.order_or_404(request.user, pk), mobile=True)


@login_required
@require_POST
def order_act(request, pk):
    """Take one action; on refusal show the page again with the reason and the input kept."""
    order = selectors.order_or_404(request.user, pk)
    mobile = request.POST.get("view") == "mobile"
    form = ActionForm(request.POST, request.FILES)
    if not form.is_valid():
        return _order_page(request, order, mobile=mobile, status=422, form=form,
                           error=first_error(form))
    data = form.cleaned_data
    try:
        services.act(order, data["action"], request.user, version=data["version"],
                     comment=data["comment"], files=data["files"], to_level=data["to_level"])
    except SmartsiteError as exc:
        return _order_page(request, selectors.order_or_404(request.user, pk), mobile=mobile,
                           status=exc.status, form=form, error=exc.message,
                           conflict=isinstance(exc, Conflict))
    messages.success(request, f"已{Action(data['action']).label}：{order.number}")
    fallback = (reverse("workorders:mobile_order", args=[pk]) if mobile
                else order.get_absolute_url())
    return redirect(_next(request, fallback))


@login_required
@require_POST
def bulk_reassign(request):
    """批量转派: each selected order is reassigned on its own; stale or refused ones are
    listed and left as they were."""
    form = BulkReassignForm(request.POST)
    back = _next(request, reverse("workorders:order_list"))
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(back)
    picked = {}
    for raw in request.POST.getlist("ids"):
        pk, _, version = raw.partition(":")
        if not (ID.fullmatch(pk) and ID.fullmatch(version)):
            messages.error(request, f"无效的工单选择“{raw[:40]}”")
            return redirect(back)
        picked[int(pk)] = int(version)
    if not picked:
        messages.error(request, "请先勾选要转派的工单")
        return redirect(back)
    done, failed = [], []
    for order in selectors.visible_orders(request.user).filter(pk__in=picked):
        try:
            services.act(order, Action.REASSIGN, request.user, version=picked[order.pk],
                         comment=form.cleaned_data["comment"],
                         to_level=form.cleaned_data["to_level"])
            done.append(order.number)
        except SmartsiteError as exc:
            failed.append(f"{order.number}：{exc.message}")
    missing = len(picked) - len(done) - len(failed)
    if missing:
        failed.append(f"{missing} 张工单不存在或不在您的管辖范围内")
    if done:
        messages.success(request, f"已转派 {len(done)} 张工单：{'、'.join(done[:10])}"
                                  + ("…" if len(done) > 10 else ""))
    for text in failed[:10]:
        messages.error(request, text)
    return redirect(back)


@login_required
def attachment(request, pk):
    """An order attachment, to users who can see the order only."""
    item = get_object_or_404(OrderAttachment.objects.select_related("action"), pk=pk)
    if not selectors.visible_orders(request.user).filter(pk=item.action.order_id).exists():
        raise Http404
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404("附件文件已不存在") from None
    response = FileResponse(handle, content_type=item.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- phone view


@login_required
def mobile(request):
    """The large loop on a phone: my court's orders as cards, recent closures below."""
    now = timezone.now()
    return render(request, "workorders/mobile.html", {
        "title": "我的工单",
        "orders": list(selectors.todo(request.user, now)[:100]),
        "total": selectors.todo(request.user, now).count(),
        "closed": selectors.recent_large_closures(request.user, now),
    })


# ---------------------------------------------------------------- notifications


@login_required
def notifications(request):
    qs = Notification.objects.filter(user=request.user).select_related("order")
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return render(request, "workorders/notifications.html", {
        "title": "通知", "items": qs[:200], "unread_only": unread_only})


@login_required
def notification_open(request, pk):
    note = get_object_or_404(Notification.objects.filter(user=request.user), pk=pk)
    services.mark_read(request.user, [note.pk])
    return redirect(note.link or note.order)


@login_required
@require_POST
def notifications_read(request):
    count = services.mark_read(request.user)
    messages.success(request, f"已将 {count} 条通知标为已读")
    return redirect(reverse("workorders:notifications"))


def _is_district_regulator(user) -> bool:
    """City or district regulators: they dispatch, ignore and reassign (a street squad
    handles large-loop orders but does not steer them)."""
    grant = grant_for(user)
    return grant.sees_all or bool(grant.district_ids)


def _next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback

