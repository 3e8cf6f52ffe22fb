"""Enumerations of the dust scenario."""

from __future__ import annotations

import enum

from django.db import models

from smartsite.core.choices import ColouredChoices
from smartsite.hj212.handlers import RejectReason as Refused


class MonitorKind(models.TextChoices):
    DUST_NOISE = "dust_noise", "扬尘噪声"
    DUST = "dust", "扬尘"
    NOISE = "noise", "噪声"


class ParticulateUnit(models.TextChoices):
    """The protocol carries no units (design.md §4): each monitor's unit is a setting."""

    UG = "ug", "µg/m³"
    MG = "mg", "mg/m³"


class Connectivity(ColouredChoices):
    ONLINE = "online", "在线"
    OFFLINE = "offline", "离线"
    NEVER = "never", "从未上线"

    COLOURS = enum.nonmember({"online": "#16a34a", "offline": "#dc2626", "never": "#64748b"})


class RejectReason(models.TextChoices):
    """Why the gateway refused a monitor's packets (`hj212.handlers.RejectReason`, labelled)."""

    UNKNOWN_MN = Refused.UNKNOWN_MN.value, "未登记设备"
    BAD_PASSWORD = Refused.BAD_PASSWORD.value, "密码错误"
    INACTIVE = Refused.INACTIVE.value, "设备已停用"
    BAD_DATA = Refused.BAD_DATA.value, "数据不合规"
    PW_LOCKED = Refused.PW_LOCKED.value, "密码错误过多已锁定"


class Particulate(models.TextChoices):
    """The particulate a concentration limit applies to (a `metrics.METRICS` column)."""

    PM10 = "pm10", "PM10"
    PM25 = "pm25", "PM2.5"
    TSP = "tsp", "TSP"


class InspectionKind(models.TextChoices):
    ANNUAL = "annual", "年检"
    CALIBRATION = "calibration", "校准"
    COMPARISON = "comparison", "比对"


class SprayKind(models.TextChoices):
    FOG_CANNON = "fog_cannon", "雾炮"
    SPRAY = "spray", "喷淋"


class MaintenanceKind(ColouredChoices):
    VISIT = "visit", "巡检"
    FAULT = "fault", "故障"
    REPAIR = "repair", "维修"
    REPLACEMENT = "replacement", "更换"
    CALIBRATION = "calibration", "校准"

    COLOURS = enum.nonmember({"visit": "#0891b2", "fault": "#dc2626", "repair": "#d97706",
                              "replacement": "#7c3aed", "calibration": "#16a34a"})


class ReviewState(ColouredChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已审核"
    REJECTED = "rejected", "已驳回"

    COLOURS = enum.nonmember({"pending": "#d97706", "approved": "#16a34a",
                              "rejected": "#dc2626"})


class InspectionStatus(ColouredChoices):
    """A monitor's annual inspection as the monitor page shows it (the 未年检 rule's view:
    the latest passed annual inspection's expiry; `warn_days` of that rule ahead)."""

    VALID = "valid", "有效"
    EXPIRING = "expiring", "即将到期"
    EXPIRED = "expired", "已过期"
    NONE = "none", "无记录"

    COLOURS = enum.nonmember({"valid": "#16a34a", "expiring": "#d97706", "expired": "#dc2626",
                              "none": "#64748b"})
