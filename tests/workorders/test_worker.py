"""The worker and the operator's commands: two workers on PostgreSQL never fire a timer
twice; `smartsite verify-orders` reports a history edited behind the application's back."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, connections

from smartsite import cli
from smartsite.workorders import services
from smartsite.workorders.models import OrderAction, Timer, WorkOrder

pytestmark = pytest.mark.postgres

T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)


def _orders(cast, n):
    for i in range(n):
        services.raise_event(scenario="dust", rule="exceedance", project=cast.project_b,
                             dedup_key=f"bench:{i}", title=f"超标 {i}", now=T0)
    return WorkOrder.objects.filter(project=cast.project_b)


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_postgresql_never_fire_a_timer_twice(cast):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; this test runs in the PostgreSQL pass")
    orders = _orders(cast, 40)
    now = T0 + datetime.timedelta(hours=25)
    due = Timer.objects.filter(due_at__lte=now, fired_at__isnull=True, cancelled=False).count()
    assert due == 80  # each order: the reminder and the disposal deadline
    counts, errors = [], []
    barrier = threading.Barrier(2)

    def work():
        try:
            barrier.wait()
            total = 0
            while fired := services.fire_due_timers(now, limit=7):
                total += fired
            counts.append(total)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    counts.append(services.fire_due_timers(now))  # anything skipped while the other held it
    assert sum(counts) <= due
    for order in orders:
        escalations = order.actions.filter(action="escalate").count()
        assert escalations == 1, (order.number, escalations)
    assert not Timer.objects.filter(due_at__lte=now, fired_at__isnull=True,
                                    cancelled=False).exists()
    assert len([c for c in counts[:2] if c]) == 2, f"one worker did everything: {counts}"


def test_verify_orders_reports_an_edited_history(cast, capsys):
    order = _orders(cast, 2).first()
    services.act(order, "comment", cast.city, version=order.version, comment="请处置", now=T0)
    assert cli.main(["verify-orders"]) == 0
    assert "哈希链完整" in capsys.readouterr().out
    OrderAction.objects.filter(order=order, seq=2).update(comment="悄悄改过")
    assert cli.main(["verify-orders"]) == 1
    out = capsys.readouterr().out
    assert order.number in out and "第 2 条" in out and "1 处问题" in out


def test_worker_once_fires_what_is_due(cast):
    _orders(cast, 3)
    Timer.objects.update(due_at=T0)
    assert cli.main(["worker", "--once"]) == 0
    assert not Timer.objects.filter(fired_at__isnull=True, cancelled=False,
                                    due_at__lte=T0).exists()
