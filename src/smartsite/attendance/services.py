"""The one write path of attendance apart from the check-in itself (checkin.py): closing a
day into `AttendanceDay` rows, leave and stand-in requests and the 建设单位's decisions,
stoppages (停工) and their approval, the decision on a spoofing review case, and the
consequences (后果) derived from the month verdicts and decided by the district.

With an `actor` the permission is checked and the change audited; the jobs pass none.
Every refusal is a `DomainError` / `Forbidden` with a Chinese message, and changes nothing.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from smartsite.attendance import permissions, rates, selectors
from smartsite.attendance.choices import (
    CaseStatus,
    DayStatus,
    Outcome,
    RequestStatus,
    SanctionKind,
    SanctionState,
    StoppageStatus,
)
from smartsite.attendance.models import (
    AttendanceDay,
    CheckIn,
    Consequence,
    Leave,
    ReviewCase,
    Sanction,
    StandIn,
    Stoppage,
)
from smartsite.core import audit
from smartsite.core.choices import AuditAction
from smartsite.core.errors import Conflict, DomainError
from smartsite.core.models import Person, PostAssignment, Project, Qualification

__all__ = ["close_day", "decide_leave", "decide_review", "decide_sanction", "decide_stand_in",
           "decide_stoppage", "derive_sanctions", "file_stoppage", "request_leave",
           "request_stand_in"]


def _now(now):
    return now or timezone.now()


def local_day(at: datetime.datetime) -> datetime.date:
    return timezone.localtime(at).date()


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The day's start and end (Shanghai) as aware datetimes."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
    return start, start + datetime.timedelta(days=1)


def _record(actor, obj, action, changes):
    if actor is not None:
        audit.record(actor, obj, action, changes)


# ---------------------------------------------------------------- closing a day


def close_day(day: datetime.date, at: datetime.datetime | None = None, *,
              project_ids=None) -> int:
    """Materialise the day's `AttendanceDay` for every key-post assignment whose counting
    window holds it (on projects not completed). Idempotent: closing a day again rewrites its
    rows from the check-ins, leave, stand-ins and stoppages as they are now (a review case
    decided later, a leave approved late). Returns how many rows the day has."""
    at = _now(at)
    classes = selectors.post_classes()
    assignments = [a for a in selectors.key_assignments(day, project_ids=project_ids)
                   if rates.in_window(day, selectors.window_of(a, classes[a.post_id]))]
    if not assignments:
        return 0
    project_set = {a.project_id for a in assignments}
    start, end = day_bounds(day)
    counted = (CheckIn.objects.filter(project__in=project_set, at__gte=start, at__lt=end,
                                      outcome=Outcome.ACCEPTED)
               .exclude(review_cases__status=CaseStatus.CONFIRMED)
               .values_list("project", "person", "assignment", "stand_in", "direction", "at"))
    own: dict[tuple, list] = defaultdict(list)
    by_assignment: dict[int, list] = defaultdict(list)
    by_stand_in: dict[int, list] = defaultdict(list)
    for project, person, assignment, stand_in, direction, t in counted:
        clock = rates.Clock(direction, t)
        if stand_in:
            by_stand_in[stand_in].append(clock)
        elif assignment:
            by_assignment[assignment].append(clock)
        else:
            own[(project, person)].append(clock)
    ids = [a.pk for a in assignments]
    leave = set(Leave.objects.filter(assignment__in=ids, status=RequestStatus.APPROVED,
                                     start_date__lte=day, end_date__gte=day)
                .values_list("assignment", flat=True))
    stand_ins: dict[int, list[StandIn]] = defaultdict(list)
    for s in StandIn.objects.filter(assignment__in=ids, status=RequestStatus.APPROVED,
                                    start_date__lte=day, end_date__gte=day):
        stand_ins[s.assignment_id].append(s)
    stopped = set(selectors.overlapping(Stoppage.objects.filter(
        project__in=project_set, status=StoppageStatus.APPROVED), day)
                  .values_list("project", flat=True))
    min_hours = selectors.param("min_day_span_hours")
    rows = []
    for a in assignments:
        holder = by_assignment[a.pk] + own[(a.project_id, a.person_id)]
        standing = [c for s in stand_ins[a.pk] for c in by_stand_in[s.pk]]
        status, span = rates.day_status(holder=holder, stand_in=standing, min_hours=min_hours,
                                        stoppage=a.project_id in stopped, leave=a.pk in leave)
        stand_in = next((s for s in stand_ins[a.pk] if by_stand_in[s.pk]), None) \
            if status == DayStatus.STAND_IN else None
        rows.append(AttendanceDay(
            assignment=a, person_id=a.person_id, project_id=a.project_id,
            post_class=classes[a.post_id], date=day, first_in=span.first_in,
            last_out=span.last_out, hours=span.hours, status=status, stand_in=stand_in,
            closed_at=at))
    fields = ["person_id", "project_id", "post_class", "first_in", "last_out", "hours",
              "status", "stand_in_id"]
    with transaction.atomic():
        existing = {r[0]: r[1:] for r in AttendanceDay.objects.filter(
            date=day, assignment__in=ids).values_list("assignment", "pk", *fields)}
        changed, same = [], []
        for row in rows:
            if row.assignment_id in existing:
                pk, *old = existing[row.assignment_id]
                row.pk = pk
                new = [getattr(row, f) for f in fields]
                (same if new == old else changed).append(row)
        # a re-close mostly finds the rows as they were: only the changed ones are rewritten
        AttendanceDay.objects.bulk_update(changed, [f.removesuffix("_id") for f in fields]
                                          + ["closed_at"], batch_size=1000)
        for i in range(0, len(same), 5000):
            AttendanceDay.objects.filter(pk__in=[r.pk for r in same[i:i + 5000]]).update(
                closed_at=at)
        AttendanceDay.objects.bulk_create([r for r in rows if r.pk is None], batch_size=1000)
    return len(rows)


def reclose(assignment_ids, first: datetime.date, last: datetime.date, at=None) -> None:
    """Close again the already closed days of some assignments (a decision changed them)."""
    closed = (AttendanceDay.objects.filter(assignment__in=assignment_ids, date__gte=first,
                                           date__lte=last)
              .values_list("date", "project").distinct())
    by_day: dict[datetime.date, set] = defaultdict(set)
    for day, project in closed:
        by_day[day].add(project)
    for day, projects in sorted(by_day.items()):
        close_day(day, at, project_ids=projects)


# ---------------------------------------------------------------- leave and stand-ins


def _key_assignment(assignment: PostAssignment) -> str:
    """The post class, or a refusal if the post is not a key post."""
    kp = getattr(assignment.post, "key_post", None)
    if kp is None:
        raise DomainError(f"“{assignment.post}”不是关键岗位，无需请假或顶岗审批",
                          field="assignment")
    return kp.post_class


def _check_dates(assignment: PostAssignment, start, end) -> None:
    if start is None or end is None:
        raise DomainError("请填写开始和结束日期", field="start_date")
    if end < start:
        raise DomainError("结束日期不能早于开始日期", field="end_date")
    if start < assignment.start_date or (assignment.end_date and end > assignment.end_date):
        raise DomainError(f"日期须在任职期间内（{assignment.start_date} 起"
                          f"{'至 ' + str(assignment.end_date) if assignment.end_date else ''}）",
                          field="start_date")
    if (end - start).days > 62:
        raise DomainError("一次请假或顶岗不能超过两个月，请分段申请", field="end_date")


def _check_leave_cap(leave: Leave, post_class: str) -> None:
    """Per month the leave touches: approved leave + this one ≤ 20 % of the month's
    construction days."""
    a = leave.assignment
    share = selectors.param("max_leave_share")
    stoppages = selectors.approved_stoppages([a.project_id])[a.project_id]
    window = selectors.window_of(a, post_class)
    month = leave.start_date.replace(day=1)
    while month <= leave.end_date:
        first, last = rates.month_bounds(month)
        construction = rates.construction_days(month, window, stoppages)
        mine = sum(1 for d in construction if leave.start_date <= d <= leave.end_date)
        already = selectors.leave_days(a.pk, first, last, exclude_pk=leave.pk)
        if mine and not rates.leave_fits(len(construction), already, mine, share):
            allowed = rates.leave_allowance(len(construction), share)
            raise DomainError(
                f"{month:%Y年%m月}施工天数 {len(construction)} 天，请假不得超过 {share:.0%}"
                f"（{allowed} 天）；已批准 {already} 天，本次 {mine} 天，超出上限",
                field="end_date", code="leave_cap")
        month = last + datetime.timedelta(days=1)


def _overlapping(model, assignment, start, end, exclude_pk=None):
    qs = model.objects.filter(assignment=assignment, start_date__lte=end, end_date__gte=start,
                              status__in=[RequestStatus.REQUESTED, RequestStatus.APPROVED])
    return qs.exclude(pk=exclude_pk) if exclude_pk else qs


@transaction.atomic
def request_leave(actor, assignment: PostAssignment, *, start_date, end_date, reason: str,
                  now=None) -> Leave:
    now = _now(now)
    post_class = _key_assignment(assignment)
    if actor is not None:
        permissions.require_request(actor, assignment.project, assignment.post.party_role)
    _check_dates(assignment, start_date, end_date)
    if not (reason or "").strip():
        raise DomainError("请填写请假事由", field="reason")
    if _overlapping(Leave, assignment, start_date, end_date).exists():
        raise Conflict("这段日期已有请假申请", field="start_date")
    leave = Leave(assignment=assignment, start_date=start_date, end_date=end_date,
                  reason=reason.strip()[:200], requested_by=actor if actor and actor.pk else None,
                  requested_at=now)
    _check_leave_cap(leave, post_class)
    leave.full_clean()
    leave.save()
    _record(actor, leave, AuditAction.CREATE, audit.diff(None, audit.snapshot(leave)))
    return leave


def _decide(actor, obj, approve: bool, note: str, now):
    if obj.status != RequestStatus.REQUESTED:
        raise Conflict(f"该申请已{obj.get_status_display()}，不能再审批")
    before = audit.snapshot(obj)
    obj.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    obj.decided_by = actor if actor is not None and actor.pk else None
    obj.decided_at = now
    obj.note = (note or "").strip()[:200]
    if not approve and not obj.note:
        raise DomainError("驳回须填写审批意见", field="note")
    obj.save()
    _record(actor, obj, AuditAction.UPDATE, audit.diff(before, audit.snapshot(obj)))


@transaction.atomic
def decide_leave(actor, leave: Leave, *, approve: bool, note: str = "", now=None) -> Leave:
    """The 建设单位 approves or rejects; an approval re-checks the 20 % cap (another leave may
    have been approved since) and closes the leave's already closed days again."""
    now = _now(now)
    leave = Leave.objects.select_for_update(of=("self",)).select_related(
        "assignment__post__key_post", "assignment__project").get(pk=leave.pk)
    if actor is not None:
        permissions.require_owner(actor, leave.assignment.project)
    if approve:
        _check_leave_cap(leave, leave.assignment.post.key_post.post_class)
    _decide(actor, leave, approve, note, now)
    if approve:
        reclose([leave.assignment_id], leave.start_date, leave.end_date, now)
    return leave


