"""The MQTT path against the real Mosquitto: JSON readings on <root>/<MN>/data are validated,
deduplicated and stored like TCP packets, and the broker keeps what the gateway has not
committed (a persistent session, PUBACK after commit)."""

from __future__ import annotations

import datetime
import json
import os
import queue
import socket
import uuid

import pytest
from support.gateway import GatewayProcess, wait_for
from support.monitors import add_monitor

from smartsite.dust.models import DeviceRejection, MonitorStatus, Reading
from smartsite.dust.partitions import ensure_partitions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime.now(SHANGHAI).replace(second=0, microsecond=0)
HOST, PORT = os.environ.get("SMARTSITE_MQTT_HOST", "127.0.0.1"), 1883


def _broker_up() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def root():
    if not _broker_up():
        from conftest import require_service

        require_service("Mosquitto", f"nothing listens on {HOST}:{PORT}")
    return f"t{uuid.uuid4().hex[:10]}"  # our own topics: other gateways never see them


@pytest.fixture
def monitor(cast, reference):
    ensure_partitions(NOW.date() - datetime.timedelta(days=1), NOW.date() + datetime.timedelta(days=1))
    return add_monitor(cast.project_a, mn="31MQTT000000000000000001")


class Broker:
    """A paho client publishing as a monitor would, and listening for acknowledgements."""

    def __init__(self, root: str) -> None:
        from paho.mqtt import client as mqtt

        self.root, self.acks = root, queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dev-{root}")
        self.client.on_message = lambda _c, _u, msg: self.acks.put(json.loads(msg.payload))
        self.client.connect(HOST, PORT)
        self.client.subscribe(f"{root}/+/ack", qos=1)
        self.client.loop_start()

    def publish(self, mn: str, payload, qos: int = 1) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(f"{self.root}/{mn}/data", body, qos=qos).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(root):
    b = Broker(root)
    yield b
    b.close()


def reading(mn: str, at: datetime.datetime, pm10=66.5, pw="123456") -> dict:
    return {"QN": at.strftime("%Y%m%d%H%M%S000"), "ST": "39", "CN": "2011", "PW": pw, "MN": mn,
            "Flag": 5, "CP": {"DataTime": at.strftime("%Y%m%d%H%M%S"), "a34002-Rtd": pm10,
                              "a34002-Flag": "N", "LA-Rtd": "57.1", "LA-Flag": "N"}}


def start_gateway(tmp_path, root):
    gateway = GatewayProcess(tmp_path, mqtt=True, mqtt_topic_root=root,
                             mqtt_client_id=f"gw-{root}").start()
    assert wait_for(lambda: "subscribed" in gateway.output(), timeout=20), gateway.output()
    return gateway


def test_a_json_reading_is_stored_and_acknowledged(tmp_path, root, broker, monitor):
    gateway = start_gateway(tmp_path, root)
    try:
        broker.publish(monitor.mn, reading(monitor.mn, NOW))
        broker.publish(monitor.mn, reading(monitor.mn, NOW))  # re-sent: stored once
        ack = broker.acks.get(timeout=20)
        assert "CN=9014" in ack["segment"] and NOW.strftime("QN=%Y%m%d%H%M%S000") in ack["segment"]
        row = wait_for(lambda: Reading.objects.filter(monitor=monitor).first())
        assert (row.pm10, row.noise, row.flags[:2]) == (66.5, 57.1, "-N")
        broker.acks.get(timeout=20)
        assert Reading.objects.filter(monitor=monitor).count() == 1
        status = wait_for(lambda: MonitorStatus.objects.filter(monitor=monitor).first())
        assert status.transport == "mqtt" and status.values["pm10"] == 66.5
    finally:
        gateway.stop()


def test_a_spray_state_over_mqtt_is_stored(tmp_path, root, broker, monitor):
    from smartsite.dust.models import SprayDevice, SprayReading

    cannon = SprayDevice.objects.create(monitor=monitor, name="大门雾炮", sb_code="SB1")
    gateway = start_gateway(tmp_path, root)
    try:
        state = {**reading(monitor.mn, NOW), "CN": "2021",
                 "CP": {"DataTime": NOW.strftime("%Y%m%d%H%M%S"), "SB1-RS": 1}}
        broker.publish(monitor.mn, state)
        assert "CN=9014" in broker.acks.get(timeout=20)["segment"]
        assert wait_for(lambda: SprayReading.objects.filter(device=cannon, running=True).exists())
        cannon.refresh_from_db()
        assert cannon.running is True
    finally:
        gateway.stop()


