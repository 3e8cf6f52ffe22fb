"""`{% monitor_upkeep monitor %}` (the monitor page's inspections, sprays and O&M) and
`{% upkeep_summary project %}` (a project's compact O&M summary, for dashboards)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("dust/partials/monitor_upkeep.html", takes_context=True)
def monitor_upkeep(context, monitor):
    from smartsite.dust.upkeep_views import monitor_upkeep_context

    return monitor_upkeep_context(context["request"].user, monitor)


@register.inclusion_tag("dust/partials/upkeep_summary.html")
def upkeep_summary(project, month=None):
    """`project` must come from `scoped()` (the page already decided the user may see it)."""
    from smartsite.dust.selectors import upkeep_summary as summary

    return summary(project, month)


@register.filter
def percent(value) -> str:
    """A share (0–1) as "97.5%"; "—" when unknown."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"
