"""What each attendance rule finds in the closed days and the registry, as events (and,
through the rules' loop policies, work orders). `sync(now)` runs every rule; a condition that
holds raises (or counts again) its event, and the open events of a rule whose condition has
ended recover (design.md §1). The rules, their parameters and citations: docs/attendance.md.

* `absence` / `absence_ii` — 考勤不足: a key post's rate over the last complete month is below
  `min_monthly_rate` (80 %). Class I and Class II differ in their loops (fixtures/
  loop_policies.json), so their rule codes differ. A month's verdict is raised once: after
  its order closes it is not raised again (the month is over), but it recovers if late
  decisions (leave, stoppage, a dismissed review) lift the month's rate to 80 %.
* `warning` — 考勤预警, the month not yet lost: from `mid_month_warning_day` on, the rate so
  far is below `mid_month_warning_rate`, or at any time even attending every remaining day
  can no longer reach 80 %. An event only (no order): the project department sees it.
* `qualification_expired` — 资质过期: a key-post holder's certificate of some kind has
  expired and he holds no valid one of that kind.
* `understaffed` — 配备不足: a Class I post of an active project has nobody on it (for the
  parties the project has registered).
* `multiple_posts` — 身兼多岗: one person on Class I posts of two or more active projects at
  once (《注册建造师管理规定》第二十一条), raised on each of those projects.
* `impersonation` — 冒名顶替/人证不符: a check-in whose review case was confirmed as faked
  (`raise_for_review`, called by services.decide_review; `sync` catches any it missed).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from smartsite.attendance import rates, selectors
from smartsite.attendance.choices import CaseStatus, PostClass, Signal
from smartsite.attendance.models import KeyPost, ReviewCase
from smartsite.core.choices import ProjectStatus
from smartsite.core.models import PostAssignment, Project, ProjectParty, Qualification
from smartsite.workorders import services as orders
from smartsite.workorders.choices import OPEN_EVENT_STATES
from smartsite.workorders.models import Event

SCENARIO = "attendance"
ABSENCE_I, ABSENCE_II = "absence", "absence_ii"
WARNING, EXPIRED, UNDERSTAFFED, MULTIPLE, IMPERSONATION = (
    "warning", "qualification_expired", "understaffed", "multiple_posts", "impersonation")
RULES = (ABSENCE_I, ABSENCE_II, WARNING, EXPIRED, UNDERSTAFFED, MULTIPLE, IMPERSONATION)
#: the rules as the seed names its checks (场景二)
RULE_NAMES = {ABSENCE_I: "考勤不足（第一类）", ABSENCE_II: "考勤不足（第二类）", WARNING: "考勤预警",
              EXPIRED: "资质过期", UNDERSTAFFED: "配备不足", MULTIPLE: "身兼多岗",
              IMPERSONATION: "冒名顶替"}


def absence_rule(post_class: str) -> str:
    return ABSENCE_I if post_class == PostClass.I else ABSENCE_II


@dataclass(frozen=True)
class Finding:
    rule: str
    key: str  # the event's dedup key
    project: Project
    subject: str
    title: str
    evidence: dict
    severity: str = "warning"


def _month(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


def _today(now) -> datetime.date:
    return timezone.localtime(now).date()


def _label(a: PostAssignment) -> str:
    return f"{a.post.name}{a.person.name}"


# ---------------------------------------------------------------- rates


def monthly(now: datetime.datetime) -> tuple[list[Finding], list[str]]:
    """考勤不足 over the last complete month; returns the findings and the key prefixes they
    cover (that month's, for recovery)."""
    today = _today(now)
    month = rates.month_bounds(today)[0] - datetime.timedelta(days=1)
    tallies = selectors.month_tallies(month)
    min_rate = selectors.param("min_monthly_rate")
    found = []
    assignments = PostAssignment.objects.filter(pk__in=list(tallies)).select_related(
        "person", "post__key_post", "project")
    for a in assignments:
        t = tallies[a.pk]
        if t.meets(min_rate) is not False:
            continue
        cls = a.post.key_post.post_class
        rule = absence_rule(cls)
        found.append(Finding(
            rule, f"attendance:{rule}:{_month(month)}:{a.pk}", a.project, a.person.name,
            f"关键岗位考勤不足：{_label(a)} {month:%Y年%m月}到岗率 {float(t.rate):.0%}"
            f"（{t.attended}/{t.construction} 天，不足 {min_rate:.0%}）",
            {"assignment": a.pk, "person_id": a.person_id, "person": a.person.name,
             "post": a.post.code, "post_class": cls, "month": _month(month),
             "construction_days": t.construction, "attended_days": t.attended,
             "leave_days": t.leave, "short_days": t.short, "absent_days": t.absent,
             "rate": round(float(t.rate), 4), "min_rate": min_rate}))
    month_key = _month(month)
    return found, [f"attendance:{ABSENCE_I}:{month_key}:", f"attendance:{ABSENCE_II}:{month_key}:"]


def warnings(now: datetime.datetime) -> list[Finding]:
    """考勤预警 for the current month, from the days closed before today."""
    today = _today(now)
    p = selectors.params()
    first, last = rates.month_bounds(today)
    yesterday = today - datetime.timedelta(days=1)
    tallies = selectors.month_tallies(today, through=yesterday) if yesterday >= first else {}
    classes = selectors.post_classes()
    assignments = list(selectors.overlapping(selectors.key_assignments(), first, last))
    stoppages = selectors.approved_stoppages({a.project_id for a in assignments})
    found = []
    for a in assignments:
        window = selectors.window_of(a, classes[a.post_id])
        closed = tallies.get(a.pk, rates.Tally())
        remaining = sum(1 for d in rates.construction_days(today, window,
                                                           stoppages[a.project_id])
                        if d >= today)
        state = rates.outlook(closed=closed, remaining=remaining,
                              min_rate=p["min_monthly_rate"],
                              warn_rate=p["mid_month_warning_rate"],
                              elapsed_share_reached=today.day >= p["mid_month_warning_day"])
        if state == rates.OK:
            continue
        total = closed.construction + remaining
        need = rates.required_days(total, p["min_monthly_rate"])
        text = (f"本月已无法达到 {p['min_monthly_rate']:.0%}" if state == rates.LOST else
                f"本月到岗率 {float(closed.rate):.0%}，低于 {p['mid_month_warning_rate']:.0%}")
        found.append(Finding(
            WARNING, f"attendance:{WARNING}:{_month(today)}:{a.pk}", a.project, a.person.name,
            f"关键岗位考勤预警：{_label(a)} {text}（已到岗 {closed.attended} 天，"
            f"本月需 {need} 天，余 {remaining} 个施工日）",
            {"assignment": a.pk, "person_id": a.person_id, "person": a.person.name,
             "post": a.post.code,
             "post_class": classes[a.post_id], "month": _month(today), "outlook": state,
             "attended_days": closed.attended, "closed_days": closed.construction,
             "remaining_days": remaining, "required_days": need},
            severity="serious" if state == rates.LOST else "warning"))
    return found


# ---------------------------------------------------------------- registry rules


def _current(today: datetime.date):
    return (selectors.key_assignments(today)
            .filter(project__status=ProjectStatus.ACTIVE))


def expired(now: datetime.datetime) -> list[Finding]:
    today = _today(now)
    assignments = list(_current(today))
    held: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for person, kind, number, expires in Qualification.objects.filter(
            person__in={a.person_id for a in assignments}).values_list(
            "person", "kind", "number", "expires_on"):
        held[person][kind].append((number, expires))
    found = []
    for a in assignments:
        for kind, certs in held[a.person_id].items():
            if any(e is None or e >= today for _n, e in certs):
                continue
            number, expires = max(certs, key=lambda c: c[1])
            label = Qualification(kind=kind).get_kind_display()
            found.append(Finding(
                EXPIRED, f"attendance:{EXPIRED}:{a.pk}:{kind}", a.project, a.person.name,
                f"关键岗位资格证书过期：{_label(a)} {label}（{number}）{expires} 到期",
                {"assignment": a.pk, "person_id": a.person_id, "person": a.person.name,
                 "post": a.post.code, "kind": kind, "number": number,
                 "expires_on": expires.isoformat()}))
    return found


def understaffed(now: datetime.datetime) -> list[Finding]:
    today = _today(now)
    posts = list(KeyPost.objects.filter(post_class=PostClass.I).select_related("post"))
    projects = Project.objects.filter(status=ProjectStatus.ACTIVE).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=today))
    parties = defaultdict(set)
    for pid, role in ProjectParty.objects.filter(project__in=projects).values_list(
            "project", "role"):
        parties[pid].add(role)
    filled = set(selectors.overlapping(PostAssignment.objects.filter(
        project__in=projects, post__in=[k.post_id for k in posts]), today)
        .values_list("project", "post"))
    found = []
    for project in projects:
        for k in posts:
            if k.post.party_role not in parties[project.pk] or (project.pk, k.post_id) in filled:
                continue
            found.append(Finding(
                UNDERSTAFFED, f"attendance:{UNDERSTAFFED}:{project.pk}:{k.code}", project,
                k.post.name, f"关键岗位配备不足：{project.name} 无{k.post.name}在岗",
                {"project": project.pk, "post": k.code, "post_name": k.post.name}))
    return found


