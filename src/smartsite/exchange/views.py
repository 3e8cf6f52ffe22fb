"""The import page: choose a kind, upload an .xlsx, see "已导入 N 行" or the error table.
The webhook page: my webhooks, add one (secret shown once), pause, delete, test, deliveries."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from smartsite.core.errors import DomainError
from smartsite.exchange import importers, services, workbooks
from smartsite.exchange.choices import EVENT_CHOICES, OutboxState
from smartsite.exchange.forms import ImportForm, WebhookForm
from smartsite.exchange.importers import SPECS, ImportFailed
from smartsite.exchange.models import OutboxMessage, Webhook

#: The last failed import's errors, kept in the session for the report download.
REPORT_KEY = "exchange.report"
#: Errors shown on the page; the downloadable report has all that were kept.
SHOWN_ERRORS = 500


@login_required
def import_page(request):
    services.require_importer(request.user)
    initial_kind = request.GET.get("kind") if request.GET.get("kind") in SPECS else "projects"
    form = ImportForm(request.POST or None, request.FILES or None,
                      initial={"kind": initial_kind})
    failure = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            kind, upload = form.cleaned_data["kind"], form.cleaned_data["file"]
            dry_run = form.cleaned_data["dry_run"]
            try:
                count = services.import_workbook(kind, upload, actor=request.user,
                                                 dry_run=dry_run)
            except ImportFailed as exc:
                failure = exc
                request.session[REPORT_KEY] = {
                    "kind": kind, "file": upload.name[:200], "total": exc.total,
                    "errors": [e.as_dict() for e in exc.errors],
                }
            else:
                label = SPECS[kind].label
                if dry_run:
                    messages.success(request, f"校验通过：{count} 行{label}数据均有效（未导入）")
                else:
                    messages.success(request, f"已导入 {count} 行{label}数据")
                return redirect(f"{reverse('exchange:import')}?kind={kind}")
        status = 422
    return render(request, "exchange/import.html", {
        "title": "导入",
        "form": form,
        "specs": list(SPECS.values()),
        "failure": failure,
        "shown_errors": failure.errors[:SHOWN_ERRORS] if failure else [],
        "more_errors": max(0, failure.total - SHOWN_ERRORS) if failure else 0,
        "max_rows": importers.max_rows(),
        "max_mb": _max_mb(),
    }, status=status)


def _max_mb() -> int:
    from django.conf import settings

    return settings.MAX_UPLOAD_BYTES // (1024 * 1024)


@login_required
def template_download(request, kind):
    services.require_importer(request.user)
    if kind not in SPECS:
        raise Http404
    content = workbooks.template(kind, request.user)
    return workbooks.xlsx_response(content, f"{SPECS[kind].label}导入模板.xlsx")


@login_required
def report_download(request):
    services.require_importer(request.user)
    report = request.session.get(REPORT_KEY)
    if not report:
        raise Http404("没有可下载的错误报告")
    content = workbooks.error_report(report["errors"], kind=report["kind"],
                                     filename=report["file"], total=report["total"])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return workbooks.xlsx_response(content, f"导入错误报告-{stamp}.xlsx")


# ---------------------------------------------------------------- webhooks

#: The new webhook's secret, kept in the session until the page has shown it once.
NEW_SECRET_KEY = "exchange.new_webhook_secret"
#: Deliveries listed under each webhook.
RECENT_DELIVERIES = 10
EVENT_LABELS = dict(EVENT_CHOICES)


@login_required
def webhooks(request):
    """My webhooks with their last deliveries, and the form to add one."""
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            hook = services.create_webhook(request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            request.session[NEW_SECRET_KEY] = {"id": hook.pk, "secret": hook.secret}
            messages.success(request, f"已添加 Webhook“{hook.name}”")
            return redirect("exchange:webhooks")
    new = request.session.pop(NEW_SECRET_KEY, None)
    hooks = list(request.user.webhooks.all())
    for hook in hooks:
        hook.recent = list(hook.messages.order_by("-created", "-pk")[:RECENT_DELIVERIES])
        for message in hook.recent:
            message.colour = OutboxState.colour(message.state)
        hook.event_labels = [EVENT_LABELS.get(e, e) for e in hook.events]
        hook.new_secret = new["secret"] if new and new["id"] == hook.pk else None
    return render(request, "exchange/webhooks.html", {
        "title": "Webhook", "form": form, "hooks": hooks,
    }, status=422 if form.errors else 200)


def _my_webhook(request, pk) -> Webhook:
    return get_object_or_404(Webhook, pk=pk, owner=request.user)  # others' look absent


@login_required
@require_POST
def webhook_active(request, pk):
    hook = _my_webhook(request, pk)
    active = request.POST.get("active") == "1"
    services.set_webhook_active(hook, actor=request.user, active=active)
    messages.success(request, f"已{'启用' if active else '停用'} Webhook“{hook.name}”")
    return redirect("exchange:webhooks")


@login_required
@require_POST
def webhook_delete(request, pk):
    hook = _my_webhook(request, pk)
    services.delete_webhook(hook, actor=request.user)
    messages.success(request, f"已删除 Webhook“{hook.name}”及其推送记录")
    return redirect("exchange:webhooks")


@login_required
@require_POST
def webhook_test(request, pk):
    hook = _my_webhook(request, pk)
    try:
        services.send_test(hook, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已将测试推送加入发送队列，稍后由后台进程发送到 {hook.url}")
    return redirect("exchange:webhooks")


@login_required
@require_POST
def delivery_redeliver(request, pk):
    message = get_object_or_404(OutboxMessage, pk=pk, webhook__owner=request.user)
    try:
        services.redeliver(message, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"推送 #{message.pk} 已重新加入发送队列")
    return redirect("exchange:webhooks")
