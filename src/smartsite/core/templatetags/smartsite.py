"""Template filters shared by every app's pages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()


def badge(colour: str, text) -> str:
    """A coloured badge (the one markup for states, levels and severities on every page)."""
    return format_html('<span class="badge" style="--c:{}">{}</span>', colour, text)


def format_number(value, places: int = 2) -> str:
    """20440.0 → "20,440"; 17740.27 → "17,740.27": thousands grouped, no trailing zeros."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return "" if value is None else str(value)
    return f"{value:,.{places}f}".rstrip("0").rstrip(".") if places else f"{value:,.0f}"


@register.filter
def number(value, places=2):
    """`{{ project.site_area_m2|number }}`; None shows as —."""
    return "—" if value is None else format_number(value, int(places))


@register.simple_tag(takes_context=True)
def declared_links(context, place: str, *args):
    """The buttons the apps declare for `place` (core.scenarios.Link) that the signed-in user
    may see, as (label, url): `{% declared_links "project" object.pk as links %}`."""
    from django.urls import reverse

    from smartsite.core import scenarios
    from smartsite.core.context_processors import visible

    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return [(link.label, reverse(link.url_name, args=args))
            for link in visible(scenarios.links(place), request.user)]
