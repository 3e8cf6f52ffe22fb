"""The client's address, for login throttling (django-axes) and the audit trail.

By default it is the address the connection came from (REMOTE_ADDR): a header a client can
write itself never counts. Behind a reverse proxy every connection comes from the proxy, so
the operator names the header the proxy sets (SMARTSITE_TRUSTED_PROXY_HEADER, e.g.
X-Forwarded-For or X-Real-IP) and how many proxies append to it (SMARTSITE_TRUSTED_PROXY_COUNT,
default 1): the address that many entries from the right is the one our own proxy saw, and
whatever a client wrote further left is ignored. A missing or malformed value falls back to
REMOTE_ADDR.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

__all__ = ["client_ip"]


def _valid(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    header = (getattr(settings, "TRUSTED_PROXY_HEADER", "") or "").strip()
    if not header:
        return remote
    key = "HTTP_" + header.upper().replace("-", "_")
    entries = [e for e in request.META.get(key, "").split(",") if e.strip()]
    count = max(1, int(getattr(settings, "TRUSTED_PROXY_COUNT", 1) or 1))
    if len(entries) < count:
        return remote
    return _valid(entries[-count]) or remote
