"""Enumerations of the video app."""

from __future__ import annotations

import enum

from smartsite.core.choices import ColouredChoices


class RequestState(ColouredChoices):
    """A pending snapshot for an event: taken, still to try, or given up."""

    PENDING = "pending", "待抓拍"
    DONE = "done", "已抓拍"
    FAILED = "failed", "抓拍失败"

    COLOURS = enum.nonmember({"pending": "#d97706", "done": "#16a34a", "failed": "#dc2626"})


class SnapshotSource(ColouredChoices):
    MANUAL = "manual", "手动抓拍"
    EVENT = "event", "事件抓拍"
