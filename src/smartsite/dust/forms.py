"""Forms of the monitor pages. They hold no rule of their own: the model's validators and
`clean()` (run by the form and by `services`) give the same Chinese, field-specific messages
to the page and to the API."""

from __future__ import annotations

from django import forms

from smartsite.dust.metrics import METRICS
from smartsite.dust.models import Monitor
from smartsite.dust.permissions import registrable_projects

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
            "project": {"invalid_choice": "只能选择您有权登记监测设备的项目"},
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = registrable_projects(user).order_by("name")
        self.fields["project"].empty_label = "请选择项目"
        self.fields["mn"].help_text = "设备上报报文中的 MN 字段：1–24 位字母或数字"
        for name in ("mn", "password"):  # the model's words, as the API gives them
            words = Monitor._meta.get_field(name).error_messages
            self.fields[name].error_messages.update(required=words["blank"],
                                                    max_length=words["max_length"])
