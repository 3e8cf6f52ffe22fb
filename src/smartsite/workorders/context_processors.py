"""The unread-notification count in the page header."""

from __future__ import annotations

from django.conf import settings

from smartsite.workorders import selectors


def notifications(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": selectors.unread_count(user),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES}
