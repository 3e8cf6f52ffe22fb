"""The check-in (到岗打卡) from a key-post person's phone: the one write path of `CheckIn`.

`check_in(person=… | user=…, project=…, payload=…, photo=…, at=…)` checks, in this order:

1. the payload's fields (a clear message per field; nothing stored on a bad one);
2. the natural key (person, client_id): a re-send returns the first result and adds nothing
   (design.md §2 rule 5), whatever else it carries;
3. the person holds a post on that project today per the 报建 registration (PostAssignment), or
   stands in for one by an approved StandIn — otherwise the same refusal as for a project that
   does not exist, and nothing is stored;
4. the position: GCJ-02 is converted to WGS-84 (core.gcj02); a point outside China's box is
   refused; the project's geofence with a buffer of max(`geofence_min_buffer_m`, accuracy);
   accuracy worse than `accuracy_review_m` → review;
5. the photo: exactly one face (no face, several faces, too large, not an image → refused, nothing
   stored), compared with the person's active enrolment: above `face_max_distance` → rejected
   (人证不符), above `face_borderline_distance` → review;
6. a valid qualification (the stand-in's of a kind the holder also holds);
7. spoofing signals (spoofing.py) → review cases with evidence.

Every finding is kept in `reasons` ([{"code", "message"}]); any rejecting one makes the outcome
`rejected`, else any reviewing one `review`, else `accepted`. Thresholds are `Parameter` rows.

Which person a signed-in user is: core has no link from a user to a Person (Role.post names a
post, not its holder). Until it has one, the user's login name is the person's 身份证号
(`person_of`) — the way the 住建委 mini-program identifies people too.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from smartsite.attendance import faces, selectors, spoofing
from smartsite.attendance.choices import (
    CaseStatus,
    Datum,
    Direction,
    Outcome,
    RequestStatus,
    Signal,
)
from smartsite.attendance.models import CheckIn, Enrolment, ReviewCase, StandIn
from smartsite.core import gcj02, geo
from smartsite.core.errors import DomainError
from smartsite.core.models import Person, PostAssignment, Project, Qualification
from smartsite.core.validators import normalise_code

__all__ = ["CheckInRefused", "Result", "check_in", "person_of"]

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
#: How far back the spoofing signals look at the person's check-ins.
RECENT = datetime.timedelta(days=7)
RECENT_COUNT = 20

REJECTING = {"outside_geofence", "face_mismatch", "no_enrolment", "no_qualification"}


class CheckInRefused(DomainError):
    """A check-in that cannot be evaluated; nothing is stored (422 unless said otherwise)."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None, code: str = "checkin.invalid",
                 status: int = 422):
        super().__init__(message, field=field, code=code)
        self.status = status


@dataclass(frozen=True)
class Result:
    checkin: CheckIn
    created: bool  # False: a re-send of a check-in already stored (nothing changed)


def params() -> dict[str, float]:
    """The rules' thresholds (Parameter rows, with the fixture's values as fallback)."""
    return selectors.params()


def person_of(user) -> Person | None:
    """The Person a signed-in user is: the one whose 身份证号 is the user's login name."""
    if user is None or not user.is_authenticated:
        return None
    try:
        resident_id = normalise_code(user.get_username())
    except (TypeError, ValueError):
        return None
    return Person.objects.filter(resident_id=resident_id).first()


# ---------------------------------------------------------------- payload


@dataclass(frozen=True)
class Payload:
    client_id: str
    direction: str
    lng: float
    lat: float
    datum: str
    accuracy_m: float | None
    device_time: datetime.datetime | None
    device_id: str