@transaction.atomic
def request_stand_in(actor, assignment: PostAssignment, *, person: Person, start_date,
                     end_date, reason: str = "", now=None) -> StandIn:
    """A stand-in must hold a qualification of the same kind as the holder's, valid over the
    whole stand-in (issue 15: 同等资格证书)."""
    now = _now(now)
    _key_assignment(assignment)
    if actor is not None:
        permissions.require_request(actor, assignment.project, assignment.post.party_role)
    _check_dates(assignment, start_date, end_date)
    if person.pk == assignment.person_id:
        raise DomainError("顶岗人员不能是在岗人员本人", field="person")
    needed = set(Qualification.objects.filter(person=assignment.person_id)
                 .values_list("kind", flat=True))
    if not needed:
        raise DomainError(f"在岗人员{assignment.person.name}未登记资格证书，无法核对顶岗人员资格",
                          field="person")
    if not needed & selectors.valid_kinds(person, start_date, end_date):
        labels = "、".join(sorted(Qualification(kind=k).get_kind_display() for k in needed))
        raise DomainError(f"顶岗人员{person.name}须持有与在岗人员同类且在顶岗期间有效的"
                          f"资格证书（{labels}）", field="person", code="stand_in_qualification")
    if _overlapping(StandIn, assignment, start_date, end_date).exists():
        raise Conflict("这段日期已有顶岗申请", field="start_date")
    stand_in = StandIn(assignment=assignment, person=person, start_date=start_date,
                       end_date=end_date, reason=(reason or "").strip()[:200],
                       requested_by=actor if actor and actor.pk else None, requested_at=now)
    stand_in.full_clean()
    stand_in.save()
    _record(actor, stand_in, AuditAction.CREATE, audit.diff(None, audit.snapshot(stand_in)))
    return stand_in


