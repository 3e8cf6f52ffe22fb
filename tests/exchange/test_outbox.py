"""The notification outbox: order changes become signed webhook deliveries and e-mails, queued
in the change's own transaction and sent only by the worker — retried with backoff, given up
after N attempts, never to someone who cannot see the project, and sent again (same delivery
id) when a worker is killed mid-delivery."""

from __future__ import annotations

import datetime
import email
import email.policy
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.utils import timezone
from support.db import database_url
from support.orders import T0, D, H, photo

from smartsite import cli
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.models import Role
from smartsite.exchange import services as outbox
from smartsite.exchange.choices import OutboxState
from smartsite.exchange.models import OutboxMessage
from smartsite.workorders import services
from smartsite.workorders.choices import Action
from smartsite.workorders.models import Notification, WorkOrder

S = datetime.timedelta(seconds=1)
MIN = datetime.timedelta(minutes=1)

pytestmark = [pytest.mark.usefixtures("local_webhooks"), pytest.mark.postgres]


def hook_for(user, receiver, events=("order.*",)):
    hook = outbox.create_webhook(user, name="接收端", url=receiver.url, events=list(events))
    receiver.secret = hook.secret
    return hook


def open_order(project, key="1", now=T0):
    event = services.raise_event(scenario="dust", rule="exceedance", project=project,
                                 dedup_key=f"dust:exceedance:{project.pk}:{key}",
                                 title="PM10 超标", evidence={"pm10": 180}, now=now)
    event.refresh_from_db()
    return WorkOrder.objects.get(pk=event.order_id)


def act(order, action, user, now, **kw):
    order.refresh_from_db()
    return services.act(order, action, user, version=order.version, now=now, **kw)


def messages(**filters):
    return list(OutboxMessage.objects.filter(**filters).order_by("pk"))


# ---------------------------------------------------------------- webhooks


def test_an_order_action_is_delivered_signed_once_by_the_worker_and_not_before(cast, receiver):
    hook = hook_for(cast.contractor_a, receiver, events=["order.dispose"])
    order = open_order(cast.project_a)
    assert messages() == []  # order.create: not subscribed

    act(order, Action.DISPOSE, cast.contractor_a, T0 + H, comment="已开启喷淋", files=[photo()])
    [message] = messages()
    assert (message.webhook, message.event, message.state) == (hook, "order.dispose", "pending")
    assert receiver.deliveries == []  # never inline in the request

    assert outbox.deliver_due(T0 + H) == 1
    [delivery] = receiver.deliveries
    assert delivery.signature_valid
    assert delivery.event == "order.dispose" and delivery.delivery_id == str(message.pk)
    order.refresh_from_db()
    assert delivery.body["order"]["number"] == order.number
    assert delivery.body["order"]["state"] == "pending_verification"
    assert delivery.body["order"]["project"]["name"] == "静安甲项目"
    assert delivery.body["action"]["comment"] == "已开启喷淋"
    assert delivery.body["action"]["hash"] == order.actions.get(action="dispose").hash
    message.refresh_from_db()
    assert message.state == OutboxState.SENT and message.attempts == 1
    assert message.sent_at == T0 + H and message.response_status == 200

    assert outbox.deliver_due(T0 + 2 * H) == 0
    assert len(receiver.deliveries) == 1


