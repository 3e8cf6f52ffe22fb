"""The loop engine's periodic job (declared in workorders/declaration.py): fire the durable
timers that are due, a batch at a time (design.md §2 rule 4)."""

from __future__ import annotations

from django.conf import settings


def fire_timers() -> int:
    """Timers due now, `SMARTSITE_WORKER_BATCH` per transaction; returns how many fired (the
    worker comes back at once while there are more)."""
    from smartsite.workorders import services

    return services.fire_due_timers(limit=settings.WORKER_BATCH)
