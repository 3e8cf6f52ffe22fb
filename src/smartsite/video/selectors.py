"""Reads of video for a user: every one starts from `core.scoping.scoped()`."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from smartsite.core.scoping import scoped
from smartsite.video.models import Camera, Snapshot, SnapshotRequest


def cameras(user) -> QuerySet[Camera]:
    return scoped(user, Camera.objects.select_related("project__district").prefetch_related("monitor"))


def camera_or_404(user, pk) -> Camera:
    """The camera, or 404 whether it is absent or outside the user's scope."""
    return get_object_or_404(cameras(user), pk=pk)


def snapshots(user) -> QuerySet[Snapshot]:
    return scoped(user, Snapshot.objects.select_related("camera", "event"))


def snapshot_or_404(user, pk) -> Snapshot:
    return get_object_or_404(snapshots(user), pk=pk)


def event_evidence(event) -> dict:
    """An event's snapshots and its unfinished or failed requests (the event is visible to
    whoever asks: it came from a scoped page)."""
    return {
        "snapshots": list(Snapshot.objects.filter(event=event).select_related("camera")),
        "requests": list(SnapshotRequest.objects.filter(event=event).exclude(state="done")
                         .select_related("camera")),
    }
