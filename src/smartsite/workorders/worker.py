"""`smartsite worker`: fire due timers and deliver the outbox (webhooks, e-mail) until stopped.
Any number may run against PostgreSQL."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import close_old_connections, connection

from smartsite.exchange import services as outbox
from smartsite.lifecycle import stop_on_signals
from smartsite.video import jobs as video_jobs
from smartsite.workorders import services

log = logging.getLogger(__name__)


CHORES_EVERY = 6 * 3600
RULES_EVERY = 60  # the dust rules keep their own intervals (DustRule.last_run_at); this polls


def _chores() -> None:
    """Housekeeping of the monitor data: partitions a week ahead, retention behind; last
    month's O&M reviews."""
    from smartsite.dust import partitions

    try:
        partitions.maintain()
    except Exception as exc:  # never stops the timers; tried again next round
        log.warning("monitor data maintenance failed: %s", exc)
    try:  # last month's O&M reviews, once the month has ended (one cheap query otherwise)
        from smartsite.dust.services import monthly_chores

        monthly_chores()
    except Exception as exc:
        log.warning("monthly O&M reviews failed: %s", exc)


def _roll_up() -> None:
    """Hour and day means the gateway has not rolled up yet (it was killed or is stopped)."""
    from smartsite.dust.services import roll_up

    try:
        for _ in range(20):
            if not roll_up():
                break
    except Exception as exc:  # tried again next round; nothing is lost (the rows stay)
        log.warning("hour/day rollup failed: %s", exc)


def _rules() -> None:
    """The dust scenario's detection rules that are due (events, recoveries, orders)."""
    from smartsite.dust import rules

    try:
        done = rules.run_due()
    except Exception as exc:  # a broken rule run never stops the timers; tried next round
        log.warning("dust rules failed: %s", exc)
        return
    if done:
        log.info("dust rules: %s", ", ".join(f"{code} {n}/{r}" for code, (n, r) in done.items()))


def run(*, interval: float = 5.0, batch: int = 500, once: bool = False) -> int:
    """Loop: fire everything due (in batches), then sleep `interval` seconds. SIGTERM or
    Ctrl-C stop it between batches. Returns the number of timers fired."""
    total = 0
    chores_due = rules_due = 0.0
    with stop_on_signals() as stop:
        while not stop.requested:
            if not connection.in_atomic_block:  # (inside a caller's transaction: keep it)
                close_old_connections()  # a database restart costs one failed pass, not the worker
            if time.monotonic() >= chores_due:
                chores_due = time.monotonic() + CHORES_EVERY
                _chores()
            if settings.WORKER_RULES and time.monotonic() >= rules_due:
                rules_due = time.monotonic() + RULES_EVERY
                _rules()
            _roll_up()
            fired = services.fire_due_timers(limit=batch)
            total += fired
            sent = outbox.deliver_due()  # webhooks and e-mail, after the timers' messages
            video_jobs.run_once()  # idle live streams stop, event snapshots (docs/video.md)
            if fired or sent:
                log.info("fired %d timers, attempted %d deliveries", fired, sent)
                continue  # more may be due
            if once:
                break
            time.sleep(interval)
    return total
