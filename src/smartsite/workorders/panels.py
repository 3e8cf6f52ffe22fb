"""Evidence panels that scenarios add to an order's phone page (the officer's view), e.g. the
dust scenario's exceedance periods, live values, snapshots and the site on a map. A scenario
declares its panel (`Declaration.panel`, core.scenarios), so this app imports no scenario.

A panel is `fn(request, order) -> str` (HTML, already escaped — usually `render_to_string`);
it reads through `scoped()` for `request.user` like any page.
"""

from __future__ import annotations

from django.utils.safestring import mark_safe

from smartsite.core import scenarios


def render(request, order) -> str:
    """The scenario's panel for `order`, or ""."""
    fn = scenarios.panel(order.scenario)
    return mark_safe(fn(request, order)) if fn is not None else ""
