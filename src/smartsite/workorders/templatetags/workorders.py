"""Template helpers of the event and disposal centers: the deadline countdown and badges."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from smartsite.core.templatetags.smartsite import badge
from smartsite.workorders.choices import LoopLevel, OrderState, Scenario, Severity

register = template.Library()

#: Chinese labels of the evidence keys scenarios write; an unknown key is shown as written.
EVIDENCE_LABELS = {
    "mn": "设备 MN", "pm10_15min": "PM10 15 分钟均值", "pm25_15min": "PM2.5 15 分钟均值",
    "pm10": "PM10", "pm25": "PM2.5", "tsp": "TSP", "unit": "单位", "window_end": "时段截止",
    "limit": "限值", "silent_hours": "无数据时长（小时）", "person": "人员", "post": "岗位",
    "present_days": "到岗天数", "working_days": "应到天数", "month": "月份", "point": "监测点",
    "item": "监测项目", "value": "监测值", "colour": "预警等级",
    "limit_status": "限值状态", "standard": "依据标准", "criterion": "判定依据",
    "post_class": "岗位类别", "construction_days": "施工天数", "attended_days": "到岗天数",
    "leave_days": "请假天数", "short_days": "不足5小时天数", "absent_days": "缺勤天数",
    "rate": "到岗率", "min_rate": "到岗率下限", "outlook": "本月预判", "closed_days": "已结算施工日",
    "remaining_days": "剩余施工日", "required_days": "需到岗天数", "kind": "证书类别",
    "number": "证书编号", "expires_on": "有效期至", "post_name": "岗位名称", "signal": "作假信号",
    "note": "复核意见", "date": "日期",
}


def span(delta: datetime.timedelta) -> str:
    """A duration in the largest sensible unit: 2天3小时, 5小时, 12分钟."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes and hours < 3 else f"{hours}小时"
    return f"{max(minutes, 1)}分钟"


@register.simple_tag
def countdown(order, now=None):
    """剩余 5小时 / 逾期 2天 / — , with a class the stylesheet colours and the due time for
    the script that keeps it current."""
    if order.due_at is None:
        if order.overdue:
            return format_html('<span class="due late">已逾期</span>')
        return format_html('<span class="due">—</span>')
    now = now or timezone.now()
    left = order.due_at - now
    iso = order.due_at.isoformat()
    local = timezone.localtime(order.due_at).strftime("%m-%d %H:%M")
    if left.total_seconds() < 0:
        return format_html('<span class="due late" data-due="{}" title="时限 {}">逾期 {}</span>',
                           iso, local, span(left))
    soon = " soon" if left <= datetime.timedelta(hours=24) else ""
    return format_html('<span class="due{}" data-due="{}" title="时限 {}">剩余 {}</span>',
                       soon, iso, local, span(left))


def _badge(choices, value):
    if not value:
        return ""
    return badge(choices.colour(value), dict(choices.choices).get(value, value))


@register.filter
def state_badge(value):
    return _badge(OrderState, value)


@register.filter
def state_colour(value):
    return OrderState.colour(value)


@register.filter
def level_colour(value):
    return LoopLevel.colour(value)


@register.filter
def severity_colour(value):
    return Severity.colour(value)


@register.filter
def level_badge(value):
    return _badge(LoopLevel, value)


@register.filter
def severity_badge(value):
    return _badge(Severity, value)


@register.filter
def scenario_label(value):
    return Scenario.label_of(value)


@register.filter
def evidence_label(key):
    return EVIDENCE_LABELS.get(key, key)


@register.filter
def evidence_pairs(evidence) -> list[tuple[str, object]]:
    """(label, value) of an event's evidence; a `<key>_status` beside `<key>` is shown with
    its value — `limit: 100` and `limit_status: 待核实` read "限值 100（待核实）"."""
    evidence = evidence or {}
    pairs = []
    for key, value in evidence.items():
        if key.endswith("_status") and key[: -len("_status")] in evidence:
            continue
        status = evidence.get(f"{key}_status")
        if isinstance(value, float):
            value = f"{value:g}"  # 100.0 → 100
        pairs.append((evidence_label(key), f"{value}（{status}）" if status else value))
    return pairs
