"""The import page: choose a kind, upload an .xlsx, see "已导入 N 行" or the error table."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from smartsite.exchange import importers, services, workbooks
from smartsite.exchange.forms import ImportForm
from smartsite.exchange.importers import SPECS, ImportFailed

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
