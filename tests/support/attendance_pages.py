"""A month of key-post attendance for the page tests (tests/attendance/test_pages.py,
tests/browser/test_attendance.py): project B (陆家嘴乙项目) with 李四 its 项目经理 (Class I:
two valid days, one short, one on approved leave, the rest absent) and 王五 its 质量员
(Class II: every day), November 2026 closed up to the 24th, 李四 in at 08:05 on the 25th
(support.clock's day), and a review case: 李四's entry on B ten minutes after one on A, with
his check-in photo and his enrolled photo."""

from __future__ import annotations

import datetime

from django.core.files.base import ContentFile

from smartsite.attendance import services
from smartsite.attendance.choices import Outcome
from smartsite.attendance.models import CheckIn, Enrolment, ReviewCase
from smartsite.core.choices import QualificationKind
from support.faces import photo
from support.keyposts import assign, clock_in, day_at_work, enrol_cast, local, person, qualify

NOV = datetime.date(2026, 11, 1)
TODAY = datetime.date(2026, 11, 25)


def d(day: int) -> datetime.date:
    return NOV.replace(day=day)


def build_month(cast) -> dict:
    enrol_cast(cast)
    pm = cast.project_b.assignments.get(post__code="project_manager")
    wang = person("王五", "310101199001011234", employer=cast.enterprise_b)
    qi = assign(cast.project_b, wang, "quality_inspector", NOV)
    qualify(cast.person_b, QualificationKind.CONSTRUCTOR_1)
    day_at_work(pm, d(2), hours=9)
    day_at_work(pm, d(3), hours=3)
    day_at_work(pm, d(6), hours=5)
    services.decide_leave(None, services.request_leave(
        None, pm, start_date=d(5), end_date=d(5), reason="参加公司安全例会",
        now=local(d(1), 9)), approve=True, now=local(d(1), 10))
    for n in range(1, 25):  # 王五 comes every day
        day_at_work(qi, d(n), hours=8)
    for n in range(1, 25):
        services.close_day(d(n), local(d(n), 23, 30))
    clock_in(pm, "entry", local(TODAY, 8, 5))
    return {"pm": pm, "qi": qi, "wang": wang}


def build_case(cast, pm) -> ReviewCase:
    """Files go to the MEDIA_ROOT in force: set it to a temporary directory first."""
    enrolled = (Enrolment.objects.filter(person=cast.person_b, active=True).first()
                or Enrolment(person=cast.person_b, encoding=[0.0] * 128, photo_sha256="e" * 64,
                             enrolled_at=local(d(1), 9), identity_result="matched"))
    enrolled.photo.save("ref.jpg", ContentFile(photo("obama.jpg")), save=True)
    earlier = CheckIn.objects.create(
        project=cast.project_a, person=cast.person_b, client_id="a-1", direction="entry",
        at=local(TODAY, 8, 59), lng_raw=121.469, lat_raw=31.232, datum="wgs84", lng=121.469,
        lat=31.232, outcome=Outcome.REJECTED, reasons=[])
    checkin = clock_in(pm, "entry", local(TODAY, 9), outcome=Outcome.REVIEW)
    checkin.reasons = [{"code": "impossible_travel",
                        "message": "1 分钟内从另一项目移动 3.5 km（约 210 km/h，超过 120 km/h）"}]
    checkin.photo.save("c.jpg", ContentFile(photo("obama2.jpg")), save=True)
    return ReviewCase.objects.create(
        checkin=checkin, signal="impossible_travel", created=local(TODAY, 9),
        evidence={"message": "1 分钟内从另一项目移动 3.5 km（约 210 km/h，超过 120 km/h）",
                  "previous_checkin": earlier.pk, "previous_project": cast.project_a.pk,
                  "distance_km": 3.5})
