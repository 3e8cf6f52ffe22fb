"""The dust scenario (扬尘在线监测) in the simulated city: everything dust, in one place.

    monitors.py  the monitors registered on the sites, the curves they measure, a day of
                 readings back-filled, and which of them misbehave (`Plan`)
    registry.py  their positions, annual inspections and linked sprays; the day of rule runs
                 the back-filled data would have seen
    devices.py   `smartsite devices`: the monitors as HJ 212 data loggers on the wire
    stories.py   dust findings and orders in the work-order history and the live findings

`SCENARIO` plugs them into the simulator (`simulator.scenarios`).
"""

from __future__ import annotations

from smartsite.dust.models import Monitor
from smartsite.simulator.dust import monitors, stories
from smartsite.simulator.scenarios import Scenario

__all__ = ["SCENARIO"]


def _seed(*, seed: int, scale: str) -> monitors.SeedReport:
    return monitors.seed_monitors(seed=seed, scale=scale)


SCENARIO = Scenario(
    code="dust",
    name="扬尘监测",
    seed=_seed,
    seeded=Monitor.objects.exists,
    stories=stories.STORIES,
    demo_cases=stories.DEMO_CASES,
    findings=stories.FINDINGS,
    texts=stories.TEXT,
)
