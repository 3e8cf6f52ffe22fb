"""The dust scenario's periodic jobs (declared in dust/declaration.py, run by
`smartsite worker` through core.scheduler). Each returns how much work it found."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: Batches of owed hour/day means one round rolls up at most (the rest wait a round).
ROLL_UP_BATCHES = 20


def maintain_partitions() -> int:
    """Partitions of the readings a week ahead, retention behind (PostgreSQL)."""
    from smartsite.dust import partitions

    partitions.maintain()
    return 0


def monthly_reviews() -> int:
    """Last month's O&M reviews, once the month has ended (one cheap query otherwise)."""
    from smartsite.dust.services import monthly_chores

    return 1 if monthly_chores() else 0


def roll_up() -> int:
    """Hour and day means the gateway has not rolled up yet (it was killed or is stopped);
    nothing is lost if this fails: the owed rows stay for the next round."""
    from smartsite.dust.ingest import roll_up as roll_up_batch

    done = 0
    for _ in range(ROLL_UP_BATCHES):
        if not roll_up_batch():
            break
        done += 1
    return done


def run_rules() -> int:
    """The detection rules that are due (each keeps its own interval in DustRule.last_run_at;
    this job polls): events raised or updated and recovered."""
    from smartsite.dust import rules

    done = rules.run_due()
    if done:
        log.info("dust rules: %s", ", ".join(f"{code} {n}/{r}" for code, (n, r) in done.items()))
    return sum(n + r for n, r in done.values())
