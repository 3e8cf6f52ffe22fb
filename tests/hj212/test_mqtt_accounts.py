"""The broker set-up docs/hj212.md ("Broker accounts") asks for, on a private Mosquitto:
no anonymous clients, one account per device named by its MN that may publish only on its own
topic, and the gateway logging in with its own account (SMARTSITE_MQTT_USERNAME/PASSWORD)."""

from __future__ import annotations

import datetime
import json
import shutil
import socket
import subprocess

import pytest
from support.gateway import GatewayProcess, wait_for
from support.monitors import add_monitor

from smartsite.dust.models import Reading

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
AT = datetime.datetime(2026, 11, 25, 10, 3, tzinfo=SHANGHAI)  # a fixed instant
ROOT = "smartsite"
OURS, THEIRS = "31ACL0000000000000000001", "31ACL0000000000000000002"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mosquitto(tmp_path):
    if not shutil.which("mosquitto") and not shutil.which("/usr/sbin/mosquitto"):
        from conftest import require_service

        require_service("Mosquitto", "no mosquitto binary")
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    passwd.touch()
    for user, pw in (("gateway", "gw-secret"), (OURS, "ours-secret"), (THEIRS, "theirs-secret")):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, pw], check=True)
    acl.write_text(f"""user gateway
topic read {ROOT}/+/data
topic write {ROOT}/+/ack
topic write {ROOT}/+/cmd

pattern write {ROOT}/%u/data
pattern read {ROOT}/%u/ack
pattern read {ROOT}/%u/cmd
""")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"""listener {port} 127.0.0.1
allow_anonymous false
password_file {passwd}
acl_file {acl}
persistence false
user root
""")
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    assert wait_for(lambda: _listens(port), timeout=10)
    yield port
    proc.terminate()
    proc.wait(10)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def client(port: int, user: str | None, pw: str | None):
    from paho.mqtt import client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"c-{user}")
    if user:
        c.username_pw_set(user, pw)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def reading(mn: str, at: datetime.datetime, pm10: float) -> bytes:
    return json.dumps({
        "QN": at.strftime("%Y%m%d%H%M%S000"), "ST": "39", "CN": "2011", "PW": "123456",
        "MN": mn, "Flag": 4,
        "CP": {"DataTime": at.strftime("%Y%m%d%H%M%S"), "a34002-Rtd": pm10,
               "a34002-Flag": "N"}}).encode()


def test_each_device_publishes_only_on_its_own_topic(tmp_path, mosquitto, cast, reference):
    ours, theirs = (add_monitor(cast.project_a, mn=mn) for mn in (OURS, THEIRS))
    gateway = GatewayProcess(tmp_path, mqtt=True, mqtt_port=mosquitto, mqtt_topic_root=ROOT,
                             mqtt_client_id="gw-acl", mqtt_username="gateway",
                             mqtt_password="gw-secret", reading_retention_days=0).start()
    try:
        assert wait_for(lambda: "subscribed" in gateway.output(), timeout=20), gateway.output()
        device = client(mosquitto, OURS, "ours-secret")
        # a forged reading for the other site, on its topic: the broker drops it
        device.publish(f"{ROOT}/{THEIRS}/data", reading(THEIRS, AT, 999.0), qos=1).wait_for_publish(10)
        device.publish(f"{ROOT}/{OURS}/data", reading(OURS, AT, 66.5), qos=1).wait_for_publish(10)
        row = wait_for(lambda: Reading.objects.filter(monitor=ours).first())
        assert row.pm10 == 66.5
        # nobody without an account gets anything through
        anonymous = client(mosquitto, None, None)
        anonymous.publish(f"{ROOT}/{THEIRS}/data", reading(THEIRS, AT, 998.0), qos=0)
        # the other device's own reading, sent last, is the first of theirs to arrive
        other = client(mosquitto, THEIRS, "theirs-secret")
        later = AT + datetime.timedelta(minutes=1)
        other.publish(f"{ROOT}/{THEIRS}/data", reading(THEIRS, later, 70.0), qos=1).wait_for_publish(10)
        assert wait_for(lambda: Reading.objects.filter(monitor=theirs).exists())
        assert list(Reading.objects.filter(monitor=theirs).values_list("pm10", flat=True)) == [70.0]
        for c in (device, anonymous, other):
            c.loop_stop()
            c.disconnect()
    finally:
        gateway.stop()
