"""Navigation shown in the page header, by what the signed-in user may see: the entries every
app declares (core.scenarios), filtered by their `visible` predicates."""

from __future__ import annotations

from smartsite.core import permissions, scenarios
from smartsite.core.scoping import grant_for


def visible(entries, user, grant=None) -> list:
    """The entries (NavEntry / Link) `user` may see."""
    grant = grant or grant_for(user)
    return [e for e in entries if e.visible is None or scenarios.resolve(e.visible)(user, grant)]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [(e.url_name, e.label) for e in visible(scenarios.nav_entries(), user)]
    roles = [str(r) for r in user.roles.select_related("agency", "project", "enterprise")]
    return {
        "nav_items": items,
        "user_roles": roles or (["系统管理员"] if user.is_superuser else ["（无角色）"]),
        "can_edit_registry": permissions.can_edit_registry(user),
    }
