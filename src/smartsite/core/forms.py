"""Forms of the registry pages. Validation messages are Chinese and field-specific."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from smartsite.core import models as m
from smartsite.core.bounds import parse_id
from smartsite.core.choices import PartyRole, RegionLevel, RoleKind
from smartsite.core.validators import normalise_code

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class GeoJSONField(forms.JSONField):
    """A textarea of GeoJSON; `core.geo.parse_geofence` (in Project.clean) does the checks."""

    widget = forms.Textarea(attrs={"rows": 4, "placeholder": '{"type": "Polygon", "coordinates": [...]}'})
    default_error_messages = {"invalid": "电子围栏不是合法的 JSON"}

    def prepare_value(self, value):
        if value in (None, ""):
            return ""
        return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


class ProjectForm(forms.ModelForm):
    """A project and its parties, given by their 统一社会信用代码 as in the 报建 record."""

    geofence = GeoJSONField(label="电子围栏（GeoJSON，WGS-84）", required=False)

    class Meta:
        model = m.Project
        fields = ["permit_no", "name", "address", "kind", "district", "street", "site_area_m2",
                  "contract_value", "start_date", "finish_date", "status", "has_pit",
                  "geofence"]
        widgets = {"start_date": DATE, "finish_date": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = m.Region.objects.filter(level=RegionLevel.DISTRICT)
        streets = m.Region.objects.filter(level=RegionLevel.STREET)
        district = parse_id(self.data.get("district") or getattr(self.instance, "district_id", None))
        if district:
            streets = streets.filter(parent=district)
        self.fields["street"].queryset = streets
        self.fields["district"].widget.attrs.update({
            "hx-get": "/regions/streets", "hx-target": "#id_street", "hx-trigger": "change",
        })
        for role in PartyRole:
            current = self.instance.party(role) if self.instance.pk else None
            self.fields[f"party_{role.value}"] = forms.CharField(
                label=f"{role.label}（统一社会信用代码）", required=False, max_length=18,
                initial=current.uscc if current else "",
            )

    def party_fields(self):
        return [self[f"party_{role.value}"] for role in PartyRole]

    def clean(self):
        cleaned = super().clean()
        parties = {}
        for role in PartyRole:
            code = normalise_code(cleaned.get(f"party_{role.value}"))
            if not code:
                continue
            enterprise = m.Enterprise.objects.filter(uscc=code).first()
            if enterprise is None:
                self.add_error(f"party_{role.value}", f"未找到统一社会信用代码为 {code} 的企业，请先登记企业")
            else:
                parties[role.value] = enterprise
        if parties.get(PartyRole.MONITOR) and not cleaned.get("has_pit"):
            self.add_error(f"party_{PartyRole.MONITOR.value}", "未勾选“含基坑工程”时不能填写监测单位")
        self.parties = parties
        return cleaned


class EnterpriseForm(forms.ModelForm):
    class Meta:
        model = m.Enterprise
        fields = ["uscc", "name", "legal_representative", "address", "phone"]


class PersonForm(forms.ModelForm):
    class Meta:
        model = m.Person
        fields = ["resident_id", "name", "phone", "employer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The full number is never sent back to the browser once stored.
            self.fields["resident_id"].disabled = True
            self.initial["resident_id"] = self.instance.masked_id
        self.fields["employer"].widget = forms.TextInput(attrs={"placeholder": "统一社会信用代码"})
        self.fields["employer"].to_field_name = "uscc"
        self.fields["employer"].error_messages["invalid_choice"] = "未找到该统一社会信用代码的企业"
        if self.instance.employer_id:
            self.initial["employer"] = self.instance.employer.uscc


class QualificationForm(forms.ModelForm):
    class Meta:
        model = m.Qualification
        fields = ["kind", "number", "issuer", "issued_on", "expires_on"]
        widgets = {"issued_on": DATE, "expires_on": DATE}


class PostAssignmentForm(forms.ModelForm):
    person_id_number = forms.CharField(label="人员身份证号", max_length=18)

    class Meta:
        model = m.PostAssignment
        fields = ["post", "start_date", "end_date"]
        widgets = {"start_date": DATE, "end_date": DATE}

    def clean_person_id_number(self):
        value = normalise_code(self.cleaned_data["person_id_number"])
        person = m.Person.objects.filter(resident_id=value).first()
        if person is None:
            raise forms.ValidationError("未找到该身份证号的人员，请先登记人员")
        self.instance.person = person
        return value


class UserCreateForm(forms.Form):
    username = forms.CharField(label="用户名", max_length=150)
    full_name = forms.CharField(label="姓名", max_length=150, required=False)
    email = forms.EmailField(label="电子邮箱", required=False)
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput)

    def clean_username(self):
        name = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=name).exists():
            raise forms.ValidationError("该用户名已存在")
        return name


class RoleForm(forms.ModelForm):
    """Grant a role; the project is given by 报建编号 and the enterprise by 信用代码."""

    project_permit_no = forms.CharField(label="项目报建编号", required=False)
    enterprise_uscc = forms.CharField(label="企业统一社会信用代码", required=False)

    class Meta:
        model = m.Role
        fields = ["kind", "agency", "party_role", "post"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.user = user
        self.fields["kind"].choices = RoleKind.choices

    def clean(self):
        cleaned = super().clean()
        permit = (cleaned.get("project_permit_no") or "").strip()
        uscc = normalise_code(cleaned.get("enterprise_uscc"))
        if permit:
            self.instance.project = m.Project.objects.filter(permit_no=permit).first()
            if self.instance.project is None:
                self.add_error("project_permit_no", f"未找到报建编号为 {permit} 的项目")
        if uscc:
            self.instance.enterprise = m.Enterprise.objects.filter(uscc=uscc).first()
            if self.instance.enterprise is None:
                self.add_error("enterprise_uscc", f"未找到统一社会信用代码为 {uscc} 的企业")
        return cleaned

    # The model names its errors after `project` and `enterprise`; this form asks for them
    # by 报建编号 and 信用代码, so the messages go next to those inputs.
    FIELD_FOR_MODEL_ERROR = {"project": "project_permit_no", "enterprise": "enterprise_uscc"}

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            errors = ValidationError({self.FIELD_FOR_MODEL_ERROR.get(field, field): messages
                                      for field, messages in errors.error_dict.items()})
        super()._update_errors(errors)


class TokenForm(forms.Form):
    name = forms.CharField(label="用途", max_length=100)
