"""Who was on which site on which days, for other apps' rules (`core.scenarios.presence`;
declared in declaration.py). Pits asks it about a project's monitoring staff: manual surveys
on days none of them checked in look made up at the desk (pits/detectors.py)."""

from __future__ import annotations

import datetime

from smartsite.attendance import services
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
    since, until = services.day_bounds(start)[0], services.day_bounds(end)[1]
    for person_id, at in (CheckIn.objects.filter(project_id=project_id, person__in=tracked,
                                                 outcome__in=(Outcome.ACCEPTED, Outcome.REVIEW),
                                                 at__gte=since, at__lt=until)
                          .values_list("person_id", "at")):
        out[person_id].add(services.local_day(at))
    return out
