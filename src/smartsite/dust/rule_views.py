"""The dust rules' pages (扬尘规则, design.md §2 rule 3): every signed-in user sees the rules,
their parameters (defaults filled in) and sources; a city administrator changes them through
`services.update_rule` (validated, audited).

Included from `dust/urls.py` as `rules/`; URL names `rule_list`, `rule_edit`.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from smartsite.core import audit
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.permissions import is_city_admin
from smartsite.dust import rules, services
from smartsite.dust.models import DustLimit, DustRule


class RuleForm(forms.Form):
    params = forms.CharField(
        label="参数（JSON）", required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="只写与默认值不同的参数，如 {\"minutes\": 90}；可用参数及默认值见下表")
    source = forms.CharField(label="依据", widget=forms.Textarea(attrs={"rows": 4}),
                             help_text="标准及条款，或平台取值的理由")
    enabled = forms.BooleanField(label="启用", required=False)


def _rows(rule: DustRule) -> list[tuple[str, str, object, object]]:
    """(name, label, default, current) of each parameter."""
    try:
        current = rules.parse(rule.code, rule.params)
    except Exception:  # a row edited outside the platform: show the defaults beside it
        current = {}
    spec = rules.RULES[rule.code][2]
    return [(name, p.label, p.default, current.get(name, "—")) for name, p in spec.items()]


@login_required
def rule_list(request):
    rules.load_rules()
    items = [(rule, rules.RULES.get(rule.code, ("", "", {}))[1], _rows(rule))
             for rule in DustRule.objects.order_by("code") if rule.code in rules.RULES]
    return render(request, "dust/rule_list.html", {
        "title": "扬尘规则", "items": items, "can_edit": is_city_admin(request.user),
        "limits": DustLimit.objects.filter(active=True).order_by("particulate", "-valid_from")})


@login_required
def rule_edit(request, code):
    if not is_city_admin(request.user):
        raise Forbidden("只有市级管理员可以修改扬尘规则")
    rule = get_object_or_404(DustRule, code=code)
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_rule(rule, actor=request.user, params=data["params"],
                                     source=data["source"], enabled=data["enabled"])
            except DomainError as exc:
                rule.refresh_from_db()
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"已修改扬尘规则“{rule.label}”，下一次运行起生效")
                return redirect("dust:rule_list")
        status = 422
    else:
        form = RuleForm(initial={"params": json.dumps(rule.params, ensure_ascii=False, indent=2),
                                 "source": rule.source, "enabled": rule.enabled})
    return render(request, "dust/rule_edit.html", {
        "title": f"修改扬尘规则：{rule.label}", "rule": rule, "form": form, "rows": _rows(rule),
        "history": audit.history(rule)[:20]}, status=status)


urlpatterns = [
    path("rules/", rule_list, name="rule_list"),
    path("rules/<slug:code>/edit/", rule_edit, name="rule_edit"),
]
