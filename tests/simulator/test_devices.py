"""The simulated monitors as HJ 212 devices against a real gateway process that hangs, is
killed -9 and restarted under them: every monitor delivers, the impostor is refused and
recorded, and every packet measured is stored exactly once."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter

import pytest
from support.gateway import GatewayProcess, wait_for

from smartsite.core.errors import DomainError
from smartsite.dust.models import DeviceRejection, MonitorStatus, Reading
from smartsite.simulator import users
from smartsite.simulator.dust import devices
from smartsite.simulator.dust import monitors as sim

pytestmark = pytest.mark.postgres

SEED = 20231001


def test_the_devices_command_refuses_a_database_without_the_simulated_city(cast):
    assert not users.simulated_city()  # (else the fleet would run until stopped)
    with pytest.raises(DomainError):
        devices.run(host="127.0.0.1", port=1, interval=60, seed=SEED)


class FleetThread:
    """A `devices.Fleet` on its own event loop in a thread (the test thread drives the gateway)."""

    def __init__(self, fleet: devices.Fleet, drain: float = 20.0):
        self.fleet, self.drain = fleet, drain
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.ready = threading.Event()

    async def _main(self):
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        self.ready.set()
        await self.fleet.run(self.stop_event, drain=self.drain)

    def start(self):
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self):
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(60)
        assert not self.thread.is_alive()


def _stored() -> Counter:
    return Counter(Reading.objects.values_list("monitor__mn", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_fleet_survives_a_killed_gateway_without_losing_or_doubling_a_packet(tmp_path, cast):
    sim.seed_monitors(seed=SEED, count=4, hours=0)  # two on each of the cast's projects
    specs = devices.fleet_specs(SEED)
    behaviours = Counter(s.behaviour for s in specs)
    assert behaviours == {"normal": 2, "impostor": 1, "outage": 1, "noisy": 1}
    impostor = next(s for s in specs if s.behaviour == "impostor")
    mns = {s.mn for s in specs if s.counted}
    assert len(mns) == 4

    gateway = GatewayProcess(tmp_path).start()
    fleet = devices.Fleet(specs, "127.0.0.1", gateway.port, interval=0.2, ack_timeout=1.0,
                          backoff=(0.1, 0.5), seed=7)
    runner = FleetThread(fleet).start()
    restarted = None
    try:
        # every monitor delivers (the outage device after its link comes back) and shows live
        assert wait_for(lambda: set(_stored()) == mns and min(_stored().values()) >= 5,
                        timeout=30), (_stored(), gateway.output())
        assert wait_for(lambda: MonitorStatus.objects.filter(connected=True).count() == 4,
                        timeout=30)  # the gateway flushes live state in batches; 15 s once ran out
        # the second logger with the factory password is refused and recorded
        refused = wait_for(lambda: DeviceRejection.objects.filter(
            mn=impostor.mn, reason="bad_password").first())
        assert refused and refused.monitor.mn == impostor.mn

        # the gateway hangs (packets sent, none acknowledged), then is killed -9 while the
        # devices keep measuring
        gateway.proc.send_signal(signal.SIGSTOP)
        assert wait_for(lambda: sum(u.sends > 0 for d in fleet.devices if d.spec.counted
                                    for u in list(d.outbox.values())) >= 8, timeout=10)
        gateway.kill()
        before = sum(fleet.counts().values())
        assert wait_for(lambda: sum(fleet.counts().values()) > before + 20, timeout=10)
        restarted = GatewayProcess(tmp_path).start(port=gateway.port)
        assert wait_for(lambda: sum(_stored().values()) >= before + 20, timeout=30), \
            restarted.output()
    finally:
        runner.stop()
        (restarted or gateway).stop()
    counts = fleet.counts()
    unacknowledged = {d.spec.mn: len(d.outbox) for d in fleet.devices if d.spec.counted}
    assert unacknowledged == dict.fromkeys(mns, 0)
    assert all(d.dropped == 0 for d in fleet.devices if d.spec.counted)
    # every packet measured is stored once: nothing lost in the kill, nothing stored twice
    assert _stored() == counts
    # the devices re-sent what the killed gateway had not acknowledged, on a new connection
    assert all(d.resent > 0 and d.connections >= 2 for d in fleet.devices if d.spec.counted)

