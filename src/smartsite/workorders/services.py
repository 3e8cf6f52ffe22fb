"""The one write path of events and work orders (design.md §2 rule 1).

    raise_event(...)            a scenario reports a condition (deduplicated by key)
    ignore_event(event, ...)    a regulator dismisses it, with a reason
    open_order(...)             from events or by hand; the policy decides the first court
    act(order, action, actor, version=..., ...)
                                every human step: dispatch, dispose, verify, reassign, …
    fire_due_timers(now)        the worker: deadlines, reminders, automatic verification
    record_penalty(order, actor, version=..., ...)
                                立案处罚 on an order, against a legal basis's fine range
    publish_policy(...)         a city administrator publishes a new loop-policy version

Every function takes `now` (default: the real clock) so tests can drive a fake clock. Every
state change appends a hash-chained `OrderAction` in the same transaction and bumps
`WorkOrder.version`; a caller holding an older version gets `Conflict`, nothing changed.
"""

from __future__ import annotations

import datetime
import json
import logging
import operator
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import reduce

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from smartsite.core import audit, permissions
from smartsite.core.choices import AuditAction, PartyRole, RoleKind
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.models import AuditEntry, Enterprise, ProjectParty, Role
from smartsite.core.scoping import grant_for, scoped
from smartsite.core.uploads import IMAGE_TYPES, check_upload
from smartsite.exchange import services as outbox
from smartsite.workorders import batch as timer_batch
from smartsite.workorders import checks
from smartsite.workorders import policy as policy_spec
from smartsite.workorders.choices import (
    OPEN_EVENT_STATES,
    STEP_OF_STATE,
    Action,
    EventState,
    LoopLevel,
    OrderState,
    Scenario,
    TimerKind,
)
from smartsite.workorders.models import (
    Event,
    LegalBasis,
    LoopPolicy,
    Notification,
    OrderAction,
    OrderAttachment,
    Penalty,
    Timer,
    WorkOrder,
)
from smartsite.workorders.policy import Court

log = logging.getLogger(__name__)

GENESIS = "0" * 64
SYSTEM_NAME = "系统"

#: What may be done in each state (anything else is refused with a message naming both).
ALLOWED = {
    OrderState.PENDING_DISPATCH: {Action.DISPATCH, Action.REASSIGN, Action.SUSPEND,
                                  Action.CANCEL, Action.COMMENT},
    OrderState.PENDING_DISPOSAL: {Action.ACCEPT, Action.DISPOSE, Action.REASSIGN,
                                  Action.SUSPEND, Action.CANCEL, Action.COMMENT},
    OrderState.PENDING_VERIFICATION: {Action.ACCEPT, Action.VERIFY_PASS, Action.VERIFY_REJECT,
                                      Action.REASSIGN, Action.SUSPEND, Action.CANCEL,
                                      Action.COMMENT},
    OrderState.SUSPENDED: {Action.RESUME, Action.CANCEL, Action.COMMENT},
    OrderState.CLOSED: {Action.COMMENT},
    OrderState.CANCELLED: set(),
}
#: Actions that need a reason whatever the policy says.
REASON_REQUIRED = {Action.SUSPEND, Action.RESUME, Action.CANCEL, Action.REASSIGN,
                   Action.VERIFY_REJECT}
#: Human actions taken by whoever holds the ball.
COURT_ACTIONS = {Action.ACCEPT, Action.DISPATCH, Action.DISPOSE, Action.VERIFY_PASS,
                 Action.VERIFY_REJECT}
#: Human actions of the supervising regulators (city, or the project's district).
REGULATOR_ACTIONS = {Action.REASSIGN, Action.SUSPEND, Action.RESUME}



def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


# ---------------------------------------------------------------- policies


def active_policy(scenario: str, kind: str) -> LoopPolicy:
    policy = LoopPolicy.objects.filter(scenario=scenario, kind=kind, active=True).first()
    if policy is None:
        raise DomainError(f"“{Scenario.label_of(scenario)}”场景的“{kind}”类工单没有生效的闭环策略，"
                          "请由市级管理员先配置闭环策略")
    return policy


# ---------------------------------------------------------------- events


def raise_event(*, scenario: str, rule: str, project, dedup_key: str, title: str,
                severity: str = "warning", subject: str = "", evidence: dict | None = None,
                occurred_at: datetime.datetime | None = None,
                now: datetime.datetime | None = None) -> Event:
    """Record a finding. If an open event has the same key, it is updated (count, last seen,
    latest evidence) instead; a new event opens an order when the scenario has a policy for
    this rule (dispatched at once, or waiting for the policy's dispatcher)."""
    now = _now(now)
    occurred_at = occurred_at or now
    for _attempt in range(2):
        try:
            with transaction.atomic():
                existing = (Event.objects.select_for_update()
                            .filter(dedup_key=dedup_key, state__in=OPEN_EVENT_STATES).first())
                if existing is not None:
                    existing.count += 1
                    existing.last_seen = max(existing.last_seen, occurred_at)
                    existing.evidence = evidence or existing.evidence
                    existing.recovered_at = None  # the condition holds (again)
                    existing.save(update_fields=["count", "last_seen", "evidence",
                                                 "recovered_at"])
                    return existing
                event = Event.objects.create(
                    scenario=scenario, rule=rule, project=project, dedup_key=dedup_key,
                    title=title, severity=severity, subject=subject, evidence=evidence or {},
                    occurred_at=occurred_at, first_seen=occurred_at, last_seen=occurred_at)
                policy = LoopPolicy.objects.filter(scenario=scenario, kind=rule,
                                                   active=True).first()
                if policy is not None:
                    _open(policy, project=project, title=title, events=[event], actor=None,
                          now=now)
                    event.refresh_from_db()
                return event
        except IntegrityError:
            # Another process opened the same key between our read and insert: update it.
            continue
    raise DomainError(f"事件“{dedup_key}”正在被并发写入，请重试")


