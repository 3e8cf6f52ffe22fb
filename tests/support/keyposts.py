"""Key-post attendance fixtures: project B of the cast with the users its requests and orders
pass through (support.orders.Site), key-post holders, and check-ins written as the check-in
service stores them (accepted, with their WGS-84 position)."""

from __future__ import annotations

import datetime
import itertools

from smartsite.attendance.models import CheckIn, Enrolment
from smartsite.core import models as m
from smartsite.core.choices import QualificationKind

SH = datetime.timezone(datetime.timedelta(hours=8))
_ids = itertools.count(1)


def local(day: datetime.date, hour: int, minute: int = 0, second: int = 0):
    return datetime.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SH)


def person(name: str, resident_id: str, employer=None):
    return m.Person.objects.create(resident_id=resident_id, name=name, employer=employer)


def assign(project, who, post_code: str, start: datetime.date, end=None, *, enrolled=True):
    """`who` on the post from `start`; `enrolled`: with their face registered (人脸登记) long
    before, so the post counts from its own registration (selectors.window_of)."""
    if enrolled and not Enrolment.objects.filter(person=who).exists():
        enrol(who, at=local(datetime.date(2020, 1, 1), 9))
    return m.PostAssignment.objects.create(project=project, person=who,
                                           post=m.Post.objects.get(code=post_code),
                                           start_date=start, end_date=end)


def enrol(who, *, at: datetime.datetime, identity_result: str = "matched"):
    """A face enrolment row (the encoding does not matter where no photo is compared)."""
    return Enrolment.objects.create(person=who, encoding=[0.0] * 128,
                                    photo_sha256=f"{next(_ids):064d}", enrolled_at=at,
                                    identity_result=identity_result,
                                    active=identity_result != "mismatch")


def qualify(who, kind=QualificationKind.CONSTRUCTOR_1, expires_on=datetime.date(2030, 1, 1),
            number=None):
    return m.Qualification.objects.create(person=who, kind=kind,
                                          number=number or f"沪1{next(_ids):09d}",
                                          issuer="住房和城乡建设部", expires_on=expires_on)


def clock_in(assignment, direction: str, at: datetime.datetime, *, who=None, stand_in=None,
             outcome="accepted"):
    return CheckIn.objects.create(
        project=assignment.project, person=who or assignment.person,
        assignment=None if stand_in else assignment, stand_in=stand_in,
        client_id=f"c-{next(_ids)}", direction=direction, device_time=at, at=at,
        lng_raw=121.5, lat_raw=31.23, datum="wgs84", accuracy_m=10, lng=121.5, lat=31.23,
        outcome=outcome, reasons=[])


def day_at_work(assignment, day: datetime.date, hours: float = 9, **kw) -> None:
    """An entry at 08:00 and an exit `hours` later (Shanghai)."""
    start = local(day, 8)
    clock_in(assignment, "entry", start, **kw)
    clock_in(assignment, "exit", start + datetime.timedelta(hours=hours), **kw)


def enrol_cast(cast) -> None:
    """The cast's two project managers with their faces registered long ago."""
    for who in (cast.person_a, cast.person_b):
        if not Enrolment.objects.filter(person=who).exists():
            enrol(who, at=local(datetime.date(2020, 1, 1), 9))
