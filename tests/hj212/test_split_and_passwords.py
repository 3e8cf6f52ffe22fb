"""Split uploads and wrong passwords at the real gateway, over TCP (and MQTT for the lock).

Readings carry fixed DataTimes (late November 2026); the gateway keeps them whatever the day
(`reading_retention_days=0`)."""

from __future__ import annotations

import datetime

import pytest
from support.gateway import Device, GatewayProcess, wait_for
from support.monitors import add_monitor

from smartsite.dust.models import DeviceRejection, MonitorConnection, PeriodMean, Reading
from smartsite.hj212 import codec
from smartsite.workorders.models import Event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
AT = datetime.datetime(2026, 11, 25, 10, 3, tzinfo=SHANGHAI)  # a fixed instant
LOCAL = AT.replace(tzinfo=None)


@pytest.fixture
def monitors(cast, reference):
    return [add_monitor(cast.project_a, mn=f"31SP{i:020d}") for i in range(3)]


def start(tmp_path, **settings) -> GatewayProcess:
    return GatewayProcess(tmp_path, reading_retention_days=0, **settings).start()


def part(mn: str, qn: str, pno: int, items: dict, *, pnum: int = 2, data_time: bool = True,
         pw: str = "123456") -> codec.Packet:
    cp = ((("DataTime", LOCAL.strftime("%Y%m%d%H%M%S")),) if data_time else ()) + tuple(
        (k, str(v)) for k, v in items.items())
    return codec.Packet("39", "2011", pw, mn, qn, 7, pnum, pno, cp)


def test_parts_each_with_their_own_qn_are_answered_one_by_one_and_make_one_reading(
        tmp_path, monitors):
    gateway = start(tmp_path)
    try:
        device = Device(gateway.port, monitors[0].mn)
        first = part(device.mn, "20261125100300534", 1,
                     {"a34002-Rtd": 91, "a34002-Flag": "N", "a34004-Rtd": 45, "a34004-Flag": "N"})
        second = part(device.mn, "20261125100300535", 2,
                      {"LA-Rtd": 66.6, "LA-Flag": "N", "a01007-Rtd": 1.8, "a01007-Flag": "N"})
        # like HJ 212-2017 表 C.50: the device sends the next part once the last one is answered
        device.send(first)
        assert [(a.cn, a.qn) for a in device.read_acks(1)] == [("9014", first.qn)], \
            gateway.output()
        device.send(second)
        assert [a.qn for a in device.read_acks(2)] == [first.qn, second.qn]
        reading = Reading.objects.get(monitor=monitors[0])
        assert (reading.pm10, reading.pm25, reading.noise, reading.wind_speed) == (91, 45, 66.6, 1.8)
        # one reading in the means, each value once (the second part added its values only):
        # the quarter with the acknowledgement, the hour once the gateway has rolled it up
        quarter = PeriodMean.objects.get(monitor=monitors[0], period=900)
        assert (quarter.samples, quarter.n_pm10, quarter.n_noise, quarter.n_wind_speed) == \
            (1, 1, 1, 1)
        assert quarter.mean("noise") == pytest.approx(66.6) and quarter.mean("pm10") == 91
        hour = wait_for(lambda: PeriodMean.objects.filter(monitor=monitors[0], period=3600)
                        .first(), timeout=30)
        assert hour and (hour.samples, hour.n_pm10, hour.n_noise, hour.n_wind_speed) == \
            (1, 1, 1, 1)
        device.send(second)  # re-sent: answered again, nothing changes
        assert len(device.read_acks(3)) == 3
        quarter.refresh_from_db()
        assert (quarter.samples, quarter.n_noise) == (1, 1)
    finally:
        gateway.stop()


def test_parts_that_need_each_other_are_refused_with_a_reason_when_the_rest_never_comes(
        tmp_path, monitors):
    gateway = start(tmp_path, hj212_split_seconds=1)
    try:
        device = Device(gateway.port, monitors[1].mn)
        lonely = part(device.mn, "20261125100300777", 1, {"a34002-Rtd": 80}, pnum=3,
                      data_time=False)
        device.send(lonely)
        rejection = wait_for(lambda: DeviceRejection.objects.filter(mn=device.mn).first())
        assert rejection is not None, gateway.output()
        assert rejection.reason == "bad_data" and rejection.monitor == monitors[1]
        assert "split: dropped incomplete packet" in rejection.detail
        assert "had PNO 1 of PNUM 3, not complete after 1 s" in rejection.detail
        assert "refused from 127.0.0.1" in gateway.output()
        assert device.read_acks(1, timeout=1) == [] and not Reading.objects.exists()
    finally:
        gateway.stop()


