"""Nothing lost, nothing twice: the gateway killed with -9 mid-stream, and the database away
for ten seconds mid-stream (design.md §2 rules 5 and 6)."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connection
from support.db import database_url
from support.gateway import Device, GatewayProcess, wait_for
from support.monitors import add_monitor
from support.proxy import Proxy

from smartsite.dust.models import Reading
from smartsite.dust.partitions import ensure_partitions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
PACKETS = 300  # per monitor, one a minute going back from NOW


@pytest.fixture
def monitors(cast, reference):
    ensure_partitions(NOW.date() - datetime.timedelta(days=1), NOW.date() + datetime.timedelta(days=1))
    return [add_monitor(cast.project_a, mn=f"31RL{i:020d}") for i in range(8)]


def stored_times(monitor) -> set:
    return set(Reading.objects.filter(monitor=monitor).values_list("data_time", flat=True))


class Stream(threading.Thread):
    """A monitor sending its packets in bursts of ten and noting which were acknowledged."""

    def __init__(self, port: int, monitor, packets) -> None:
        super().__init__(daemon=True)
        self.device = Device(port, monitor.mn)
        self.packets = packets
        self.acked: set[str] = set()

    def run(self) -> None:
        try:
            for i in range(0, len(self.packets), 10):
                burst = self.packets[i:i + 10]
                self.device.send(*burst)
                self.acked.update(a.qn for a in self.device.read_acks(i + len(burst), timeout=5))
                time.sleep(0.01)
        except OSError:
            pass  # the gateway went away
        self.acked.update(a.qn for a in self.device.acks)


def packets_for(device: Device):
    return [device.packet(NOW - datetime.timedelta(minutes=k), pm10=50 + k % 40)
            for k in range(PACKETS)]


def resend_until_acknowledged(port: int, monitor, packets) -> None:
    device = Device(port, monitor.mn)
    device.send(*packets)
    assert len(device.read_acks(len(packets), timeout=60)) == len(packets)
    device.close()


def test_kill_9_mid_stream_loses_no_acknowledged_packet_and_resending_duplicates_nothing(
        tmp_path, monitors):
    gateway = GatewayProcess(tmp_path).start()
    streams = []
    for m in monitors:
        probe = Device.__new__(Device)
        probe.mn, probe.pw = m.mn, "123456"
        streams.append(Stream(gateway.port, m, packets_for(probe)))
    for s in streams:
        s.start()
    assert wait_for(lambda: sum(len(s.acked) for s in streams) >= 100 or
                    Reading.objects.count() >= 200, timeout=30)
    gateway.kill()  # SIGKILL: no goodbye, no flush
    for s in streams:
        s.join(30)
    acked_total = sum(len(s.acked) for s in streams)
    assert 0 < acked_total < PACKETS * len(monitors), "the kill should land mid-stream"
    for s, m in zip(streams, monitors, strict=True):
        qn_time = {p.qn: p for p in s.packets}
        stored = stored_times(m)
        for qn in s.acked:
            at = datetime.datetime.strptime(qn_time[qn].get("DataTime"), "%Y%m%d%H%M%S")
            at = at.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
            assert at in stored, f"{m.mn}: acknowledged {qn} is not in the database"
    # the monitors re-send everything they were not sure of (here: everything), once back
    gateway = GatewayProcess(tmp_path).start()
    try:
        for s, m in zip(streams, monitors, strict=True):
            resend_until_acknowledged(gateway.port, m, s.packets)
        for m in monitors:
            assert Reading.objects.filter(monitor=m).count() == PACKETS
    finally:
        gateway.stop()


def test_database_away_for_ten_seconds_means_no_acks_then_recovery_by_itself(tmp_path, monitors):
    if connection.vendor != "postgresql":
        pytest.skip("the embedded SQLite cannot go away; this test runs in the PostgreSQL pass")
    db = connection.settings_dict
    proxy = Proxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    url = database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    gateway = GatewayProcess(tmp_path, db_url=url, hj212_high_water=200).start()
    try:
        first = Device(gateway.port, monitors[0].mn)
        first.send(first.packet(NOW))
        assert len(first.read_acks(1)) == 1  # the database is there
        proxy.cut()
        during = [Device(gateway.port, m.mn) for m in monitors[1:4]]
        sent = {d.mn: packets_for(d)[:50] for d in during}
        for d in during:
            d.send(*sent[d.mn])
        time.sleep(10)
        assert all(d.read_acks(1, timeout=0.5) == [] for d in during), "ack without a commit"
        assert gateway.proc.poll() is None
        # more than the high-water mark waits: the gateway stops reading the flood's socket
        flood = Device(gateway.port, monitors[4].mn)
        flood.sock.settimeout(5)
        flood_packets = [flood.packet(NOW - datetime.timedelta(seconds=k)) for k in range(60_000)]
        frames = b"".join(__import__("smartsite.hj212.codec", fromlist=["encode"]).encode(p)
                          for p in flood_packets)
        with pytest.raises(TimeoutError):
            flood.send_raw(frames)  # the kernel's buffers fill, then the send blocks
        rss_paused = gateway.rss_kb()
        proxy.restore()
        for d in during:
            assert len(d.read_acks(50, timeout=60)) == 50, gateway.output()[-3000:]
        for m in monitors[1:4]:
            assert Reading.objects.filter(monitor=m).count() == 50
        assert "database write failed" in gateway.output()
        assert rss_paused < 300_000, f"gateway RSS {rss_paused} kB while paused"
    finally:
        gateway.stop()
        proxy.close()


def _means_from_readings(monitor, period: int) -> dict:
    """{bucket: (samples, valid PM10 values, their sum, their max)} of `monitor`'s stored
    real-time readings: what its hour (3600) or day (86400) means must say."""
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    out: dict = {}
    for at, pm10, flags in Reading.objects.filter(monitor=monitor, cn=2011).values_list(
            "data_time", "pm10", "flags"):
        local = at.astimezone(shanghai)
        start = (local.replace(minute=0, second=0) if period == 3600
                 else local.replace(hour=0, minute=0, second=0))
        samples, n, total, high = out.get(start, (0, 0, 0.0, None))
        valid = flags[1] == "N" and pm10 is not None  # (PM10 is metrics.METRICS[1])
        out[start] = (samples + 1, n + valid, total + (pm10 if valid else 0.0),
                      max(high or pm10, pm10) if valid else high)
    return {k: (a, b, round(c, 3), d) for k, (a, b, c, d) in out.items()}


def _stored_means(monitor, period: int) -> dict:
    from smartsite.dust.models import PeriodMean

    return {row.bucket: (row.samples, row.n_pm10, round(row.sum_pm10, 3), row.max_pm10)
            for row in PeriodMean.objects.filter(monitor=monitor, period=period)}


def test_hour_and_day_means_owed_at_a_kill_9_are_rolled_up_by_the_worker_and_the_next_gateway(
        tmp_path, monitors):
    """Hour and day means are not in the acknowledged transaction, but what they owe is: a
    gateway killed before its own rollup leaves them for the worker, and a gateway rolling
    up while packets arrive leaves them right."""
    import subprocess
    import sys

    from smartsite.dust.models import PeriodMean, RollupPending

    gateway = GatewayProcess(tmp_path, hj212_status_seconds=3600).start()  # (no rollup of its own)
    streams = []
    for m in monitors:
        probe = Device.__new__(Device)
        probe.mn, probe.pw = m.mn, "123456"
        streams.append(Stream(gateway.port, m, packets_for(probe)))
    for s in streams:
        s.start()
    assert wait_for(lambda: Reading.objects.count() >= 400, timeout=30)
    gateway.kill()
    for s in streams:
        s.join(30)
    assert Reading.objects.count() < PACKETS * len(monitors), "the kill should land mid-stream"
    assert RollupPending.objects.exists()
    assert not PeriodMean.objects.filter(period__in=(3600, 86400)).exists()  # off the ack path

    worker = subprocess.run(
        [sys.executable, "-m", "smartsite.cli", "worker", "--once"], timeout=300,
        env={**gateway.env, "SMARTSITE_WORKER_JOBS": "*,-dust.rules"}, capture_output=True, text=True)
    assert worker.returncode == 0, worker.stderr
    assert not RollupPending.objects.exists()
    for m in monitors:
        for period in (3600, 86400):
            expected = _means_from_readings(m, period)
            assert expected and _stored_means(m, period) == expected, m.mn

    # the monitors re-send everything to a gateway that rolls up every second meanwhile
    gateway = GatewayProcess(tmp_path, hj212_status_seconds=1).start()
    try:
        for s, m in zip(streams, monitors, strict=True):
            resend_until_acknowledged(gateway.port, m, s.packets)
        assert wait_for(lambda: not RollupPending.objects.exists(), timeout=30)
        for m in monitors:
            assert Reading.objects.filter(monitor=m).count() == PACKETS
            for period in (3600, 86400):
                assert _stored_means(m, period) == _means_from_readings(m, period)
    finally:
        gateway.stop()
