"""Loop-policy pages (闭环策略, design.md §2 rule 3): the active policies, one version's rules
in readable Chinese with its version history, and — for city administrators — publishing a
new version through `services.publish_policy`.

Included from `workorders/urls.py` (namespace "workorders") as `path("policies/", ...)`;
URL names `policy_list`, `policy`, `policy_edit`.
"""

from __future__ import annotations

import datetime
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.models import Post
from smartsite.core.permissions import is_city_admin
from smartsite.core.scoping import scoped
from smartsite.workorders import services
from smartsite.workorders.choices import LOOP_ORDER, Action, LoopLevel
from smartsite.workorders.models import LegalBasis, LoopPolicy
from smartsite.workorders.policy import STEPS, Court, Policy

STEP_LABELS = {"dispatch": "派单", "dispose": "处置", "verify": "核查"}
NEED_LABELS = {"comment": "填写意见", "photo": "上传现场照片"}


def duration(delta: datetime.timedelta | None) -> str:
    """P2D → 2 天, PT36H → 1 天 12 小时, PT90M → 1 小时 30 分钟."""
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "天"), (hours, "小时"), (minutes, "分钟")) if n]
    return " ".join(parts) or "不足 1 分钟"


def deadline_summary(rules: Policy) -> str:
    """处置 1 天 · 核查 1 天, in step order."""
    return " · ".join(f"{STEP_LABELS[s]} {duration(rules.deadlines[s])}" for s in STEPS
                      if s in rules.deadlines) or "未设时限"


def _court(court: Court | None, posts: dict[str, str], none: str) -> str:
    if court is None:
        return none
    text = court.describe()
    if court.post:  # describe() names the post by its code; show the post's name
        text = text.replace(f"（{court.post}）", f"（{posts.get(court.post, court.post)}）")
    return text


def _on_entry(level, posts: dict[str, str]) -> str:
    """What happens on entering a level: the legal bases of the opinion, who else is told."""
    parts = []
    if level.opinion:
        bases = {b.code: f"《{b.law}》{b.clause}" for b in
                 LegalBasis.objects.filter(code__in=level.opinion)}
        parts.append("处置意见依据" + "、".join(bases.get(c, c) for c in level.opinion))
    if level.notify:
        parts.append("同时告知" + "、".join(_court(c, posts, "—") for c in level.notify))
    return "；".join(parts) or "—"


def readable(policy: LoopPolicy) -> dict:
    """The rules of one version, as the sentences and rows the detail page shows."""
    rules = policy.rules
    posts = dict(Post.objects.values_list("code", "name"))
    auto = f"自动核查（{rules.auto_verify_check}）"
    levels = [{
        "value": lv.value, "label": lv.label, "start": lv.value == rules.start_level,
        "dispatcher": _court(rules.levels[lv.value].dispatcher, posts,
                             "区监督站（默认）"),
        "handler": _court(rules.levels[lv.value].handler, posts, "—"),
        "verifier": _court(rules.levels[lv.value].verifier, posts, auto),
        "on_entry": _on_entry(rules.levels[lv.value], posts),
    } for lv in LOOP_ORDER if lv.value in rules.levels]
    escalation = []
    if rules.escalate_on_overdue:
        steps = "、".join(STEP_LABELS[s] for s in STEPS if s in rules.escalate_on_overdue)
        escalation.append(f"{steps}逾期时，升级到下一闭环层级（最高层级逾期只标记“已逾期”）")
    else:
        escalation.append("逾期不自动升级，只标记“已逾期”")
    if rules.escalate_after_rejections:
        escalation.append(f"核查不通过累计 {rules.escalate_after_rejections} 次后，升级到下一闭环层级")
    else:
        escalation.append("核查不通过不自动升级")
    if rules.auto_verify_check:
        every = f"，每 {duration(rules.auto_verify_every)}检查一次" if rules.auto_verify_every else ""
        verification = (f"核查方为“自动核查”的层级，由场景检查“{rules.auto_verify_check}”自动核查"
                        f"{every}；时限内未通过按核查不通过处理")
    else:
        verification = "人工核查"
    requirements = [f"{Action(action).label}：须{'、'.join(NEED_LABELS[n] for n in sorted(needs))}"
                    for action, needs in sorted(rules.requires.items()) if needs]
    return {
        "start": LoopLevel(rules.start_level).label,
        "dispatch": "系统自动派单" if rules.auto_dispatch else "由各层级的派单方派单",
        "auto_dispatch": rules.auto_dispatch,
        "levels": levels,
        "deadlines": deadline_summary(rules),
        "remind": (f"到期前 {duration(rules.remind_before)}提醒办理方" if rules.remind_before
                   else "不提前提醒"),
        "escalation": escalation,
        "verification": verification,
        "requirements": requirements or ["无额外要求"],
    }


