"""An order's history: the hash-chained `OrderAction` log every change appends to.

Each entry's SHA-256 covers its content and the previous entry's hash (`GENESIS` for the
first), so `verify_chain` finds an entry changed, removed or inserted afterwards. Every entry
is also queued for webhooks (`exchange.services.enqueue_order_event`) in the same transaction.
"""

from __future__ import annotations

from smartsite.exchange import services as outbox
from smartsite.workorders import batch as timer_batch
from smartsite.workorders.models import OrderAction, OrderAttachment, WorkOrder

GENESIS = "0" * 64
SYSTEM_NAME = "系统"


def log_action(order: WorkOrder, action: str, actor, now, *, from_state: str, comment: str = "",
                data: dict | None = None) -> OrderAction:
    """Append the entry for `action` (taken by `actor`, None for the system) to `order`'s
    chain and queue it for webhooks; in a batch of the worker, written at the batch's end."""
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


def attach(entry: OrderAction, files: list, checked: list[tuple[str, str]]) -> None:
    """Store uploads (already passed through `core.uploads.check_upload`) on a history entry."""
    for upload, (content_type, digest) in zip(files, checked, strict=True):
        upload.seek(0)
        OrderAttachment.objects.create(action=entry, file=upload,
                                       name=getattr(upload, "name", "file")[-200:],
                                       content_type=content_type, size=upload.size,
                                       sha256=digest)


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