def refresh_events(seen: dict[str, tuple[datetime.datetime, dict]]) -> set[str]:
    """The open events among `seen` ({dedup key: (seen at, evidence)}) are seen again: count,
    last seen and evidence updated in one statement per batch, the condition holding (again).
    Returns the keys that had an open event; the others are for `raise_event`. (A rule that
    re-finds thousands of conditions every round costs a few queries, not a transaction each.)"""
    found: set[str] = set()
    keys = list(seen)
    for i in range(0, len(keys), 1000):
        with transaction.atomic():
            events = list(Event.objects.select_for_update().filter(
                dedup_key__in=keys[i:i + 1000], state__in=OPEN_EVENT_STATES))
            for event in events:
                at, evidence = seen[event.dedup_key]
                event.count += 1
                event.last_seen = max(event.last_seen, at)
                event.evidence = evidence or event.evidence
                event.recovered_at = None
                found.add(event.dedup_key)
            Event.objects.bulk_update(events, ["count", "last_seen", "evidence", "recovered_at"])
    return found


def recover_events(*, scenario: str, prefixes: Iterable[str], keep: set[str],
                   now: datetime.datetime | None = None) -> int:
    """The condition behind a scenario's open events has ended for every dedup key starting
    with one of `prefixes` that is not in `keep`: a new event becomes 已自动恢复; a dispatched
    one is marked (its order still closes through its loop). Returns how many recovered."""
    now = _now(now)
    q = Q()
    for prefix in prefixes:
        q |= Q(dedup_key__startswith=prefix)
    ended = (Event.objects.filter(q, scenario=scenario, state__in=OPEN_EVENT_STATES,
                                  recovered_at__isnull=True)
             .exclude(dedup_key__in=keep))
    with transaction.atomic():
        ids = list(ended.select_for_update().values_list("pk", flat=True))
        Event.objects.filter(pk__in=ids, state=EventState.NEW).update(
            state=EventState.RECOVERED, recovered_at=now)
        Event.objects.filter(pk__in=ids).exclude(state=EventState.RECOVERED).update(
            recovered_at=now)
    return len(ids)


@transaction.atomic
def ignore_event(event: Event, *, actor, reason: str) -> Event:
    if not reason.strip():
        raise DomainError("忽略事件必须填写原因", field="reason")
    event = Event.objects.select_for_update().select_related("project").get(pk=event.pk)
    if event.state != EventState.NEW:
        raise DomainError(f"事件当前为“{event.get_state_display()}”，不能忽略")
    _require_regulator(actor, event.project)
    event.state, event.ignore_reason = EventState.IGNORED, reason.strip()
    event.save(update_fields=["state", "ignore_reason"])
    return event


# ---------------------------------------------------------------- orders


def open_order(*, scenario: str, kind: str, project, title: str, actor=None,
               description: str = "", events: Iterable[Event] = (),
               now: datetime.datetime | None = None) -> WorkOrder:
    """Open an order by hand (a regulator of the project's district, or the city)."""
    policy = active_policy(scenario, kind)
    if actor is not None:
        if not scoped(actor, project.__class__.objects.filter(pk=project.pk)).exists():
            raise Forbidden("无权为该项目派单")
        _require_regulator(actor, project)
    with transaction.atomic():
        events = list(Event.objects.select_for_update().filter(pk__in=[e.pk for e in events]))
        for event in events:
            if event.state != EventState.NEW:
                raise DomainError(f"事件“{event.title}”当前为“{event.get_state_display()}”，不能派单")
        return _open(policy, project=project, title=title, events=events, actor=actor,
                     now=_now(now), description=description)


def _open(policy: LoopPolicy, *, project, title, events, actor, now, description=""):
    rules = policy.rules
    dispatched = rules.auto_dispatch or actor is not None
    order = WorkOrder(scenario=policy.scenario, kind=policy.kind, policy=policy, project=project,
                      district_id=project.district_id, title=title[:200],
                      description=description, loop_level=rules.start_level,
                      state=OrderState.PENDING_DISPOSAL if dispatched
                      else OrderState.PENDING_DISPATCH,
                      issuer=actor, opened_at=now)
    _point_court(order)
    order.save()
    order.number = f"GD{timezone.localtime(now):%Y%m%d}-{order.pk:07d}"
    order.save(update_fields=["number"])
    if events:
        Event.objects.filter(pk__in=[e.pk for e in events]).update(
            order=order, state=EventState.DISPATCHED)
    _enter_step(order, now)
    order.save()
    _log(order, Action.CREATE, actor, now, from_state="",  # after the step: webhooks see due_at
         data={"events": [e.pk for e in events], "policy_version": policy.version})
    return order


def _court_of(order: WorkOrder) -> Court | None:
    level = order.policy.rules.levels[order.loop_level]
    step = STEP_OF_STATE.get(OrderState(order.state))
    if step == "dispatch":
        return level.dispatcher or Court(agency="supervision_station")
    if step == "verify":
        return level.verifier or level.handler  # automatic verification: the handler waits
    return level.handler


