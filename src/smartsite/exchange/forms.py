"""The import page's form."""

from __future__ import annotations

from django import forms
from django.conf import settings

from smartsite.exchange.importers import KINDS


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="导入类型", choices=KINDS, initial="projects")
    file = forms.FileField(
        label="Excel 文件（.xlsx）",
        widget=forms.ClearableFileInput(attrs={
            "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
        error_messages={"required": "请选择要上传的 .xlsx 文件",
                        "empty": "上传的文件是空的"},
    )
    dry_run = forms.BooleanField(label="只校验，不导入", required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"文件过大（{upload.size / 1048576:.1f} MB），上限为 {limit // 1048576} MB")
        return upload
