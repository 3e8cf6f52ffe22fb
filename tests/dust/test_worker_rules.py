"""`smartsite worker` runs the dust rules: a site without monitors gets its 不装少装 order
from the worker alone, and a worker told not to (SMARTSITE_WORKER_JOBS="*,-dust.rules") leaves it."""

from __future__ import annotations

import pytest

from smartsite import cli
from smartsite.workorders.models import Event, WorkOrder

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_worker_runs_the_rules(cast, settings):
    settings.WORKER_JOBS = "*"
    assert cli.main(["worker", "--once"]) == 0
    found = Event.objects.filter(scenario="dust", rule="missing_monitor")
    assert {e.project for e in found} == {cast.project_a, cast.project_b}
    assert WorkOrder.objects.filter(kind="missing_monitor").count() == 2
    assert cli.main(["worker", "--once"]) == 0  # the next round: the same events, no new orders
    assert WorkOrder.objects.filter(kind="missing_monitor").count() == 2


def test_a_worker_without_rules_leaves_them(cast, settings):
    settings.WORKER_JOBS = "*,-dust.rules"
    assert cli.main(["worker", "--once"]) == 0
    assert not Event.objects.filter(scenario="dust").exists()
