"""Enumerations of the event center and the disposal center (design.md §7 glossary)."""

from __future__ import annotations

import enum

from django.db import models

from smartsite.core.choices import ColouredChoices


class Scenario(ColouredChoices):
    """The scenarios the seed knows; a later scenario may use a new slug (shown as is)."""

    DUST = "dust", "扬尘监测"
    ATTENDANCE = "attendance", "关键岗位到岗"
    PITS = "pits", "深基坑监测"

    @classmethod
    def label_of(cls, value: str) -> str:
        return dict(cls.choices).get(value, value)


class Severity(ColouredChoices):
    INFO = "info", "提示"
    WARNING = "warning", "一般"
    SERIOUS = "serious", "严重"

    COLOURS = enum.nonmember({"info": "#0891b2", "warning": "#d97706", "serious": "#dc2626"})


class EventState(ColouredChoices):
    NEW = "new", "新发现"
    DISPATCHED = "dispatched", "已派单"
    IGNORED = "ignored", "已忽略"
    RECOVERED = "recovered", "已自动恢复"
    CLOSED = "closed", "已办结"  # its order was closed or cancelled; a recurrence is a new event


OPEN_EVENT_STATES = (EventState.NEW, EventState.DISPATCHED)


class LoopLevel(ColouredChoices):
    SMALL = "small", "小闭环"
    MEDIUM = "medium", "中闭环"
    LARGE = "large", "大闭环"

    COLOURS = enum.nonmember({"small": "#16a34a", "medium": "#d97706", "large": "#dc2626"})


LOOP_ORDER = [LoopLevel.SMALL, LoopLevel.MEDIUM, LoopLevel.LARGE]


class OrderState(ColouredChoices):
    PENDING_DISPATCH = "pending_dispatch", "待派单"
    PENDING_DISPOSAL = "pending_disposal", "待处置"
    PENDING_VERIFICATION = "pending_verification", "待核查"
    CLOSED = "closed", "已闭环"
    SUSPENDED = "suspended", "已挂起"
    CANCELLED = "cancelled", "已撤销"

    COLOURS = enum.nonmember({
        "pending_dispatch": "#7c3aed", "pending_disposal": "#d97706",
        "pending_verification": "#0891b2", "closed": "#16a34a", "suspended": "#6b7280",
        "cancelled": "#9ca3af"})


OPEN_ORDER_STATES = (OrderState.PENDING_DISPATCH, OrderState.PENDING_DISPOSAL,
                     OrderState.PENDING_VERIFICATION, OrderState.SUSPENDED)
#: The states in which somebody must act (a suspended order waits only for a resume).
WORKING_ORDER_STATES = ["pending_dispatch", "pending_disposal", "pending_verification"]

#: Which step of the policy each working state is; its deadline comes from the policy.
STEP_OF_STATE = {
    OrderState.PENDING_DISPATCH: "dispatch",
    OrderState.PENDING_DISPOSAL: "dispose",
    OrderState.PENDING_VERIFICATION: "verify",
}


class Action(models.TextChoices):
    CREATE = "create", "创建"
    DISPATCH = "dispatch", "派单"
    ACCEPT = "accept", "接单"
    DISPOSE = "dispose", "提交处置"
    VERIFY_PASS = "verify_pass", "核查通过"
    VERIFY_REJECT = "verify_reject", "核查不通过，重新整改"
    REASSIGN = "reassign", "转派"
    ESCALATE = "escalate", "逾期升级"
    SUSPEND = "suspend", "挂起"
    RESUME = "resume", "恢复"
    CANCEL = "cancel", "撤销"
    REMIND = "remind", "到期提醒"
    COMMENT = "comment", "备注"
    PENALTY = "penalty", "立案处罚"


class TimerKind(models.TextChoices):
    DEADLINE = "deadline", "办理时限"
    REMINDER = "reminder", "到期提醒"
    AUTO_VERIFY = "auto_verify", "自动核查"
