"""Two login limits on django-axes' one counter (its documented AXES_FAILURE_LIMIT callable).

Axes counts failures for each lockout parameter set — [username, address] and [address] — and
locks when the larger count reaches the limit. The address count is never smaller, so: once the
username+address pair has LOGIN_FAILURE_LIMIT failures the limit is that (locked, as before);
otherwise the limit is LOGIN_FAILURE_LIMIT_PER_ADDRESS, reached by spraying one password over
many usernames from one address.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

__all__ = ["failure_limit"]


def failure_limit(request, credentials=None) -> int:
    per_user = settings.LOGIN_FAILURE_LIMIT
    per_address = max(per_user, settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS)
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    attempts = AccessAttempt.objects.filter(username=username, ip_address=address)
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
    return per_user if failures >= per_user else per_address
