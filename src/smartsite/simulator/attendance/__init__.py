"""Key-post attendance (关键岗位到岗履职) in the simulated city, in one place.

    photos.py   the two real identities and fresh augmented photos of them
    seed.py     enrolments and the history since the first of last month, through the
                scenario's services and the real check-in (closed days, the rules' events)
    live.py     the key-post people checking in and out through the HTTP API while the
                demo runs (morning and evening, Shanghai time)
    stories.py  absence orders in the two weeks of work-order history

`SCENARIO` plugs them into the simulator (`simulator.scenarios`).
"""

from __future__ import annotations

from smartsite.simulator.attendance import live, stories
from smartsite.simulator.attendance.seed import SeedReport, seed_attendance, seeded
from smartsite.simulator.scenarios import Scenario

__all__ = ["SCENARIO"]


def _seed(*, seed: int, scale: str) -> SeedReport:
    return seed_attendance(seed=seed, scale=scale)


SCENARIO = Scenario(
    code="attendance",
    name="关键岗位到岗履职",
    seed=_seed,
    seeded=seeded,
    stories=stories.STORIES,
    demo_cases=stories.DEMO_CASES,
    findings=stories.FINDINGS,
    texts=stories.TEXT,
    live=live.check_ins,
)
