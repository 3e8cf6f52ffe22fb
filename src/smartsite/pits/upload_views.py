"""The survey file pages: the pit's template (xlsx, or one format as CSV) and the upload form
for the project's 监测单位 — "新增/重复/逾期" on success, every row's error in a table on
refusal (nothing stored). Thin callers of `pits.uploads` and `services.record_survey`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from smartsite.pits import permissions, selectors, services, uploads

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ERRORS = 500


class SurveyFileForm(forms.Form):
    file = forms.FileField(
        label="监测数据文件（.xlsx 或 .csv）",
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,.csv,{XLSX},text/csv"}),
        error_messages={"required": "请选择要上传的 .xlsx 或 .csv 文件", "empty": "上传的文件是空的"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > uploads.MAX_BYTES:
            raise forms.ValidationError(f"文件过大（{upload.size / 1048576:.1f} MB），上限为 "
                                        f"{uploads.MAX_BYTES // 1048576} MB")
        return upload


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
def survey_template(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    fmt = request.GET.get("format", "xlsx")
    name = f"{pit.code}-监测数据模板"
    if fmt == "xlsx":
        return _attachment(uploads.template_xlsx(pit), XLSX, f"{name}.xlsx")
    kind = request.GET.get("kind", uploads.VALUES)
    if fmt != "csv" or kind not in uploads.HEADERS:
        raise Http404
    return _attachment(uploads.template_csv(pit, kind), "text/csv; charset=utf-8",
                       f"{name}-{uploads.SHEETS[kind]}.csv")


@login_required
def survey_upload(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    permissions.require_upload(request.user, pit.project)
    form = SurveyFileForm(request.POST or None, request.FILES or None)
    failure, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                upload = uploads.store_file(pit, form.cleaned_data["file"], actor=request.user)
            except services.SurveyRejected as exc:
                failure = exc
            else:
                messages.success(request, uploads.outcome_text(upload))
                return redirect(reverse("pits:survey_upload", args=[pit.pk]))
        status = 422
    return render(request, "pits/survey_upload.html", {
        "title": "上传监测数据", "pit": pit, "form": form, "failure": failure,
        "errors": failure.errors[:SHOWN_ERRORS] if failure else [],
        "more_errors": max(0, len(failure.errors) - SHOWN_ERRORS) if failure else 0,
        "recent": pit.uploads.select_related("uploaded_by")[:10],
        "max_mb": uploads.MAX_BYTES // 1048576, "sheets": uploads.SHEETS,
        "headers": uploads.HEADERS}, status=status)
