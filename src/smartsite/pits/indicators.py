"""The pit scenario's indicators (core.scenarios.Indicator), read through `scoped()`."""

from __future__ import annotations

from smartsite.pits import selectors
from smartsite.pits.choices import Colour


def _pits(user, scope, obj):
    qs = selectors.pits(user)
    if scope == "project":
        return qs.filter(project=obj)
    if scope == "district":
        return qs.filter(project__district=obj)
    return qs


def yellow(user, scope, obj, start, end) -> int:
    """Pits whose confirmed colour is yellow (一般预警) now."""
    return _pits(user, scope, obj).filter(colour=Colour.YELLOW).count()


def red(user, scope, obj, start, end) -> int:
    """Pits whose confirmed colour is red (严重预警) now."""
    return _pits(user, scope, obj).filter(colour=Colour.RED).count()
