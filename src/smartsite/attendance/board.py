"""Reads for the attendance pages (a person's month calendar, a project's board, the rankings,
the review queue), each for a user and through `core.scoping.scoped` (by way of `selectors`).
The rates come from `rates.tally` over the closed days (`AttendanceDay`), as the dashboard,
the indicators and the rules read them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import ExtractMonth, ExtractYear

from smartsite.attendance import permissions, rates, selectors
from smartsite.attendance.choices import (
    CaseStatus,
    DayStatus,
    Outcome,
    RequestStatus,
    SanctionState,
    StoppageStatus,
)
from smartsite.attendance.models import Enrolment
from smartsite.core.models import Person, Project, ProjectParty

__all__ = ["Cell", "Rate", "calendar", "month_of", "project_board", "rankings", "review_queue"]

#: Day statuses: colour of the calendar cell and of its badge (the legend uses the same).
STATUS_COLOURS = {
    DayStatus.VALID: "#16a34a", DayStatus.SHORT: "#f59e0b", DayStatus.LEAVE: "#2563eb",
    DayStatus.STOPPAGE: "#64748b", DayStatus.STAND_IN: "#7c3aed", DayStatus.ABSENT: "#dc2626",
    DayStatus.NOT_COUNTED: "#cbd5e1"}
OUTCOME_COLOURS = {Outcome.ACCEPTED: "#16a34a", Outcome.REJECTED: "#dc2626",
                   Outcome.REVIEW: "#f59e0b"}


def month_of(text: str | None, today: datetime.date) -> datetime.date:
    """"2026-11" → 2026-11-01; anything else → this month (a page never fails on it)."""
    try:
        year, month = (int(p) for p in (text or "").split("-"))
        return datetime.date(year, month, 1)
    except (TypeError, ValueError):
        return today.replace(day=1)


@dataclass(frozen=True)
class Rate:
    """A month's tally with what the page shows of it (rate and leave share against the
    rules' lines)."""

    tally: rates.Tally
    min_rate: float
    max_leave: float

    @property
    def rate(self) -> float | None:
        r = self.tally.rate
        return None if r is None else float(r)

    @property
    def pct(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f}".rstrip("0").rstrip(".") + "%"

    @property
    def below(self) -> bool:
        return self.tally.meets(self.min_rate) is False

    @property
    def leave_share(self) -> float | None:
        t = self.tally
        return t.leave / t.construction if t.construction else None

    @property
    def leave_pct(self) -> str:
        s = self.leave_share
        return "—" if s is None else f"{s * 100:.1f}".rstrip("0").rstrip(".") + "%"

    @property
    def leave_over(self) -> bool:
        t = self.tally
        return bool(t.construction) and t.leave > rates.leave_allowance(t.construction,
                                                                         self.max_leave)


def _rate(statuses, p) -> Rate:
    return Rate(rates.tally(statuses), p["min_monthly_rate"], p["max_leave_share"])


def _rate_of(counts: dict[str, int], p) -> Rate:
    return _rate([s for s, n in counts.items() for _ in range(n)], p)


# ---------------------------------------------------------------- a person's month


@dataclass
class Cell:
    day: datetime.date
    status: str | None = None  # a DayStatus value; None: not closed (yet) or no post
    label: str = ""
    colour: str = ""
    hours: float | None = None
    checkins: list = field(default_factory=list)
    in_month: bool = True


def calendar(user, person: Person, month: datetime.date) -> dict:
    """The person's month on every key post the user sees: a calendar (weeks of cells) per
    post with each closed day's status, the month's rate and leave share, and the person's
    check-ins of the month by day with their outcome and reasons."""
    first, last = rates.month_bounds(month)
    p = selectors.params()
    posts = list(selectors.overlapping(selectors.assignments(user).filter(person=person),
                                       first, last)
                 .order_by("project__name", "pk"))
    days = defaultdict(dict)
    for d in selectors.days(user).filter(person=person, date__gte=first, date__lte=last,
                                         assignment__in=[a.pk for a in posts]):
        days[d.assignment_id][d.date] = d
    by_day = defaultdict(list)
    start, end = _bounds(first), _bounds(last + rates.DAY)
    for c in (selectors.checkins(user).filter(person=person, at__gte=start, at__lt=end)
              .order_by("at", "pk")):
        c.colour = OUTCOME_COLOURS.get(c.outcome, "#64748b")
        by_day[_local_date(c.at)].append(c)
    calendars = []
    for a in posts:
        own = days[a.pk]
        weeks, week = [], []
        lead = first.weekday()  # Monday first
        for i in range(lead):
            week.append(Cell(first - rates.DAY * (lead - i), in_month=False))
        for day in rates.days(first, last):
            row = own.get(day)
            cell = Cell(day, checkins=[c for c in by_day.get(day, ()) if c.project_id == a.project_id])
            if row is not None:
                cell.status, cell.label = row.status, row.get_status_display()
                cell.colour, cell.hours = STATUS_COLOURS.get(row.status, ""), row.hours
            week.append(cell)
            if len(week) == 7:
                weeks.append(week)
                week = []
        if week:
            while len(week) < 7:
                week.append(Cell(week[-1].day + rates.DAY, in_month=False))
            weeks.append(week)
        calendars.append({"assignment": a, "weeks": weeks,
                          "rate": _rate([d.status for d in own.values()], p),
                          "post_class": a.post.key_post.get_post_class_display()})
    checkin_days = [(day, "一二三四五六日"[day.weekday()], by_day[day]) for day in sorted(by_day)]
    return {"calendars": calendars, "checkin_days": checkin_days, "params": p,
            "legend": [(s.value, s.label, STATUS_COLOURS[s]) for s in DayStatus]}


