"""Forms of the pit pages (the writes themselves are `services`')."""

from __future__ import annotations

from django import forms

from smartsite.core.choices import PartyRole
from smartsite.core.models import Enterprise, ProjectParty
from smartsite.pits.choices import Colour
from smartsite.pits.models import Pit, Point, Stage


class JudgeForm(forms.Form):
    """The design unit's judgement (研判) of a pit's colour."""

    colour = forms.ChoiceField(label="研判颜色", choices=Colour.choices,
                               error_messages={"required": "请选择颜色",
                                               "invalid_choice": "未知的颜色"})
    opinion = forms.CharField(label="研判意见", max_length=2000, widget=forms.Textarea(
        attrs={"rows": 3, "placeholder": "依据与处置要求，例如：累计位移接近预警值，建议加密监测……"}),
        error_messages={"required": "研判须填写意见"})


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PitForm(forms.ModelForm):
    """Register or edit a pit. The monitoring company and the design unit are chosen among
    the project's 监测单位 and 设计单位 parties (报建), by default the first of each."""

    outline = forms.JSONField(
        label="基坑轮廓", required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "[[0, 0], [80, 0], [80, 40], [0, 40]]"}),
        help_text="平面角点坐标（米，基坑局部坐标系），按顺序，至少三点",
        error_messages={"invalid": "基坑轮廓应为 JSON，如 [[0, 0], [80, 0], [80, 40], [0, 40]]"})

    class Meta:
        model = Pit
        fields = ["code", "name", "safety_grade", "environment_grade", "design_depth_m",
                  "retaining", "support", "outline", "monitoring_company", "design_unit"]

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        parties = ProjectParty.objects.filter(project=project).select_related("enterprise")
        for name, role in (("monitoring_company", PartyRole.MONITOR),
                           ("design_unit", PartyRole.DESIGNER)):
            field = self.fields[name]
            field.queryset = Enterprise.objects.filter(
                pk__in=parties.filter(role=role).values("enterprise"))
            field.empty_label = "（项目的参建单位中选择）"
            field.error_messages["invalid_choice"] = f"只能选择本项目登记的{PartyRole(role).label}"


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "started_on", "excavation_depth_m", "base_slab"]
        widgets = {"started_on": DATE,
                   "name": forms.TextInput(attrs={"placeholder": "如 第二层土方开挖"})}


class PointForm(forms.ModelForm):
    class Meta:
        model = Point
        fields = ["code", "item", "x_m", "y_m", "instrument", "automated", "tube_depth_m",
                  "design_value", "alarm_cumulative", "alarm_rate"]
        widgets = {"code": forms.TextInput(attrs={"placeholder": "如 CX-01"})}
