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

__all__ = ["SCENARIO", "identity_records"]


def identity_records() -> list[str]:
    """`身份证号=photo path` of every active enrolment: what the demo's local 公安人脸库
    (`simulator.identity_service`) holds on record (the simulated people's reference photos)."""
    import os

    from smartsite.attendance.models import Enrolment

    return [f"{e.person.resident_id}={e.photo.path}"
            for e in Enrolment.objects.filter(active=True).select_related("person")
            .order_by("person__resident_id") if e.photo and os.path.exists(e.photo.path)]


def _seed(*, seed: int, scale: str) -> SeedReport:
    return seed_attendance(seed=seed, scale=scale)


SCENARIO = Scenario(
    code="attendance",
    name="关键岗位到岗履职",
    seed=_seed,
    seeded=seeded,
    stories=stories.STORIES,
    demo_cases=stories.DEMO_CASES,
    texts=stories.TEXT,
    live=live.check_ins,
)