def _point_court(order: WorkOrder) -> None:
    """Set the ball-in-court fields from the policy for the order's state and level."""
    court = _court_of(order)
    if court is None:
        return
    try:
        agency, enterprise, party_role, post = _resolve(court, order.project)
    except ValidationError as exc:
        raise DomainError(exc.messages[0]) from exc
    order.court_agency, order.court_enterprise = agency, enterprise
    order.court_party_role, order.court_post = party_role, post


def _resolve(court: Court, project):
    """`court.resolve(project)`; in a batch of the worker, from what the batch read at once."""
    batch = timer_batch.current()
    return court.resolve(project, batch.registry if batch is not None else None)


def _enter_step(order: WorkOrder, now, start=None) -> None:
    """A new step (or level) starts: fresh deadline, reminder and checks; old timers void.

    `start` is when the step began if that was earlier than `now`: a worker catching up after
    downtime escalates as of the missed deadline, so the next level's clock runs from there
    (as if the worker had never stopped) and its own deadline may already be due."""
    start = start or now
    _stop_clock(order)
    step = STEP_OF_STATE.get(OrderState(order.state))
    rules = order.policy.rules
    order.overdue = False
    if step is None:
        return
    limit = rules.deadline(step)
    if limit is not None:
        order.due_at = start + limit
        _add_timer(order, TimerKind.DEADLINE, order.due_at)
        if rules.remind_before and order.due_at - rules.remind_before > now:
            _add_timer(order, TimerKind.REMINDER, order.due_at - rules.remind_before)
    level = rules.levels[order.loop_level]
    if step == "verify" and level.verifier is None and rules.auto_verify_check:
        _add_timer(order, TimerKind.AUTO_VERIFY, now)
    if step == "verify" and level.verifier is None:
        _notify(order, f"工单 {order.number or ''}「{order.title}」已提交处置，等待系统自动核查", now)
    else:
        _notify(order, f"工单 {order.number or ''}「{order.title}」待您{_step_label(step)}", now)


def _add_timer(order: WorkOrder, kind: str, due_at) -> None:
    timer = Timer(order=order, kind=kind, step=order.step, due_at=due_at)
    batch = timer_batch.current()
    if batch is None:
        timer.save()
    else:
        batch.add_timer(timer)


def _stop_clock(order: WorkOrder) -> None:
    """End the current step: its timers are void and it has no due time."""
    order.step += 1
    batch = timer_batch.current()
    if batch is None:
        Timer.objects.filter(order=order, fired_at__isnull=True, cancelled=False).update(
            cancelled=True)
    else:
        batch.stop_clock(order)
    order.due_at = None


def _step_label(step: str) -> str:
    return {"dispatch": "派单", "dispose": "处置", "verify": "核查"}[step]


def court_key(order: WorkOrder) -> tuple:
    """Whose turn it is, as a key: (agency, enterprise, project, party role) ids."""
    if order.court_agency_id:
        return (order.court_agency_id, None, None, "")
    if order.court_enterprise_id:
        return (None, order.court_enterprise_id, order.project_id, order.court_party_role)
    return (None, None, None, "")


def court_roles(court: tuple) -> list[dict]:
    """The roles (as `Role` field values) any one of which puts a user in `court`."""
    agency, enterprise, project, party_role = court
    if agency:
        return [{"agency_id": agency}]
    if enterprise:
        return [{"kind": RoleKind.ENTERPRISE, "enterprise_id": enterprise},
                {"kind": RoleKind.PROJECT, "project_id": project, "enterprise_id": enterprise,
                 "party_role": party_role}]
    return []


def court_users(order: WorkOrder):
    """The users in the ball-in-court organisation and role."""
    from django.contrib.auth import get_user_model

    roles = court_roles(court_key(order))
    if not roles:
        return get_user_model().objects.none()
    q = reduce(operator.or_, (Q(**{f"roles__{field}": value for field, value in role.items()})
                              for role in roles))
    return get_user_model().objects.filter(q, is_active=True).distinct().order_by("pk")


def court_users_of(courts: Iterable[tuple]) -> dict[tuple, list]:
    """`court_users` of many courts (`court_key` keys) at once: one query for the roles of
    them all, then each court's users (by pk, as `court_users` orders them)."""
    wanted = {court: court_roles(court) for court in courts}
    shapes: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for roles in wanted.values():
        for role in roles:
            for field, value in role.items():
                shapes[tuple(sorted(role))][field].add(value)
    found = []
    if shapes:  # a superset of what each court needs, matched exactly below
        q = reduce(operator.or_, (Q(**{f"{field}__in": values for field, values in shape.items()})
                                  for shape in shapes.values()))
        found = list(Role.objects.filter(q, user__is_active=True).select_related("user"))
    by_shape = defaultdict(list)
    for shape in shapes:
        for role in found:
            by_shape[shape, tuple(getattr(role, field) for field in shape)].append(role)
    users = {}
    for court, roles in wanted.items():
        members = {}
        for role in roles:
            shape = tuple(sorted(role))
            for row in by_shape.get((shape, tuple(role[field] for field in shape)), ()):
                members[row.user_id] = row.user
        users[court] = [members[pk] for pk in sorted(members)]
    return users


def _notify(order: WorkOrder, text: str, now) -> None:
    text = text[:300]
    batch = timer_batch.current()
    if batch is None:
        notes = Notification.objects.bulk_create([
            Notification(user=u, order=order, text=text, created=now) for u in court_users(order)])
        outbox.email_notifications(notes)  # e-mail copies, through the outbox (same transaction)
        return
    # In a batch the court's users are found, and the notifications written, at its end.
    notes = batch.notify(order, court_key(order), text, now)
    outbox.email_notifications_of(order, text, lambda: notes)