def _documented_verify():
    """The receiver-side check exactly as docs/api.md prints it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("**Verifying the signature.**", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    return namespace["verify"]


def test_the_signature_checks_out_with_the_code_in_the_api_docs(cast, receiver):
    hook = hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a)
    outbox.deliver_due(T0)
    [delivery] = receiver.deliveries
    verify = _documented_verify()
    assert verify(hook.secret, delivery.headers, delivery.raw)
    assert not verify("whsec_wrong", delivery.headers, delivery.raw)
    assert not verify(hook.secret, delivery.headers, delivery.raw.replace(b"PM10", b"PM25"))


def test_the_create_event_carries_the_first_deadline(cast, receiver):
    hook_for(cast.contractor_a, receiver)
    order = open_order(cast.project_a)
    outbox.deliver_due(T0)
    [delivery] = receiver.deliveries
    assert delivery.event == "order.create"
    assert delivery.body["order"]["due_at"] == timezone.localtime(order.due_at).isoformat()
    assert delivery.body["order"]["state_label"] == "待处置"


def test_reminders_and_overdue_flags_reach_the_webhooks_that_subscribed(cast, receiver):
    hook_for(cast.contractor_a, receiver, events=["order.remind", "order.overdue"])
    services.raise_event(scenario="attendance", rule="absence", project=cast.project_a,
                         dedup_key="attendance:absence:a", title="项目经理未到岗", now=T0)
    assert messages() == []  # order.create: not subscribed
    services.fire_due_timers(T0 + 2 * D + H)  # 24 h before the 3-day disposal deadline
    outbox.deliver_due(T0 + 2 * D + H)
    [remind] = receiver.deliveries
    assert remind.event == "order.remind" and remind.signature_valid
    assert remind.body["notice"] == {"kind": "remind", "label": "到期提醒"}
    assert remind.body["order"]["due_at"] == timezone.localtime(T0 + 3 * D).isoformat()
    now = T0 + 10 * D  # small overdue → medium (order.escalate), medium overdue → flagged
    while services.fire_due_timers(now):
        pass
    outbox.deliver_due(now)
    assert [d.event for d in receiver.deliveries] == ["order.remind", "order.overdue"]
    overdue = receiver.deliveries[1].body
    assert overdue["order"]["overdue"] is True and overdue["order"]["loop_level"] == "medium"


def test_a_receiver_that_fails_then_recovers_gets_it_after_the_backoff(cast, receiver):
    receiver.answers = [500, 200]
    hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a)
    [message] = messages()

    assert outbox.deliver_due(T0) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.PENDING, 1)
    assert message.last_error.startswith("HTTP 500") and "接收方出错" in message.last_error
    assert message.next_attempt_at == T0 + MIN

    assert outbox.deliver_due(T0 + 59 * S) == 0  # still backing off
    assert outbox.deliver_due(T0 + MIN) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == (OutboxState.SENT, 2, "")
    assert [d.status for d in receiver.deliveries] == [500, 200]
    assert {d.delivery_id for d in receiver.deliveries} == {str(message.pk)}  # dedup key
    assert all(d.signature_valid for d in receiver.deliveries)
    assert len(receiver.ok()) == 1


def test_an_always_failing_receiver_is_given_up_after_the_last_attempt(cast, receiver, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 4
    receiver.answers = [503] * 10
    hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a)
    [message] = messages()
    now, waits = T0, []
    while outbox.deliver_due(now):
        message.refresh_from_db()
        if message.state == OutboxState.PENDING:
            waits.append(message.next_attempt_at - now)
            now = message.next_attempt_at
    assert waits == [MIN, 2 * MIN, 4 * MIN]  # 1 minute, doubling
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.DEAD, 4)
    assert message.last_error.startswith("HTTP 503") and message.response_status == 503
    assert len(receiver.deliveries) == 4
    assert outbox.deliver_due(now + datetime.timedelta(days=30)) == 0


def test_the_backoff_is_capped(settings):
    settings.OUTBOX_BACKOFF_SECONDS, settings.OUTBOX_BACKOFF_MAX_SECONDS = 60, 600
    assert [outbox.backoff(n).total_seconds() for n in range(1, 7)] == [60, 120, 240, 480,
                                                                         600, 600]


def test_a_webhook_of_contractor_b_never_receives_project_a_events(cast, receiver):
    hook_b = hook_for(cast.contractor_b, receiver)
    order = open_order(cast.project_a)
    act(order, Action.COMMENT, cast.district, T0 + H, comment="请尽快处置")
    act(order, Action.DISPOSE, cast.contractor_a, T0 + 2 * H, comment="已整改", files=[photo()])
    services.fire_due_timers(T0 + 3 * H)  # the automatic check: no transition yet
    assert messages(webhook=hook_b) == []
    outbox.deliver_due(T0 + 4 * H)
    assert receiver.deliveries == []
    # Project B is contractor B's: its events do arrive.
    open_order(cast.project_b, now=T0 + 5 * H)
    outbox.deliver_due(T0 + 5 * H)
    assert [d.body["order"]["project"]["name"] for d in receiver.deliveries] == ["陆家嘴乙项目"]


def test_a_regulator_receives_the_events_of_its_district_only(cast, receiver):
    hook_for(cast.district, receiver)  # 静安区
    open_order(cast.project_a)
    open_order(cast.project_b)
    outbox.deliver_due(T0)
    assert [d.body["order"]["project"]["name"] for d in receiver.deliveries] == ["静安甲项目"]


def test_refused_order_actions_enqueue_nothing(cast, receiver):
    hook_for(cast.contractor_a, receiver)
    order = open_order(cast.project_a)
    seen = order.version
    services.act(order, Action.COMMENT, cast.district, version=seen, comment="请处置", now=T0)
    before = OutboxMessage.objects.count()
    with pytest.raises(Conflict):  # a stale version
        services.act(order, Action.DISPOSE, cast.contractor_a, version=seen, comment="已整改",
                     files=[photo()], now=T0 + H)
    with pytest.raises(Forbidden):  # the wrong party
        act(order, Action.DISPOSE, cast.contractor_b, T0 + H, comment="x", files=[photo()])
    with pytest.raises(DomainError):  # a missing photo
        act(order, Action.DISPOSE, cast.contractor_a, T0 + H, comment="已整改")
    assert OutboxMessage.objects.count() == before == 2  # create, comment


def test_deliveries_stop_when_the_owner_can_no_longer_see_the_project(cast, receiver):
    hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a)
    Role.objects.filter(user=cast.contractor_a).delete()
    outbox.deliver_due(T0)
    [message] = messages()
    assert message.state == OutboxState.DEAD and "无权查看" in message.last_error
    assert receiver.deliveries == []


def test_a_paused_webhook_queues_nothing_and_gives_up_what_was_queued(cast, receiver):
    hook = hook_for(cast.contractor_a, receiver)
    order = open_order(cast.project_a)
    outbox.set_webhook_active(hook, actor=cast.contractor_a, active=False)
    act(order, Action.COMMENT, cast.district, T0 + H, comment="请处置")
    [message] = messages()  # only the create, queued before the pause
    outbox.deliver_due(T0 + H)
    message.refresh_from_db()
    assert message.state == OutboxState.DEAD and "停用" in message.last_error
    assert receiver.deliveries == []


def test_private_addresses_are_refused_unless_the_operator_allows_them(cast, receiver,
                                                                       settings):
    hook_for(cast.contractor_a, receiver)  # registered while allowed
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(DomainError) as caught:
        outbox.create_webhook(cast.contractor_a, name="内网", url="http://10.1.2.3/hook",
                              events=["order.*"])
    assert caught.value.field == "url" and "内网" in caught.value.message
    open_order(cast.project_a)
    outbox.deliver_due(T0)
    [message] = messages()
    assert message.state == OutboxState.DEAD and "127.0.0.1" in message.last_error
    assert receiver.deliveries == []


def test_a_receiver_that_does_not_answer_in_time_is_retried(cast, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.hold = threading.Event()
    hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a)
    outbox.deliver_due(T0)
    receiver.hold.set()
    [message] = messages()
    assert message.state == OutboxState.PENDING and "超时" in message.last_error


def test_an_unreachable_receiver_is_retried_with_the_reason(cast, receiver):
    hook_for(cast.contractor_a, receiver)
    receiver.close()  # nothing listens there any more
    open_order(cast.project_a)
    outbox.deliver_due(T0)
    [message] = messages()
    assert message.state == OutboxState.PENDING and "拒绝" in message.last_error


def test_the_worker_delivers_what_is_due_and_once_returns(cast, receiver):
    receiver.answers = [200, 500]
    hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a, key="1", now=timezone.now())
    open_order(cast.project_a, key="2", now=timezone.now())
    assert cli.main(["worker", "--once"]) == 0  # returns although one delivery failed
    states = sorted(m.state for m in messages())
    assert states == [OutboxState.PENDING, OutboxState.SENT]
    assert len(receiver.deliveries) == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_leaves_the_lease_to_run_out_and_it_is_sent_again(
        cast, receiver, tmp_path):
    receiver.hold = threading.Event()
    hook_for(cast.contractor_a, receiver)
    open_order(cast.project_a, now=timezone.now())
    [message] = messages()
    env = {**os.environ, "SMARTSITE_DATABASE_URL": database_url(), "SMARTSITE_WEBHOOK_ALLOW_PRIVATE": "1",
           "SMARTSITE_WORKER_JOBS": "*,-dust.rules,-attendance.rules",  # (the rules would add orders)
           "SMARTSITE_DATA_DIR": str(tmp_path)}
    worker = subprocess.Popen([sys.executable, "-m", "smartsite.cli", "worker", "--once"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert receiver.arrived.wait(60), "the worker never delivered"
    finally:
        worker.kill()  # SIGKILL while the receiver holds the request
        _, err = worker.communicate(timeout=30)
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.SENDING, 1), err.decode()[-2000:]
    assert outbox.deliver_due() == 0  # the lease still holds it
    receiver.hold = None
    later = timezone.now() + datetime.timedelta(hours=1)  # the lease has run out
    assert outbox.deliver_due(later) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.SENT, 2)
    assert [d.delivery_id for d in receiver.deliveries] == [str(message.pk)] * 2
    assert all(d.signature_valid for d in receiver.deliveries)


# ---------------------------------------------------------------- e-mail


def test_court_users_with_an_address_get_the_notification_by_smtp(cast, smtp_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.DEFAULT_FROM_EMAIL = "smartsite@example.test"
    cast.contractor_a.email = "contractor@example.test"
    cast.contractor_a.save()  # manager_a, also in court, has no address
    order = open_order(cast.project_a)
    assert Notification.objects.filter(order=order).count() == 2
    [message] = messages()
    assert (message.channel, message.email, message.state) == ("email", "contractor@example.test",
                                                               "pending")
    assert smtp_server.inbox.messages == []  # queued, not sent in the request

    assert outbox.deliver_due(T0) == 1
    [(sender, recipients, raw)] = smtp_server.inbox.messages
    assert sender == "smartsite@example.test" and recipients == ["contractor@example.test"]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert order.number in mail["Subject"] and "待您处置" in mail["Subject"]
    assert mail["X-Smartsite-Delivery"] == str(message.pk)
    body = mail.get_body().get_content()
    assert "静安甲项目" in body and "办理时限" in body
    message.refresh_from_db()
    assert message.state == OutboxState.SENT


def test_an_unreachable_mail_server_is_retried_with_the_reason(cast, smtp_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    smtp_server.close()
    cast.contractor_a.email = "contractor@example.test"
    cast.contractor_a.save()
    open_order(cast.project_a)
    outbox.deliver_due(T0)
    [message] = messages()
    assert message.state == OutboxState.PENDING and "邮件服务器连接失败" in message.last_error


def test_the_file_backend_writes_the_mail_into_a_directory(cast, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    cast.manager_a.email = "pm@example.test"
    cast.manager_a.save()
    order = open_order(cast.project_a)
    outbox.deliver_due(T0)
    [path] = list(tmp_path.iterdir())
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert mail["To"] == "pm@example.test" and order.number in mail["Subject"]


def _settings_in_a_fresh_process(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_EMAIL")}
    clean.update(SMARTSITE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="smartsite.settings",
                 **env)
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; "
         "print(s.EMAIL_BACKEND); print(s.EMAIL_FILE_PATH); print(s.EMAIL_HOST, s.EMAIL_PORT)"],
        env=clean, capture_output=True, text=True, timeout=60)


def test_by_default_mail_goes_to_files_in_the_data_dir_never_to_the_internet(tmp_path):
    done = _settings_in_a_fresh_process(tmp_path)
    backend, path, _ = done.stdout.splitlines()
    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert path == str(tmp_path.resolve() / "mail")


def test_the_mail_backend_and_server_come_from_the_environment(tmp_path):
    done = _settings_in_a_fresh_process(tmp_path, SMARTSITE_EMAIL_BACKEND="smtp",
                                        SMARTSITE_EMAIL_HOST="smtp.example.gov.cn",
                                        SMARTSITE_EMAIL_PORT="587")
    assert done.stdout.splitlines() == ["django.core.mail.backends.smtp.EmailBackend",
                                        str(tmp_path.resolve() / "mail"),
                                        "smtp.example.gov.cn 587"]
    bad = _settings_in_a_fresh_process(tmp_path, SMARTSITE_EMAIL_BACKEND="pigeon")
    assert bad.returncode != 0 and "SMARTSITE_EMAIL_BACKEND='pigeon'" in bad.stderr