def multiple(now: datetime.datetime) -> list[Finding]:
    today = _today(now)
    limit = int(selectors.param("max_concurrent_class_i"))
    by_person: dict[int, list[PostAssignment]] = defaultdict(list)
    for a in _current(today).filter(post__key_post__post_class=PostClass.I):
        by_person[a.person_id].append(a)
    found = []
    for rows in by_person.values():
        projects = {a.project_id: a.project for a in rows}
        if len(projects) <= limit:
            continue
        person = rows[0].person
        listing = [{"project": a.project_id, "project_name": a.project.name,
                    "post": a.post.code, "assignment": a.pk} for a in rows]
        names = "、".join(sorted(p.name for p in projects.values()))
        for project in projects.values():
            found.append(Finding(
                MULTIPLE, f"attendance:{MULTIPLE}:{person.pk}:{project.pk}", project,
                person.name,
                f"身兼多岗：{person.name}同时在 {len(projects)} 个在建项目担任第一类关键岗位（{names}）",
                {"person_id": person.pk, "person": person.name, "assignments": listing,
                 "limit": limit}))
    return found


# ---------------------------------------------------------------- impersonation


def _impersonation(case: ReviewCase) -> Finding:
    checkin = case.checkin
    day = timezone.localtime(checkin.at).date()
    what = "人证不符" if case.signal == Signal.FACE_MISMATCH else "冒名顶替"
    return Finding(
        IMPERSONATION, f"attendance:{IMPERSONATION}:{checkin.person_id}:{day:%Y%m%d}",
        checkin.project, checkin.person.name,
        f"{what}：{checkin.person.name} {day:%m月%d日}{checkin.get_direction_display()}打卡"
        f"经复核确认作假（{case.get_signal_display()}）",
        {"checkin": checkin.pk, "case": case.pk, "signal": case.signal,
         "person_id": checkin.person_id, "person": checkin.person.name,
         "date": day.isoformat(), "note": case.note, "evidence": case.evidence},
        severity="serious")


