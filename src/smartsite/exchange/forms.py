"""The import page's form and the webhook form."""

from __future__ import annotations

from django import forms
from django.conf import settings

from smartsite.exchange.choices import ALL_ORDER_EVENTS, EVENT_CHOICES
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


class WebhookForm(forms.Form):
    """What the owner types; `exchange.services.create_webhook` checks it all again."""

    name = forms.CharField(label="名称", max_length=100,
                           error_messages={"required": "请填写名称",
                                           "max_length": "名称不能超过 100 个字符"})
    url = forms.CharField(label="接收地址（http:// 或 https://）", max_length=500,
                          widget=forms.TextInput(attrs={
                              "placeholder": "https://example.com/hooks/smartsite",
                              "inputmode": "url", "style": "width:min(100%, 40rem)"}),
                          error_messages={"required": "请填写接收地址",
                                          "max_length": "接收地址不能超过 500 个字符"})
    events = forms.MultipleChoiceField(
        label="事件类型", choices=EVENT_CHOICES, initial=[ALL_ORDER_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一种事件类型",
                        "invalid_choice": "未知的事件类型“%(value)s”"})