BAD_PAYLOADS = [
    (b"{not json", "payload is not JSON"),
    (json.dumps({"ST": "39"}).encode(), "missing field(s): CN, PW, MN, CP"),
    (json.dumps({**reading("31OTHER00000000000000001", NOW)}).encode(), "does not match the topic"),
    (json.dumps({**reading("31MQTT000000000000000001", NOW, pm10=[1])}).encode(),
     "must be a string or a number"),
    (json.dumps({**reading("31MQTT000000000000000001", NOW, pm10="abc")}).encode(),
     "is not a number"),
]


def test_bad_payloads_are_refused_with_the_reason_and_store_nothing(tmp_path, root, broker,
                                                                     monitor):
    """Each bad payload, one after the other to one running gateway (a process start per
    payload cost ~2 s each): each is counted as a refusal of its device with its own reason
    (one row per device and kind of refusal, its detail the latest), and none stores a
    reading or stops the gateway taking the next."""
    gateway = start_gateway(tmp_path, root)

    def refused(n, detail):  # n refusals counted so far, the last one for `detail`
        rows = DeviceRejection.objects.filter(mn=monitor.mn)
        return sum(r.count for r in rows) >= n and any(detail in r.detail for r in rows)

    try:
        for n, (payload, detail) in enumerate(BAD_PAYLOADS, start=1):
            broker.publish(monitor.mn, payload)
            assert wait_for(lambda n=n, detail=detail: refused(n, detail)), (
                detail, list(DeviceRejection.objects.values_list("count", "detail")),
                gateway.output())
        assert not Reading.objects.exists()
    finally:
        gateway.stop()


def test_readings_published_while_the_gateway_is_down_arrive_when_it_is_back(
        tmp_path, root, broker, monitor):
    gateway = start_gateway(tmp_path, root)  # makes the persistent session and subscription
    gateway.kill()
    times = [NOW - datetime.timedelta(minutes=i) for i in range(5)]
    for at in times:
        broker.publish(monitor.mn, reading(monitor.mn, at))
    gateway = start_gateway(tmp_path, root)
    try:
        assert wait_for(lambda: Reading.objects.filter(monitor=monitor).count() == 5), \
            gateway.output()
    finally:
        gateway.stop()


def test_replies_are_acknowledged_so_they_never_block_the_readings_behind_them(
        tmp_path, root, broker, monitor):
    gateway = start_gateway(tmp_path, root)
    try:
        reply = {"QN": "20261125083000123", "ST": "91", "CN": "9011", "PW": "123456",
                 "MN": monitor.mn, "Flag": 4, "CP": {"QnRtn": "1"}}
        for _ in range(25):  # more than the broker's 20 unacknowledged messages in flight
            broker.publish(monitor.mn, reply)
        broker.publish(monitor.mn, reading(monitor.mn, NOW))
        assert wait_for(lambda: Reading.objects.filter(monitor=monitor).exists(), timeout=20), \
            gateway.output()
        assert not DeviceRejection.objects.exists()
    finally:
        gateway.stop()


def test_wrong_pws_over_mqtt_lock_the_mn_like_over_tcp(tmp_path, root, broker, monitor):
    gateway = GatewayProcess(tmp_path, mqtt=True, mqtt_topic_root=root,
                             mqtt_client_id=f"gw-{root}", hj212_pw_mn_failures=3).start()
    try:
        assert wait_for(lambda: "subscribed" in gateway.output(), timeout=20), gateway.output()
        for k in range(3):
            broker.publish(monitor.mn, reading(monitor.mn, NOW, pw=f"99999{k}"))
        broker.publish(monitor.mn, reading(monitor.mn, NOW))  # the right PW, during the lock
        counts = wait_for(lambda: dict(DeviceRejection.objects.filter(mn=monitor.mn)
                                       .values_list("reason", "count"))
                          if DeviceRejection.objects.filter(mn=monitor.mn, reason="pw_locked",
                                                            count=2).exists() else None)
        assert counts == {"bad_password": 3, "pw_locked": 2}, gateway.output()
        assert not Reading.objects.exists() and broker.acks.empty()
    finally:
        gateway.stop()