def _bounds(day: datetime.date) -> datetime.datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _local_date(at: datetime.datetime) -> datetime.date:
    from django.utils import timezone

    return timezone.localtime(at).date()


# ---------------------------------------------------------------- a project's board


def project_board(user, project: Project, today: datetime.date) -> dict:
    """The project's key posts today: holders, today's first entry and last exit (accepted
    check-ins, the holder's or an approved stand-in's), this month's rate per person, per
    post class and for the project; pending leave, stand-ins and stoppages."""
    p = selectors.params()
    first, last = rates.month_bounds(today)
    posts = list(selectors.overlapping(selectors.assignments(user).filter(project=project),
                                       first, last)
                 .order_by("post__key_post__post_class", "post__key_post__code", "pk"))
    statuses = defaultdict(list)
    for aid, status in selectors.days(user).filter(
            project=project, date__gte=first, date__lte=last).values_list(
            "assignment", "status"):
        statuses[aid].append(status)
    start, end = _bounds(today), _bounds(today + rates.DAY)
    today_checkins = defaultdict(list)
    for c in (selectors.checkins(user).filter(project=project, at__gte=start, at__lt=end)
              .select_related("stand_in").order_by("at", "pk")):
        key = c.stand_in.assignment_id if c.stand_in_id else c.assignment_id
        today_checkins[key].append(c)
    enrolled = set(Enrolment.objects.filter(person__in=[a.person_id for a in posts],
                                            active=True).values_list("person", flat=True))
    rows, by_class = [], defaultdict(list)
    for a in posts:
        clocks = today_checkins[a.pk]
        accepted = [c for c in clocks if c.outcome == Outcome.ACCEPTED]
        entries = [c.at for c in accepted if c.direction == "entry"]
        exits = [c.at for c in accepted if c.direction == "exit"]
        current = a.start_date <= today and (a.end_date is None or a.end_date >= today)
        rows.append({"a": a, "rate": _rate(statuses[a.pk], p), "current": current,
                     "post_class": a.post.key_post.post_class,
                     "first_in": min(entries) if entries else None,
                     "last_out": max(exits) if exits else None,
                     "stand_in": next((c.person for c in accepted if c.stand_in_id), None),
                     "review": sum(c.outcome == Outcome.REVIEW for c in clocks),
                     "rejected": sum(c.outcome == Outcome.REJECTED for c in clocks),
                     "enrolled": a.person_id in enrolled})
        by_class[a.post.key_post.post_class].extend(statuses[a.pk])
    classes = [(cls, label, _rate(by_class[cls], p)) for cls, label in
               (("I", "第一类"), ("II", "第二类"))]
    leaves = list(selectors.leaves(user).filter(assignment__project=project,
                                                status=RequestStatus.REQUESTED)
                  .order_by("start_date", "pk"))
    stand_ins = list(selectors.stand_ins(user).filter(assignment__project=project,
                                                      status=RequestStatus.REQUESTED)
                     .order_by("start_date", "pk"))
    return {
        "rows": rows, "classes": classes, "leaves": leaves, "stand_ins": stand_ins,
        "pending": len(leaves) + len(stand_ins),
        "rate": _rate([s for v in statuses.values() for s in v], p), "params": p,
        "month": first,
        "stoppages": selectors.stoppages(user).filter(project=project).order_by("-start_date")[:10],
        "decided": _decided(user, project),
    }