def in_court(user, order: WorkOrder) -> bool:
    """Whether `user` belongs to the organisation (and role) whose turn it is."""
    if user is None or not user.is_authenticated:
        return False
    roles = Role.objects.filter(user=user)
    if order.court_agency_id:
        return roles.filter(agency=order.court_agency_id).exists()
    if order.court_enterprise_id:
        mine = roles.filter(Q(kind=RoleKind.ENTERPRISE, enterprise=order.court_enterprise_id) | Q(
            kind=RoleKind.PROJECT, project=order.project_id,
            enterprise=order.court_enterprise_id, party_role=order.court_party_role))
        if order.court_post_id:
            # A post is named: the project role must hold it (company-level users may act).
            mine = mine.filter(Q(kind=RoleKind.ENTERPRISE) | Q(post=order.court_post_id))
        return mine.exists()
    return False


def is_supervising_regulator(user, project) -> bool:
    grant = grant_for(user)
    return grant.sees_all or project.district_id in grant.district_ids


def _require_regulator(user, project) -> None:
    if not is_supervising_regulator(user, project):
        raise Forbidden("只有市级或项目所在区的监管部门可以执行此操作")


def allowed_actions(order: WorkOrder, user) -> list[str]:
    """The actions `user` may take on `order` now (the buttons a page shows)."""
    out = []
    for action in ALLOWED[OrderState(order.state)]:
        if action == Action.ACCEPT and order.assignee_id is not None:
            continue
        try:
            _check_permission(order, action, user)
        except Forbidden:
            continue
        out.append(action)
    return [a for a in Action.values if a in out]


def _check_permission(order: WorkOrder, action: str, user) -> None:
    if action in (Action.VERIFY_PASS, Action.VERIFY_REJECT) and \
            order.policy.rules.levels[order.loop_level].verifier is None:
        # The handler holds the ball only to wait: it may not verify its own disposal.
        raise Forbidden(f"本环节由系统自动核查（{order.policy.rules.auto_verify_check}），"
                        "不能人工核查")
    if action in COURT_ACTIONS:
        if not in_court(user, order):
            raise Forbidden(f"工单当前由“{order.court_label}”办理，您不能执行“{Action(action).label}”")
    elif action in REGULATOR_ACTIONS:
        _require_regulator(user, order.project)
    elif action == Action.CANCEL and (order.issuer_id is None or order.issuer_id != user.pk):
        raise Forbidden("只有派单人可以撤销工单")


def act(order: WorkOrder, action: str, actor, *, version: int, comment: str = "",
        files: Iterable = (), to_level: str = "", now: datetime.datetime | None = None
        ) -> WorkOrder:
    """Take `action` on `order` as `actor`, who saw it at `version`.

    Refuses — with a message, changing nothing — an action the state does not allow, a user
    who may not take it, a stale version, a missing comment or photo the policy requires, or
    a bad attachment.
    """
    now = _now(now)
    if action not in Action.values or action in (Action.CREATE, Action.ESCALATE, Action.REMIND):
        raise DomainError(f"未知的操作“{action}”", field="action")
    files = list(files)
    comment = (comment or "").strip()
    with transaction.atomic():
        current = WorkOrder.objects.select_for_update().select_related("policy", "project").get(
            pk=order.pk)
        if current.version != version:
            raise Conflict(f"工单已被他人更新（您看到的是第 {version} 版，当前第 {current.version} 版），"
                           "请刷新后重试")
        state = OrderState(current.state)
        if action not in ALLOWED[state]:
            raise DomainError(f"工单当前为“{state.label}”，不能“{Action(action).label}”",
                              field="action")
        _check_permission(current, action, actor)
        rules = current.policy.rules
        needs = set(rules.requires.get(action, ()))
        if action in REASON_REQUIRED:
            needs.add("comment")
        if "comment" in needs and not comment:
            raise DomainError(f"“{Action(action).label}”必须填写意见", field="comment")
        if action == Action.COMMENT and not (comment or files):
            raise DomainError("备注须填写意见或上传照片", field="comment")
        if action == Action.ACCEPT and current.assignee_id is not None:
            who = "您" if current.assignee_id == actor.pk else "他人"
            raise DomainError(f"工单已由{who}接单", field="action")
        checked = [check_upload(f) for f in files]
        if "photo" in needs and not any(ct in IMAGE_TYPES for ct, _ in checked):
            raise DomainError(f"“{Action(action).label}”必须上传现场照片", field="files")
        entry = _transition(current, action, actor, now, comment=comment, to_level=to_level)
        _attach(entry, files, checked)
        return current


def _attach(entry: OrderAction, files: list, checked: list[tuple[str, str]]) -> None:
    """Store uploads (already passed through `core.uploads.check_upload`) on a history entry."""
    for upload, (content_type, digest) in zip(files, checked, strict=True):
        upload.seek(0)
        OrderAttachment.objects.create(action=entry, file=upload,
                                       name=getattr(upload, "name", "file")[-200:],
                                       content_type=content_type, size=upload.size,
                                       sha256=digest)


