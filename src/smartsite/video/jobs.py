"""Worker units of video (design.md §2 rule 4), for `smartsite worker` to call each round:
stop idle live streams, ask for snapshots of new dust events, take the due snapshots."""

from __future__ import annotations

import datetime
import logging

from django.db.models import Exists, OuterRef
from django.utils import timezone

from smartsite.video import live, services
from smartsite.video.models import Camera, SnapshotRequest

log = logging.getLogger(__name__)

#: Scenarios whose new events get a snapshot, and how far back the worker looks for them.
SNAPSHOT_SCENARIOS = ("dust",)
LOOKBACK = datetime.timedelta(minutes=15)


def request_for_new_events(now=None, *, limit: int = 200) -> int:
    """Ask for a snapshot of every recent event of SNAPSHOT_SCENARIOS on a project with an
    active camera that has none yet (idempotent; a rule may also call
    `services.request_snapshot(event)` directly as it raises the event)."""
    from smartsite.workorders.models import Event

    now = now or timezone.now()
    events = (Event.objects.filter(scenario__in=SNAPSHOT_SCENARIOS, first_seen__gte=now - LOOKBACK,
                                   project__in=Camera.objects.filter(active=True).values("project"))
              .exclude(Exists(SnapshotRequest.objects.filter(event=OuterRef("pk"))))
              .order_by("first_seen")[:limit])
    count = 0
    for event in events:
        count += bool(services.request_snapshot(event, now=now))
    return count


def _snapshots() -> int:
    # A few per round: a grab takes seconds (an offline camera up to the RTSP timeout) and the
    # worker's timers wait meanwhile; the rest are taken in the next rounds.
    return services.take_due_snapshots(limit=3)


def run_once(now=None) -> int:
    """One round of every video unit; returns how much work was found. Never raises."""
    found = 0
    for unit in (live.reap_idle, request_for_new_events, _snapshots):
        try:
            found += unit() or 0
        except Exception:  # one failing unit never stops the worker or the others
            log.exception("video job %s failed", unit.__name__)
    return found
