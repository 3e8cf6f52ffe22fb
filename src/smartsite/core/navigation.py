"""Who sees which header and page links (the `visible` predicates the declarations name,
core.scenarios): each is `fn(user, grant) -> bool`."""

from __future__ import annotations

from smartsite.core import permissions
from smartsite.core.choices import RoleKind


def regulator(user, grant) -> bool:
    """City, district and street regulators."""
    return grant.is_regulator or grant.sees_all


def street_officer(user, grant) -> bool:
    return RoleKind.STREET in grant.kinds


def audit_reader(user, grant) -> bool:
    return grant.sees_all or bool(grant.district_ids)


def registry_editor(user, grant) -> bool:
    return permissions.can_edit_registry(user)


def city_admin(user, grant) -> bool:
    return permissions.is_city_admin(user)
