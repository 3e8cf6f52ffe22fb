"""Forms of the disposal center: one action form (comment, photos, target level), the bulk
转派 form and the event forms. They only shape input; `services` decides what is allowed."""

from __future__ import annotations

from django import forms

from smartsite.workorders.choices import Action, LoopLevel

MAX_FILES = 9


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (`<input type=file multiple>`)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        if len(items) > MAX_FILES:
            raise forms.ValidationError(f"一次最多上传 {MAX_FILES} 个附件")
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class ActionForm(forms.Form):
    action = forms.ChoiceField(label="操作", choices=Action.choices)
    version = forms.IntegerField(label="版本", min_value=1, widget=forms.HiddenInput,
                                 error_messages={"required": "缺少工单版本号，请刷新页面后重试",
                                                 "invalid": "工单版本号无效，请刷新页面后重试"})
    comment = forms.CharField(label="意见", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    to_level = forms.ChoiceField(label="转派至", required=False,
                                 choices=[("", "—"), *LoopLevel.choices])
    files = MultipleFileField(label="现场照片", required=False,
                              widget=MultipleFileInput(attrs={"accept": "image/*,.pdf"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].error_messages["invalid_choice"] = "未知的操作“%(value)s”"
        self.fields["to_level"].error_messages["invalid_choice"] = "未知的闭环层级“%(value)s”"


class BulkReassignForm(forms.Form):
    to_level = forms.ChoiceField(label="转派至", choices=LoopLevel.choices)
    comment = forms.CharField(label="意见", max_length=2000,
                              error_messages={"required": "批量转派必须填写意见"})


class IgnoreEventForm(forms.Form):
    reason = forms.CharField(label="忽略原因", max_length=200,
                             error_messages={"required": "忽略事件必须填写原因"})


def first_error(form: forms.Form) -> str:
    """The first message of a bound, invalid form (for a one-line flash)."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}：{errors[0]}" if label else errors[0]
    return "提交的内容无效"
