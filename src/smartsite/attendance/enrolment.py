"""Enrolment (现场人员录入): the district 监督站 takes a person's reference photo; the face is
encoded with the model the check-ins use, and the photo is compared with the identity source
(公安人脸库, `identity.py`). The one write path for `Enrolment`.

What the identity source answers decides the enrolment:

* matched (一致) — the new enrolment becomes the person's active one (the old one is retired);
* unavailable (无法比对: not configured, no record, down) — the same, with the reason kept in
  `identity_result`, so a later review can find enrolments never checked;
* mismatch (人证不符) — stored for the record but **not** active: check-ins keep comparing with
  the previous enrolment (or have none), and the officer is told.

A photo the model cannot use (no face, two faces, too large, not an image) is refused and
nothing is stored. Who may enrol: city regulators, and district regulators for people on a
project of their district (core.permissions.can_edit_registry + the person in scope).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from smartsite.attendance import faces, selectors
from smartsite.attendance.choices import IdentityResult
from smartsite.attendance.identity import IdentitySource, configured_source
from smartsite.attendance.models import Enrolment
from smartsite.core import audit
from smartsite.core.choices import AuditAction
from smartsite.core.errors import Forbidden
from smartsite.core.models import Person
from smartsite.core.permissions import can_edit_registry
from smartsite.core.scoping import grant_for, scoped

__all__ = ["Enrolled", "enrol", "photo_max_bytes"]


@dataclass(frozen=True)
class Enrolled:
    enrolment: Enrolment
    message: str  # what the identity source said, in Chinese


def photo_max_bytes() -> int:
    return int(selectors.param("photo_max_bytes"))


def require_enrol(actor, person: Person) -> None:
    if not can_edit_registry(actor):
        raise Forbidden("只有区监督站或市级监管人员可以录入人脸照片")
    if grant_for(actor).sees_all:
        return
    if not scoped(actor, Person.objects.filter(pk=person.pk)).exists():
        raise Forbidden("只能为本区项目的人员录入人脸照片")


def enrol(*, person: Person, photo: bytes, actor, at: datetime.datetime | None = None,
          source: IdentitySource | None = None) -> Enrolled:
    """Enrol `photo` as `person`'s reference face (see the module's docstring)."""
    require_enrol(actor, person)
    face = faces.encode(photo, max_bytes=photo_max_bytes())  # PhotoRejected: nothing stored
    answer = (source or configured_source()).compare(person.resident_id, photo)
    at = at or timezone.now()
    digest = faces.sha256(photo)
    active = answer.result != IdentityResult.MISMATCH
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()  # one enrolment at a time
        if active:
            retired = list(Enrolment.objects.filter(person=person, active=True))
            for old in retired:
                old.active = False
                old.save(update_fields=["active"])
                audit.record(actor, old, AuditAction.UPDATE, {"active": [True, False]})
        enrolment = Enrolment(person=person, encoding=list(face.encoding), photo_sha256=digest,
                              enrolled_by=actor, enrolled_at=at, identity_result=answer.result,
                              identity_distance=answer.distance, active=active)
        enrolment.photo.save(f"{digest[:16]}.jpg", ContentFile(photo), save=False)
        enrolment.full_clean()
        enrolment.save()
        audit.record(actor, enrolment, AuditAction.CREATE, {
            "person": [None, person.pk], "photo_sha256": [None, digest],
            "identity_result": [None, answer.result],
            "identity_distance": [None, answer.distance], "active": [None, active]})
    return Enrolled(enrolment, answer.message)
