"""Automatic verification checks that scenarios register by name, e.g. the dust scenario's
"dust.valid_data_24h" (the monitor has sent valid data for 24 h). A loop policy names the
check in `auto_verify.check`; the worker calls it while the order waits for verification.

A check is `fn(order, now) -> bool`: True verifies the order (核查通过, by the system).
"""

from __future__ import annotations

from collections.abc import Callable

_CHECKS: dict[str, Callable] = {}


def register(name: str):
    def decorate(fn):
        _CHECKS[name] = fn
        return fn

    return decorate


def get(name: str) -> Callable | None:
    return _CHECKS.get(name)


def unregister(name: str) -> None:
    """Forget a check (a scenario being removed; tests that stand in for one)."""
    _CHECKS.pop(name, None)