def _transition(order: WorkOrder, action: str, actor, now, *, comment="", to_level="",
                data=None, step_start=None) -> OrderAction:
    """Apply an allowed action to a locked order; save it, log it, return the log entry."""
    rules = order.policy.rules
    from_state = order.state
    data = dict(data or {})
    new_step = True
    if action == Action.DISPATCH:
        order.state = OrderState.PENDING_DISPOSAL
    elif action == Action.DISPOSE:
        order.state = OrderState.PENDING_VERIFICATION
    elif action == Action.VERIFY_PASS:
        order.state, order.closed_at, order.closed_level = OrderState.CLOSED, now, order.loop_level
    elif action == Action.VERIFY_REJECT:
        order.rejections += 1
        order.state = OrderState.PENDING_DISPOSAL
        after = rules.escalate_after_rejections
        up = rules.next_level(order.loop_level)
        if after and order.rejections >= after and up:
            data["escalated"] = [order.loop_level, up]
            order.loop_level = up
    elif action in (Action.REASSIGN, Action.ESCALATE):
        target = to_level or rules.next_level(order.loop_level)
        if target not in rules.levels or target == order.loop_level:
            choices = "、".join(LoopLevel(lv).label for lv in rules.levels if lv != order.loop_level)
            raise DomainError(f"不能转派到“{to_level or '—'}”，可选：{choices}", field="to_level")
        data["escalated"] = [order.loop_level, target]
        order.loop_level = target  # same step, the next level's organisation
        if data.get("failed_verification"):
            # The automatic check never passed in time: 核查不通过，重新整改, one level up.
            order.rejections += 1
            order.state = OrderState.PENDING_DISPOSAL
    elif action == Action.SUSPEND:
        order.resume_state, order.state = order.state, OrderState.SUSPENDED
    elif action == Action.RESUME:
        order.state, order.resume_state = order.resume_state, ""
    elif action == Action.CANCEL:
        order.state = OrderState.CANCELLED
    elif action == Action.ACCEPT:
        order.assignee = actor
        new_step = False
    else:  # COMMENT, REMIND
        new_step = False
    if new_step:
        court = (order.court_agency_id, order.court_enterprise_id, order.court_party_role)
        _point_court(order)
        if court != (order.court_agency_id, order.court_enterprise_id, order.court_party_role):
            order.assignee = None  # a new court: nobody there has accepted it yet
        if order.state in (OrderState.CLOSED, OrderState.CANCELLED, OrderState.SUSPENDED):
            _stop_clock(order)  # keeps `overdue`: a closed order shows whether it ran late
        if order.state in (OrderState.CLOSED, OrderState.CANCELLED):
            # The finding is dealt with: if the condition comes back, it is a new event.
            _close_events(order)
        else:
            _enter_step(order, now, step_start)
            if data.get("escalated"):
                comment = _level_opinion(order, comment, now)
    order.version += 1
    _save_order(order)
    return _log(order, action, actor, now, from_state=from_state, comment=comment, data=data)


def _level_opinion(order: WorkOrder, comment: str, now) -> str:
    """Entering a level whose policy names an opinion: the legal bases go into the entry's
    comment, and the level's `notify` organisations are told as well as the court."""
    level = order.policy.rules.levels[order.loop_level]
    if not (level.opinion or level.notify):
        return comment
    bases = [b for code in level.opinion
             if (b := LegalBasis.objects.filter(code=code, active=True).first())]
    opinion = "；".join(f"依据《{b.law}》{b.clause}（{b.violation}）" for b in bases)
    text = (f"工单 {order.number}「{order.title}」{LoopLevel(order.loop_level).label}："
            f"{comment or '核查不通过，重新整改'}" + (f"。处置意见：{opinion}" if opinion else ""))
    for court in level.notify:
        try:
            agency, enterprise, party_role, _post = court.resolve(order.project)
        except ValidationError:
            continue  # (the project lacks that party, or the region that agency)
        key = ((agency.pk, None, None, "") if agency
               else (None, enterprise.pk, order.project_id, party_role))
        if key == court_key(order):
            continue  # already told as the court
        batch = timer_batch.current()
        if batch is not None:
            batch.notify(order, key, text[:300], now)
            continue
        from django.contrib.auth import get_user_model

        roles = court_roles(key)
        q = reduce(operator.or_, (Q(**{f"roles__{f}": v for f, v in role.items()})
                                  for role in roles))
        users = get_user_model().objects.filter(q, is_active=True).distinct()
        Notification.objects.bulk_create([
            Notification(user=u, order=order, text=text[:300], created=now) for u in users])
    return f"{comment}。处置意见：{opinion}" if opinion and comment else (comment or opinion)


def _close_events(order: WorkOrder) -> None:
    batch = timer_batch.current()
    if batch is None:
        Event.objects.filter(order=order, state=EventState.DISPATCHED).update(
            state=EventState.CLOSED)
    else:
        batch.close_events(order)


def _save_order(order: WorkOrder, fields: list[str] | None = None) -> None:
    """Save `order` (its `fields` only, if given); in a batch of the worker, with the batch's
    other orders at its end."""
    batch = timer_batch.current()
    if batch is None or not batch.save_order(order):
        order.save(update_fields=fields)


def _log(order: WorkOrder, action: str, actor, now, *, from_state: str, comment: str = "",
         data: dict | None = None) -> OrderAction:
    batch = timer_batch.current()
    if batch is None:
        last = order.actions.order_by("-seq").values_list("seq", "hash").first()
    else:
        last = batch.last_link(order)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    name = SYSTEM_NAME
    if actor is not None:
        name = actor.get_full_name() or actor.get_username()
    entry = OrderAction(order=order, seq=seq, action=action,
                        actor=actor if actor is not None else None, actor_name=name[:150],
                        at=now, comment=comment, from_state=from_state, to_state=order.state,
                        loop_level=order.loop_level, court=order.court_label[:200],
                        data=data or {}, prev_hash=prev)
    entry.hash = entry.compute_hash()
    if batch is None:
        entry.save()
    else:
        batch.add_action(entry)
    outbox.enqueue_order_event(order, entry)  # webhooks: queued iff this change commits
    return entry