def _decided(user, project) -> list:
    """The project's last decided leave and stand-in requests (the most recent first)."""
    leaves = list(selectors.leaves(user).filter(assignment__project=project)
                  .exclude(status=RequestStatus.REQUESTED).order_by("-decided_at", "-pk")[:10])
    stand_ins = list(selectors.stand_ins(user).filter(assignment__project=project)
                     .exclude(status=RequestStatus.REQUESTED).order_by("-decided_at", "-pk")[:10])
    for x in leaves:
        x.kind = "请假"
    for x in stand_ins:
        x.kind = "顶岗"
    return sorted(leaves + stand_ins, key=lambda x: (x.decided_at is None, x.decided_at),
                  reverse=True)[:10]


# ---------------------------------------------------------------- what waits for the user


def pending_for(user, *, owned, regulated) -> list[dict]:
    """Projects with requests waiting for this user's decision: leave and stand-ins on the
    projects `owned` (a Project queryset: where the user is the 建设单位), stoppages filed on
    the projects `regulated` (the district's); one row per project, the most waiting first."""
    rows: dict = defaultdict(lambda: {"leaves": 0, "stand_ins": 0, "stoppages": 0})
    for pid, n in (selectors.leaves(user).filter(status=RequestStatus.REQUESTED,
                                                 assignment__project__in=owned)
                   .values_list("assignment__project").annotate(n=Count("pk")).order_by()):
        rows[pid]["leaves"] = n
    for pid, n in (selectors.stand_ins(user).filter(status=RequestStatus.REQUESTED,
                                                    assignment__project__in=owned)
                   .values_list("assignment__project").annotate(n=Count("pk")).order_by()):
        rows[pid]["stand_ins"] = n
    for pid, n in (selectors.stoppages(user).filter(status=StoppageStatus.FILED,
                                                     project__in=regulated)
                   .values_list("project").annotate(n=Count("pk")).order_by()):
        rows[pid]["stoppages"] = n
    names = dict(Project.objects.filter(pk__in=list(rows)).values_list("pk", "name"))
    out = [{"pk": pid, "name": names.get(pid, ""), **c, "total": sum(c.values())}
           for pid, c in rows.items()]
    return sorted(out, key=lambda r: (-r["total"], r["name"]))[:50]


# ---------------------------------------------------------------- rankings


def _counts(qs, *keys) -> dict:
    out: dict = defaultdict(lambda: defaultdict(int))
    for row in qs.values(*keys, "status").annotate(n=Count("pk")).order_by():
        out[tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]][row["status"]] += \
            row["n"]
    return out


def rankings(user, month: datetime.date, *, limit: int = 50) -> dict:
    """Projects, enterprises (the party that fills each post) and districts by the month's
    rate (closed days), the Class I and Class II rates, and the monthly trend since the first
    closed day (go-live), overall and per class — all over what the user sees."""
    p = selectors.params()
    first, last = rates.month_bounds(month)
    days = selectors.days(user).filter(date__gte=first, date__lte=last)
    by_project = _counts(days, "project")
    names = dict(Project.objects.filter(pk__in=list(by_project)).values_list("pk", "name"))
    district_of = dict(Project.objects.filter(pk__in=list(by_project))
                       .values_list("pk", "district__name"))
    projects = sorted(({"pk": pk, "name": names.get(pk, ""), "district": district_of.get(pk),
                        "r": _rate_of(c, p)} for pk, c in by_project.items()),
                      key=_rank_key)
    by_district = _counts(days, "project__district__name")
    districts = sorted(({"name": name, "r": _rate_of(c, p)} for name, c in by_district.items()),
                       key=_rank_key)
    # the enterprise: the project's party in the post's party role (施工单位 / 监理单位)
    by_post = _counts(days, "project", "assignment__post__party_role")
    parties = dict(((pid, role), (eid, ename)) for pid, role, eid, ename in
                   ProjectParty.objects.filter(project__in=list(by_project))
                   .values_list("project", "role", "enterprise", "enterprise__name"))
    ent: dict = defaultdict(lambda: defaultdict(int))
    ent_names = {}
    for key, c in by_post.items():
        eid, ename = parties.get(key, (None, "（未登记参建单位）"))
        ent_names[eid] = ename
        for s, n in c.items():
            ent[eid][s] += n
    enterprises = sorted(({"pk": eid, "name": ent_names[eid], "r": _rate_of(c, p)}
                          for eid, c in ent.items()), key=_rank_key)
    by_class = _counts(days, "post_class")
    classes = [(cls, label, _rate_of(by_class.get(cls, {}), p))
               for cls, label in (("I", "第一类"), ("II", "第二类"))]
    total = defaultdict(int)
    for c in by_project.values():
        for s, n in c.items():
            total[s] += n
    return {"projects": projects[:limit], "projects_more": max(0, len(projects) - limit),
            "districts": districts, "enterprises": enterprises[:limit],
            "enterprises_more": max(0, len(enterprises) - limit), "classes": classes,
            "rate": _rate_of(total, p), "params": p, "trend": trend(user, p)}


