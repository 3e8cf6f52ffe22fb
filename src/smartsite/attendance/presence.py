"""Who was on which site on which days, for other apps' rules (`core.scenarios.presence`;
declared in declaration.py). Pits asks it about a project's monitoring staff: manual surveys
on days none of them checked in look made up at the desk (pits/detectors.py)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from smartsite.attendance.choices import Outcome
from smartsite.attendance.models import CheckIn, Enrolment


def days_on_site(project_id: int, person_ids, start: datetime.date,
                 end: datetime.date) -> dict[int, set[datetime.date]]:
    """{person id: the Shanghai dates between `start` and `end` (inclusive) with a check-in
    on the project that was accepted or still awaits review} for the people with an active
    face enrolment — the others are not tracked, so nothing is said of them. A check-in found
    fake on review has been turned into a rejected one and does not count."""
    tracked = set(Enrolment.objects.filter(person__in=list(person_ids), active=True)
                  .values_list("person_id", flat=True))
    out: dict[int, set[datetime.date]] = {pk: set() for pk in tracked}
    if not tracked:
        return out
    zone = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time(), zone)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), zone)
    for person_id, at in (CheckIn.objects.filter(project_id=project_id, person__in=tracked,
                                                 outcome__in=(Outcome.ACCEPTED, Outcome.REVIEW),
                                                 at__gte=since, at__lt=until)
                          .values_list("person_id", "at")):
        out[person_id].add(timezone.localtime(at, zone).date())
    return out
