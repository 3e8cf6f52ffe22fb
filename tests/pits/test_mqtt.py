"""Surveys over MQTT against the real Mosquitto: a batch published on
<root>/pits/<pit>/surveys is stored by the worker's job through record_survey and answered on
…/surveys/ack with the counts or every error; a re-published batch adds nothing; a batch
published while the job is away waits in the broker for its next round."""

from __future__ import annotations

import datetime
import json
import os
import queue
import socket
import uuid

import pytest
from support.pits import T0, build_site

from smartsite.core import services as core_services
from smartsite.pits import mqtt
from smartsite.pits.models import Reading, Upload

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # MQTT (tests/conftest.py)
HOST, PORT = os.environ.get("SMARTSITE_MQTT_HOST", "127.0.0.1"), 1883
NOW = T0 + datetime.timedelta(days=10)


def _broker_up() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=2).close()
        return True
    except OSError:
        return False


class Broker:
    """Our own topic root and session on the broker, a device that publishes and listens to
    the acknowledgements, and the job's round."""

    def __init__(self):
        from paho.mqtt import client as paho

        self.root = f"t{uuid.uuid4().hex[:10]}"
        self.session = f"pits-{self.root}"
        self.acks: queue.Queue = queue.Queue()
        self.device = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"dev-{self.root}")
        self.device.on_message = lambda _c, _u, m: self.acks.put(json.loads(m.payload))
        self.device.connect(HOST, PORT)
        self.device.loop_start()
        self.device.subscribe(f"{self.root}/pits/+/surveys/ack", qos=1)
        self.drain()  # the job's persistent session exists from here on

    def publish(self, pit, payload) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.device.publish(f"{self.root}/pits/{pit.pk}/surveys", body, qos=1).wait_for_publish(10)

    def drain(self) -> int:
        return mqtt.drain(host=HOST, port=PORT, root=self.root, client_id=self.session, now=NOW)

    def ack(self) -> dict:
        return self.acks.get(timeout=10)

    def close(self) -> None:
        from paho.mqtt import client as paho

        self.device.loop_stop()
        self.device.disconnect()
        # end the job's persistent session on the shared broker
        gone = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.session,
                           clean_session=True)
        gone.connect(HOST, PORT)
        gone.disconnect()


@pytest.fixture
def broker():
    if not _broker_up():
        from conftest import require_service

        require_service("Mosquitto", f"nothing listens on {HOST}:{PORT}")
    b = Broker()
    yield b
    b.close()


@pytest.fixture
def site(cast):
    return build_site(cast)


@pytest.fixture
def token(site):
    _, key = core_services.issue_token(site.monitor_user, actor=site.monitor_user, name="采集仪")
    return key


def batch(token, values, *, point="WY-01", name="b1"):
    return {"token": token, "batch": name, "rows": [
        {"point": point, "measured_at": (T0 + n * datetime.timedelta(days=1)).isoformat(),
         "value": v, "unit": "mm"} for n, v in enumerate(values)]}


def test_a_published_batch_is_stored_acknowledged_and_idempotent(broker, site, token):
    broker.publish(site.pit, batch(token, [0.0, 0.2, 0.1, 0.6]))
    assert broker.drain() == 1
    ack = broker.ack()
    assert ack["ok"] and ack["batch"] == "b1"
    assert (ack["readings"], ack["duplicates"], ack["late"]) == (4, 0, 4)
    assert ack["proposed_colour"] == "green"
    upload = Upload.objects.get()
    assert upload.source == "mqtt" and upload.uploaded_by == site.monitor_user
    assert Reading.objects.filter(point__code="WY-01").count() == 4
    broker.publish(site.pit, batch(token, [0.0, 0.2, 0.1, 0.6]))  # sent again
    assert broker.drain() == 1
    ack = broker.ack()
    assert ack["ok"] and (ack["readings"], ack["duplicates"]) == (0, 4)
    assert Reading.objects.count() == 4


def test_batches_published_while_the_job_is_away_wait_for_its_next_round(broker, site, token):
    broker.publish(site.pit, batch(token, [0.0, 0.1], name="first"))
    broker.publish(site.pit, batch(token, [1.0, 1.1], point="DB-01", name="second"))
    assert broker.drain() == 2
    assert {broker.ack()["batch"], broker.ack()["batch"]} == {"first", "second"}
    assert Reading.objects.count() == 4


def test_a_bad_batch_is_answered_with_every_error_and_nothing_is_stored(broker, site, token):
    bad = batch(token, [0.0, 1.0])
    bad["rows"].append({"point": "NOPE-9", "measured_at": T0.isoformat(), "value": 1})
    bad["rows"].append({"point": "ZL-01", "measured_at": T0.isoformat(), "value": 1, "unit": "mm"})
    broker.publish(site.pit, bad)
    broker.publish(site.pit, {**batch(token, [0.0]), "rows": [{"point": "WY-01", "value": "x"}]})
    broker.publish(site.pit, b"not json")
    assert broker.drain() == 3
    errors = {e["where"]: e["message"] for e in broker.ack()["errors"]}
    assert "NOPE-9" in errors["rows[2]"] and "单位应为 kN" in errors["rows[3]"]
    schema = broker.ack()
    assert not schema["ok"] and {e["where"] for e in schema["errors"]} >= {
        "rows.0.measured_at", "rows.0.value"}
    assert "不是 JSON" in broker.ack()["errors"][0]["message"]
    assert not Reading.objects.exists() and not Upload.objects.exists()


def test_only_a_valid_token_of_the_monitoring_company_is_taken(broker, site, token):
    _, designer = core_services.issue_token(site.designer_user, actor=site.designer_user,
                                            name="x")
    broker.publish(site.pit, batch("ss_forged", [1.0]))
    broker.publish(site.pit, batch(designer, [1.0]))
    broker.publish(site.pit, {"rows": batch(token, [1.0])["rows"]})
    assert broker.drain() == 3
    assert "令牌" in broker.ack()["errors"][0]["message"]
    assert "监测单位" in broker.ack()["errors"][0]["message"]
    assert "令牌" in broker.ack()["errors"][0]["message"]
    assert not Reading.objects.exists()