@transaction.atomic
def decide_stand_in(actor, stand_in: StandIn, *, approve: bool, note: str = "",
                    now=None) -> StandIn:
    now = _now(now)
    stand_in = StandIn.objects.select_for_update(of=("self",)).select_related(
        "assignment__project", "person").get(pk=stand_in.pk)
    if actor is not None:
        permissions.require_owner(actor, stand_in.assignment.project)
    if approve and not ({k for k in Qualification.objects.filter(
            person=stand_in.assignment.person_id).values_list("kind", flat=True)}
            & selectors.valid_kinds(stand_in.person, stand_in.start_date, stand_in.end_date)):
        raise DomainError(f"顶岗人员{stand_in.person.name}的资格证书已不满足要求，不能批准",
                          field="person")
    _decide(actor, stand_in, approve, note, now)
    if approve:
        reclose([stand_in.assignment_id], stand_in.start_date, stand_in.end_date, now)
    return stand_in


# ---------------------------------------------------------------- stoppages


@transaction.atomic
def file_stoppage(actor, project: Project, *, start_date, end_date=None, reason: str,
                  now=None) -> Stoppage:
    now = _now(now)
    if actor is not None:
        permissions.require_file_stoppage(actor, project)
    if start_date is None:
        raise DomainError("请填写停工日期", field="start_date")
    if end_date is not None and end_date < start_date:
        raise DomainError("复工日期不能早于停工日期", field="end_date")
    if not (reason or "").strip():
        raise DomainError("请填写停工原因", field="reason")
    overlap = selectors.overlapping(Stoppage.objects.filter(project=project, status__in=[
        StoppageStatus.FILED, StoppageStatus.APPROVED]), start_date, end_date or datetime.date.max)
    if overlap.exists():
        raise Conflict("这段日期已有停工报备", field="start_date")
    stoppage = Stoppage(project=project, start_date=start_date, end_date=end_date,
                        reason=reason.strip()[:200],
                        filed_by=actor if actor and actor.pk else None, filed_at=now)
    stoppage.full_clean()
    stoppage.save()
    _record(actor, stoppage, AuditAction.CREATE, audit.diff(None, audit.snapshot(stoppage)))
    return stoppage


