"""Template helpers of the dust dashboards."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(part, whole) -> str:
    """`{{ online|pct:total }}` → "87.5%"; "—" when there is nothing to divide by."""
    try:
        part, whole = float(part), float(whole)
    except (TypeError, ValueError):
        return "—"
    if whole <= 0:
        return "—"
    share = 100 * part / whole
    # Never round a shortfall up to 100% (or a few down to 0%).
    share = min(share, 99.9) if part < whole else share
    share = max(share, 0.1) if part > 0 else share
    text = f"{share:.1f}"
    return f"{text.removesuffix('.0')}%"
