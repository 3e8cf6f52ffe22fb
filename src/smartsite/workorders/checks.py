"""Automatic verification checks, by name, e.g. the dust scenario's "dust.valid_data_24h"
(the monitor has sent valid data for 24 h). A scenario declares its checks
(`Declaration.checks`, core.scenarios); a loop policy names one in `auto_verify.check`; the
worker calls it while the order waits for verification. This app imports no scenario.

A check is `fn(order, now) -> bool`: True verifies the order (核查通过, by the system).
"""

from __future__ import annotations

from collections.abc import Callable

from smartsite.core import scenarios

#: Checks registered in code rather than declared (a test standing in for a scenario's).
_REGISTERED: dict[str, Callable] = {}


def register(name: str):
    def decorate(fn):
        _REGISTERED[name] = fn
        return fn

    return decorate


def unregister(name: str) -> None:
    """Forget a check registered in code (the declared one, if any, applies again)."""
    _REGISTERED.pop(name, None)


def get(name: str) -> Callable | None:
    if name in _REGISTERED:
        return _REGISTERED[name]
    path = scenarios.checks().get(name)
    return scenarios.resolve(path) if path else None

