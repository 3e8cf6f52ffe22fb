"""The worker's part of the loop: fire the `Timer` rows that are due.

A step's deadline, reminder and automatic check are `Timer` rows written with the step
(`transitions.enter_step`); `fire_due_timers` claims the due ones with SKIP LOCKED and fires
each exactly once — a reminder notifies, an automatic check may pass the verification, a
deadline escalates the order or flags it overdue — through the same `transitions` as a
human action. `services.fire_due_timers` is this function (the write path's name for it).
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from smartsite.exchange import services as outbox
from smartsite.workorders import batch as timer_batch
from smartsite.workorders import checks
from smartsite.workorders.choices import STEP_OF_STATE, Action, LoopLevel, OrderState, TimerKind
from smartsite.workorders.courts import court_users_of
from smartsite.workorders.models import Timer, WorkOrder
from smartsite.workorders.transitions import add_timer, notify, save_order, step_label, transition

log = logging.getLogger(__name__)


def fire_due_timers(now: datetime.datetime | None = None, *, limit: int = 500,
                    batched: bool = True) -> int:
    """Fire up to `limit` timers due at `now`, each exactly once; return how many fired.

    On PostgreSQL, rows another worker holds are skipped (FOR UPDATE SKIP LOCKED), so any
    number of workers can run. The timers are fired together (`batch.TimerBatch`: the same
    write path, its reads made once and its writes set-wise); if that fails, or with
    `batched=False`, one at a time, each in its own savepoint: one failure is logged on the
    timer and retried a minute later without holding up the rest.
    """
    now = now or timezone.now()
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
        notify(order, f"工单 {order.number}「{order.title}」将于 "
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
            transition(order, Action.VERIFY_PASS, None, now,
                        comment=f"自动核查通过（{rules.auto_verify_check}）")
            return "自动核查通过"
        if rules.auto_verify_every and (order.due_at is None
                                        or now + rules.auto_verify_every < order.due_at):
            add_timer(order, TimerKind.AUTO_VERIFY, now + rules.auto_verify_every)
        return "自动核查未通过，稍后再查"
    # The deadline passed. An automatic verification gets a last look first: a check over a
    # window as long as the deadline ("valid data for 24 h") can only pass at the deadline.
    if check is not None and check(order, timer.due_at):
        transition(order, Action.VERIFY_PASS, None, now,
                    comment=f"自动核查通过（{rules.auto_verify_check}，时限届满时核查）")
        return "自动核查通过（时限届满时）"
    up = rules.next_level(order.loop_level)
    if step in rules.escalate_on_overdue and up:
        comment = (f"自动核查在时限内未通过，核查不通过，重新整改（{LoopLevel(up).label}）"
                   if automatic else f"{step_label(step)}逾期，升级为{LoopLevel(up).label}")
        transition(order, Action.ESCALATE, None, now, comment=comment,
                    data={"overdue_step": step, "failed_verification": automatic},
                    step_start=timer.due_at)
        return f"逾期升级至{LoopLevel(up).label}"
    order.overdue = True
    save_order(order, ["overdue"])
    notify(order, f"工单 {order.number}「{order.title}」已逾期", now)
    outbox.enqueue_order_notice(order, "overdue", now)
    return "已逾期（无更高层级）"