def verify_chain(order: WorkOrder) -> list[str]:
    """Problems in `order`'s action log: a broken link or an entry whose hash does not match."""
    problems, prev = [], GENESIS
    for entry in order.actions.order_by("seq"):
        if entry.prev_hash != prev:
            problems.append(f"{order.number} 第 {entry.seq} 条：上一条哈希不符（记录被删除或插入）")
        if entry.compute_hash() != entry.hash:
            problems.append(f"{order.number} 第 {entry.seq} 条：内容与哈希不符（记录被改动）")
        prev = entry.hash
    return problems


# ---------------------------------------------------------------- notifications


def mark_read(user, ids: Iterable[int] | None = None, *,
              now: datetime.datetime | None = None) -> int:
    """Mark `user`'s notifications read (the given ids, or all); return how many changed.
    Ids of other users' notifications are ignored, never an error that reveals them."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=_now(now))


# ---------------------------------------------------------------- the worker


def fire_due_timers(now: datetime.datetime | None = None, *, limit: int = 500,
                    batched: bool = True) -> int:
    """Fire up to `limit` timers due at `now`, each exactly once; return how many fired.

    On PostgreSQL, rows another worker holds are skipped (FOR UPDATE SKIP LOCKED), so any
    number of workers can run. The timers are fired together (`batch.TimerBatch`: the same
    write path, its reads made once and its writes set-wise); if that fails, or with
    `batched=False`, one at a time, each in its own savepoint: one failure is logged on the
    timer and retried a minute later without holding up the rest.
    """
    now = _now(now)
    with transaction.atomic():
        due = list(Timer.objects.select_for_update(skip_locked=True)
                   .filter(fired_at__isnull=True, cancelled=False, due_at__lte=now)
                   .order_by("due_at", "pk")[:limit])
        # Lock the orders up front, skipping any another worker or a user holds: a worker
        # never waits for a lock while holding others, so two workers cannot deadlock.
        # Timers of skipped orders stay due for the next pass.
        orders = (WorkOrder.objects.select_for_update(skip_locked=True, of=("self",))
                  .select_related("project", "court_agency", "court_enterprise", "court_post")
                  .defer("project__geofence").filter(pk__in={t.order_id for t in due}))
        if batched:
            orders = list(orders)
            mine = {order.pk for order in orders}
        else:
            mine = set(orders.values_list("pk", flat=True))
        due = [timer for timer in due if timer.order_id in mine]
        if batched and due:
            try:
                with transaction.atomic():
                    return _fire_batch(due, orders, now)
            except Exception:
                log.exception("firing %d timers together failed; firing them one at a time",
                              len(due))
        return _fire_each(due, now)


def _fire_batch(due: list[Timer], orders: list[WorkOrder], now) -> int:
    """Fire `due` (of the locked `orders`) through `_fire`, writing at the end."""
    batch = timer_batch.TimerBatch(orders, users_of=court_users_of)
    with batch.active():
        for timer in due:
            batch.fired(timer, _fire(timer, now, batch.orders[timer.order_id]), now)
        batch.flush()
    return len(due)


def _fire_each(due: list[Timer], now) -> int:
    fired = 0
    for timer in due:
        try:
            with transaction.atomic():
                timer.outcome = _fire(timer, now)[:200]
                timer.fired_at = now
                timer.save(update_fields=["fired_at", "outcome"])
                fired += 1
        except Exception as exc:
            log.exception("timer %s failed", timer.pk)
            Timer.objects.filter(pk=timer.pk).update(
                due_at=now + datetime.timedelta(minutes=1), outcome=f"失败：{exc}"[:200])
    return fired


def _fire(timer: Timer, now, order: WorkOrder | None = None) -> str:
    """Fire one timer of `order` (locked; loaded and locked here if not given)."""
    if order is None:
        order = WorkOrder.objects.select_for_update().select_related("policy", "project").get(
            pk=timer.order_id)
    if order.step != timer.step or order.state not in STEP_OF_STATE:
        return "已过时（工单已进入下一环节）"
    rules = order.policy.rules
    step = STEP_OF_STATE[OrderState(order.state)]
    if timer.kind == TimerKind.REMINDER:
        _notify(order, f"工单 {order.number}「{order.title}」将于 "
                       f"{timezone.localtime(order.due_at):%m-%d %H:%M} 到期", now)
        outbox.enqueue_order_notice(order, "remind", now)  # webhooks subscribed to reminders
        return "已提醒"
    automatic = step == "verify" and rules.levels[order.loop_level].verifier is None
    check = checks.get(rules.auto_verify_check) if automatic else None
    if timer.kind == TimerKind.AUTO_VERIFY:
        if check is None:
            # The scenario that supplies the check is not installed: nothing can confirm the
            # disposal, so polling is pointless; the deadline decides.
            return f"无可用的自动核查（{rules.auto_verify_check}），等待时限"
        if check(order, now):
            _transition(order, Action.VERIFY_PASS, None, now,
                        comment=f"自动核查通过（{rules.auto_verify_check}）")
            return "自动核查通过"
        if rules.auto_verify_every and (order.due_at is None
                                        or now + rules.auto_verify_every < order.due_at):
            _add_timer(order, TimerKind.AUTO_VERIFY, now + rules.auto_verify_every)
        return "自动核查未通过，稍后再查"
    # The deadline passed. An automatic verification gets a last look first: a check over a
    # window as long as the deadline ("valid data for 24 h") can only pass at the deadline.
    if check is not None and check(order, timer.due_at):
        _transition(order, Action.VERIFY_PASS, None, now,
                    comment=f"自动核查通过（{rules.auto_verify_check}，时限届满时核查）")
        return "自动核查通过（时限届满时）"
    up = rules.next_level(order.loop_level)
    if step in rules.escalate_on_overdue and up:
        comment = (f"自动核查在时限内未通过，核查不通过，重新整改（{LoopLevel(up).label}）"
                   if automatic else f"{_step_label(step)}逾期，升级为{LoopLevel(up).label}")
        _transition(order, Action.ESCALATE, None, now, comment=comment,
                    data={"overdue_step": step, "failed_verification": automatic},
                    step_start=timer.due_at)
        return f"逾期升级至{LoopLevel(up).label}"
    order.overdue = True
    _save_order(order, ["overdue"])
    _notify(order, f"工单 {order.number}「{order.title}」已逾期", now)
    outbox.enqueue_order_notice(order, "overdue", now)
    return "已逾期（无更高层级）"


# ---------------------------------------------------------------- penalties (立案处罚)

CENT = Decimal("0.01")


def yuan(value: Decimal) -> str:
    """An amount as the UI writes it: ¥10,000 or ¥10,000.50."""
    text = f"{value:,.2f}"
    return f"¥{text[:-3] if text.endswith('.00') else text}"


def can_penalise(user, project) -> bool:
    """City regulators, the project's district and the squad of the project's street
    (design.md §3) may record a penalty on the project's orders."""
    return (is_supervising_regulator(user, project)
            or project.street_id in grant_for(user).street_ids)


