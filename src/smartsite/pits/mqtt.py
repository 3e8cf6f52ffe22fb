"""Surveys over MQTT: automated monitoring systems publish JSON batches to the platform's
Mosquitto on `<root>/pits/<pit id>/surveys` (root: SMARTSITE_MQTT_TOPIC_ROOT, `smartsite`),
QoS 1; the platform stores each through `services.record_survey` (source mqtt — the same
checks, all or nothing, re-sent rows ignored) and answers on `<topic>/ack`.

Payload — the API's `POST /pits/{pk}/surveys` body plus the sender's API token:

    {"token": "ss_…", "batch": "2026-03-02T09:00 CX-01",   (batch: optional, echoed back)
     "rows": [{"point": "WY-01", "measured_at": "2026-03-02T09:00:00+08:00", "value": 3.2}, …]}

Answer: {"ok": true, "batch": …, "upload": id, "readings": n, "duplicates": n, "late": n,
"proposed_colour": "green"} or {"ok": false, "batch": …, "errors": [{"where", "message"}, …]}.

Who may publish: MQTT 3.1.1 does not tell a subscriber who published a message, so broker
accounts alone cannot say which company sent a survey. The payload carries an API token of a
user of the project's 监测单位 (the same credential and the same permission check as the
REST API: `permissions.require_upload`); a revoked token is refused at once. The broker's own
accounts (docs/hj212.md, "Broker accounts") still keep strangers off: give each monitoring
system an account with `topic write <root>/pits/+/surveys` and `topic read
<root>/pits/+/surveys/ack`, and the platform's account `topic read <root>/pits/+/surveys`,
`topic write <root>/pits/+/surveys/ack`.

Where it runs: not in the HJ 212 gateway (`smartsite gateway` imports no scenario, an
import-linter contract), but as the declared worker job `pits.mqtt_surveys`: each round it
connects with a persistent session (clean session off, a fixed client id), takes what the
broker kept for it (QoS 1 messages queue while it is away), stores them one by one and
acknowledges each (PUBACK) only after its transaction committed, so a killed worker's
messages are delivered again (and a re-delivered survey is a duplicate, not a second copy).
Nothing in `core` changes; latency is the worker's interval (5 s), ample for surveys taken
hourly at most. Senders must publish with QoS 1 (QoS 0 messages are not kept for an absent
subscriber).
"""

from __future__ import annotations

import json
import logging
import queue
import threading

from django.conf import settings
from pydantic import ValidationError

from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import ApiToken
from smartsite.pits import selectors, services
from smartsite.pits.choices import Source

log = logging.getLogger("smartsite.pits.mqtt")

CLIENT_ID = "smartsite-pits-surveys"
MAX_PAYLOAD = 4 * 1024 * 1024
#: A round ends when the broker has sent nothing for this long (s), or after LIMIT messages.
IDLE = 0.5
LIMIT = 200


def topic_filter(root: str) -> str:
    return f"{root}/pits/+/surveys"


def handle(topic: str, payload: bytes, *, now=None) -> dict:
    """Store one published batch; the answer to publish on `<topic>/ack`."""
    from smartsite.pits.api import SurveyIn

    batch = None

    def refused(errors) -> dict:
        return {"ok": False, "batch": batch,
                "errors": [{"where": w, "message": m} for w, m in errors]}

    parts = topic.split("/")
    if len(parts) < 4 or parts[-1] != "surveys" or parts[-3] != "pits" or not parts[-2].isdigit():
        return refused([("", f"主题“{topic}”应为 <root>/pits/<基坑编号>/surveys")])
    if len(payload) > MAX_PAYLOAD:
        return refused([("", f"消息超过 {MAX_PAYLOAD // 1048576} MB，请分批发送")])
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refused([("", f"消息不是 JSON：{exc}")])
    if not isinstance(doc, dict):
        return refused([("", "消息应为 JSON 对象：{\"token\": …, \"rows\": […]}")])
    batch = doc.get("batch") if isinstance(doc.get("batch"), str | int) else None
    token = ApiToken.find(doc["token"]) if isinstance(doc.get("token"), str) else None
    if token is None:
        return refused([("token", "API 令牌缺失、无效或已撤销")])
    user = token.user
    pit = selectors.pits(user).filter(pk=int(parts[-2])).first()
    if pit is None:
        return refused([("", f"基坑 {parts[-2]} 不存在或无权访问")])
    try:
        survey = SurveyIn.model_validate({"rows": doc.get("rows")})
    except ValidationError as exc:
        return refused([(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()])
    rows = [services.SurveyRow(point=r.point, measured_at=r.measured_at, value=r.value,
                               unit=r.unit, depth_m=r.depth_m, where=f"rows[{i}]")
            for i, r in enumerate(survey.rows)]
    try:
        upload = services.record_survey(pit, rows, source=Source.MQTT, actor=user, now=now)
    except services.SurveyRejected as exc:
        return refused(exc.errors)
    except Forbidden as exc:  # not the project's 监测单位
        return refused([("token", str(exc))])
    except DomainError as exc:
        return refused([(exc.field or "", exc.message)])
    pit.refresh_from_db(fields=["proposed_colour"])
    return {"ok": True, "batch": batch, "upload": upload.pk, "readings": upload.readings,
            "duplicates": upload.duplicates, "late": upload.late,
            "proposed_colour": pit.proposed_colour}


def drain(*, host: str | None = None, port: int | None = None, root: str | None = None,
          client_id: str = CLIENT_ID, username: str | None = None, password: str | None = None,
          idle: float = IDLE, limit: int = LIMIT, now=None) -> int:
    """One round: take what the broker holds for our session, store and answer each message,
    acknowledge it after its commit. Returns how many messages were handled."""
    from paho.mqtt import client as mqtt

    host = host or settings.MQTT_HOST
    port = port or settings.MQTT_PORT
    root = root or settings.MQTT_TOPIC_ROOT
    username = username if username is not None else (settings.MQTT_USERNAME or None)
    password = password if password is not None else (settings.MQTT_PASSWORD or None)
    inbox: queue.Queue = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=False)
    client.manual_ack_set(True)
    if username:
        client.username_pw_set(username, password)
    client.on_message = lambda _c, _u, message: inbox.put(message)
    client.on_subscribe = lambda *_: subscribed.set()
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        log.warning("pits MQTT: cannot reach %s:%s (%s)", host, port, exc)
        return 0
    client.loop_start()
    handled = 0
    try:
        client.subscribe(topic_filter(root), qos=1)
        if not subscribed.wait(10):
            log.warning("pits MQTT: no SUBACK from %s:%s", host, port)
            return 0
        while handled < limit:
            try:
                message = inbox.get(timeout=idle)
            except queue.Empty:
                break
            try:
                reply = handle(message.topic, message.payload, now=now)
            except Exception:  # a bug or the database: leave the message for the next round
                log.exception("pits MQTT: %s not stored", message.topic)
                break
            client.publish(f"{message.topic}/ack", json.dumps(reply, ensure_ascii=False),
                           qos=1).wait_for_publish(10)
            client.ack(message.mid, message.qos)
            handled += 1
    finally:
        client.disconnect()
        client.loop_stop()
    if handled:
        log.info("pits MQTT: %d survey batch(es) handled", handled)
    return handled


def run() -> int:
    """The worker job `pits.mqtt_surveys` (nothing when MQTT is switched off)."""
    if not settings.MQTT_ENABLED:
        return 0
    return drain()
