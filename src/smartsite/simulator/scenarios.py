"""The simulator's scenarios, all plugged in the same way.

Each scenario is one module (or package) of `smartsite.simulator` with a `SCENARIO`: what it
adds to the simulated city. The city and its people (`city`, `staff`, `users`) and the
machinery of the work-order history (`orders`) name no scenario: they iterate `scenarios()`.

A scenario may add
* its devices and their data once the city is built (`seed`), and say whether a database
  already holds them (`seeded`) — `smartsite seed` and `smartsite demo` call both;
* stories for the two weeks of work orders (`stories`, `orders.simulate_history`): a kind of
  finding, how it goes on (a generator of waits driving an `orders` case), how often it is
  picked, how it tends to end, whose members act; the cases timed so that each demo login
  finds work (`demo_cases`); and the words people write (`texts`);
* the findings that keep arriving while the demo runs (`findings`, `smartsite simulate`), and
  what its own data sources do each round of it (`live`: surveys, readings … through the
  scenario's services, which raise their own events).

Adding a scenario (pits, attendance …) is one module with a `SCENARIO` and its name in
`MODULES`. The product never imports the simulator; only the CLI (`smartsite.cli`) does.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MODULES", "DemoCase", "Finding", "Scenario", "Story", "scenarios", "stories", "story"]

#: The scenario modules, in the order they seed and their stories are drawn.
MODULES = ("dust", "attendance", "pits")


@dataclass(frozen=True)
class Story:
    """One kind of finding in the order history and what people do about it."""

    kind: str
    run: Callable[[Any], Iterator]  # (case) -> the waits (timedeltas) between its steps
    weight: float  # its share of the history's random findings
    fates: Mapping[str, float]  # how it tends to end (weights)
    parties: frozenset[str] = frozenset()  # party roles whose members may have to act
    large_loop: bool = False  # may reach the street's 城管执法中队
    needs_pit: bool = False  # only on projects with a foundation pit
    at_hour: int | None = None  # found at this local hour (e.g. when the day's check closes)


@dataclass(frozen=True)
class DemoCase:
    """A case timed against `now` so that a demo login finds it: `scope` "pm" (the project
    of `pm` and `chief`), "district" (three live projects of `jingan`'s district, taken in
    turn), "street" (the same for the `squad_*` login's street) or "any" (any live project:
    every outcome at least once, whatever the seed)."""

    scope: str
    kind: str
    fate: str
    hours_ago: float


@dataclass(frozen=True)
class Finding:
    """A finding that arrives while the demo runs: `make(rng, project, at)` gives the
    `raise_event` arguments."""

    kind: str
    weight: float
    make: Callable[..., dict]
    needs_pit: bool = False


@dataclass(frozen=True)
class Scenario:
    code: str
    name: str
    #: (seed=, scale=) → a report with `summary()` and `seconds`, after the city is built
    seed: Callable[..., Any] | None = None
    #: True when the database already holds what `seed` makes
    seeded: Callable[[], bool] | None = None
    stories: tuple[Story, ...] = ()
    demo_cases: tuple[DemoCase, ...] = ()
    findings: tuple[Finding, ...] = ()
    texts: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: (rng, now) → how many data batches it sent; called every round of `smartsite simulate`
    live: Callable[..., int] | None = None


@functools.cache
def scenarios() -> tuple[Scenario, ...]:
    """Every scenario, in `MODULES` order."""
    return tuple(importlib.import_module(f"smartsite.simulator.{name}").SCENARIO
                 for name in MODULES)


@functools.cache
def _stories() -> dict[str, Story]:
    out: dict[str, Story] = {}
    for scenario in scenarios():
        for s in scenario.stories:
            if s.kind in out:
                raise ValueError(f"two simulator stories of kind {s.kind!r}")
            out[s.kind] = s
    return out


def story(kind: str) -> Story:
    return _stories()[kind]


def stories() -> list[Story]:
    return list(_stories().values())
