"""The deep-pit scenario (基坑监测) in the simulated city, in one place.

    model.py    what a Shanghai pit is and how its points move (pure)
    seed.py     the pits registered on the city's projects with their history up to now
    live.py     the surveys that keep arriving while the demo runs
    stories.py  pit warnings and their orders in the work-order history

`SCENARIO` plugs them into the simulator (`simulator.scenarios`).
"""

from __future__ import annotations

from smartsite.pits.models import Pit
from smartsite.simulator.pits import live, stories
from smartsite.simulator.pits.seed import SeedReport, seed_pits
from smartsite.simulator.scenarios import Scenario

__all__ = ["SCENARIO"]


def _seed(*, seed: int, scale: str) -> SeedReport:
    return seed_pits(seed=seed, scale=scale)


SCENARIO = Scenario(
    code="pits",
    name="基坑监测",
    seed=_seed,
    seeded=Pit.objects.exists,
    stories=stories.STORIES,
    demo_cases=stories.DEMO_CASES,
    texts=stories.TEXT,
    live=live.surveys,
)
