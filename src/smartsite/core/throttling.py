"""Two login limits on django-axes' one counter (its documented AXES_FAILURE_LIMIT callable).

Axes counts failures for each lockout parameter set — [username, address] and [address] — and
locks when the larger count reaches the limit. The address count is never smaller, so: once the
username+address pair has LOGIN_FAILURE_LIMIT failures the limit is that (locked, as before);
otherwise the limit is LOGIN_FAILURE_LIMIT_PER_ADDRESS, reached by spraying one password over
many usernames from one address — except for a username that has logged in from that address
before (axes' AccessLog of successful logins): its limit is its own LOGIN_FAILURE_LIMIT only, so
anonymous failures from a shared address (an office, a NAT) cannot lock its known users out.

A successful login clears the failures of its own username+address pair only
(`forget_own_failures`; axes' AXES_RESET_ON_SUCCESS is off because it also clears the address's
count — then anyone with a working login could spray 19 guesses, log in, and spray 19 more, for
ever).
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import Sum

__all__ = ["failure_limit", "forget_own_failures"]


def failure_limit(request, credentials=None) -> int:
    per_user = settings.LOGIN_FAILURE_LIMIT
    per_address = max(per_user, settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS)
    username = get_client_username(request, credentials)
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    attempts = AccessAttempt.objects.all()
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    failures = _sum(attempts.filter(username=username, ip_address=address))
    if failures >= per_user:
        return per_user
    if username and AccessLog.objects.filter(username=username, ip_address=address).exists():
        # this user has logged in from here before: others' failures from the address must
        # not lock them out (20 made-up usernames would lock `city` out of its own office).
        # Axes compares the larger count with the limit, so the limit is raised by the
        # difference: only the pair's own failures can reach it.
        return per_user + max(0, _sum(attempts.filter(ip_address=address)) - failures)
    return per_address


def _sum(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


def forget_own_failures(sender, request, user, **kwargs) -> None:
    """`user_logged_in`: the user's own earlier failures from this address no longer count;
    those of other usernames from the same address still do."""
    if request is None:
        return
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=address).delete()
