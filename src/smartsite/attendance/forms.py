"""The attendance pages' forms: what a person types, checked for shape only; the rules
(dates inside the post, the 20 % leave cap, the stand-in's certificate, who may do it) are
the services'. Error messages are Chinese and name the field."""

from __future__ import annotations

from django import forms

from smartsite.core.models import Person
from smartsite.core.validators import normalise_code

DATE = forms.DateInput(attrs={"type": "date"})
REQUIRED = {"required": "请填写此项", "invalid": "日期格式应为 年-月-日"}


class _Dates(forms.Form):
    start_date = forms.DateField(label="开始日期", widget=DATE, error_messages=REQUIRED)
    end_date = forms.DateField(label="结束日期", widget=DATE, error_messages=REQUIRED)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "结束日期不能早于开始日期")
        return data


class LeaveForm(_Dates):
    reason = forms.CharField(label="事由", max_length=200,
                             error_messages={"required": "请填写请假事由",
                                             "max_length": "事由不超过 200 字"})


class StandInForm(_Dates):
    resident_id = forms.CharField(label="顶岗人员身份证号", max_length=30,
                                  error_messages={"required": "请填写顶岗人员的身份证号"})
    reason = forms.CharField(label="事由", max_length=200, required=False,
                             error_messages={"max_length": "事由不超过 200 字"})
    field_order = ["resident_id", "start_date", "end_date", "reason"]

    def clean_resident_id(self):
        raw = self.cleaned_data["resident_id"]
        try:
            code = normalise_code(raw)
        except (TypeError, ValueError):
            code = (raw or "").strip().upper()
        person = Person.objects.filter(resident_id=code).first()
        if person is None:
            raise forms.ValidationError("人员库中没有该身份证号的人员，请先由监督站登记该人员")
        self.person = person
        return code


DECISIONS = [("approve", "批准"), ("reject", "驳回")]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="审批", choices=DECISIONS,
                                 error_messages={"required": "请选择批准或驳回",
                                                 "invalid_choice": "请选择批准或驳回"})
    note = forms.CharField(label="审批意见", max_length=200, required=False,
                           error_messages={"max_length": "意见不超过 200 字"})


class StoppageForm(forms.Form):
    start_date = forms.DateField(label="停工日期", widget=DATE, error_messages=REQUIRED)
    end_date = forms.DateField(label="复工前一日", widget=DATE, required=False,
                               help_text="尚未确定复工日期可不填",
                               error_messages={"invalid": "日期格式应为 年-月-日"})
    reason = forms.CharField(label="停工原因", max_length=200,
                             error_messages={"required": "请填写停工原因",
                                             "max_length": "原因不超过 200 字"})

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "复工日期不能早于停工日期")
        return data


class StoppageDecisionForm(forms.Form):
    decision = forms.ChoiceField(label="审批", choices=DECISIONS,
                                 error_messages={"required": "请选择批准或驳回",
                                                 "invalid_choice": "请选择批准或驳回"})


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label="复核结论", choices=[("confirm", "确认作假"),
                                                        ("dismiss", "排除")],
                                 error_messages={"required": "请选择确认作假或排除",
                                                 "invalid_choice": "请选择确认作假或排除"})
    note = forms.CharField(label="复核意见", max_length=200, required=False,
                           error_messages={"max_length": "意见不超过 200 字"})


class SanctionDecisionForm(forms.Form):
    decision = forms.ChoiceField(label="决定", choices=[("confirm", "确认"), ("withdraw", "撤销")],
                                 error_messages={"required": "请选择确认或撤销",
                                                 "invalid_choice": "请选择确认或撤销"})
    note = forms.CharField(label="意见", max_length=200, required=False,
                           error_messages={"max_length": "意见不超过 200 字"})
