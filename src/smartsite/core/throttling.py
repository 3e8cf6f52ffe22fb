"""Two login limits on django-axes' one counter (its documented AXES_FAILURE_LIMIT callable).

Axes counts failures for each lockout parameter set — [username, address] and [address] — and
locks when the larger count reaches the limit. The address count is never smaller, so: once the
username+address pair has LOGIN_FAILURE_LIMIT failures the limit is that (locked, as before);
otherwise the limit is LOGIN_FAILURE_LIMIT_PER_ADDRESS, reached by spraying one password over
many usernames from one address.

A successful login clears the failures of its own username+address pair only
(`forget_own_failures`; axes' AXES_RESET_ON_SUCCESS is off because it also clears the address's
count — then anyone with a working login could spray 19 guesses, log in, and spray 19 more, for
ever).
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

__all__ = ["failure_limit", "forget_own_failures"]


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


def forget_own_failures(sender, request, user, **kwargs) -> None:
    """`user_logged_in`: the user's own earlier failures from this address no longer count;
    those of other usernames from the same address still do."""
    if request is None:
        return
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=address).delete()