def wrong_pws(port: int, mn: str, n: int = 2000, *, source: str | None = None) -> Device:
    device = Device(port, mn, pw="000000", source=source)
    device.send(*[device.packet(AT - datetime.timedelta(seconds=k), pw=f"{k:06d}")
                  for k in range(1, n + 1)])  # none of them is 123456
    return device


def test_guessing_a_pw_is_cut_short_and_locks_the_mn_but_not_the_connected_device(
        tmp_path, monitors, cast):
    gateway = start(tmp_path, hj212_pw_mn_failures=5, hj212_pw_connection_failures=3,
                    hj212_pw_peer_failures=1000, hj212_pw_lock_seconds=600)
    try:
        target = monitors[2].mn
        honest = Device(gateway.port, target)
        honest.send(honest.packet(AT))
        assert len(honest.read_acks(1)) == 1  # connected, and its PW proven
        # 2,000 guesses on one connection, from another address (a guesser behind the
        # device's own address is slowed, not locked: test_throttle)
        first = wrong_pws(gateway.port, target, source="127.0.0.2")
        assert first.closed_by_peer(), gateway.output()
        second = wrong_pws(gateway.port, target, source="127.0.0.2")
        assert second.closed_by_peer()
        counts = wait_for(lambda: dict(DeviceRejection.objects.filter(mn=target)
                                       .values_list("reason", "count"))
                          if DeviceRejection.objects.filter(mn=target).count() == 2 else None)
        # three guesses on the first connection, two on the second: then the MN was locked
        assert counts == {"bad_password": 5, "pw_locked": 1}, gateway.output()
        assert "MN 31SP00000000000000000002 locked for 600 s after 5 wrong PWs" in gateway.output()
        # nobody new gets a PW checked for this MN now, not even the right one …
        late = Device(gateway.port, target, source="127.0.0.2")
        late.send(late.packet(AT - datetime.timedelta(minutes=5)))
        assert late.read_acks(1, timeout=2) == []
        # … while the device that proved it first keeps reporting
        honest.send(honest.packet(AT - datetime.timedelta(minutes=1)))
        assert len(honest.read_acks(2)) == 2
        assert Reading.objects.filter(monitor=monitors[2]).count() == 2
        event = wait_for(lambda: Event.objects.filter(dedup_key=f"dust:pw_locked:{target}").first())
        assert event.project == cast.project_a and event.severity == "warning"
        assert event.rule == "device_rejected" and "已锁定" in event.title
    finally:
        gateway.stop()


def test_someone_who_knows_only_the_mn_cannot_keep_its_device_out(tmp_path, monitors):
    """The device showed its PW from its address, then lost its connection; another host keeps
    the MN locked. The device reconnects through the lock; the other host's polling of the
    lock counts against it until it is refused at connect."""
    gateway = start(tmp_path, hj212_pw_mn_failures=5, hj212_pw_connection_failures=3,
                    hj212_pw_peer_failures=8, hj212_pw_lock_seconds=600)
    try:
        target = monitors[2].mn
        device = Device(gateway.port, target, source="127.0.0.1")
        device.send(device.packet(AT))
        assert len(device.read_acks(1)) == 1
        device.close()  # the device loses its connection
        # five wrong PWs from another host (a connection is closed after three): locked
        assert wrong_pws(gateway.port, target, 3, source="127.0.0.2").closed_by_peer()
        wrong_pws(gateway.port, target, 2, source="127.0.0.2")
        assert wait_for(lambda: DeviceRejection.objects.filter(
            mn=target, reason="pw_locked").exists()), gateway.output()
        back = Device(gateway.port, target, source="127.0.0.1")  # it reconnects: let through
        back.send(back.packet(AT - datetime.timedelta(minutes=1)))
        assert len(back.read_acks(1)) == 1, gateway.output()
        # the other host polls the lock: three packets close its connection, and with its five
        # wrong PWs they make eight: the host is refused at connect
        assert wrong_pws(gateway.port, target, 3, source="127.0.0.2").closed_by_peer()
        refused = Device(gateway.port, target, source="127.0.0.2")
        assert refused.closed_by_peer() and refused.read_acks(1, timeout=1) == []
        assert Reading.objects.filter(monitor=monitors[2]).count() == 2
    finally:
        gateway.stop()


