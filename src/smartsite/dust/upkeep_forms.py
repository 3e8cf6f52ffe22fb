"""Forms of the upkeep pages (设备运维). They check shapes; `services` checks the rules and
the permission, and its messages land on the same fields."""

from __future__ import annotations

from django import forms

from smartsite.dust.choices import InspectionKind, MaintenanceKind
from smartsite.dust.models import Monitor, SprayDevice

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MOMENT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class InspectionForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=InspectionKind.choices,
                             initial=InspectionKind.ANNUAL)
    inspected_on = forms.DateField(label="检定/校准日期", widget=DATE,
                                   error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})
    expires_on = forms.DateField(label="有效期至", widget=DATE,
                                 error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})
    body = forms.CharField(label="检测机构", max_length=100)
    certificate_no = forms.CharField(label="证书编号", max_length=60)
    passed = forms.BooleanField(label="结论合格", required=False, initial=True)
    certificate = forms.FileField(label="证书文件", help_text="PDF、JPEG 或 PNG，不超过 10 MB",
                                  widget=forms.ClearableFileInput(
                                      attrs={"accept": "application/pdf,image/jpeg,image/png"}),
                                  error_messages={"required": "请上传证书文件（PDF、JPEG 或 PNG）"})


class SprayDeviceForm(forms.ModelForm):
    """The model and `services.add_spray_device` check it (as for the API)."""

    class Meta:
        model = SprayDevice
        fields = ["name", "kind", "sb_code", "active"]
        widgets = {"sb_code": forms.TextInput(attrs={"placeholder": "SB1",
                                                     "autocapitalize": "characters"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "sb_code"):  # the model's words, as the API gives them
            words = SprayDevice._meta.get_field(name).error_messages
            self.fields[name].error_messages["required"] = words["blank"]
            if "max_length" in words:
                self.fields[name].error_messages["max_length"] = words["max_length"]


class MaintenanceForm(forms.Form):
    """A technician on a phone: the monitor (on the project page), what, when, what was done."""

    monitor = forms.ModelChoiceField(label="设备", queryset=Monitor.objects.none(),
                                     empty_label="请选择设备",
                                     error_messages={"invalid_choice": "只能选择本项目的监测设备"})
    kind = forms.ChoiceField(label="类型", choices=MaintenanceKind.choices)
    started_at = forms.DateTimeField(label="开始时间", widget=MOMENT, input_formats=MOMENT_FORMATS,
                                     error_messages={"invalid": "时间格式应为 YYYY-MM-DD HH:MM"})
    ended_at = forms.DateTimeField(label="结束时间", widget=MOMENT, input_formats=MOMENT_FORMATS,
                                   required=False, help_text="故障未修复时留空",
                                   error_messages={"invalid": "时间格式应为 YYYY-MM-DD HH:MM"})
    description = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 4}),
                                  max_length=2000)
    technician = forms.CharField(label="运维人员", max_length=40, required=False)

    def __init__(self, *args, monitors=None, **kwargs):
        super().__init__(*args, **kwargs)
        if monitors is None:
            del self.fields["monitor"]
        else:
            self.fields["monitor"].queryset = monitors


class ReviewForm(forms.Form):
    action = forms.ChoiceField(label="审核", choices=[("approve", "审核通过"), ("reject", "驳回")])
    comment = forms.CharField(label="审核意见", required=False, max_length=500,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="驳回时必填")