def record_penalty(order: WorkOrder, actor, *, version: int, basis, amount, decision_number: str,
                   decided_on, party: Enterprise | None = None, note: str = "",
                   files: Iterable = (), now: datetime.datetime | None = None) -> Penalty:
    """Record a penalty decision (立案处罚) on `order`, seen by `actor` at `version`.

    `basis` is a `LegalBasis` (or its code); the amount must lie in its range. The penalty is
    an order action: it bumps the version and is written into the hash-chained history, with
    the attachments (decision scans, photos) on that entry. Refuses — with a message, changing
    nothing — a stale version, a cancelled order, an actor who is not a regulator of the
    project, an inactive basis or one of another scenario, an amount outside the range or not
    in whole cents, a missing or taken decision number, a decision dated in the future, a
    party that is not on the project, or a bad attachment.
    """
    now = _now(now)
    files = list(files)
    note = (note or "").strip()
    decision_number = (decision_number or "").strip()
    with transaction.atomic():
        current = WorkOrder.objects.select_for_update().select_related("project").get(
            pk=order.pk)
        if current.version != version:
            raise Conflict(f"工单已被他人更新（您看到的是第 {version} 版，当前第 {current.version} 版），"
                           "请刷新后重试")
        if current.state == OrderState.CANCELLED:
            raise DomainError("工单已撤销，不能立案处罚")
        if not can_penalise(actor, current.project):
            raise Forbidden("只有市级、项目所在区的监管部门或项目所在街镇的执法中队可以立案处罚")
        basis = _penalty_basis(basis, current)
        amount = _penalty_amount(amount, basis)
        if not decision_number:
            raise DomainError("请填写处罚决定书文号", field="decision_number")
        limit = Penalty._meta.get_field("decision_number").max_length
        if len(decision_number) > limit:
            raise DomainError(f"处罚决定书文号不能超过 {limit} 个字", field="decision_number")
        if Penalty.objects.filter(decision_number=decision_number).exists():
            raise DomainError(f"处罚决定书文号“{decision_number}”已登记过，不能重复登记",
                              field="decision_number")
        decided_on = _decision_date(decided_on, now)
        party = _penalised_party(party, basis, current.project)
        checked = [check_upload(f) for f in files]
        try:
            with transaction.atomic():
                penalty = Penalty.objects.create(
                    order=current, basis=basis, amount=amount, basis_min=basis.min_amount,
                    basis_max=basis.max_amount, decision_number=decision_number,
                    decided_on=decided_on, party=party, note=note, created_by=actor,
                    created=now)
        except IntegrityError:  # the same number, committed between our check and insert
            raise DomainError(f"处罚决定书文号“{decision_number}”已登记过，不能重复登记",
                              field="decision_number") from None
        current.version += 1
        current.save(update_fields=["version"])
        summary = f"依据{basis}立案处罚{party}，罚款 {yuan(amount)}，决定书 {decision_number}"
        entry = _log(current, Action.PENALTY, actor, now, from_state=current.state,
                     comment=f"{summary}。{note}" if note else summary,
                     data={"penalty": penalty.pk, "basis": basis.code, "amount": str(amount),
                           "range": [str(basis.min_amount), str(basis.max_amount)],
                           "decision_number": decision_number})
        _attach(entry, files, checked)
        penalty.action = entry
        penalty.save(update_fields=["action"])
        return penalty