def _number(payload: dict, name: str, label: str, *, required: bool = True) -> float | None:
    value = payload.get(name)
    if value in (None, ""):
        if required:
            raise CheckInRefused(f"缺少{label}", field=name)
        return None
    if isinstance(value, bool):
        raise CheckInRefused(f"{label}应为数字", field=name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CheckInRefused(f"{label}应为数字，而不是“{str(value)[:20]}”", field=name) from None
    if not math.isfinite(number):
        raise CheckInRefused(f"{label}应为有限的数字", field=name)
    return number


def parse_payload(payload: dict) -> Payload:
    """Check the fields a phone sends; raise CheckInRefused naming the first bad one."""
    if not isinstance(payload, dict):
        raise CheckInRefused("打卡数据应为 JSON 对象")
    client_id = payload.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise CheckInRefused("客户端编号（client_id）应为 8–64 位字母、数字或 - _ . :，"
                             "由手机为每次打卡生成（如 UUID）", field="client_id")
    direction = payload.get("direction")
    if direction not in Direction.values:
        raise CheckInRefused("打卡方向（direction）应为 entry（进场）或 exit（离场）",
                             field="direction")
    lng = _number(payload, "lng", "经度（lng）")
    lat = _number(payload, "lat", "纬度（lat）")
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise CheckInRefused(f"坐标超出经纬度范围（经度 {lng}，纬度 {lat}）", field="lng")
    datum = payload.get("datum") or Datum.WGS84
    if datum not in Datum.values:
        raise CheckInRefused("坐标系（datum）应为 wgs84 或 gcj02", field="datum")
    accuracy = _number(payload, "accuracy_m", "定位精度（accuracy_m）", required=False)
    if accuracy is not None and accuracy < 0:
        raise CheckInRefused("定位精度（accuracy_m）不能为负数", field="accuracy_m")
    device_time = None
    raw_time = payload.get("device_time")
    if raw_time not in (None, ""):
        device_time = parse_datetime(str(raw_time)) if isinstance(raw_time, str) else None
        if device_time is None or timezone.is_naive(device_time):
            raise CheckInRefused("设备时间（device_time）应为带时区的 ISO 8601 时间，如 "
                                 "2026-11-25T08:01:02+08:00", field="device_time")
    device_id = payload.get("device_id") or ""
    if not isinstance(device_id, str) or len(device_id) > 100:
        raise CheckInRefused("设备标识（device_id）应为不超过 100 个字符的文本", field="device_id")
    return Payload(client_id, direction, lng, lat, datum, accuracy, device_time, device_id)


# ---------------------------------------------------------------- who holds the post


@dataclass(frozen=True)
class Holding:
    assignment: PostAssignment
    stand_in: StandIn | None


def holding(person: Person, project: Project, day: datetime.date) -> Holding | None:
    """The post `person` holds on `project` on `day`: their own assignment, else an approved
    stand-in for someone else's."""
    own = (selectors.overlapping(PostAssignment.objects.filter(project=project, person=person),
                                 day)
           .select_related("post").order_by("start_date", "pk").first())
    if own is not None:
        return Holding(own, None)
    stand_in = (StandIn.objects.filter(person=person, assignment__project=project,
                                       status=RequestStatus.APPROVED, start_date__lte=day,
                                       end_date__gte=day)
                .select_related("assignment", "assignment__post", "assignment__person")
                .order_by("start_date", "pk").first())
    return Holding(stand_in.assignment, stand_in) if stand_in else None


def qualification_reason(person: Person, hold: Holding, day: datetime.date) -> dict | None:
    mine = selectors.valid_kinds(person, day)
    if hold.stand_in is None:
        if mine:
            return None
        expired = Qualification.objects.filter(person=person).exists()
        return {"code": "no_qualification",
                "message": "资格证书已过期，不能履职打卡" if expired else "未登记有效的资格证书"}
    holder = set(Qualification.objects.filter(person_id=hold.assignment.person_id)
                 .values_list("kind", flat=True))  # the holder's kinds, valid or not
    if mine & holder:
        return None
    return {"code": "no_qualification",
            "message": "顶岗人员没有与原岗位人员相同类别的有效资格证书"}


# ---------------------------------------------------------------- the check


def _fix(row: CheckIn) -> spoofing.Fix:
    return spoofing.Fix(row.pk, row.project_id, row.at, row.lng, row.lat, row.lng_raw,
                        row.lat_raw, row.photo_sha256)


def _position(p: Payload, project: Project, limits: dict) -> tuple[float, float, list[dict]]:
    """WGS-84 position and the position's reasons."""
    if not gcj02.in_china(p.lng, p.lat):
        raise CheckInRefused(f"坐标（经度 {p.lng:.6f}，纬度 {p.lat:.6f}）不在中国境内，"
                             "请在项目现场打卡", field="lng", code="checkin.outside_china")
    if p.datum == Datum.GCJ02:
        lng, lat = gcj02.gcj02_to_wgs84(p.lng, p.lat)
    else:
        lng, lat = p.lng, p.lat
    reasons = []
    if p.accuracy_m is not None and p.accuracy_m > limits["accuracy_review_m"]:
        reasons.append({"code": "accuracy",
                        "message": f"定位精度 {p.accuracy_m:.0f} 米，差于 "
                                   f"{limits['accuracy_review_m']:g} 米，需人工复核"})
    if not project.geofence:
        reasons.append({"code": "no_geofence", "message": "项目未设置电子围栏，无法核验位置，需人工复核"})
        return lng, lat, reasons
    buffer = max(limits["geofence_min_buffer_m"], p.accuracy_m or 0.0)
    outside = geo.metres_outside(project.geofence, lng, lat)
    if outside > buffer:
        message = f"不在项目电子围栏内（距围栏约 {outside:.0f} 米，允许误差 {buffer:.0f} 米）"
        # the numbers read in the other datum: a wrong flag is the usual cause of ~470 m
        other = (p.lng, p.lat) if p.datum == Datum.GCJ02 else gcj02.gcj02_to_wgs84(p.lng, p.lat)
        if geo.metres_outside(project.geofence, *other) <= buffer:
            other_datum = Datum.WGS84 if p.datum == Datum.GCJ02 else Datum.GCJ02
            message += (f"；若按 {Datum(other_datum).label} 解读则在围栏内："
                        f"坐标系标注可能有误（上报为 {Datum(p.datum).label}）")
        reasons.append({"code": "outside_geofence", "message": message})
    return lng, lat, reasons


def _face(person: Person, photo: bytes, limits: dict) -> tuple[str, float | None, list[dict]]:
    """(sha256, distance, reasons); raises PhotoRejected for a photo the model cannot use."""
    face = faces.encode(photo, max_bytes=int(limits["photo_max_bytes"]))
    digest = faces.sha256(photo)
    enrolment = Enrolment.objects.filter(person=person, active=True).first()
    if enrolment is None:
        return digest, None, [{"code": "no_enrolment",
                               "message": "尚未录入人脸照片，请联系区监督站现场录入"}]
    distance = faces.distance(face.encoding, enrolment.encoding)
    if distance > limits["face_max_distance"]:
        return digest, distance, [{"code": "face_mismatch",
                                   "message": f"人脸与录入照片不一致（距离 {distance:.2f}，"
                                              f"上限 {limits['face_max_distance']:g}）"}]
    if distance > limits["face_borderline_distance"]:
        return digest, distance, [{"code": "face_borderline",
                                   "message": f"人脸比对接近阈值（距离 {distance:.2f}），需人工复核"}]
    return digest, distance, []


def check_in(*, project: Project, payload: dict, photo: bytes, person: Person | None = None,
             user=None, at: datetime.datetime | None = None) -> Result:
    """Record one check-in (see the module's docstring); raises CheckInRefused or
    faces.PhotoRejected for what cannot be evaluated, storing nothing."""
    at = at or timezone.now()
    if person is None:
        person = person_of(user)
        if person is None:
            raise CheckInRefused("当前账号未关联关键岗位人员（登录名应为本人身份证号），不能打卡",
                                 code="checkin.no_person", status=400)
    p = parse_payload(payload)
    first = CheckIn.objects.filter(person=person, client_id=p.client_id).first()
    if first is not None:
        return Result(first, False)
    day = timezone.localtime(at).date()
    hold = holding(person, project, day) if project is not None else None
    if hold is None:
        raise CheckInRefused("您未在该项目报建登记关键岗位（或项目不存在），不能在此打卡",
                             field="project", code="checkin.not_registered")
    limits = params()
    lng, lat, reasons = _position(p, project, limits)
    digest, distance, face_reasons = _face(person, photo, limits)
    reasons += face_reasons
    qualification = qualification_reason(person, hold, day)
    if qualification:
        reasons.append(qualification)

    current = spoofing.Fix(None, project.pk, at, lng, lat, p.lng, p.lat, digest)
    recent = list(CheckIn.objects.filter(person=person, at__gte=at - RECENT, at__lte=at)
                  .order_by("-at", "-pk")[:RECENT_COUNT])
    findings = [f for f in (
        spoofing.impossible_travel(_fix(recent[0]) if recent else None, current,
                                   max_kmh=limits["impossible_travel_kmh"]),
        spoofing.no_jitter([_fix(r) for r in recent], current),
        spoofing.same_photo(digest, CheckIn.objects.filter(photo_sha256=digest)
                            .values_list("pk", "person_id"),
                            Enrolment.objects.filter(photo_sha256=digest)
                            .values_list("pk", flat=True)),
    ) if f is not None]
    reasons += [{"code": f.signal, "message": f.message} for f in findings]
    if face_reasons and face_reasons[0]["code"] == "face_mismatch":
        findings.append(spoofing.Finding(Signal.FACE_MISMATCH, face_reasons[0]["message"],
                                         {"distance": distance,
                                          "limit": limits["face_max_distance"]}))
    elif face_reasons and face_reasons[0]["code"] == "face_borderline":
        findings.append(spoofing.Finding(Signal.FACE_BORDERLINE, face_reasons[0]["message"],
                                         {"distance": distance,
                                          "limit": limits["face_max_distance"]}))
    if any(r["code"] == "accuracy" for r in reasons):
        findings.append(spoofing.Finding(Signal.ACCURACY, "定位精度不足",
                                         {"accuracy_m": p.accuracy_m,
                                          "limit_m": limits["accuracy_review_m"]}))

    codes = {r["code"] for r in reasons}
    outcome = (Outcome.REJECTED if codes & REJECTING
               else Outcome.REVIEW if codes else Outcome.ACCEPTED)
    row = CheckIn(project=project, person=person, assignment=hold.assignment,
                  stand_in=hold.stand_in, client_id=p.client_id, direction=p.direction,
                  device_time=p.device_time, at=at, lng_raw=p.lng, lat_raw=p.lat, datum=p.datum,
                  accuracy_m=p.accuracy_m, lng=lng, lat=lat, device_id=p.device_id,
                  photo_sha256=digest, face_distance=distance, outcome=outcome, reasons=reasons)
    row.photo.save(f"{p.client_id}.jpg", ContentFile(photo), save=False)
    try:
        with transaction.atomic():
            row.save()
            for finding in findings:
                ReviewCase.objects.create(checkin=row, signal=finding.signal,
                                          evidence={"message": finding.message, **finding.evidence},
                                          status=CaseStatus.OPEN, created=at)
    except IntegrityError:  # the same check-in sent twice at once: the first one wins
        first = CheckIn.objects.filter(person=person, client_id=p.client_id).first()
        if first is None:
            raise
        row.photo.delete(save=False)
        return Result(first, False)
    return Result(row, True)
