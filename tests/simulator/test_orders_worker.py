"""The worker started right after `smartsite seed` catches up cleanly: every timer of the
simulated history fires, none fails, every late order is escalated or flagged, every chain
still verifies. On both engines (the timers' batch writes and row locks differ), on three days
of history; the two weeks of test_orders.py are engine-independent."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from smartsite.simulator import city, orders
from smartsite.workorders import selectors, services
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import Timer, WorkOrder

pytestmark = pytest.mark.postgres

SEED = 20231001
NOW = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker, tmp_path_factory):
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))), \
            django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = orders.simulate_history(seed=SEED, now=NOW, days=3)
        assert report.orders >= 5
        yield report
        transaction.set_rollback(True)


def test_the_worker_started_right_after_seeding_catches_up_cleanly(history, db):
    with transaction.atomic():
        now = max(timezone.now(), NOW + datetime.timedelta(minutes=1))
        while services.fire_due_timers(now=now):
            pass
        assert not Timer.objects.filter(outcome__startswith="失败").exists()
        late = WorkOrder.objects.filter(state__in=selectors.WORKING_STATES, due_at__lte=now)
        assert not late.filter(overdue=False).exists()  # escalated or flagged, none missed
        for order in WorkOrder.objects.all():
            assert verify_chain(order) == [], order.number
        transaction.set_rollback(True)
