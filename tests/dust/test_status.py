"""The gateway's bulk writes: live status and refusals."""

from __future__ import annotations

import datetime

import pytest
from support.monitors import NOW, add_monitor

from smartsite.dust import ingest
from smartsite.dust.models import DeviceRejection, MonitorStatus
from smartsite.hj212.handlers import Rejection, StatusUpdate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_status_updates_add_packets_and_keep_values_an_update_does_not_carry(cast):
    monitor = add_monitor(cast.project_a)
    ingest.save_status([StatusUpdate(monitor.id, NOW, NOW, {"pm10": 80.5},
                                                {"pm10": "N"}, True, "tcp", "10.0.0.1:5", NOW, 3)])
    later = NOW + datetime.timedelta(minutes=1)
    ingest.save_status([StatusUpdate(monitor.id, later, None, {}, {}, False, "tcp",
                                                "10.0.0.1:5", None, 2)])
    status = MonitorStatus.objects.get(monitor=monitor)
    assert (status.last_seen, status.last_data_time, status.values, status.flags) == (
        later, NOW, {"pm10": 80.5}, {"pm10": "N"})
    assert (status.connected, status.connected_since, status.packets) == (False, None, 5)


def test_refusals_are_counted_per_device_and_reason(cast):
    rejection = Rejection(mn="31X", reason="unknown_mn", detail="MN 31X 未登记",
                                   peer="10.0.0.9:7", at=NOW, count=4)
    ingest.record_rejections([rejection])
    ingest.record_rejections([Rejection(
        mn="31X", reason="unknown_mn", detail="again", peer="10.0.0.9:8",
        at=NOW + datetime.timedelta(minutes=5), count=2)])
    row = DeviceRejection.objects.get(mn="31X")
    assert (row.count, row.first_seen, row.last_seen, row.detail, row.peer) == (
        6, NOW, NOW + datetime.timedelta(minutes=5), "again", "10.0.0.9:8")


def test_a_stale_write_from_another_gateway_process_never_wins(cast):
    monitor = add_monitor(cast.project_a)
    later = NOW + datetime.timedelta(minutes=5)
    # process B holds the new connection and has heard from the monitor at `later`
    ingest.save_status([StatusUpdate(monitor.id, later, later, {"pm10": 60.0},
                                                {"pm10": "N"}, True, "tcp", "10.0.0.1:6", later, 1)])
    # process A now closes the old, dead connection it last heard from at NOW
    ingest.save_status([StatusUpdate(monitor.id, NOW, NOW, {"pm10": 90.0},
                                                {"pm10": "N"}, False, "tcp", "10.0.0.1:5", None, 4)])
    status = MonitorStatus.objects.get(monitor=monitor)
    assert (status.connected, status.peer, status.last_seen, status.values) == (
        True, "10.0.0.1:6", later, {"pm10": 60.0})
    assert (status.last_data_time, status.packets) == (later, 5)
