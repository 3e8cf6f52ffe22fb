"""The webhook page (/account/webhooks/): add one and see its secret once, bad input refused
with a message and nothing created, test deliveries through the worker, the deliveries'
state, attempts and error, pause, resend and delete — and other users' webhooks are 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from smartsite.exchange import services as outbox
from smartsite.exchange.models import OutboxMessage, Webhook

pytestmark = pytest.mark.usefixtures("local_webhooks")

PAGE = "/account/webhooks/"


def add(client, **data):
    form = {"name": "施工单位接收端", "url": "https://hooks.example.com/smartsite",
            "events": ["order.*"]}
    form.update(data)
    return client.post(PAGE, {k: v for k, v in form.items() if v is not None})


def test_the_page_is_linked_from_the_header_and_needs_a_login(client, login, cast):
    assert reverse("exchange:webhooks") == PAGE
    assert client.get(PAGE).status_code == 302
    page = login(cast.contractor_a).get("/")
    assert f'href="{PAGE}"' in page.content.decode()


def test_a_contractor_adds_a_webhook_and_sees_its_secret_once(login, cast):
    client = login(cast.contractor_a)
    response = add(client, events=["order.dispose", "order.escalate"])
    assert response.status_code == 302
    hook = Webhook.objects.get()
    assert (hook.owner, hook.url, hook.events) == (
        cast.contractor_a, "https://hooks.example.com/smartsite",
        ["order.dispose", "order.escalate"])
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    first = client.get(PAGE).content.decode()
    assert hook.secret in first and "只显示这一次" in first
    assert "已添加 Webhook" in first and "提交处置（order.dispose）" in first
    again = client.get(PAGE).content.decode()
    assert hook.secret not in again and "施工单位接收端" in again


@pytest.mark.parametrize(("data", "words"), [
    ({"name": ""}, "请填写名称"),
    ({"name": "   "}, "请填写名称"),
    ({"url": ""}, "请填写接收地址"),
    ({"url": "ftp://hooks.example.com/x"}, "只能是 http:// 或 https://"),
    ({"url": "javascript:alert(1)"}, "只能是 http:// 或 https://"),
    ({"url": "hooks.example.com/x"}, "只能是 http:// 或 https://"),
    ({"url": "https:///path-only"}, "缺少主机名"),
    ({"url": "https://hooks.example.com:99999/x"}, "端口号无效"),
    ({"url": "https://user:pw@hooks.example.com/x"}, "不能包含用户名或密码"),
    ({"url": "https://hooks.example.com/a b"}, "不能包含空格"),
    ({"events": ["order.bogus"]}, "未知的事件类型“order.bogus”"),
    ({"events": None}, "请至少选择一种事件类型"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_is_created(login, cast, data, words):
    response = add(login(cast.contractor_a), **data)
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not Webhook.objects.exists()


def test_an_internal_address_is_refused_by_default(login, cast, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client = login(cast.contractor_a)
    for url in ("http://127.0.0.1:8000/x", "http://localhost/x", "http://192.168.1.10/x",
                "http://[::1]/x", "http://169.254.169.254/latest/meta-data"):
        response = add(client, url=url)
        assert response.status_code == 422, url
        assert "不能是本机或内网地址" in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_test_delivery_is_queued_then_sent_by_the_worker_and_listed(login, cast, receiver):
    client = login(cast.contractor_a)
    add(client, url=receiver.url)
    hook = Webhook.objects.get()
    receiver.secret = hook.secret
    response = client.post(reverse("exchange:webhook_test", args=[hook.pk]), follow=True)
    assert "已将测试推送加入发送队列" in response.content.decode()
    [message] = OutboxMessage.objects.filter(webhook=hook)
    assert message.event == "ping" and receiver.deliveries == []
    assert "待发送" in client.get(PAGE).content.decode()

    assert outbox.deliver_due() == 1
    [delivery] = receiver.deliveries
    assert delivery.event == "ping" and delivery.signature_valid
    assert delivery.body["webhook"] == {"id": hook.pk, "name": "施工单位接收端"}
    page = client.get(PAGE).content.decode()
    assert "已送达" in page and "HTTP 200" in page


def test_a_failing_delivery_shows_its_state_attempts_and_error_and_can_be_resent(
        login, cast, receiver, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    receiver.answers = [502, 502]
    client = login(cast.contractor_a)
    add(client, url=receiver.url)
    hook = Webhook.objects.get()
    client.post(reverse("exchange:webhook_test", args=[hook.pk]))
    message = OutboxMessage.objects.get()
    outbox.deliver_due()
    message.refresh_from_db()
    page = client.get(PAGE).content.decode()
    assert "待发送" in page and "HTTP 502" in page  # retrying, with the next attempt time
    outbox.deliver_due(message.next_attempt_at)
    page = client.get(PAGE).content.decode()
    assert "已放弃" in page and "HTTP 502" in page and "接收方出错" in page
    assert '<td class="num">2</td>' in page  # attempts
    response = client.post(reverse("exchange:delivery_redeliver", args=[message.pk]),
                           follow=True)
    assert "已重新加入发送队列" in response.content.decode()
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 0)
    outbox.deliver_due(message.next_attempt_at)
    message.refresh_from_db()
    assert message.state == "sent"


def test_pausing_resuming_and_deleting(login, cast):
    client = login(cast.contractor_a)
    add(client)
    hook = Webhook.objects.get()
    client.post(reverse("exchange:webhook_active", args=[hook.pk]), {"active": "0"})
    hook.refresh_from_db()
    assert not hook.active
    response = client.post(reverse("exchange:webhook_test", args=[hook.pk]), follow=True)
    assert "已停用" in response.content.decode() and not OutboxMessage.objects.exists()
    client.post(reverse("exchange:webhook_active", args=[hook.pk]), {"active": "1"})
    hook.refresh_from_db()
    assert hook.active
    response = client.post(reverse("exchange:webhook_delete", args=[hook.pk]), follow=True)
    assert "已删除" in response.content.decode() and not Webhook.objects.exists()


def test_another_users_webhook_is_404_and_untouched(login, cast):
    hook = outbox.create_webhook(cast.contractor_a, name="甲", url="https://a.example.com/h",
                                 events=["order.*"])
    message = outbox.send_test(hook, actor=cast.contractor_a)
    client = login(cast.contractor_b)
    for name, args in (("exchange:webhook_active", [hook.pk]), ("exchange:webhook_delete", [hook.pk]),
                       ("exchange:webhook_test", [hook.pk]),
                       ("exchange:delivery_redeliver", [message.pk])):
        assert client.post(reverse(name, args=args), {"active": "0"}).status_code == 404, name
    page = client.get(PAGE).content.decode()
    assert "a.example.com" not in page and hook.secret not in page
    hook.refresh_from_db()
    assert hook.active and OutboxMessage.objects.count() == 1


def test_actions_need_post(login, cast):
    hook = outbox.create_webhook(cast.contractor_a, name="甲", url="https://a.example.com/h",
                                 events=["order.*"])
    client = login(cast.contractor_a)
    assert client.get(reverse("exchange:webhook_delete", args=[hook.pk])).status_code == 405
    assert Webhook.objects.exists()
