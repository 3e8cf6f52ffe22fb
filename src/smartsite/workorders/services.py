"""The one write path of events and work orders (design.md §2 rule 1).

    raise_event(...)            a scenario reports a condition (deduplicated by key)
    refresh_events(seen), recover_events(...)
                                a scenario's rule sees its conditions again, or sees them end
    ignore_event(event, ...)    a regulator dismisses it, with a reason
    open_order(...)             from events or by hand; the policy decides the first court
    act(order, action, actor, version=..., ...)
                                every human step: dispatch, dispose, verify, reassign, …
    mark_read(user, ids)        notifications read
    fire_due_timers(now)        the worker: deadlines, reminders, automatic verification
                                (in `timers`)
    record_penalty(order, actor, version=..., ...)
                                立案处罚 on an order, against a legal basis's fine range
                                (in `penalties`)
    publish_policy(...)         a city administrator publishes a new loop-policy version
                                (in `publishing`)

Views, the API, the CLI, the worker and the simulator call these names here. Behind them:
`transitions` (the state machine: what an action does to an order), `courts` (whose turn it
is), `permissions` (who may act), `history` (the hash-chained log).

Every function takes `now` (default: the real clock) so tests can drive a fake clock. Every
state change appends a hash-chained `OrderAction` in the same transaction and bumps
`WorkOrder.version`; a caller holding an older version gets `Conflict`, nothing changed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.scoping import scoped
from smartsite.core.uploads import IMAGE_TYPES, check_upload
from smartsite.workorders.choices import (
    OPEN_EVENT_STATES,
    Action,
    EventState,
    LoopLevel,
    OrderState,
    Scenario,
)
from smartsite.workorders.courts import point_court
from smartsite.workorders.history import attach, log_action
from smartsite.workorders.models import Event, LoopPolicy, Notification, WorkOrder
from smartsite.workorders.penalties import record_penalty
from smartsite.workorders.permissions import check_permission, require_regulator
from smartsite.workorders.publishing import publish_policy
from smartsite.workorders.timers import fire_due_timers
from smartsite.workorders.transitions import (
    ALLOWED,
    REASON_REQUIRED,
    enter_step,
    tell_level,
    transition,
)

__all__ = [
    "act",
    "active_policy",
    "fire_due_timers",
    "ignore_event",
    "mark_read",
    "open_order",
    "publish_policy",
    "raise_event",
    "record_penalty",
    "recover_events",
    "refresh_events",
]


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
    require_regulator(actor, event.project)
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
        require_regulator(actor, project)
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
    point_court(order)
    order.save()
    order.number = f"GD{timezone.localtime(now):%Y%m%d}-{order.pk:07d}"
    order.save(update_fields=["number"])
    if events:
        Event.objects.filter(pk__in=[e.pk for e in events]).update(
            order=order, state=EventState.DISPATCHED)
    enter_step(order, now)
    if rules.levels[order.loop_level].notify:
        # the start level's `notify`: the other organisations are told the order is open
        tell_level(order, f"工单 {order.number}「{order.title}」已派发"
                          f"（{LoopLevel(order.loop_level).label}，办理方：{order.court_label}）", now)
    order.save()
    log_action(order, Action.CREATE, actor, now, from_state="",  # after the step: webhooks see due_at
               data={"events": [e.pk for e in events], "policy_version": policy.version})
    return order


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
        check_permission(current, action, actor)
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
        entry = transition(current, action, actor, now, comment=comment, to_level=to_level)
        attach(entry, files, checked)
        return current


# ---------------------------------------------------------------- notifications


def mark_read(user, ids: Iterable[int] | None = None, *,
              now: datetime.datetime | None = None) -> int:
    """Mark `user`'s notifications read (the given ids, or all); return how many changed.
    Ids of other users' notifications are ignored, never an error that reveals them."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=_now(now))
