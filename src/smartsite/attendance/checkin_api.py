"""POST /api/v1/attendance/checkins: a key-post person's check-in from a phone (checkin.py).

multipart/form-data: the live photo in `photo`, and the fields either as form fields or as one
JSON object in a `data` field (the phone page sends form fields). 201 with the stored result;
200 with the first result when the same `client_id` is sent again. What cannot be evaluated
(a bad field, a photo without exactly one face, coordinates outside China, a project the
person is not registered on) is refused with its message and nothing is stored.
"""

from __future__ import annotations

import json

from ninja import Field, Router, Schema, Status

from smartsite.attendance import checkin, faces
from smartsite.attendance.models import CheckIn
from smartsite.core.apikit import WRITE_ERRORS, Invalid
from smartsite.core.errors import DomainError, SmartsiteError, TooLarge
from smartsite.core.models import Project

__all__ = ["router"]

router = Router()
FIELDS = ("client_id", "direction", "lng", "lat", "datum", "accuracy_m", "device_time",
          "device_id")


class ReasonOut(Schema):
    code: str
    message: str


class CheckInOut(Schema):
    id: int
    client_id: str
    project: int = Field(alias="project_id")
    person: int = Field(alias="person_id")
    assignment: int | None = Field(None, alias="assignment_id")
    stand_in: int | None = Field(None, alias="stand_in_id")
    direction: str
    at: str = Field(description="服务器时间（ISO 8601）")
    lng: float | None = Field(description="WGS-84 经度（换算后）")
    lat: float | None
    datum: str = Field(description="上报坐标系 wgs84 / gcj02")
    accuracy_m: float | None
    face_distance: float | None
    outcome: str = Field(description="accepted 有效 / rejected 无效 / review 待复核")
    outcome_display: str
    reasons: list[ReasonOut]
    review: list[str] = Field(description="打开的复核信号")

    @staticmethod
    def resolve_at(obj):
        return obj.at.isoformat()

    @staticmethod
    def resolve_outcome_display(obj):
        return obj.get_outcome_display()

    @staticmethod
    def resolve_review(obj):
        return sorted(obj.review_cases.values_list("signal", flat=True))


def _body() -> dict:
    props = {
        "photo": {"type": "string", "format": "binary", "description": "现场照片（JPEG/PNG/WebP）"},
        "project": {"type": "integer", "description": "项目编号"},
        "client_id": {"type": "string",
                      "description": "手机为每次打卡生成的编号（UUID）；重发相同编号不重复计"},
        "direction": {"type": "string", "enum": ["entry", "exit"]},
        "lng": {"type": "number"}, "lat": {"type": "number"},
        "datum": {"type": "string", "enum": ["wgs84", "gcj02"]},
        "accuracy_m": {"type": "number", "description": "定位精度（米）"},
        "device_time": {"type": "string", "format": "date-time"},
        "device_id": {"type": "string"},
        "data": {"type": "string", "description": "或：以上字段（除 photo）组成的 JSON 对象"},
    }
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": props, "required": ["photo"]}}}}}


def _refusal(exc: SmartsiteError) -> SmartsiteError | Invalid:
    if exc.status == 413:
        return TooLarge(exc.message, field=exc.field, code=exc.code)
    if exc.field and exc.status in (400, 422):
        return Invalid({exc.field: [exc.message]}, title=exc.message)
    return exc


@router.post("/attendance/checkins", response={200: CheckInOut, 201: CheckInOut, **WRITE_ERRORS},
             tags=["attendance"], summary="关键岗位人员打卡（手机：定位 + 现场照片）",
             description=__doc__, openapi_extra=_body())
def create_checkin(request):
    if request.content_type != "multipart/form-data":
        raise Invalid({"photo": ["请以 multipart/form-data 提交，现场照片放在 photo 中"]},
                      title="请求数据有误")
    if "data" in request.POST:
        try:
            payload = json.loads(request.POST["data"])
        except ValueError:
            raise Invalid({"data": ["data 应为 JSON 对象"]}, title="请求数据有误") from None
        if not isinstance(payload, dict):
            raise Invalid({"data": ["data 应为 JSON 对象"]}, title="请求数据有误")
    else:
        payload = {key: request.POST.get(key) for key in FIELDS if key in request.POST}
    project_id = payload.pop("project", None) or request.POST.get("project")
    try:
        project_id = int(project_id)
    except (TypeError, ValueError):
        raise Invalid({"project": ["请指定项目编号（project）"]}, title="请求数据有误") from None
    upload = request.FILES.get("photo")
    if upload is None:
        raise Invalid({"photo": ["请上传现场照片（photo）"]}, title="请求数据有误")
    limit = int(checkin.params()["photo_max_bytes"])
    if upload.size > limit:  # before reading it into memory
        raise TooLarge(f"照片过大（{upload.size / 1048576:.1f} MB），不能超过 {limit / 1048576:.1f} MB",
                       field="photo", code="photo.too_large")
    project = Project.objects.filter(pk=project_id).first()
    try:
        result = checkin.check_in(user=request.auth, project=project, payload=payload,
                                  photo=upload.read())
    except (DomainError, faces.PhotoRejected) as exc:
        raise _refusal(exc) from None
    row = CheckIn.objects.prefetch_related("review_cases").get(pk=result.checkin.pk)
    return Status(201 if result.created else 200, row)