def _penalty_basis(basis, order: WorkOrder) -> LegalBasis:
    code = basis.code if isinstance(basis, LegalBasis) else str(basis or "").strip()
    found = LegalBasis.objects.filter(code=code).first() if code else None
    if found is None:
        raise DomainError(f"未知的处罚依据“{code}”" if code else "请选择处罚依据", field="basis")
    if not found.active:
        raise DomainError(f"{found}已停用，不能作为处罚依据", field="basis")
    if found.scenario != order.scenario:
        raise DomainError(f"{found}适用于“{Scenario.label_of(found.scenario)}”场景的工单，"
                          f"本工单属于“{Scenario.label_of(order.scenario)}”场景", field="basis")
    return found


def _penalty_amount(value, basis: LegalBasis) -> Decimal:
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise DomainError("请填写罚款金额", field="amount")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise DomainError(f"罚款金额“{value}”不是有效的数字", field="amount")
    if amount <= 0:
        raise DomainError("罚款金额必须大于 0", field="amount")
    if not basis.min_amount <= amount <= basis.max_amount:
        raise DomainError(f"罚款金额 {yuan(amount)} 不在{basis}规定的 {yuan(basis.min_amount)}–"
                          f"{yuan(basis.max_amount)} 之内", field="amount")
    if amount != amount.quantize(CENT):
        raise DomainError(f"罚款金额“{value}”最多保留两位小数（精确到分）", field="amount")
    return amount.quantize(CENT)


def _decision_date(value, now) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    elif isinstance(value, str) and value.strip():
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise DomainError(f"决定日期“{value}”不是有效的日期（例如 2026-06-01）",
                              field="decided_on") from None
    if not isinstance(value, datetime.date):
        raise DomainError("请填写处罚决定日期", field="decided_on")
    today = timezone.localdate(now)
    if value > today:
        raise DomainError(f"决定日期 {value:%Y-%m-%d} 晚于今天（{today:%Y-%m-%d}），"
                          "不能登记尚未作出的处罚决定", field="decided_on")
    return value


def _penalised_party(party, basis: LegalBasis, project) -> Enterprise:
    if party is None:
        found = ProjectParty.objects.filter(project=project, role=basis.party_role).select_related(
            "enterprise").first()
        if found is None:
            raise DomainError(f"项目“{project}”没有登记{PartyRole(basis.party_role).label}，"
                              "请指定被处罚单位", field="party")
        return found.enterprise
    if not ProjectParty.objects.filter(project=project, enterprise=party).exists():
        raise DomainError(f"“{party}”不是项目“{project}”的参建单位", field="party")
    return party


# ---------------------------------------------------------------- loop policies (editing)


def publish_policy(*, scenario: str, kind: str, kind_label: str, source: str, spec, actor,
                   base_version: int | None = None,
                   now: datetime.datetime | None = None) -> LoopPolicy:
    """Publish a new version of the loop policy of (`scenario`, `kind`) as a city administrator.

    `spec` is the policy document (a dict, or its JSON text). The new version becomes the
    active one and the previous one is deactivated in the same transaction, with an audit
    entry; orders opened before keep the version they were opened under. `base_version` is the
    version the administrator edited: if another was published meanwhile, `Conflict`.
    Refused, with nothing written: a non-administrator, a document the parser rejects, a
    missing label or source, or no change at all.
    """
    try:
        permissions.require_city_admin(actor)
    except Forbidden:
        raise Forbidden("只有市级管理员可以修改闭环策略") from None
    kind_label, source = (kind_label or "").strip(), (source or "").strip()
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise DomainError(f"策略不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误",
                              field="spec") from None
    try:
        policy_spec.parse(spec)
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages), field="spec") from None
    if not kind_label:
        raise DomainError("请填写工单类型名称", field="kind_label")
    if not source:
        raise DomainError("请填写依据（标准或文件及条款）", field="source")
    with transaction.atomic():
        current = (LoopPolicy.objects.select_for_update()
                   .filter(scenario=scenario, kind=kind, active=True).first())
        seen = current.version if current else 0
        if base_version is not None and base_version != seen:
            raise Conflict(f"闭环策略已被他人更新（您编辑的是第 {base_version} 版，当前第 {seen} 版），"
                           "请刷新后重试")
        if current and (current.spec, current.source, current.kind_label) == (
                spec, source, kind_label):
            raise DomainError(f"与当前生效的第 {current.version} 版相同，没有改动", field="spec")
        latest = (LoopPolicy.objects.filter(scenario=scenario, kind=kind)
                  .aggregate(n=Max("version"))["n"] or 0)
        if current:
            current.active = False
            current.save(update_fields=["active"])
        policy = LoopPolicy(scenario=scenario, kind=kind, kind_label=kind_label,
                            version=latest + 1, active=True, source=source, spec=spec,
                            created_by=actor)
        try:
            policy.full_clean()
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            raise DomainError("；".join(messages), field=field) from None
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:
            raise Conflict("闭环策略刚被他人更新，请刷新后重试") from None
        changes = {"version": [seen or None, policy.version]}
        for field in ("kind_label", "source", "spec"):
            before = getattr(current, field) if current else None
            if before != getattr(policy, field):
                changes[field] = [before, getattr(policy, field)]
        entry = audit.record(actor, policy,
                             AuditAction.UPDATE if current else AuditAction.CREATE, changes)
        if now is not None:  # a fake clock: the version and its audit entry carry its time
            LoopPolicy.objects.filter(pk=policy.pk).update(created=now)
            AuditEntry.objects.filter(pk=entry.pk).update(at=now)
            policy.created = now
        return policy
