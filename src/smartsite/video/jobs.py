"""Worker jobs of video (declared in video/declaration.py, run by `smartsite worker`): ask for
snapshots of new events, take the due snapshots. (Idle live streams are stopped by
`live.reap_idle`, a job of its own.)"""

from __future__ import annotations

import datetime
import logging

from django.db.models import Exists, OuterRef
from django.utils import timezone

from smartsite.core import scenarios
from smartsite.video import services
from smartsite.video.models import Camera, SnapshotRequest

log = logging.getLogger(__name__)

#: How far back the worker looks for new events to snapshot.
LOOKBACK = datetime.timedelta(minutes=15)


def request_for_new_events(now=None, *, limit: int = 200) -> int:
    """Ask for a snapshot of every recent event of the scenarios that want them
    (`snapshots=True` in their declaration) on a project with an active camera that has none
    yet (idempotent; a rule may also call `services.request_snapshot(event)` directly as it
    raises the event)."""
    from smartsite.workorders.models import Event

    now = now or timezone.now()
    wanted = [d.scenario for d in scenarios.scenarios() if d.snapshots]
    events = (Event.objects.filter(scenario__in=wanted, first_seen__gte=now - LOOKBACK,
                                   project__in=Camera.objects.filter(active=True).values("project"))
              .exclude(Exists(SnapshotRequest.objects.filter(event=OuterRef("pk"))))
              .order_by("first_seen")[:limit])
    count = 0
    for event in events:
        count += bool(services.request_snapshot(event, now=now))
    return count


def take_snapshots() -> int:
    # A few per round: a grab takes seconds (an offline camera up to the RTSP timeout) and the
    # worker's timers wait meanwhile; the rest are taken in the next rounds.
    return services.take_due_snapshots(limit=3)
