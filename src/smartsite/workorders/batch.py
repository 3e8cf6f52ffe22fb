"""The worker's batch: many due timers fired through the one write path, written set-wise.

`timers.fire_due_timers` fires a batch of timers by calling `timers._fire` for each, as
the one-at-a-time path does, with a `TimerBatch` active. While it is active the write path's
database touch points (`courts._resolve`, `transitions.add_timer`, `stop_clock`, `save_order`,
`_close_events`, `notify`, `history.log_action`, and the outbox's enqueue functions) ask the
batch instead of the database, and the batch writes everything at the end:

    reads, once per batch      the orders (locked by the caller, with policy, project and
                               court), the last (seq, hash) of each order's chain, the parties
                               of the batch's projects, agencies and posts (`BatchRegistry`),
                               the users of every court notified (one query, in `flush()`),
                               the active webhooks and who may see what
    writes, in `flush()`       one UPDATE cancelling superseded timers; the fired timers (one
                               UPDATE per outcome); new timers, history entries, notifications
                               and outbox rows with bulk_create (entries and notifications
                               before the outbox rows whose keys name them); the orders'
                               changed columns in one UPDATE … FROM (VALUES …); closed orders'
                               events

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

from django.db import connections, router
from django.db.models import OuterRef, Subquery

from smartsite.core.models import Agency, ProjectParty
from smartsite.exchange import services as outbox
from smartsite.workorders import policy as policy_spec
from smartsite.workorders.choices import EventState
from smartsite.workorders.models import (
    Event,
    LoopPolicy,
    Notification,
    OrderAction,
    Timer,
    WorkOrder,
)

_CURRENT: ContextVar[TimerBatch | None] = ContextVar("workorders_timer_batch", default=None)


def current() -> TimerBatch | None:
    """The batch being fired in this context, or None (the request path: write at once)."""
    return _CURRENT.get()


def _values(order: WorkOrder) -> dict[str, object]:
    return {f.attname: getattr(order, f.attname) for f in WorkOrder._meta.concrete_fields}


class BatchRegistry(policy_spec.Registry):
    """`Court.resolve`'s lookups for a batch: the parties of all its projects (in the roles
    its policies name) in one query, when first asked; the agencies of a kind, and a post by
    code, once each."""

    def __init__(self, project_ids: Iterable[int], policies: Iterable):
        self._projects = set(project_ids)
        self._roles = {court.party for policy in policies for level in policy.rules.levels.values()
                       for court in (level.handler, level.verifier, level.dispatcher)
                       if court is not None and court.party}
        self._parties: dict[tuple[int, str], object] | None = None
        self._agencies: dict[str, tuple] = {}
        self._posts: dict[str, object] = {}

    def agency(self, kind, region_id):
        if kind not in self._agencies:
            first, by_region = None, {}
            ordering = [*Agency._meta.ordering, "pk"]  # what `.first()` takes, ties by pk
            for agency in Agency.objects.filter(kind=kind).order_by(*ordering):
                first = first or agency
                by_region.setdefault(agency.region_id, agency)
            self._agencies[kind] = (first, by_region)
        first, by_region = self._agencies[kind]
        return by_region.get(region_id) if region_id else first

    def party(self, project_id, role):
        if project_id not in self._projects or role not in self._roles:
            return super().party(project_id, role)
        if self._parties is None:
            self._parties = {(p.project_id, p.role): p for p in ProjectParty.objects.filter(
                project__in=self._projects, role__in=self._roles).select_related("enterprise")}
        return self._parties.get((project_id, role))  # (one party per role and project)

    def post(self, code):
        if code not in self._posts:
            self._posts[code] = super().post(code)
        return self._posts[code]


class TimerBatch:
    """What firing a batch of timers reads once and writes at the end (see the module).

    `users_of(courts)` gives the users of each court (`courts.court_users_of`)."""

    def __init__(self, orders: Iterable[WorkOrder], *,
                 users_of: Callable[[Iterable[tuple]], dict[tuple, list]]):
        self.orders = {order.pk: order for order in orders}
        policies = LoopPolicy.objects.in_bulk({o.policy_id for o in self.orders.values()})
        for order in self.orders.values():
            order.policy = policies[order.policy_id]  # one instance (and document) per version
        self._loaded = {pk: _values(order) for pk, order in self.orders.items()}
        self._chains = self._last_links(list(self.orders))
        self.registry = BatchRegistry({order.project_id for order in self.orders.values()},
                                      policies.values())
        self._users_of = users_of
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
        self._notices: list[tuple[WorkOrder, tuple, str, object, list]] = []
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

    # ------------------------------------------------------------ the write path asks

    def last_link(self, order: WorkOrder) -> tuple[int, str] | None:
        """(seq, hash) of the last entry of `order`'s history, counting the batch's own."""
        if order.pk not in self._chains and order.pk not in self.orders:
            last = order.actions.order_by("-seq").values_list("seq", "hash").first()
            if last is not None:
                self._chains[order.pk] = last
        return self._chains.get(order.pk)

    def add_action(self, entry: OrderAction) -> None:
        self._actions.append(entry)
        self._chains[entry.order_id] = (entry.seq, entry.hash)

    def add_timer(self, timer: Timer) -> None:
        self._timers.append(timer)
        self._timers_of[timer.order_id].append(timer)

    def notify(self, order: WorkOrder, court: tuple, text: str, now) -> list[Notification]:
        """The notifications of `court`'s users about `order`: the list returned is filled
        when the batch is written (after one query for the users of every court)."""
        notes: list[Notification] = []
        self._notices.append((order, court, text, now, notes))
        return notes

    def stop_clock(self, order: WorkOrder) -> None:
        """Void every pending timer of `order`, as `_stop_clock` does at once."""
        if order.pk not in self._stopped:
            self._stopped[order.pk] = set(self._fired_of.get(order.pk, ()))
        for timer in self._timers_of.get(order.pk, ()):
            if timer.fired_at is None:
                timer.cancelled = True

    def save_order(self, order: WorkOrder) -> bool:
        """Note `order` for the update at the end; False if it is not one of the batch's."""
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

    # ------------------------------------------------------------ the end

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
        users = self._users_of({court for _, court, _, _, _ in self._notices})
        for order, court, text, now, notes in self._notices:
            notes.extend(Notification(user=user, order=order, text=text, created=now)
                         for user in users[court])
        Notification.objects.bulk_create([n for *_, notes in self._notices for n in notes])
        self._outbox.flush()

    def _update_orders(self) -> None:
        changed = set()
        for pk, order in self._dirty.items():
            loaded = self._loaded[pk]
            changed.update(name for name, value in _values(order).items()
                           if loaded[name] != value)
        if changed:
            update_rows(WorkOrder, list(self._dirty.values()),
                        [f for f in WorkOrder._meta.concrete_fields if f.attname in changed])


def update_rows(model, objs: list, fields: list) -> None:
    """Write `fields` of `objs` (each row its own values) in one `UPDATE … FROM (VALUES …)`
    per chunk. Django's `bulk_update` builds a CASE per field and row: ~2 ms a row here."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    columns = [pk, *fields]
    placeholder = "(" + ", ".join("%s" for _ in columns) + ")"
    typed = placeholder  # PostgreSQL types a VALUES column by its typed rows: cast the first
    if connection.vendor == "postgresql":
        typed = "(" + ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in columns) + ")"
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    limit = connection.features.max_query_params or 60000
    size = max(1, limit // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), size):
            chunk = objs[start:start + size]
            params = [f.get_db_prep_save(getattr(obj, f.attname), connection)
                      for obj in chunk for f in columns]
            cursor.execute(
                f"WITH v ({names}) AS (VALUES {', '.join([typed] + [placeholder] * (len(chunk) - 1))}) "
                f"UPDATE {table} SET {assignments} FROM v "
                f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}", params)