@transaction.atomic
def decide_stoppage(actor, stoppage: Stoppage, *, approve: bool, now=None) -> Stoppage:
    """The district approves (counting pauses over its days) or rejects a filed stoppage."""
    now = _now(now)
    stoppage = Stoppage.objects.select_for_update(of=("self",)).select_related("project").get(
        pk=stoppage.pk)
    if actor is not None:
        permissions.require_regulator(actor, stoppage.project)
    if stoppage.status != StoppageStatus.FILED:
        raise Conflict(f"该停工报备已{stoppage.get_status_display()}，不能再审批")
    before = audit.snapshot(stoppage)
    stoppage.status = StoppageStatus.APPROVED if approve else StoppageStatus.REJECTED
    stoppage.decided_by = actor if actor is not None and actor.pk else None
    stoppage.decided_at = now
    stoppage.save()
    _record(actor, stoppage, AuditAction.UPDATE, audit.diff(before, audit.snapshot(stoppage)))
    if approve:
        ids = PostAssignment.objects.filter(project=stoppage.project_id).values_list(
            "pk", flat=True)
        reclose(list(ids), stoppage.start_date, stoppage.end_date or local_day(now), now)
    return stoppage


# ---------------------------------------------------------------- review cases


@transaction.atomic
def decide_review(actor, case: ReviewCase, *, confirmed: bool, note: str = "",
                  now=None) -> ReviewCase:
    """确认作假: the check-in becomes invalid (faked attendance counts as absence) and the
    impersonation rule raises its event; 排除: a check-in waiting for review is accepted.
    Either way its day is closed again if it was closed already."""
    from smartsite.attendance import detectors

    now = _now(now)
    case = ReviewCase.objects.select_for_update(of=("self",)).select_related(
        "checkin__project", "checkin__person").get(pk=case.pk)
    if actor is not None:
        permissions.require_regulator(actor, case.checkin.project)
    if case.status != CaseStatus.OPEN:
        raise Conflict(f"该复核已{case.get_status_display()}")
    if confirmed and not (note or "").strip():
        raise DomainError("确认作假须填写复核意见", field="note")
    before = audit.snapshot(case)
    case.status = CaseStatus.CONFIRMED if confirmed else CaseStatus.DISMISSED
    case.decided_by = actor if actor is not None and actor.pk else None
    case.decided_at, case.note = now, (note or "").strip()[:200]
    case.save()
    _record(actor, case, AuditAction.UPDATE, audit.diff(before, audit.snapshot(case)))
    checkin = case.checkin
    if confirmed and checkin.outcome != Outcome.REJECTED:
        checkin.outcome = Outcome.REJECTED
        checkin.reasons = [*checkin.reasons, {"code": "faked",
                                              "message": f"复核确认作假：{case.note}"}]
        checkin.save(update_fields=["outcome", "reasons"])
    elif not confirmed and checkin.outcome == Outcome.REVIEW and not checkin.review_cases \
            .filter(status=CaseStatus.OPEN).exclude(pk=case.pk).exists():
        checkin.outcome = Outcome.ACCEPTED
        checkin.save(update_fields=["outcome"])
    day = local_day(checkin.at)
    if AttendanceDay.objects.filter(project=checkin.project_id, date=day).exists():
        close_day(day, now, project_ids=[checkin.project_id])
    if confirmed:
        detectors.raise_for_review(case, now=now)
    return case