def test_a_restarted_gateway_still_lets_the_device_through_its_mns_lock(tmp_path, monitors):
    """The device reported from its address; the gateway restarts (its memory of which hosts
    showed which PW is gone) and another host locks the MN before the device is back. The
    connection history tells the new process where the device reports from: it gets in."""
    settings = dict(hj212_pw_mn_failures=5, hj212_pw_connection_failures=3,
                    hj212_pw_peer_failures=100, hj212_pw_lock_seconds=600)
    gateway = start(tmp_path, **settings)
    try:
        target = monitors[2].mn
        device = Device(gateway.port, target, source="127.0.0.1")
        device.send(device.packet(AT))
        assert len(device.read_acks(1)) == 1
        device.close()
        assert wait_for(lambda: MonitorConnection.objects.filter(monitor=monitors[2]).exists())
    finally:
        gateway.stop()
    gateway = start(tmp_path, **settings)
    try:
        assert wrong_pws(gateway.port, target, 3, source="127.0.0.2").closed_by_peer()
        wrong_pws(gateway.port, target, 2, source="127.0.0.2")
        assert wait_for(lambda: DeviceRejection.objects.filter(
            mn=target, reason="pw_locked").exists()), gateway.output()
        stranger = Device(gateway.port, target, source="127.0.0.3")  # right PW, never seen
        stranger.send(stranger.packet(AT - datetime.timedelta(minutes=2)))
        assert stranger.read_acks(1, timeout=2) == []
        back = Device(gateway.port, target, source="127.0.0.1")
        back.send(back.packet(AT - datetime.timedelta(minutes=1)))
        assert len(back.read_acks(1)) == 1, gateway.output()
        assert Reading.objects.filter(monitor=monitors[2]).count() == 2
    finally:
        gateway.stop()


def test_a_host_that_keeps_guessing_is_refused_at_connect(tmp_path, monitors):
    gateway = start(tmp_path, hj212_pw_mn_failures=1000, hj212_pw_connection_failures=2,
                    hj212_pw_peer_failures=4)
    try:
        for mn in (monitors[0].mn, monitors[1].mn):  # guessing across MNs
            assert wrong_pws(gateway.port, mn, 10).closed_by_peer()
        again = Device(gateway.port, monitors[2].mn)
        again.send(again.packet(AT))  # even a right PW: the host is refused for the window
        assert again.closed_by_peer() and again.read_acks(1, timeout=1) == []
        assert wait_for(lambda: DeviceRejection.objects.filter(reason="bad_password").count() == 2)
        assert sum(DeviceRejection.objects.values_list("count", flat=True)) == 4
    finally:
        gateway.stop()


def test_one_guesser_behind_a_shared_address_does_not_cut_off_the_devices_there(tmp_path,
                                                                               monitors):
    """Devices share addresses (a site router, the carrier's NAT, a vendor platform): a
    misconfigured logger with the factory PW sends from the same host as genuine devices. It is
    cut short, but a genuine device from that host that (re)connects is still accepted."""
    gateway = start(tmp_path, hj212_pw_mn_failures=1000, hj212_pw_connection_failures=2,
                    hj212_pw_peer_failures=4)
    try:
        honest = Device(gateway.port, monitors[2].mn)
        honest.send(honest.packet(AT))
        assert len(honest.read_acks(1)) == 1  # a right PW from 127.0.0.1
        for mn in (monitors[0].mn, monitors[1].mn):  # then 4 wrong ones from the same host
            assert wrong_pws(gateway.port, mn, 10).closed_by_peer()
        assert wait_for(lambda: sum(DeviceRejection.objects.values_list("count", flat=True)) == 4)
        again = Device(gateway.port, monitors[2].mn)  # the genuine device reconnects
        again.send(again.packet(AT - datetime.timedelta(minutes=1)))
        assert len(again.read_acks(1)) == 1, gateway.output()
        assert Reading.objects.filter(monitor=monitors[2]).count() == 2
    finally:
        gateway.stop()