class PolicyForm(forms.Form):
    kind_label = forms.CharField(label="工单类型名称", max_length=50)
    source = forms.CharField(label="依据", widget=forms.Textarea(attrs={"rows": 4}),
                             help_text="标准或文件及条款；发布后显示在策略页和工单上")
    spec = forms.CharField(label="策略（JSON）",
                           widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "false"}),
                           help_text="各层级办理方、时限（ISO 8601 时长，如 P2D、PT4H）、升级、"
                                     "自动核查和办理要求；格式见 workorders/policy.py")
    base_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def _pretty(spec) -> str:
    return json.dumps(spec, ensure_ascii=False, indent=2)


@login_required
def policy_list(request):
    policies = scoped(request.user, LoopPolicy.objects.filter(active=True)).order_by(
        "scenario", "kind")
    return render(request, "workorders/policy_list.html", {
        "title": "闭环策略",
        "rows": [(p, deadline_summary(p.rules)) for p in policies],
        "can_edit": is_city_admin(request.user),
    })


@login_required
def policy_detail(request, pk):
    policy = get_object_or_404(scoped(request.user, LoopPolicy.objects.select_related(
        "created_by")), pk=pk)
    versions = [(v, deadline_summary(v.rules)) for v in
                LoopPolicy.objects.filter(scenario=policy.scenario, kind=policy.kind)
                .select_related("created_by").order_by("-version")]
    return render(request, "workorders/policy.html", {
        "title": f"闭环策略：{policy.kind_label}",
        "policy": policy, "rules": readable(policy), "versions": versions,
        "spec_json": _pretty(policy.spec), "can_edit": is_city_admin(request.user),
    })


@login_required
def policy_edit(request, pk):
    """Publish a new version, starting from version `pk` (the active one, or an older one to
    restore it). Parser errors go next to the field, with status 422."""
    if not is_city_admin(request.user):
        raise Forbidden("只有市级管理员可以修改闭环策略")
    base = get_object_or_404(LoopPolicy, pk=pk)
    active = LoopPolicy.objects.filter(scenario=base.scenario, kind=base.kind,
                                       active=True).first()
    status = 200
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                published = services.publish_policy(
                    scenario=base.scenario, kind=base.kind, kind_label=data["kind_label"],
                    source=data["source"], spec=data["spec"], actor=request.user,
                    base_version=data["base_version"])
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = exc.status
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"已发布“{published.kind_label}”第 {published.version} 版，"
                                          "此后新开的工单按新版本办理")
                return redirect("workorders:policy", pk=published.pk)
        if form.errors and status == 200:
            status = 422
    else:
        form = PolicyForm(initial={"kind_label": base.kind_label, "source": base.source,
                                   "spec": _pretty(base.spec),
                                   "base_version": active.version if active else 0})
    return render(request, "workorders/policy_edit.html", {
        "title": f"修改闭环策略：{base.kind_label}",
        "policy": base, "active": active, "form": form,
    }, status=status)


urlpatterns = [
    path("", policy_list, name="policy_list"),
    path("<int:pk>/", policy_detail, name="policy"),
    path("<int:pk>/edit/", policy_edit, name="policy_edit"),
]
