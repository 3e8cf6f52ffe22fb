"""The MQTT path: monitors (or their vendors' platforms) publish readings as JSON on
`smartsite/<MN>/data` to the local Mosquitto; they go through the same `Pipeline` as TCP
packets — same validation, deduplication and storage (docs/hj212.md, "MQTT").

The payload is an HJ 212 packet spelt as JSON, CP as an object keyed exactly like CP items:

    {"QN": "20261125083000123", "ST": "39", "CN": "2011", "PW": "123456",
     "MN": "31A0…", "Flag": 5,
     "CP": {"DataTime": "20261125083000", "a34002-Rtd": 45.2, "a34002-Flag": "N"}}

Delivery: QoS 1 on a persistent session (clean_session off, a fixed client id), and the
MQTT acknowledgement (PUBACK) is sent only after the reading is committed — so the broker
re-delivers whatever a killed gateway had not stored. aiomqtt 2.x has no manual-ack API yet;
we use paho's (`manual_ack_set`, `ack`) underneath, as aiomqtt issue #345 describes. When
Flag asks for an answer, a 9014 acknowledgement is also published on `smartsite/<MN>/ack`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from smartsite.hj212.codec import (
    Packet,
    ProtocolError,
    acknowledgement,
    format_segment,
    parse_segment,
)
from smartsite.hj212.handlers import RejectReason
from smartsite.hj212.pipeline import DeviceRef, Outcome, Pipeline

log = logging.getLogger("smartsite.gateway.mqtt")

ROOT = "smartsite"
CLIENT_ID = "smartsite-gateway"
MAX_PAYLOAD = 16 * 1024


class PayloadError(ValueError):
    pass


def packet_from_json(topic: str, payload: bytes) -> Packet:
    """The packet a JSON payload spells; PayloadError says exactly what is wrong."""
    parts = topic.split("/")
    topic_mn = parts[1] if len(parts) == 3 else ""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"payload is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PayloadError("payload must be a JSON object")
    missing = [k for k in ("ST", "CN", "PW", "MN", "CP") if k not in doc]
    if missing:
        raise PayloadError(f"missing field(s): {', '.join(missing)}")
    if str(doc["MN"]) != topic_mn:
        raise PayloadError(f"MN {doc['MN']!r} does not match the topic's {topic_mn!r}")
    cp = doc["CP"]
    if not isinstance(cp, dict):
        raise PayloadError("CP must be an object of CP items")
    items = []
    for key, value in cp.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise PayloadError(f"CP item {key!r} must be a string or a number")
        items.append((str(key), value if isinstance(value, str) else repr(value)))
    flag = doc.get("Flag")
    if flag is not None and (isinstance(flag, bool) or not isinstance(flag, int)):
        raise PayloadError("Flag must be an integer")
    packet = Packet(
        st=str(doc["ST"]),
        cn=str(doc["CN"]),
        pw=str(doc["PW"]),
        mn=str(doc["MN"]),
        qn=str(doc.get("QN", "")),
        flag=flag,
        cp=tuple(items),
    )
    try:
        parse_segment(format_segment(packet))  # the codec's own checks of every field
    except ProtocolError as exc:
        raise PayloadError(str(exc)) from None
    return packet


class Subscriber:
    """A `pipeline.Source` fed by the broker."""

    transport_name = "mqtt"
    device = None  # one session for every device: never proves a PW for later packets

    def __init__(self, pipeline: Pipeline, host: str, port: int, *, client_id: str = CLIENT_ID,
                 root: str = ROOT, username: str | None = None,
                 password: str | None = None) -> None:
        self.pipeline, self.host, self.port = pipeline, host, port
        self.username, self.password = username, password  # the gateway's broker account
        self.client_id, self.root, self.topic = client_id, root, f"{root}/+/data"
        self.peer = f"mqtt://{host}:{port}"
        self.open = False
        self.client = None
        self.connected = asyncio.Event()
        self._running = asyncio.Event()
        self._running.set()
        self._task: asyncio.Task | None = None
        self.refused = 0
        self.pw_failures = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        import aiomqtt

        delay = 1.0
        while True:
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier=self.client_id, clean_session=False,
                    keepalive=30, username=self.username, password=self.password,
                ) as client:
                    client._client.manual_ack_set(True)  # aiomqtt #345: PUBACK after commit
                    await client.subscribe(self.topic, qos=1)
                    self.client, self.open, delay = client, True, 1.0
                    self.connected.set()
                    log.info("MQTT: subscribed to %s on %s:%s", self.topic, self.host, self.port)
                    async for message in client.messages:
                        await self._running.wait()
                        self._take(message)
            except aiomqtt.MqttError as exc:
                self.open = False
                self.connected.clear()
                log.warning("MQTT: %s; reconnecting in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _take(self, message) -> None:
        topic = str(message.topic)
        try:
            packet = packet_from_json(topic, message.payload)
        except PayloadError as exc:
            self._refuse(topic, str(exc))
            self._ack_message(message)
            return
        if self.pipeline.submit(self, packet, message) != Outcome.QUEUED:
            # refused for good, or a reply handled here: re-delivery would not help, and an
            # unacknowledged message holds one of the broker's in-flight slots for ever
            self._ack_message(message)

    def _refuse(self, topic: str, detail: str) -> None:
        parts = topic.split("/")
        mn = (parts[1] if len(parts) == 3 else "")[:24] or "?"
        self.refused += 1
        self.pipeline.refuse(
            self,
            mn,
            RejectReason.BAD_DATA,
            f"MQTT {topic}: {detail}",
            self.pipeline._now(),
            self.pipeline.devices.get(mn),
        )

    def _ack_message(self, message) -> None:
        if self.client is not None and message.qos > 0:
            self.client._client.ack(message.mid, message.qos)

    # Source

    def acknowledge(self, packet: Packet, token: object = None) -> None:
        if token is not None:
            self._ack_message(token)
        if packet.ack_wanted and self.client is not None:
            reply = json.dumps({"segment": format_segment(acknowledgement(packet))})
            asyncio.get_running_loop().create_task(self._publish(f"{self.root}/{packet.mn}/ack", reply))

    async def _publish(self, topic: str, payload: str) -> None:
        try:
            await self.client.publish(topic, payload, qos=0)
        except Exception as exc:
            log.debug("MQTT ack publish failed: %s", exc)

    def send(self, packet: Packet) -> None:
        if self.client is not None:
            body = json.dumps({"segment": format_segment(packet)})
            asyncio.get_running_loop().create_task(self._publish(f"{self.root}/{packet.mn}/cmd", body))

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def attach(self, device: DeviceRef) -> None:
        pass

    def close(self, reason: str) -> None:
        pass  # the broker's session is shared: wrong PWs lock the MN instead (hj212.throttle)
