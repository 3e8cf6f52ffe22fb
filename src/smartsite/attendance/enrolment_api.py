"""POST /api/v1/attendance/enrolments: a regulator enrols a person's reference face photo
(enrolment.py); the answer carries what the identity source (公安人脸库) said.

multipart/form-data: `person` (the person's id) and `photo`. The person must be one the user
sees (else the same 422 on `person` as for an id that does not exist); only city regulators and
the district's regulators may enrol (403).
"""

from __future__ import annotations

from ninja import Field, Router, Schema, Status

from smartsite.attendance import enrolment, faces
from smartsite.core.apikit import WRITE_ERRORS, Invalid, json_body
from smartsite.core.errors import TooLarge
from smartsite.core.models import Person
from smartsite.core.scoping import scoped

__all__ = ["router"]

router = Router()


class EnrolmentOut(Schema):
    id: int
    person: int = Field(alias="person_id")
    enrolled_at: str
    identity_result: str = Field(description="matched 一致 / mismatch 不一致 / unavailable 无法比对")
    identity_distance: float | None
    active: bool = Field(description="是否作为打卡比对的照片")
    message: str = Field(description="公安人脸库比对结果说明")


def _body() -> dict:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["person", "photo"], "properties": {
            "person": {"type": "integer", "description": "人员编号"},
            "photo": {"type": "string", "format": "binary",
                      "description": "现场拍摄的人脸照片（JPEG/PNG/WebP，仅一张人脸）"}}}}}}}


@router.post("/attendance/enrolments", response={201: EnrolmentOut, **WRITE_ERRORS},
             tags=["attendance"], summary="人脸录入（区监督站 / 市级监管）",
             description=__doc__, openapi_extra=_body())
def create_enrolment(request):
    if request.content_type == "multipart/form-data":
        raw = request.POST.get("person")
    else:
        data = json_body(request)
        raw = data.get("person") if isinstance(data, dict) else None
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise Invalid({"person": ["请指定人员编号（person）"]}, title="请求数据有误") from None
    person = scoped(request.auth, Person.objects.all()).filter(pk=pk).first()
    if person is None:
        raise Invalid({"person": [f"未找到编号为 {pk} 的人员"]}, title="请求数据有误")
    enrolment.require_enrol(request.auth, person)
    upload = request.FILES.get("photo") if request.content_type == "multipart/form-data" else None
    if upload is None:
        raise Invalid({"photo": ["请以 multipart/form-data 上传人脸照片（photo）"]},
                      title="请求数据有误")
    limit = enrolment.photo_max_bytes()
    if upload.size > limit:
        raise TooLarge(f"照片过大（{upload.size / 1048576:.1f} MB），不能超过 {limit / 1048576:.1f} MB",
                       field="photo", code="photo.too_large")
    try:
        done = enrolment.enrol(person=person, photo=upload.read(), actor=request.auth)
    except faces.PhotoRejected as exc:
        if exc.status == 413:
            raise TooLarge(exc.message, field="photo", code=exc.code) from None
        raise Invalid({"photo": [exc.message]}, title=exc.message) from None
    row = done.enrolment
    return Status(201, {"id": row.pk, "person_id": row.person_id,
                        "enrolled_at": row.enrolled_at.isoformat(),
                        "identity_result": row.identity_result,
                        "identity_distance": row.identity_distance, "active": row.active,
                        "message": done.message})
