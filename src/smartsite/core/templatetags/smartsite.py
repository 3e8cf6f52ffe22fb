"""Template filters shared by every app's pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


def format_number(value, places: int = 2) -> str:
    """20440.0 → "20,440"; 17740.27 → "17,740.27": thousands grouped, no trailing zeros."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return "" if value is None else str(value)
    return f"{value:,.{places}f}".rstrip("0").rstrip(".") if places else f"{value:,.0f}"


@register.filter
def number(value, places=2):
    """`{{ project.site_area_m2|number }}`; None shows as —."""
    return "—" if value is None else format_number(value, int(places))
