"""The order state machine: what each action does to an order.

`ALLOWED` says what may be done in each state; `transition` applies an allowed action to a
locked order — new state, level and court, the step's clock (deadline, reminder and
automatic-check `Timer` rows), notifications, the closed events — and appends the history
entry. No permission checks, no locking and no version check here: the write paths that call
it (`services.act`, `services.open_order`, `timers`) do those first.

Inside a batch of the worker (`batch.TimerBatch`) the same functions read from what the batch
loaded once and leave their rows to the batch, which writes them set-wise at its end.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.core.exceptions import ValidationError
from django.db.models import Q

from smartsite.core.errors import DomainError
from smartsite.exchange import services as outbox
from smartsite.workorders import batch as timer_batch
from smartsite.workorders.choices import (
    STEP_OF_STATE,
    Action,
    EventState,
    LoopLevel,
    OrderState,
    TimerKind,
)
from smartsite.workorders.courts import court_key, court_roles, court_users, point_court
from smartsite.workorders.history import log_action
from smartsite.workorders.models import (
    Event,
    LegalBasis,
    Notification,
    OrderAction,
    Timer,
    WorkOrder,
)

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


def enter_step(order: WorkOrder, now, start=None) -> None:
    """A new step (or level) starts: fresh deadline, reminder and checks; old timers void.

    `start` is when the step began if that was earlier than `now`: a worker catching up after
    downtime escalates as of the missed deadline, so the next level's clock runs from there
    (as if the worker had never stopped) and its own deadline may already be due."""
    start = start or now
    stop_clock(order)
    step = STEP_OF_STATE.get(OrderState(order.state))
    rules = order.policy.rules
    order.overdue = False
    if step is None:
        return
    limit = rules.deadline(step)
    if limit is not None:
        order.due_at = start + limit
        add_timer(order, TimerKind.DEADLINE, order.due_at)
        if rules.remind_before and order.due_at - rules.remind_before > now:
            add_timer(order, TimerKind.REMINDER, order.due_at - rules.remind_before)
    level = rules.levels[order.loop_level]
    if step == "verify" and level.verifier is None and rules.auto_verify_check:
        add_timer(order, TimerKind.AUTO_VERIFY, now)
    if step == "verify" and level.verifier is None:
        notify(order, f"工单 {order.number or ''}「{order.title}」已提交处置，等待系统自动核查", now)
    else:
        notify(order, f"工单 {order.number or ''}「{order.title}」待您{step_label(step)}", now)


def add_timer(order: WorkOrder, kind: str, due_at) -> None:
    timer = Timer(order=order, kind=kind, step=order.step, due_at=due_at)
    batch = timer_batch.current()
    if batch is None:
        timer.save()
    else:
        batch.add_timer(timer)


def stop_clock(order: WorkOrder) -> None:
    """End the current step: its timers are void and it has no due time."""
    order.step += 1
    batch = timer_batch.current()
    if batch is None:
        Timer.objects.filter(order=order, fired_at__isnull=True, cancelled=False).update(
            cancelled=True)
    else:
        batch.stop_clock(order)
    order.due_at = None


def step_label(step: str) -> str:
    return {"dispatch": "派单", "dispose": "处置", "verify": "核查"}[step]


def notify(order: WorkOrder, text: str, now) -> None:
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


def transition(order: WorkOrder, action: str, actor, now, *, comment="", to_level="",
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
        point_court(order)
        if court != (order.court_agency_id, order.court_enterprise_id, order.court_party_role):
            order.assignee = None  # a new court: nobody there has accepted it yet
        if order.state in (OrderState.CLOSED, OrderState.CANCELLED, OrderState.SUSPENDED):
            stop_clock(order)  # keeps `overdue`: a closed order shows whether it ran late
        if order.state in (OrderState.CLOSED, OrderState.CANCELLED):
            # The finding is dealt with: if the condition comes back, it is a new event.
            _close_events(order)
        else:
            enter_step(order, now, step_start)
            if data.get("escalated"):
                comment = _level_opinion(order, comment, now)
    order.version += 1
    save_order(order)
    return log_action(order, action, actor, now, from_state=from_state, comment=comment, data=data)


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
    tell_level(order, text, now)
    return f"{comment}。处置意见：{opinion}" if opinion and comment else (comment or opinion)


def tell_level(order: WorkOrder, text: str, now) -> int:
    """Tell the organisations the order's current level names in `notify` (besides the court,
    which `enter_step` tells): on escalation into the level, and — for the start level — when
    the order opens (e.g. a rectification notice pushed to the 建设、施工、监理单位 at once).
    A party the project lacks, or an agency its region lacks, is skipped. Returns how many
    organisations were told."""
    level = order.policy.rules.levels[order.loop_level]
    told = 0
    for court in level.notify:
        try:
            agency, enterprise, party_role, _post = court.resolve(order.project)
        except ValidationError:
            continue  # (the project lacks that party, or the region that agency)
        key = ((agency.pk, None, None, "") if agency
               else (None, enterprise.pk, order.project_id, party_role))
        if key == court_key(order):
            continue  # already told as the court
        told += 1
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
    return told


def _close_events(order: WorkOrder) -> None:
    batch = timer_batch.current()
    if batch is None:
        Event.objects.filter(order=order, state=EventState.DISPATCHED).update(
            state=EventState.CLOSED)
    else:
        batch.close_events(order)


def save_order(order: WorkOrder, fields: list[str] | None = None) -> None:
    """Save `order` (its `fields` only, if given); in a batch of the worker, with the batch's
    other orders at its end."""
    batch = timer_batch.current()
    if batch is None or not batch.save_order(order):
        order.save(update_fields=fields)


