"""{% event_evidence event as ev %}: an event's snapshots for the order page's evidence."""

from django import template

from smartsite.video import selectors

register = template.Library()


@register.simple_tag
def event_evidence(event):
    return selectors.event_evidence(event)
