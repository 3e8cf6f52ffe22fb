"""Every read of the attendance scenario. Reads for a user go through `core.scoping.scoped`;
the functions without a user (`params`, `key_assignments`, `month_tallies`) serve the jobs,
the detectors and the checks, which see the whole city."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from smartsite.attendance import rates
from smartsite.attendance.choices import IdentityResult, RequestStatus, StoppageStatus
from smartsite.attendance.models import (
    AttendanceDay,
    CheckIn,
    KeyPost,
    Leave,
    Parameter,
    ReviewCase,
    Sanction,
    StandIn,
    Stoppage,
)
from smartsite.core.choices import ProjectStatus
from smartsite.core.models import Person, PostAssignment, Project, Qualification
from smartsite.core.scoping import scoped

#: What the rules fall back to if a parameter row is missing (the fixture's values).
DEFAULTS = {"min_monthly_rate": 0.8, "min_day_span_hours": 5.0, "max_leave_share": 0.2,
            "geofence_min_buffer_m": 30.0, "accuracy_review_m": 100.0,
            "face_max_distance": 0.6, "face_borderline_distance": 0.5,
            "photo_max_bytes": 5 * 1024 * 1024, "impossible_travel_kmh": 120.0,
            "mid_month_warning_day": 15.0, "mid_month_warning_rate": 0.8,
            "max_concurrent_class_i": 1.0, "recovery_min_days": 5.0}


def params() -> dict[str, float]:
    """Every parameter by code (the stored value, else the default)."""
    return {**DEFAULTS, **dict(Parameter.objects.values_list("code", "value"))}


def param(code: str) -> float:
    row = Parameter.objects.filter(code=code).values_list("value", flat=True).first()
    return DEFAULTS[code] if row is None else row


def post_classes() -> dict[int, str]:
    """{Post pk: "I" / "II"} for the key posts."""
    return dict(KeyPost.objects.values_list("post_id", "post_class"))


def overlapping(qs: QuerySet, first: datetime.date, last: datetime.date | None = None
                ) -> QuerySet:
    """The rows of `qs` (with `start_date` and an open-ended `end_date`: assignments,
    stoppages) that overlap [first, last] (`last` None: the day `first`)."""
    return qs.filter(Q(end_date__isnull=True) | Q(end_date__gte=first),
                     start_date__lte=first if last is None else last)


def valid_kinds(person, first: datetime.date, last: datetime.date | None = None) -> set[str]:
    """The qualification kinds `person` (or its pk) holds valid over the whole of [first,
    last] (`last` None: on the day `first`)."""
    return set(Qualification.objects.filter(person=person)
               .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=last or first))
               .values_list("kind", flat=True))


def key_assignments(day: datetime.date | None = None, *, project_ids=None
                    ) -> QuerySet[PostAssignment]:
    """Assignments to key posts on projects not completed (that cover `day`, if given), each
    with `first_enrolled` (`window_of`)."""
    qs = (PostAssignment.objects.filter(post__key_post__isnull=False)
          .exclude(project__status=ProjectStatus.COMPLETED)
          .select_related("person", "post", "post__key_post", "project")
          .annotate(first_enrolled=_FIRST_ENROLLED))
    if day is not None:
        qs = overlapping(qs, day)
    if project_ids is not None:
        qs = qs.filter(project__in=project_ids)
    return qs


def approved_stoppages(project_ids) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = defaultdict(list)
    for pid, s, e in Stoppage.objects.filter(project__in=project_ids,
                                             status=StoppageStatus.APPROVED).values_list(
            "project", "start_date", "end_date"):
        out[pid].append((s, e))
    return out


#: when the holder was first registered for face check-in (人脸登记): the earliest enrolment
#: the identity source did not refuse
def _first_enrolled(path: str) -> Min:
    return Min(f"{path}__enrolled_at",
               filter=~Q(**{f"{path}__identity_result": IdentityResult.MISMATCH}))


_FIRST_ENROLLED = _first_enrolled("person__enrolments")
_UNSET = object()
#: a window no day is in (`rates.in_window`)
NEVER = (datetime.date.max, datetime.date.min)


def window_of(assignment: PostAssignment, post_class: str):
    """The days the post's attendance counts (`rates.counting_window`), registration being
    the later of the post's (报建) and the holder's face registration (人脸登记): nobody can
    clock in before their face is enrolled, so a holder never enrolled is not counted yet —
    the board shows them as 未录入人脸, for the district 监督站 to enrol. (A demo city whose
    simulated people are a few projects' then raises no absence for the rest.)"""
    enrolled = getattr(assignment, "first_enrolled", _UNSET)
    if enrolled is _UNSET:
        enrolled = (Person.objects.filter(pk=assignment.person_id)
                    .aggregate(first=_first_enrolled("enrolments"))["first"])
    if enrolled is None:
        return NEVER
    registered = max(assignment.start_date, timezone.localdate(enrolled))
    return rates.counting_window(post_class, registered, assignment.end_date)


def month_tallies(month: datetime.date, *, through: datetime.date | None = None,
                  assignment_ids=None, project_ids=None) -> dict[int, rates.Tally]:
    """{assignment pk: Tally} of the closed days of `month` (up to `through`)."""
    first, last = rates.month_bounds(month)
    if through is not None:
        last = min(last, through)
    qs = AttendanceDay.objects.filter(date__gte=first, date__lte=last)
    if assignment_ids is not None:
        qs = qs.filter(assignment__in=assignment_ids)
    if project_ids is not None:
        qs = qs.filter(project__in=project_ids)
    statuses: dict[int, list[str]] = defaultdict(list)
    for aid, status in qs.values_list("assignment", "status"):
        statuses[aid].append(status)
    return {aid: rates.tally(s) for aid, s in statuses.items()}


def leave_days(assignment_id: int, first: datetime.date, last: datetime.date,
               *, exclude_pk: int | None = None) -> int:
    """Approved leave days of an assignment between two dates (inclusive)."""
    total = 0
    qs = Leave.objects.filter(assignment=assignment_id, status=RequestStatus.APPROVED,
                              start_date__lte=last, end_date__gte=first)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    for s, e in qs.values_list("start_date", "end_date"):
        total += (min(e, last) - max(s, first)).days + 1
    return total


# ---------------------------------------------------------------- a user's reads


def days(user) -> QuerySet[AttendanceDay]:
    return scoped(user, AttendanceDay.objects.select_related("person", "project",
                                                             "assignment__post"))


def checkins(user) -> QuerySet[CheckIn]:
    return scoped(user, CheckIn.objects.select_related("person", "project"))


def leaves(user) -> QuerySet[Leave]:
    return scoped(user, Leave.objects.select_related("assignment__person", "assignment__post",
                                                     "assignment__project"))


def stand_ins(user) -> QuerySet[StandIn]:
    return scoped(user, StandIn.objects.select_related("person", "assignment__person",
                                                       "assignment__post",
                                                       "assignment__project"))


def stoppages(user) -> QuerySet[Stoppage]:
    return scoped(user, Stoppage.objects.select_related("project"))


def review_cases(user) -> QuerySet[ReviewCase]:
    return scoped(user, ReviewCase.objects.select_related("checkin__person",
                                                          "checkin__project"))


def assignments(user) -> QuerySet[PostAssignment]:
    """The key-post assignments the user sees."""
    return scoped(user, PostAssignment.objects.filter(post__key_post__isnull=False)
                  .select_related("person", "post", "post__key_post", "project"))


def projects(user) -> QuerySet[Project]:
    return scoped(user, Project.objects.all())


def sanctions(user) -> QuerySet[Sanction]:
    """The consequences (后果) in the user's scope, newest first."""
    return scoped(user, Sanction.objects.select_related(
        "project", "enterprise", "person", "assignment__post", "consequence", "decided_by"))


def no_awards(enterprise_ids, year: int) -> dict[int, str]:
    """{enterprise pk: state} of the year's no-awards consequence (proposed or confirmed) of
    these enterprises — a fact about the enterprise, shown wherever it is named."""
    from smartsite.attendance.choices import SanctionKind, SanctionState

    return dict(Sanction.objects.filter(
        kind=SanctionKind.NO_AWARDS, period=str(year), enterprise__in=list(enterprise_ids),
        state__in=(SanctionState.PROPOSED, SanctionState.CONFIRMED))
        .values_list("enterprise", "state"))
