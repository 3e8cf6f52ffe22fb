"""The worker's batch: many due timers fired through the one write path, written set-wise.

`services.fire_due_timers` fires a batch of timers by calling `services._fire` for each, as
the one-at-a-time path does, with a `TimerBatch` active. While it is active the write path's
few database touch points (`services._resolve`, `_users_in_court`, `_add_timer`,
`_stop_clock`, `_save_order`, `_close_events`, `_notify`, `_log`, and the outbox's enqueue
functions) ask the batch instead of the database, and the batch writes everything at the end:

    reads, once per batch      the orders (locked by the caller), the last (seq, hash) of each
                               order's chain, court resolutions per (court, project), the users
                               of each court, the active webhooks and who may see what
    writes, in `flush()`       one UPDATE cancelling superseded timers; the fired timers (one
                               UPDATE per outcome); new timers, history entries, notifications
                               and outbox rows with bulk_create (entries and notifications
                               before the outbox rows whose keys name them); the orders' changed
                               fields with one bulk_update; closed orders' events

The result is row for row what firing the same timers one at a time writes (tests compare
the two). What a batch cannot replay identically it does not try: anything that raises rolls
the whole batch back and the caller fires the same timers one at a time, each in its own
savepoint. A scenario's automatic check sees the database as it was when the batch began
(its order, passed in, is current).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextvars import ContextVar

from django.db.models import OuterRef, Subquery

from smartsite.exchange import services as outbox
from smartsite.workorders.choices import EventState
from smartsite.workorders.models import Event, Notification, OrderAction, Timer, WorkOrder

_CURRENT: ContextVar[TimerBatch | None] = ContextVar("workorders_timer_batch", default=None)


def current() -> TimerBatch | None:
    """The batch being fired in this context, or None (the request path: write at once)."""
    return _CURRENT.get()


def _values(order: WorkOrder) -> dict[str, object]:
    return {f.attname: getattr(order, f.attname) for f in WorkOrder._meta.concrete_fields}


class TimerBatch:
    """What firing a batch of timers reads once and writes at the end (see the module)."""

    def __init__(self, orders: Iterable[WorkOrder]):
        self.orders = {order.pk: order for order in orders}
        self._loaded = {pk: _values(order) for pk, order in self.orders.items()}
        self._chains = self._last_links(list(self.orders))
        self._memo: dict[tuple, object] = {}
        self._fired: list[tuple[Timer, str]] = []
        self._fired_at = None
        self._fired_of: dict[int, list[int]] = defaultdict(list)
        # Orders whose clock stopped, with the timers fired before it stopped (those stay as
        # they are; every other pending timer of the order is cancelled, as at once).
        self._stopped: dict[int, set[int]] = {}
        self._timers: list[Timer] = []
        self._timers_of: dict[int, list[Timer]] = defaultdict(list)
        self._dirty: dict[int, WorkOrder] = {}
        self._closed: set[int] = set()
        self._actions: list[OrderAction] = []
        self._notes: list[Notification] = []
        self._outbox: outbox.Collector | None = None

    @staticmethod
    def _last_links(pks: list[int]) -> dict[int, tuple[int, str]]:
        last_seq = (OrderAction.objects.filter(order_id=OuterRef("order_id"))
                    .order_by("-seq").values("seq")[:1])
        rows = (OrderAction.objects.filter(order_id__in=pks, seq=Subquery(last_seq))
                .values_list("order_id", "seq", "hash"))
        return {order_id: (seq, digest) for order_id, seq, digest in rows}

    @contextlib.contextmanager
    def active(self):
        """Make this the current batch (and collect the outbox's rows) inside the block."""
        token = _CURRENT.set(self)
        try:
            with outbox.collecting() as self._outbox:
                yield self
        finally:
            _CURRENT.reset(token)

    # ------------------------------------------------------------ reads, once per batch

    def memo(self, key: tuple, compute: Callable[[], object]):
        """`compute()`'s result, computed once per batch for `key`."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    def last_link(self, order: WorkOrder) -> tuple[int, str] | None:
        """(seq, hash) of the last entry of `order`'s history, counting the batch's own."""
        if order.pk not in self._chains and order.pk not in self.orders:
            last = order.actions.order_by("-seq").values_list("seq", "hash").first()
            if last is not None:
                self._chains[order.pk] = last
        return self._chains.get(order.pk)

    # ------------------------------------------------------------ writes, at the end

    def add_action(self, entry: OrderAction) -> None:
        self._actions.append(entry)
        self._chains[entry.order_id] = (entry.seq, entry.hash)

    def add_timer(self, timer: Timer) -> None:
        self._timers.append(timer)
        self._timers_of[timer.order_id].append(timer)

    def add_notifications(self, notes: list[Notification]) -> None:
        self._notes.extend(notes)

    def stop_clock(self, order: WorkOrder) -> None:
        """Void every pending timer of `order`, as `_stop_clock` does at once."""
        if order.pk not in self._stopped:
            self._stopped[order.pk] = set(self._fired_of.get(order.pk, ()))
        for timer in self._timers_of.get(order.pk, ()):
            if timer.fired_at is None:
                timer.cancelled = True

    def save_order(self, order: WorkOrder) -> bool:
        """Note `order` for the bulk update; False if it is not one of the batch's orders."""
        if self.orders.get(order.pk) is not order:
            return False
        self._dirty[order.pk] = order
        return True

    def close_events(self, order: WorkOrder) -> None:
        self._closed.add(order.pk)

    def fired(self, timer: Timer, outcome: str, now) -> None:
        timer.outcome, timer.fired_at = outcome[:200], now
        self._fired.append((timer, timer.outcome))
        self._fired_at = now
        self._fired_of[timer.order_id].append(timer.pk)

    def flush(self) -> None:
        """Write what the batch did, in an order that gives what firing one at a time gives."""
        if self._stopped:
            # Before the fired timers are marked: a timer fired after its order's clock
            # stopped (the one that stopped it, or a stale one) was pending then: cancelled.
            kept = set().union(*self._stopped.values())
            (Timer.objects.filter(order_id__in=list(self._stopped), fired_at__isnull=True,
                                  cancelled=False)
             .exclude(pk__in=kept).update(cancelled=True))
        by_outcome: dict[str, list[int]] = defaultdict(list)
        for timer, outcome in self._fired:
            by_outcome[outcome].append(timer.pk)
        for outcome, pks in by_outcome.items():
            Timer.objects.filter(pk__in=pks).update(fired_at=self._fired_at, outcome=outcome)
        Timer.objects.bulk_create(self._timers)
        self._update_orders()
        if self._closed:
            Event.objects.filter(order_id__in=list(self._closed),
                                 state=EventState.DISPATCHED).update(state=EventState.CLOSED)
        OrderAction.objects.bulk_create(self._actions)  # pks: the outbox keys name them
        Notification.objects.bulk_create(self._notes)
        self._outbox.flush()

    def _update_orders(self) -> None:
        changed = set()
        for pk, order in self._dirty.items():
            loaded = self._loaded[pk]
            changed.update(name for name, value in _values(order).items()
                           if loaded[name] != value)
        if changed:
            fields = [f.name for f in WorkOrder._meta.concrete_fields if f.attname in changed]
            WorkOrder.objects.bulk_update(list(self._dirty.values()), fields)