def raise_for_review(case: ReviewCase, *, now: datetime.datetime | None = None) -> Event | None:
    """The impersonation event (and order) of a confirmed review case; None if the case is
    not confirmed. One event per person and day, however many of his check-ins were faked."""
    if case.status != CaseStatus.CONFIRMED:
        return None
    f = _impersonation(case)
    return _raise(f, now or timezone.now(), once=True)


def confirmed_cases(now: datetime.datetime) -> list[Finding]:
    since = now - datetime.timedelta(days=7)
    cases = (ReviewCase.objects.filter(status=CaseStatus.CONFIRMED, decided_at__gte=since)
             .select_related("checkin__person", "checkin__project"))
    return [_impersonation(c) for c in cases]


# ---------------------------------------------------------------- sync


def _raise(f: Finding, now, *, once: bool = False) -> Event | None:
    """Raise the finding's event. `once`: a fact about the past (a month's verdict, a faked
    check-in) — not raised again once an event for it has closed or been ignored."""
    if once and Event.objects.filter(dedup_key=f.key).exclude(
            state__in=OPEN_EVENT_STATES).exists():
        return None
    return orders.raise_event(scenario=SCENARIO, rule=f.rule, project=f.project,
                              dedup_key=f.key[:200], title=f.title[:200], severity=f.severity,
                              subject=f.subject[:100], evidence=f.evidence, now=now)


def sync(now: datetime.datetime | None = None) -> int:
    """Run every rule once; returns how many conditions hold."""
    now = now or timezone.now()
    found, month_prefixes = monthly(now)
    for f in found:
        _raise(f, now, once=True)
    orders.recover_events(scenario=SCENARIO, prefixes=month_prefixes,
                          keep={f.key for f in found}, now=now)
    total = len(found)
    for rule, detect in ((WARNING, warnings), (EXPIRED, expired),
                         (UNDERSTAFFED, understaffed), (MULTIPLE, multiple)):
        found = detect(now)
        for f in found:
            _raise(f, now)
        orders.recover_events(scenario=SCENARIO, prefixes=[f"attendance:{rule}:"],
                              keep={f.key for f in found}, now=now)
        total += len(found)
    for f in confirmed_cases(now):
        if not Event.objects.filter(dedup_key=f.key).exists():
            _raise(f, now, once=True)
    return total
