"""Job functions for the scheduler's tests (tests/core/test_scheduler.py): each records that
it ran in `CALLS`; `inside` is what the job does while it runs (e.g. a second worker's round)."""

from __future__ import annotations

CALLS: list[str] = []
inside = None


def counted() -> int:
    CALLS.append("counted")
    if inside is not None:
        inside()
    return 1


def broken() -> int:
    CALLS.append("broken")
    raise RuntimeError("设备表锁定")


def quiet() -> int:
    CALLS.append("quiet")
    return 0
