"""Forms of the monitor pages. Validation messages are Chinese and field-specific."""

from __future__ import annotations

import datetime

from django import forms

from smartsite.dust.metrics import METRICS
from smartsite.dust.models import Monitor
from smartsite.dust.permissions import registrable_projects

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
#: Characters that delimit HJ 212 fields: a password holding one could not be sent.
PACKET_DELIMITERS = set(";,=&") | {" "}


class MonitorForm(forms.ModelForm):
    """Register or edit a monitor. The project list holds only the projects the user may
    register monitors on (`permissions.registrable_projects`)."""

    measures = forms.MultipleChoiceField(
        label="监测参数", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(m.column, m.label) for m in METRICS],
        help_text="设备测量的参数；不选表示按设备类型")

    class Meta:
        model = Monitor
        fields = ["mn", "password", "project", "location", "longitude", "latitude", "kind",
                  "particulate_unit", "vendor", "model_name", "measures", "installed_on", "active"]
        widgets = {
            "installed_on": DATE,
            "mn": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                         "placeholder": "如 31010600000000000000A001"}),
            "password": forms.TextInput(attrs={"autocomplete": "off", "placeholder": "6 位"}),
            "longitude": forms.NumberInput(attrs={"step": "0.000001", "placeholder": "如 121.473700"}),
            "latitude": forms.NumberInput(attrs={"step": "0.000001", "placeholder": "如 31.230400"}),
        }
        error_messages = {
            "mn": {"unique": "该设备编码（MN）已登记给另一台设备，MN 不能重复",
                   "max_length": "设备编码（MN）最多 24 位"},
            "password": {"max_length": "访问密码（PW）最多 6 位（HJ 212 报文的 PW 字段）",
                         "required": "请填写访问密码（PW）"},
            "project": {"invalid_choice": "只能选择您有权登记监测设备的项目"},
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = registrable_projects(user).order_by("name")
        self.fields["project"].empty_label = "请选择项目"
        self.fields["mn"].help_text = "设备上报报文中的 MN 字段：1–24 位字母或数字"

    def clean_mn(self):
        return (self.cleaned_data.get("mn") or "").strip()

    def clean_password(self):
        password = self.cleaned_data.get("password") or ""
        bad = sorted({c for c in password if c in PACKET_DELIMITERS or not c.isascii()
                      or not c.isprintable()})
        if bad:
            shown = "、".join("空格" if c == " " else f"“{c}”" for c in bad)
            raise forms.ValidationError(
                f"访问密码（PW）不能含有 {shown}（HJ 212 报文的分隔符或非 ASCII 字符）")
        return password

    def clean_installed_on(self):
        day = self.cleaned_data.get("installed_on")
        if day and day > datetime.date.today() + datetime.timedelta(days=1):
            raise forms.ValidationError("安装日期不能晚于今天")
        return day
