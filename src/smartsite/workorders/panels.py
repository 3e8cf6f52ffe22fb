"""Evidence panels that scenarios add to an order's phone page (the officer's view), e.g. the
dust scenario's exceedance periods, live values, snapshots and the site on a map. Like
`checks`, a scenario registers by name, so this app imports no scenario.

A panel is `fn(request, order) -> str` (HTML, already escaped — usually `render_to_string`);
it reads through `scoped()` for `request.user` like any page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import mark_safe

_PANELS: dict[str, Callable] = {}


def register(scenario: str):
    def decorate(fn):
        _PANELS[scenario] = fn
        return fn

    return decorate


def render(request, order) -> str:
    """The scenario's panel for `order`, or ""."""
    fn = _PANELS.get(order.scenario)
    return mark_safe(fn(request, order)) if fn is not None else ""