def _rank_key(row):
    r = row["r"].tally.rate
    return (r is None, -(r or 0), row["name"] or "")


def trend(user, p=None) -> dict:
    """Monthly rates since go-live (the first closed day): overall and per class, in %."""
    p = p or selectors.params()
    rows = (selectors.days(user).annotate(y=ExtractYear("date"), m=ExtractMonth("date"))
            .values("y", "m", "post_class", "status").annotate(n=Count("pk")).order_by())
    months: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in rows:
        months[(row["y"], row["m"])][row["post_class"]][row["status"]] += row["n"]
    keys = sorted(months)
    series = {"all": [], "I": [], "II": []}
    for key in keys:
        both = defaultdict(int)
        for cls in ("I", "II"):
            c = months[key].get(cls, {})
            for s, n in c.items():
                both[s] += n
            series[cls].append(_pct(_rate_of(c, p)))
        series["all"].append(_pct(_rate_of(both, p)))
    return {"months": [f"{y}-{m:02d}" for y, m in keys], "series": series,
            "line": round(p["min_monthly_rate"] * 100, 1)}


def _pct(r: Rate):
    return None if r.rate is None else round(r.rate * 100, 1)


# ---------------------------------------------------------------- the review queue


#: Evidence keys (spoofing.py) as the review page labels them.
EVIDENCE_LABELS = {"distance_km": "距离（km）", "minutes": "间隔（分钟）", "speed_kmh": "速度（km/h）",
                   "limit_kmh": "速度上限（km/h）", "lng_raw": "原始经度", "lat_raw": "原始纬度",
                   "checkins": "相关打卡", "times": "时间", "sha256": "照片 SHA-256",
                   "people": "相关人员", "enrolments": "相关录入", "distance": "人脸距离",
                   "limit": "阈值", "accuracy_m": "定位精度（m）", "limit_m": "精度上限（m）"}


def review_queue(user, *, status: str = CaseStatus.OPEN, limit: int = 100) -> dict:
    """Review cases (open ones by default) with their evidence: the check-in and its photo,
    the person's active enrolment (the photo compared with), and for impossible travel the
    previous check-in (the other site and time)."""
    cases = list(selectors.review_cases(user).filter(status=status)
                 .select_related("checkin__assignment__post", "decided_by")
                 .order_by("-checkin__at", "-pk")[:limit])
    people = {c.checkin.person_id for c in cases}
    enrolments = {e.person_id: e for e in Enrolment.objects.filter(person__in=people,
                                                                   active=True)}
    previous_ids = [c.evidence.get("previous_checkin") for c in cases
                    if isinstance(c.evidence, dict) and c.evidence.get("previous_checkin")]
    previous = {c.pk: c for c in selectors.checkins(user).filter(pk__in=previous_ids)}
    hidden = set(previous_ids) - set(previous)
    for c in cases:
        c.enrolment = enrolments.get(c.checkin.person_id)
        ev = c.evidence if isinstance(c.evidence, dict) else {}
        c.message = ev.get("message", "")
        c.previous = previous.get(ev.get("previous_checkin"))
        c.previous_hidden = ev.get("previous_checkin") in hidden
        c.details = [(EVIDENCE_LABELS.get(k, k), v) for k, v in ev.items()
                     if k not in ("message", "previous_checkin", "previous_project",
                                  "previous_at")]
    counts = dict(selectors.review_cases(user).values_list("status").annotate(n=Count("pk"))
                  .order_by())
    return {"cases": cases, "counts": counts}


def visible_people_with_posts(user):
    """Key-post holders the user sees (for the enrolment list)."""
    ids = selectors.assignments(user).values("person")
    return Person.objects.filter(pk__in=ids).order_by("name", "pk")



def sanctions_section(user, *, project=None, limit: int = 100) -> dict:
    """处理与后果: the proposed and confirmed consequences in scope (a project's, if given),
    the withdrawn ones counted, and whether the user may decide each."""
    qs = selectors.sanctions(user)
    if project is not None:
        qs = qs.filter(project=project)
    shown = list(qs.exclude(state=SanctionState.WITHDRAWN)
                 .order_by("state", "-proposed_at", "-pk")[:limit])
    deciding = set(permissions.regulated_projects(user).filter(
        pk__in={s.project_id for s in shown}).values_list("pk", flat=True))
    for s in shown:
        s.can_decide = s.state == SanctionState.PROPOSED and s.project_id in deciding
    return {"sanctions": shown,
            "sanctions_withdrawn": qs.filter(state=SanctionState.WITHDRAWN).count()}
