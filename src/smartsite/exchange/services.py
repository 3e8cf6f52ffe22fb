"""The write path of the exchange app.

    import_workbook(kind, upload, actor=...)    a checked workbook, all or nothing
    create_webhook / set_webhook_active / delete_webhook / send_test / redeliver
                                                the owner's webhooks (the page's actions)
    enqueue_order_event(order, entry)           in the order change's own transaction
    enqueue_order_notice(order, kind, now)      likewise, for reminders and overdue flags
    enqueue_email(user, subject, body, key)     likewise, for notifications by e-mail
    collecting()                                the enqueue functions above, batched: rows
                                                kept and written by one bulk insert
    deliver_due(now)                            the worker: claim, commit, then send

The outbox: a message row is written in the same transaction as the change it reports, so
it exists if and only if that change committed. `deliver_due` claims due rows (FOR UPDATE
SKIP LOCKED), marks them `sending` with a lease and commits *before* any network I/O; a
worker killed mid-delivery leaves the lease to run out, and the message is sent again
(at least once — the delivery id lets receivers deduplicate).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smartsite.core import audit, netpolicy, permissions
from smartsite.core import services as core_services
from smartsite.core.choices import AuditAction
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.exchange import importers, webhooks
from smartsite.exchange.choices import (
    DUE_STATES,
    EVENT_TYPES,
    NOTICES,
    PING,
    OutboxChannel,
    OutboxState,
    order_event,
)
from smartsite.exchange.importers import ImportFailed
from smartsite.exchange.models import OutboxMessage, Webhook

__all__ = ["Collector", "collecting", "create_webhook", "delete_webhook", "deliver_due",
           "email_notifications", "email_notifications_of", "enqueue_email", "enqueue_order_event",
           "enqueue_order_notice", "import_workbook", "redeliver", "require_importer", "send_test",
           "set_webhook_active"]

log = logging.getLogger(__name__)


def require_importer(user) -> None:
    """Only registry editors (city and district regulators) may import 报建 data."""
    if not permissions.can_edit_registry(user):
        raise Forbidden("只有市、区监管人员可以导入登记数据")


def import_workbook(kind: str, upload, *, actor, dry_run: bool = False) -> int:
    """Check every row of an .xlsx upload and, only if all are valid, save them all.

    Returns the number of data rows. Raises `ImportFailed` (row, column, message for every
    problem; nothing saved) or `Forbidden`. Each row's permission was checked by the
    importer with `permissions.require_edit`; every saved object gets an "导入" audit entry
    from `core.services.bulk_create_audited`, in the same transaction.
    """
    require_importer(actor)
    plan = importers.validate(kind, upload, actor=actor)
    if dry_run:
        return plan.rows
    try:
        with transaction.atomic():
            core_services.bulk_create_audited(plan.objects, actor=actor)
    except IntegrityError:
        # Someone saved a conflicting row (same 报建编号, 身份证号 …) since we checked.
        raise ImportFailed.file("保存时发现与他人同时录入的数据冲突（如报建编号或身份证号重复），"
                                "未导入任何数据，请重新上传") from None
    return plan.rows


# ---------------------------------------------------------------- webhooks (the owner's page)


def _allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def _clean_webhook(name: str, url: str, events) -> tuple[str, str, list[str]]:
    """The checked (name, url, events) of a webhook, or a DomainError naming the field."""
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写名称", field="name")
    if len(name) > 100:
        raise DomainError("名称不能超过 100 个字符", field="name")
    url = (url or "").strip()
    if not url:
        raise DomainError("请填写接收地址", field="url")
    if len(url) > 500:
        raise DomainError("接收地址不能超过 500 个字符", field="url")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise DomainError("接收地址不能包含空格或控制字符", field="url")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise DomainError("接收地址只能是 http:// 或 https:// 开头的网址", field="url")
    if not parts.hostname:
        raise DomainError("接收地址缺少主机名，例如 https://example.com/hooks/smartsite",
                          field="url")
    try:
        parts.port  # noqa: B018 — raises for a port that is not a number in range
    except ValueError:
        raise DomainError("接收地址的端口号无效", field="url") from None
    if parts.username or parts.password:
        raise DomainError("接收地址不能包含用户名或密码（来源请用签名密钥验证）", field="url")
    if not _allow_private() and not netpolicy.host_allowed(parts.hostname):
        raise DomainError("接收地址不能是本机或内网地址", field="url")
    chosen = []
    for event in events or ():
        event = str(event).strip()
        if event and event not in chosen:
            chosen.append(event)
    if not chosen:
        raise DomainError("请至少选择一种事件类型", field="events")
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise DomainError(f"未知的事件类型“{unknown[0][:40]}”", field="events")
    return name, parts._replace(scheme=parts.scheme.lower()).geturl(), chosen


def _require_owner(actor, webhook: Webhook) -> None:
    if actor is None or actor.pk != webhook.owner_id:
        raise Forbidden("只能管理自己的 Webhook")


@transaction.atomic
def create_webhook(owner, *, name: str, url: str, events) -> Webhook:
    """Register a webhook for `owner` with a new server-generated secret (shown once)."""
    name, url, events = _clean_webhook(name, url, events)
    webhook = Webhook.objects.create(owner=owner, name=name, url=url, events=events,
                                     secret=Webhook.new_secret())
    audit.record(owner, webhook, AuditAction.CREATE,
                 {"name": [None, name], "url": [None, url], "events": [None, events]})
    return webhook


@transaction.atomic
def set_webhook_active(webhook: Webhook, *, actor, active: bool) -> Webhook:
    """Pause or resume a webhook. While paused nothing is queued for it, and what was
    already queued is given up (`dead`, with the reason) when its turn comes."""
    _require_owner(actor, webhook)
    if webhook.active != active:
        webhook.active = active
        webhook.save(update_fields=["active"])
        audit.record(actor, webhook, AuditAction.UPDATE, {"active": [not active, active]})
    return webhook


@transaction.atomic
def delete_webhook(webhook: Webhook, *, actor) -> None:
    """Remove a webhook and its delivery records."""
    _require_owner(actor, webhook)
    audit.record(actor, webhook, AuditAction.DELETE,
                 {"name": [webhook.name, None], "url": [webhook.url, None]})
    webhook.delete()


@transaction.atomic
def send_test(webhook: Webhook, *, actor, now: datetime.datetime | None = None) -> OutboxMessage:
    """Queue a `ping` for the webhook; the worker delivers it like any other event."""
    _require_owner(actor, webhook)
    if not webhook.active:
        raise DomainError("该 Webhook 已停用，请先启用再发送测试")
    now = now or timezone.now()
    payload = {"event": PING, "occurred_at": _iso(now), "message": "这是一条测试推送",
               "webhook": {"id": webhook.pk, "name": webhook.name}}
    return OutboxMessage.objects.create(
        channel=OutboxChannel.WEBHOOK, webhook=webhook, event=PING, payload=payload,
        key=f"ping:{webhook.pk}:{uuid.uuid4().hex}", created=now, next_attempt_at=now)


@transaction.atomic
def redeliver(message: OutboxMessage, *, actor, now: datetime.datetime | None = None
              ) -> OutboxMessage:
    """Give a message that was given up (`dead`) a fresh set of attempts."""
    if message.webhook_id is None:
        raise Forbidden("只能重发自己 Webhook 的推送")
    _require_owner(actor, message.webhook)
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.state != OutboxState.DEAD:
        raise DomainError(f"该推送当前为“{message.get_state_display()}”，只有已放弃的推送可以重发")
    if not message.webhook.active:
        raise DomainError("该 Webhook 已停用，请先启用再重发")
    message.state, message.attempts = OutboxState.PENDING, 0
    message.next_attempt_at = now or timezone.now()
    message.save(update_fields=["state", "attempts", "next_attempt_at"])
    return message


# ---------------------------------------------------------------- enqueue (caller's transaction)


def _iso(moment: datetime.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _order_dict(order, court: str) -> dict:
    project = order.project
    return {
        "id": order.pk, "number": order.number, "title": order.title,
        "scenario": order.scenario, "kind": order.kind,
        "project": {"id": project.pk, "name": project.name, "permit_no": project.permit_no},
        "state": order.state, "state_label": order.get_state_display(),
        "loop_level": order.loop_level, "loop_level_label": order.get_loop_level_display(),
        "court": court, "due_at": _iso(order.due_at), "overdue": order.overdue,
        "rejections": order.rejections, "version": order.version,
    }


def order_payload(order, entry) -> dict:
    """The JSON body of an order event: the order after the action, and the action."""
    return {
        "event": order_event(entry.action),
        "occurred_at": _iso(entry.at),
        "order": _order_dict(order, entry.court),
        "action": {
            "seq": entry.seq, "action": entry.action, "label": entry.get_action_display(),
            "actor": entry.actor_name, "comment": entry.comment,
            "from_state": entry.from_state, "to_state": entry.to_state, "hash": entry.hash,
        },
    }


class Collector:
    """The outbox rows of a batch of changes (the worker's timers), written by `flush()` in
    one bulk insert, in the order they were queued. The active webhooks are read once, and
    whether an owner sees a project once per pair. A row's key may name a row the batch has
    not inserted yet (a history entry, a notification): it is worked out at `flush()`."""

    def __init__(self):
        # Rows, or functions giving rows once what they report is written (`later`).
        self._rows: list = []
        self._hooks: list[Webhook] | None = None
        self._sees: dict[tuple[int, int], bool] = {}

    def hooks(self) -> list[Webhook]:
        if self._hooks is None:
            self._hooks = _active_webhooks()
        return self._hooks

    def sees(self, owner, project_id: int) -> bool:
        key = (owner.pk, project_id)
        if key not in self._sees:
            self._sees[key] = _sees(owner, project_id)
        return self._sees[key]

    def add(self, rows: list[tuple[OutboxMessage, Callable[[], str]]]) -> None:
        self._rows.extend(rows)

    def later(self, rows: Callable[[], list[tuple[OutboxMessage, Callable[[], str]]]]) -> None:
        """Rows that `rows()` gives at `flush()`, in this place among the others."""
        self._rows.append(rows)

    def flush(self) -> int:
        messages = []
        for item in self._rows:
            for message, key in item() if callable(item) else [item]:
                message.key = key()
                messages.append(message)
        OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
        self._rows = []
        return len(messages)


_COLLECTOR: ContextVar[Collector | None] = ContextVar("outbox_collector", default=None)


@contextlib.contextmanager
def collecting():
    """Inside the block, the enqueue functions add their rows to the `Collector` yielded;
    the caller writes them with its `flush()` (in the same transaction as the changes)."""
    collector = Collector()
    token = _COLLECTOR.set(collector)
    try:
        yield collector
    finally:
        _COLLECTOR.reset(token)


def _queue(rows: list[tuple[OutboxMessage, Callable[[], str]]]) -> None:
    collector = _COLLECTOR.get()
    if collector is not None:
        collector.add(rows)
        return
    for message, key in rows:
        message.key = key()
    OutboxMessage.objects.bulk_create([m for m, _ in rows], ignore_conflicts=True)


def _active_webhooks() -> list[Webhook]:
    return list(Webhook.objects.filter(active=True).select_related("owner"))


def _sees(owner, project_id: int) -> bool:
    return scoped(owner, Project.objects.filter(pk=project_id)).exists()


def enqueue_order_event(order, entry) -> int:
    """Queue `entry` (an order's new history entry) for every active webhook that subscribed
    to its event type and whose owner can see the order's project. Call it inside the
    transaction that wrote the entry. Returns the number of messages queued."""
    return _enqueue_for_webhooks(order, order_event(entry.action),
                                 lambda: order_payload(order, entry),
                                 key=lambda: f"order-action:{entry.pk}", at=entry.at)


def enqueue_order_notice(order, kind: str, now: datetime.datetime) -> int:
    """Queue a notice about `order` that is not a history entry — `remind` (a deadline is
    near) or `overdue` (past due with no higher level) — like `enqueue_order_event`."""
    event = order_event(kind)
    return _enqueue_for_webhooks(
        order, event,
        lambda: {"event": event, "occurred_at": _iso(now),
                 "order": _order_dict(order, order.court_label),
                 "notice": {"kind": kind, "label": NOTICES[kind]}},
        key=f"order-notice:{order.pk}:{order.step}:{kind}", at=now)


def _enqueue_for_webhooks(order, event: str, payload, *, key: str | Callable[[], str],
                          at) -> int:
    """`key` is the rows' key stem, or a function giving it (called once the entry it names
    has a pk: at once, or when a `Collector` flushes)."""
    collector = _COLLECTOR.get()
    hooks = collector.hooks() if collector is not None else _active_webhooks()
    hooks = [h for h in hooks if h.wants(event)]
    if not hooks:
        return 0
    stem = key if callable(key) else (lambda: key)
    sees, rows, body = {}, [], None
    for hook in hooks:
        if collector is not None:
            sees[hook.owner_id] = collector.sees(hook.owner, order.project_id)
        elif hook.owner_id not in sees:
            sees[hook.owner_id] = _sees(hook.owner, order.project_id)
        if sees[hook.owner_id]:
            body = body or payload()  # the order as it is now, whenever the row is written
            rows.append((OutboxMessage(
                channel=OutboxChannel.WEBHOOK, webhook=hook, event=event, payload=body,
                created=at, next_attempt_at=at),
                lambda hook=hook: f"{stem()}:webhook:{hook.pk}"))
    _queue(rows)
    return len(rows)


def enqueue_email(user, subject: str, body: str, key: str | Callable[[], str], *,
                  now: datetime.datetime | None = None) -> bool:
    """Queue an e-mail to `user` (nothing if they have no address). `key` makes it
    idempotent: the same key is queued once (a function giving the key: called when the row
    is written). Call it inside the caller's transaction."""
    row = _email_row(user, subject, body, key, now)
    if row is None:
        return False
    _queue([row])
    return True


def _email_row(user, subject: str, body: str, key: str | Callable[[], str], now):
    address = (getattr(user, "email", "") or "").strip()
    if not address:
        return None
    now = now or timezone.now()
    subject = " ".join(subject.split())[:200]
    return (OutboxMessage(
        channel=OutboxChannel.EMAIL, user=user, email=address, event="notification",
        payload={"subject": subject, "body": body}, created=now, next_attempt_at=now),
        lambda: (key() if callable(key) else key)[:200])


def _notification_email(order, text: str) -> tuple[str, str]:
    """(subject, body) of the e-mail copy of a notification about `order` saying `text`."""
    lines = [text, "", f"工单：{order.number} {order.title}",
             f"项目：{order.project.name}（{order.project.permit_no}）"]
    if order.due_at:
        lines.append(f"办理时限：{timezone.localtime(order.due_at):%Y-%m-%d %H:%M}")
    lines += ["", "此邮件由智慧工地监管平台自动发送，请登录平台查看和办理。"]
    return f"【智慧工地】{text}", "\n".join(lines)


def email_notifications(notifications) -> int:
    """E-mail each in-app notification to its user, where the user has an address."""
    queued = 0
    for note in notifications:
        subject, body = _notification_email(note.order, note.text)
        queued += enqueue_email(note.user, subject, body,
                                lambda note=note: _notification_key(note), now=note.created)
    return queued


def email_notifications_of(order, text: str, notifications: Callable[[], Iterable]) -> None:
    """Like `email_notifications`, for notifications about `order` saying `text` that are
    written later (the worker's batch): the e-mail is written now, about the order as it is
    now, and queued for each of `notifications()` once they exist — at once outside
    `collecting()`, else when the collector flushes."""
    subject, body = _notification_email(order, text)

    def rows():
        return [row for note in notifications()
                if (row := _email_row(note.user, subject, body,
                                      lambda note=note: _notification_key(note), note.created))]

    collector = _COLLECTOR.get()
    if collector is not None:
        collector.later(rows)
    else:
        _queue(rows())


def _notification_key(note) -> str:
    """Once the notification is saved (at once, or when a batch writes it): its pk."""
    return f"notification:{note.pk}" if note.pk else f"notification:{uuid.uuid4().hex}"


# ---------------------------------------------------------------- delivery (the worker)


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return default if value is None else int(value)


def backoff(attempts: int) -> datetime.timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min, 2, 4, … up to the cap."""
    base = _setting("OUTBOX_BACKOFF_SECONDS", 60)
    cap = _setting("OUTBOX_BACKOFF_MAX_SECONDS", 3600)
    return datetime.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def _lease(limit: int) -> datetime.timedelta:
    """Long enough for a whole batch to time out one message after another."""
    slowest = max(_setting("WEBHOOK_TIMEOUT_SECONDS", 5), _setting("EMAIL_TIMEOUT", 10))
    return datetime.timedelta(seconds=max(_setting("OUTBOX_LEASE_SECONDS", 300),
                                          limit * slowest + 60))


def deliver_due(now: datetime.datetime | None = None, *, limit: int | None = None) -> int:
    """Deliver up to `limit` messages due at `now`; return how many were attempted.

    1. Claim: in one short transaction, take due rows (pending, or sending with a lapsed
       lease) FOR UPDATE SKIP LOCKED, count the attempt and mark them `sending` with a lease;
       commit. No network I/O happens while rows are locked.
    2. Send: webhooks in parallel (a few at a time), e-mails over one connection.
    3. Record each result only if the row is still ours (same state and attempt count):
       `sent`; or `pending` again after a backoff; or `dead` after the last attempt.
    """
    now = now or timezone.now()
    limit = limit or _setting("OUTBOX_BATCH", 20)
    with transaction.atomic():
        claimed = list(OutboxMessage.objects.select_for_update(skip_locked=True)
                       .filter(state__in=DUE_STATES, next_attempt_at__lte=now)
                       .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
        if not claimed:
            return 0
        OutboxMessage.objects.filter(pk__in=claimed).update(
            state=OutboxState.SENDING, attempts=F("attempts") + 1,
            next_attempt_at=now + _lease(limit))
    messages = list(OutboxMessage.objects.filter(pk__in=claimed)
                    .select_related("webhook__owner").order_by("pk"))
    outcomes = _send_webhooks([m for m in messages if m.channel == OutboxChannel.WEBHOOK])
    outcomes.update(_send_emails([m for m in messages if m.channel == OutboxChannel.EMAIL]))
    for message in messages:
        _record(message, outcomes.get(message.pk) or webhooks.Outcome(False, error="未发送"), now)
    return len(messages)


def _undeliverable(message: OutboxMessage) -> str:
    """Why a webhook message must not go out any more ("" if it may)."""
    hook = message.webhook
    if not hook.active:
        return "Webhook 已停用，未发送"
    if not hook.owner.is_active:
        return "Webhook 所有者账号已停用，未发送"
    project_id = (message.payload.get("order") or {}).get("project", {}).get("id")
    if project_id is not None and not scoped(hook.owner,
                                             Project.objects.filter(pk=project_id)).exists():
        return "Webhook 所有者已无权查看该项目，未发送"
    return ""


def _send_webhooks(messages: list[OutboxMessage]) -> dict[int, webhooks.Outcome]:
    outcomes, jobs = {}, []
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 5)
    for message in messages:
        reason = _undeliverable(message)
        if reason:
            outcomes[message.pk] = webhooks.Outcome(False, error=reason, permanent=True)
            continue
        body = webhooks.body_of(message.payload)
        headers = webhooks.signed_headers(secret=message.webhook.secret, event=message.event,
                                          delivery=str(message.pk), body=body)
        jobs.append((message.pk, message.webhook.url, body, headers))
    if not jobs:
        return outcomes
    allow_private = _allow_private()

    def send(job):
        pk, url, body, headers = job
        return pk, webhooks.post(url, body, headers, timeout=timeout, allow_private=allow_private)

    workers = max(1, min(_setting("OUTBOX_CONCURRENCY", 4), len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        outcomes.update(pool.map(send, jobs))
    return outcomes


def _send_emails(messages: list[OutboxMessage]) -> dict[int, webhooks.Outcome]:
    if not messages:
        return {}
    outcomes = {}
    connection = mail.get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:  # any backend's connection trouble: retried later
        log.warning("e-mail backend unavailable: %s", exc)
        error = f"邮件服务器连接失败：{exc.__class__.__name__} {exc}".strip()
        return {m.pk: webhooks.Outcome(False, error=error) for m in messages}
    try:
        for message in messages:
            email = mail.EmailMessage(
                message.payload.get("subject", ""), message.payload.get("body", ""),
                to=[message.email], connection=connection,
                headers={"X-Smartsite-Delivery": str(message.pk)})
            try:
                sent = email.send()
            except Exception as exc:  # SMTP refusals, dropped connections, …: retried
                log.warning("e-mail %s failed: %s", message.pk, exc)
                outcomes[message.pk] = webhooks.Outcome(
                    False, error=f"发送失败：{exc.__class__.__name__} {exc}".strip())
            else:
                outcomes[message.pk] = webhooks.Outcome(bool(sent), error="" if sent else "未发送")
    finally:
        try:
            connection.close()
        except Exception:  # a connection that died mid-way: nothing left to do
            log.debug("closing the e-mail connection failed", exc_info=True)
    return outcomes


def _record(message: OutboxMessage, outcome: webhooks.Outcome, now) -> None:
    ours = OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.SENDING,
                                        attempts=message.attempts)
    if outcome.ok:
        ours.update(state=OutboxState.SENT, sent_at=now, last_error="",
                    response_status=outcome.status)
        return
    error = outcome.error[:500]
    if outcome.permanent or message.attempts >= _setting("OUTBOX_MAX_ATTEMPTS", 10):
        ours.update(state=OutboxState.DEAD, last_error=error, response_status=outcome.status)
        log.warning("outbox message %s given up after %d attempts: %s", message.pk,
                    message.attempts, error)
    else:
        ours.update(state=OutboxState.PENDING, last_error=error, response_status=outcome.status,
                    next_attempt_at=now + backoff(message.attempts))
