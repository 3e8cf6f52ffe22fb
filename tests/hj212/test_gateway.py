"""The gateway end to end: simulated monitors on real sockets → `smartsite gateway` (a real
process) → the test database (SQLite file or PostgreSQL, whichever the pass runs on)."""

from __future__ import annotations

import datetime

import pytest
from support.gateway import Device, GatewayProcess, wait_for
from support.monitors import add_monitor

from smartsite.dust.models import (
    DeviceRejection,
    MonitorConnection,
    MonitorStatus,
    PeriodMean,
    Reading,
)
from smartsite.dust.partitions import ensure_partitions
from smartsite.hj212 import codec

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)


@pytest.fixture
def monitors(cast, reference):
    ensure_partitions(NOW.date() - datetime.timedelta(days=1), NOW.date() + datetime.timedelta(days=1))
    return [add_monitor(cast.project_a, mn=f"31GW{i:020d}") for i in range(3)]


@pytest.fixture
def gateway(tmp_path, monitors):
    process = GatewayProcess(tmp_path).start()
    yield process
    process.stop()


def minutes(n: int):
    return [NOW - datetime.timedelta(minutes=n - i) for i in range(n)]


def test_every_acknowledged_packet_is_already_stored(gateway, monitors):
    devices = [Device(gateway.port, m.mn) for m in monitors]
    sent = {}
    for device in devices:
        packets = [device.packet(at, pm10=60 + i) for i, at in enumerate(minutes(5))]
        sent[device.mn] = packets
        device.send(*packets)
    for device, monitor in zip(devices, monitors, strict=True):
        acks = device.read_acks(5)
        assert [a.cn for a in acks] == ["9014"] * 5, gateway.output()
        assert [a.qn for a in acks] == [p.qn for p in sent[device.mn]]
        # acknowledged means committed: every reading is there the moment its ack arrived
        assert Reading.objects.filter(monitor=monitor).count() == 5
        assert sorted(Reading.objects.filter(monitor=monitor).values_list("pm10", flat=True)) == [
            60, 61, 62, 63, 64]
        # and so are the 15-minute means the exceedance pages judge by
        quarters = PeriodMean.objects.filter(monitor=monitor, period=900)
        assert sum(q.n_pm10 for q in quarters) == 5
    # hour and day means follow off the acknowledgement path, within a status flush or two
    for period in (3600, 86400):
        assert wait_for(lambda p=period: sum(h.n_pm10 for h in PeriodMean.objects.filter(
            monitor=monitors[0], period=p)) == 5, timeout=30), gateway.output()


def test_live_state_and_connection_history_reach_the_database(gateway, monitors):
    device = Device(gateway.port, monitors[0].mn)
    device.send(device.packet(NOW, pm10=123.4))
    device.read_acks(1)
    status = wait_for(lambda: MonitorStatus.objects.filter(monitor=monitors[0], connected=True)
                      .first())
    assert status.values["pm10"] == 123.4 and status.flags["pm10"] == "N"
    assert status.transport == "tcp" and status.peer.startswith("127.0.0.1:")
    assert status.last_data_time == NOW
    device.close()
    assert wait_for(lambda: not MonitorStatus.objects.get(monitor=monitors[0]).connected)
    conn = wait_for(lambda: MonitorConnection.objects.filter(monitor=monitors[0],
                                                             closed_at__isnull=False).first())
    assert (conn.packets, conn.rejected, conn.close_reason) == (1, 0, "设备断开")


def test_a_resent_packet_is_acknowledged_again_and_stored_once(gateway, monitors):
    device = Device(gateway.port, monitors[0].mn)
    packet = device.packet(NOW)
    device.send(packet)
    device.read_acks(1)
    device.send(packet, packet)
    assert len(device.read_acks(3)) == 3
    assert Reading.objects.filter(monitor=monitors[0]).count() == 1


def test_unknown_devices_and_wrong_passwords_are_refused_and_recorded(gateway, monitors, cast):
    stranger = Device(gateway.port, "31UNKNOWN000000000000000")
    stranger.send(stranger.packet(NOW))
    impostor = Device(gateway.port, monitors[1].mn, pw="999999")
    impostor.send(impostor.packet(NOW))
    good = Device(gateway.port, monitors[2].mn)
    good.send(good.packet(NOW))
    assert len(good.read_acks(1)) == 1
    assert stranger.read_acks(1, timeout=2) == [] and impostor.read_acks(1, timeout=1) == []
    assert not Reading.objects.filter(monitor=monitors[1]).exists()
    rejected = wait_for(lambda: dict(DeviceRejection.objects.values_list("mn", "reason"))
                        if DeviceRejection.objects.count() == 2 else None)
    assert rejected == {"31UNKNOWN000000000000000": "unknown_mn", monitors[1].mn: "bad_password"}
    # the wrong password shows in the district's event center, on the monitor's project
    from smartsite.workorders.models import Event

    event = wait_for(lambda: Event.objects.filter(rule="device_rejected").first())
    assert event.project == cast.project_a and monitors[1].mn in event.subject


def test_a_packet_with_values_out_of_range_is_refused_with_the_reason(gateway, monitors):
    device = Device(gateway.port, monitors[0].mn)
    device.send(device.packet(NOW, pm10=-5))
    assert device.read_acks(1, timeout=2) == []
    row = wait_for(lambda: DeviceRejection.objects.filter(mn=monitors[0].mn).first())
    assert row.reason == "bad_data" and "a34002-Rtd=-5" in row.detail
    assert not Reading.objects.exists()


