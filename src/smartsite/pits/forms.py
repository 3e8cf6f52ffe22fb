"""Forms of the pit pages (the writes themselves are `services`')."""

from __future__ import annotations

from django import forms

from smartsite.pits.choices import Colour


class JudgeForm(forms.Form):
    """The design unit's judgement (研判) of a pit's colour."""

    colour = forms.ChoiceField(label="研判颜色", choices=Colour.choices,
                               error_messages={"required": "请选择颜色",
                                               "invalid_choice": "未知的颜色"})
    opinion = forms.CharField(label="研判意见", max_length=2000, widget=forms.Textarea(
        attrs={"rows": 3, "placeholder": "依据与处置要求，例如：累计位移接近预警值，建议加密监测……"}),
        error_messages={"required": "研判须填写意见"})
