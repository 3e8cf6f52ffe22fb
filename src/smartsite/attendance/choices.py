"""The attendance scenario's choices (关键岗位到岗履职)."""

from django.db import models


class PostClass(models.TextChoices):
    I = "I", "第一类"  # noqa: E741
    II = "II", "第二类"


class Direction(models.TextChoices):
    ENTRY = "entry", "进场"
    EXIT = "exit", "离场"


class Datum(models.TextChoices):
    WGS84 = "wgs84", "WGS-84"
    GCJ02 = "gcj02", "GCJ-02"


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", "有效"
    REJECTED = "rejected", "无效"
    REVIEW = "review", "待复核"


class IdentityResult(models.TextChoices):
    MATCHED = "matched", "一致"
    MISMATCH = "mismatch", "不一致"
    UNAVAILABLE = "unavailable", "无法比对"


class Signal(models.TextChoices):
    IMPOSSIBLE_TRAVEL = "impossible_travel", "不可能的移动速度"
    NO_JITTER = "no_jitter", "定位无抖动"
    SAME_PHOTO = "same_photo", "照片重复"
    PHOTO_OF_PHOTO = "photo_of_photo", "疑似翻拍"
    ACCURACY = "accuracy", "定位精度不足"
    FACE_BORDERLINE = "face_borderline", "人脸比对临界"
    FACE_MISMATCH = "face_mismatch", "人证不符"
    OTHER = "other", "其他"


class CaseStatus(models.TextChoices):
    OPEN = "open", "待复核"
    CONFIRMED = "confirmed", "确认作假"
    DISMISSED = "dismissed", "排除"


class RequestStatus(models.TextChoices):
    REQUESTED = "requested", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"


class StoppageStatus(models.TextChoices):
    FILED = "filed", "已报备"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"


class DayStatus(models.TextChoices):
    VALID = "valid", "有效"
    SHORT = "short", "不足5小时"
    LEAVE = "leave", "请假"
    STOPPAGE = "stoppage", "停工"
    STAND_IN = "stand_in", "顶岗"
    ABSENT = "absent", "缺勤"
    NOT_COUNTED = "not_counted", "不计"


CONFIDENCE = [("verified", "已核对原文"), ("transcription", "转录本"),
              ("issue brief", "任务说明"), ("recall", "记忆，待核"),
              ("platform", "平台取值")]


class SanctionKind(models.TextChoices):
    """What the platform proposes when a key post stays below the rate (fixtures/sanctions.json)."""

    PENALTY_ABSENCE = "penalty_absence", "不到岗履职处罚建议"
    RATING_FAIL = "rating_fail", "季度安全标准化考评不合格"
    NO_AWARDS = "no_awards", "年度不得评优评先"


class SanctionState(models.TextChoices):
    """The platform proposes; the project's district regulator confirms or withdraws."""

    PROPOSED = "proposed", "待确认"
    CONFIRMED = "confirmed", "已确认"
    WITHDRAWN = "withdrawn", "已撤销"