def test_garbage_and_broken_frames_do_not_stop_the_good_monitors(gateway, monitors):
    good = Device(gateway.port, monitors[0].mn)
    noisy = Device(gateway.port, monitors[1].mn)
    frame = codec.encode(noisy.packet(NOW))
    bad_crc = frame[:-6] + b"0000\r\n"
    wrong_length = b"##0999" + frame[6:]
    non_ascii = frame.replace(b"DataTime", "数据时间".encode())
    noisy.send_raw(b"\x00\xffGARBAGE" + bad_crc + wrong_length[:40] + non_ascii + b"x" * 5000)
    noisy.send_raw(b"A" * (1024 * 1024))  # a megabyte without "##"
    good.send(good.packet(NOW))
    assert len(good.read_acks(1)) == 1
    noisy.send(noisy.packet(NOW - datetime.timedelta(minutes=1)))  # it may still speak properly
    assert len(noisy.read_acks(1)) == 1
    assert Reading.objects.count() == 2
    assert gateway.proc.poll() is None


def test_a_slowloris_connection_is_closed_and_others_keep_going(tmp_path, monitors):
    gateway = GatewayProcess(tmp_path, hj212_partial_seconds=2).start()
    try:
        slow = Device(gateway.port, monitors[0].mn)
        slow.send_raw(codec.encode(slow.packet(NOW))[:30])  # half a frame, then nothing
        good = Device(gateway.port, monitors[1].mn)
        good.send(good.packet(NOW))
        assert len(good.read_acks(1)) == 1
        assert slow.closed_by_peer(timeout=10), gateway.output()
        good.send(good.packet(NOW - datetime.timedelta(minutes=1)))
        assert len(good.read_acks(2)) == 2
    finally:
        gateway.stop()


def test_a_device_asking_for_the_time_is_sent_the_platforms_time(gateway, monitors):
    device = Device(gateway.port, monitors[0].mn)
    device.send(codec.command("1013", mn=device.mn, pw=device.pw, qn=codec.make_qn(
        datetime.datetime(2026, 1, 1, 8, 0)), cp={}))
    [reply] = device.read_acks(1)
    assert (reply.cn, reply.mn, reply.pw) == ("1012", device.mn, device.pw)
    sent = datetime.datetime.strptime(reply.get("SystemTime"), "%Y%m%d%H%M%S")
    beijing = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=8)
    assert abs(sent - beijing.replace(tzinfo=None)) < datetime.timedelta(seconds=5)
    # the device's answers to that command are no data and no refusal
    device.send(codec.request_response(reply), codec.execution_result(reply))
    device.send(device.packet(NOW))
    assert len(device.read_acks(2)) == 2
    assert not DeviceRejection.objects.exists() and Reading.objects.count() == 1


def test_a_device_that_never_reads_its_acknowledgements_does_not_hold_up_the_others(gateway,
                                                                                    monitors):
    stalled = Device(gateway.port, monitors[0].mn)
    flood = [stalled.packet(NOW - datetime.timedelta(seconds=k)) for k in range(20_000)]
    stalled.send(*flood)  # and never reads a byte
    good = Device(gateway.port, monitors[1].mn)
    for k in range(3):
        good.send(good.packet(NOW - datetime.timedelta(minutes=k)))
        assert len(good.read_acks(k + 1, timeout=10)) == k + 1
    assert wait_for(lambda: Reading.objects.filter(monitor=monitors[0]).count() == 20_000,
                    timeout=60)
    assert gateway.proc.poll() is None


def test_a_gateway_stopped_with_sigterm_acknowledges_what_it_took_and_closes_the_history(
        tmp_path, monitors):
    gateway = GatewayProcess(tmp_path).start()
    device = Device(gateway.port, monitors[0].mn)
    device.send(device.packet(NOW))
    assert len(device.read_acks(1)) == 1
    assert wait_for(lambda: MonitorConnection.objects.filter(monitor=monitors[0]).exists())
    assert gateway.stop() == 0
    conn = MonitorConnection.objects.get(monitor=monitors[0])
    assert (conn.close_reason, conn.packets) == ("网关停止", 1)
    assert not MonitorStatus.objects.get(monitor=monitors[0]).connected
    assert "could not record" not in gateway.output()


def test_a_group_of_gateway_processes_shares_the_port_and_stores_everything_once(tmp_path, cast,
                                                                                 reference):
    ensure_partitions(NOW.date() - datetime.timedelta(days=1), NOW.date() + datetime.timedelta(days=1))
    many = [add_monitor(cast.project_a, mn=f"31PG{i:020d}") for i in range(12)]
    gateway = GatewayProcess(tmp_path, hj212_processes=2).start()
    try:
        assert wait_for(lambda: gateway.output().count("gateway listening") == 2)
        devices = [Device(gateway.port, m.mn) for m in many]
        for device in devices:
            device.send(*[device.packet(at) for at in minutes(5)])
        for device in devices:
            assert len(device.read_acks(5)) == 5
        devices[0].send(devices[0].packet(NOW - datetime.timedelta(minutes=1)))  # again
        assert len(devices[0].read_acks(6)) == 6
        assert Reading.objects.filter(monitor__in=many).count() == 60
        served = wait_for(lambda: set(MonitorStatus.objects.filter(monitor__in=many)
                                      .values_list("monitor", flat=True)) == {m.pk for m in many})
        assert served
    finally:
        assert gateway.stop() == 0
    assert MonitorConnection.objects.filter(monitor__in=many, closed_at__isnull=True).count() == 0