# ---------------------------------------------------------------- consequences (后果)


def _month_index(month: str) -> int:
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def quarter_of(day: datetime.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_end(quarter: str) -> datetime.date:
    year, q = int(quarter[:4]), int(quarter[5:])
    return rates.month_bounds(datetime.date(year, 3 * q, 1))[1]


def derive_sanctions(now: datetime.datetime | None = None) -> int:
    """Propose the consequences the month verdicts (考勤不足 events) and their orders call for
    (fixtures/sanctions.json, docs/attendance.md "后果"). Idempotent: one row per `key`; a
    proposal still open takes the latest evidence, a decided one is never touched again (a
    withdrawn proposal is not re-proposed). Returns how many proposals are new.

    * penalty_absence (Class I, per post and month): the month's order was refused or overdue
      into the medium loop, or the same post had another verdict in the 11 months before;
    * rating_fail (Class II, per project, enterprise and quarter): the order entered the
      medium loop (the 警示约谈) in the quarter, the quarter is over, and the post's closed
      construction days from the day after the 约谈 to the quarter's end are below the rate;
    * no_awards (either class, per enterprise and year): any verdict in that year.
    """
    from smartsite.attendance import detectors
    from smartsite.core.models import ProjectParty
    from smartsite.workorders.choices import EventState
    from smartsite.workorders.models import Event, OrderAction

    now = _now(now)
    today = local_day(now)
    verdicts = list(
        Event.objects.filter(scenario=detectors.SCENARIO,
                             rule__in=(detectors.ABSENCE_I, detectors.ABSENCE_II),
                             recovered_at__isnull=True,
                             # what a repeat within 12 months, this year and last quarter need;
                             # older periods were derived when they were current
                             first_seen__gte=now - datetime.timedelta(days=400))
        .exclude(state__in=(EventState.RECOVERED, EventState.IGNORED))
        .select_related("order").order_by("pk"))
    verdicts = [v for v in verdicts if v.evidence.get("assignment") and v.evidence.get("month")]
    if not verdicts:
        return 0
    escalations: dict[int, OrderAction] = {}
    for entry in (OrderAction.objects.filter(order__in={v.order_id for v in verdicts} - {None},
                                             data__has_key="escalated")
                  .order_by("order", "seq")):
        escalations.setdefault(entry.order_id, entry)
    assignments = PostAssignment.objects.select_related("post", "person", "project").in_bulk(
        {v.evidence["assignment"] for v in verdicts})
    parties = {(p.project_id, p.role): p.enterprise
               for p in ProjectParty.objects.filter(
                   project__in={a.project_id for a in assignments.values()})
               .select_related("enterprise")}
    consequences = {c.kind: c for c in Consequence.objects.exclude(kind="")}
    min_rate = selectors.param("min_monthly_rate")
    proposals: dict[str, dict] = {}

    def verdict_ref(v) -> dict:
        ev = v.evidence
        return {"event": v.pk, "month": ev["month"], "assignment": ev["assignment"],
                "person": ev.get("person", ""), "post": ev.get("post", ""),
                "rate": ev.get("rate"), "order": v.order.number if v.order else None}

    def propose(key, kind, a, enterprise, period, reason, evidence, *, person=True):
        row = proposals.setdefault(key, {
            "kind": kind, "project": a.project, "enterprise": enterprise,
            "assignment": a if person else None, "person": a.person if person else None,
            "post_class": a.post.key_post.post_class if person else "", "period": period,
            "reasons": [], "evidence": {"verdicts": [], "orders": []}})
        if reason not in row["reasons"]:
            row["reasons"].append(reason)
        for part, items in evidence.items():
            for item in items:
                if item not in row["evidence"][part]:
                    row["evidence"][part].append(item)

    by_assignment: dict[int, list] = defaultdict(list)
    for v in verdicts:
        by_assignment[v.evidence["assignment"]].append(v)
    for aid, rows in by_assignment.items():
        a = assignments.get(aid)
        if a is None:
            continue
        enterprise = parties.get((a.project_id, a.post.party_role))
        if enterprise is None:
            continue
        rows.sort(key=lambda v: v.evidence["month"])
        for v in rows:
            month, ref = v.evidence["month"], verdict_ref(v)
            label = f"{a.post.name}{a.person.name} {month} 到岗率 {v.evidence.get('rate', 0):.0%}"
            propose(f"no_awards:{enterprise.pk}:{month[:4]}", SanctionKind.NO_AWARDS, a,
                    enterprise, month[:4], f"{label}，低于 {min_rate:.0%}",
                    {"verdicts": [ref]}, person=False)
            escalated = escalations.get(v.order_id)
            order_ref = ({"order": v.order.number, "escalated_at": escalated.at.isoformat(),
                          "via": escalated.action, "levels": escalated.data["escalated"]}
                         if escalated else None)
            if v.rule == detectors.ABSENCE_I:
                earlier = [u for u in rows if u.evidence["month"] < month
                           and _month_index(month) - _month_index(u.evidence["month"]) < 12]
                if escalated:
                    how = "两次核查不通过" if escalated.action == "verify_reject" else "逾期未整改"
                    propose(f"penalty_absence:{aid}:{month}", SanctionKind.PENALTY_ABSENCE, a,
                            enterprise, month,
                            f"{label}；整改工单 {v.order.number} {how}，"
                            f"{timezone.localtime(escalated.at):%Y-%m-%d}转区监督机构",
                            {"verdicts": [ref], "orders": [order_ref]})
                if earlier:
                    prev = earlier[-1]
                    propose(f"penalty_absence:{aid}:{month}", SanctionKind.PENALTY_ABSENCE, a,
                            enterprise, month,
                            f"{label}；12 个月内第二次不达标（前次 {prev.evidence['month']}）",
                            {"verdicts": [verdict_ref(prev), ref]})
            elif escalated:
                interview = timezone.localtime(escalated.at).date()
                quarter = quarter_of(interview)
                last = quarter_end(quarter)
                if today <= last:
                    continue  # the quarter is not over yet
                statuses = AttendanceDay.objects.filter(
                    assignment=aid, date__gt=interview, date__lte=last).values_list(
                    "status", flat=True)
                t = rates.tally(list(statuses))
                if t.meets(min_rate) is not False:
                    continue  # back at the rate (or no construction day to judge)
                propose(f"rating_fail:{a.project_id}:{enterprise.pk}:{quarter}",
                        SanctionKind.RATING_FAIL, a, enterprise, quarter,
                        f"{label}；{interview:%Y-%m-%d} 警示约谈（工单 {v.order.number} 转区监督机构）后"
                        f"至季度末到岗率 {float(t.rate):.0%}（{t.attended}/{t.construction} 天），"
                        f"仍低于 {min_rate:.0%}",
                        {"verdicts": [ref], "orders": [{**order_ref, "after": {
                            "from": (interview + datetime.timedelta(days=1)).isoformat(),
                            "to": last.isoformat(), "attended_days": t.attended,
                            "construction_days": t.construction,
                            "rate": round(float(t.rate), 4)}}]})
    return _write_proposals(proposals, consequences, now)


def _write_proposals(proposals: dict[str, dict], consequences, now) -> int:
    created = 0
    existing = Sanction.objects.in_bulk(list(proposals), field_name="key")
    for key, row in proposals.items():
        reason = "；".join(dict.fromkeys(row["reasons"]))[:2000]
        evidence = {k: v for k, v in row["evidence"].items() if v}
        current = existing.get(key)
        if current is None:
            with transaction.atomic():
                _, made = Sanction.objects.get_or_create(key=key, defaults={
                    "kind": row["kind"], "consequence": consequences.get(row["kind"]),
                    "project": row["project"], "enterprise": row["enterprise"],
                    "assignment": row["assignment"], "person": row["person"],
                    "post_class": row["post_class"], "period": row["period"],
                    "reason": reason, "evidence": evidence, "proposed_at": now})
            created += made
        elif current.state == SanctionState.PROPOSED and (
                current.reason, current.evidence) != (reason, evidence):
            current.reason, current.evidence = reason, evidence
            current.save(update_fields=["reason", "evidence"])
    return created


@transaction.atomic
def decide_sanction(actor, sanction: Sanction, *, confirm: bool, note: str = "",
                    now=None) -> Sanction:
    """The project's district regulator confirms (确认) or withdraws (撤销, with a reason) a
    proposal; a decided one is final."""
    now = _now(now)
    sanction = Sanction.objects.select_for_update(of=("self",)).select_related(
        "project").get(pk=sanction.pk)
    permissions.require_sanction_decider(actor, sanction.project)
    note = (note or "").strip()
    if sanction.state != SanctionState.PROPOSED:
        raise Conflict(f"该{sanction.get_kind_display()}已{sanction.get_state_display()}，"
                       "不能再确认或撤销")
    if not confirm and not note:
        raise DomainError("撤销须填写理由", field="note")
    if len(note) > 200:
        raise DomainError("意见不能超过 200 字", field="note")
    before = audit.snapshot(sanction)
    sanction.state = SanctionState.CONFIRMED if confirm else SanctionState.WITHDRAWN
    sanction.decided_by = actor if actor.pk else None
    sanction.decided_at, sanction.note = now, note
    sanction.save(update_fields=["state", "decided_by", "decided_at", "note"])
    audit.record(actor, sanction, AuditAction.UPDATE,
                 audit.diff(before, audit.snapshot(sanction)))
    return sanction
