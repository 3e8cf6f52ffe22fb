"""The simulator's scenarios plug in the same way: a module with a `SCENARIO`, named in
`scenarios.MODULES`, brings its findings into the order history and the live findings, and
its data into `smartsite seed`, without a change anywhere else in the simulator."""

from __future__ import annotations

import datetime
import random
import sys
import types
from collections import Counter

import pytest

from smartsite.simulator import orders, scenarios
from smartsite.simulator.scenarios import Finding, Scenario, Story
from smartsite.workorders.models import Event

NOW = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC)


def trial(rng, project, at) -> dict:
    return dict(scenario="lab", rule="trial", project=project, severity="info",
                dedup_key=f"lab:trial:{project.pk}:{rng.randrange(10**9)}", subject="",
                title="试验场景：发现一处异常")


def trial_story(c):
    if c.raise_event(trial):
        yield datetime.timedelta(hours=1)


@pytest.fixture
def only_lab(monkeypatch):
    """The simulator with one scenario, "lab", that lives in a module of its own."""
    seeded = []
    module = types.ModuleType("smartsite.simulator.lab")
    module.SCENARIO = Scenario(
        code="lab", name="试验场景",
        seed=lambda *, seed, scale: seeded.append((seed, scale)), seeded=lambda: bool(seeded),
        stories=(Story("trial", trial_story, weight=1.0, fates={"open": 1.0}),),
        findings=(Finding("trial", 1.0, trial),))
    monkeypatch.setitem(sys.modules, "smartsite.simulator.lab", module)
    monkeypatch.setattr(scenarios, "MODULES", ("lab",))
    caches = (scenarios.scenarios, scenarios._stories, orders._texts)
    for cache in caches:
        cache.cache_clear()
    yield seeded
    for cache in caches:
        cache.cache_clear()


def test_a_scenario_module_alone_brings_its_findings_into_the_history_and_live(cast, only_lab):
    report = orders.simulate_history(seed=1, now=NOW, days=3, per_day=2)
    assert report.events >= 3
    assert Counter(Event.objects.values_list("scenario", "rule")) == {("lab", "trial"): report.events}
    event = orders.live_event(random.Random(1), now=NOW)
    assert (event.scenario, event.title) == ("lab", "试验场景：发现一处异常")


def test_seeding_asks_every_scenario_for_its_data_once(cast, only_lab, monkeypatch):
    from smartsite import cli
    from smartsite.simulator import users

    monkeypatch.setattr(users, "simulated_city", lambda: True)
    assert cli._seed(7, "demo", quiet=True) is False  # a city is there: kept
    assert only_lab == [(7, "demo")]  # but the scenario it lacked is added
    cli._seed(7, "demo", quiet=True)
    assert only_lab == [(7, "demo")]  # once
