"""The one scoping function: what each user may see (design.md §2 rule 2, §3).

Every read of registry or project-bound data for a user goes through `scoped()`. Pages, API,
exports and dashboards all call it, so a scope leak has only one place to come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from smartsite.core.choices import RoleKind

_CACHE_ATTR = "_smartsite_grant"


@dataclass(frozen=True)
class Grant:
    """The union of a user's roles, reduced to ids."""

    sees_all: bool = False
    district_ids: frozenset[int] = frozenset()
    street_ids: frozenset[int] = frozenset()
    enterprise_ids: frozenset[int] = frozenset()
    project_ids: frozenset[int] = frozenset()
    kinds: frozenset[str] = frozenset()

    @property
    def is_regulator(self) -> bool:
        return bool(self.kinds & {RoleKind.CITY, RoleKind.DISTRICT, RoleKind.STREET})

    @property
    def is_empty(self) -> bool:
        return not (self.sees_all or self.district_ids or self.street_ids
                    or self.enterprise_ids or self.project_ids)

    def projects(self) -> QuerySet:
        """The projects this grant covers, as a queryset usable as a subquery."""
        from smartsite.core.models import Project

        if self.sees_all:
            return Project.objects.all()
        q = Q(pk__in=self.project_ids)
        if self.district_ids:
            q |= Q(district__in=self.district_ids)
        if self.street_ids:
            q |= Q(street__in=self.street_ids)
        if self.enterprise_ids:
            q |= Q(parties__enterprise__in=self.enterprise_ids)
        return Project.objects.filter(q)


NOBODY = Grant()


def grant_for(user) -> Grant:
    """The grant of `user`, computed once per user object (i.e. once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from smartsite.core.models import Role

    sees_all = user.is_superuser
    districts, streets, enterprises, projects, kinds = set(), set(), set(), set(), set()
    for role in Role.objects.filter(user=user).select_related("agency__region"):
        kinds.add(role.kind)
        if role.kind == RoleKind.CITY:
            sees_all = True
        elif role.kind == RoleKind.DISTRICT:
            districts.add(role.agency.region_id)
        elif role.kind == RoleKind.STREET:
            streets.add(role.agency.region_id)
        elif role.kind == RoleKind.ENTERPRISE:
            enterprises.add(role.enterprise_id)
        elif role.kind == RoleKind.PROJECT:
            projects.add(role.project_id)
    if user.is_superuser:
        kinds.add(RoleKind.CITY)
    grant = Grant(sees_all, frozenset(districts), frozenset(streets), frozenset(enterprises),
                  frozenset(projects), frozenset(kinds))
    setattr(user, _CACHE_ATTR, grant)
    return grant


def forget_grant(user) -> None:
    """Drop the cached grant after the user's roles change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def scoped(user, qs: QuerySet) -> QuerySet:
    """Rows of `qs` visible to `user`; city-level staff see everything, nobody sees nothing.

    Models that are public reference data (regions, agencies, posts) pass through for any
    signed-in user. Any other model must define `scope_filter(grant) -> Q`.
    """
    grant = grant_for(user)
    if grant.is_empty:
        return qs.none()
    if grant.sees_all:
        return qs
    scope_filter = getattr(qs.model, "scope_filter", None)
    if scope_filter is None:
        if getattr(qs.model, "public_reference", False):
            return qs
        raise TypeError(f"{qs.model.__name__} has no scope_filter(); it cannot be scoped")
    if getattr(qs.model, "scope_direct", False):
        # The filter follows foreign keys only (no to-many join that could repeat rows), so it
        # is applied as is: the planner can use the model's own indexes (e.g. orders by
        # district) instead of scanning the table for an `id IN (…)` of itself.
        return qs.filter(scope_filter(grant))
    return qs.filter(pk__in=qs.model.objects.filter(scope_filter(grant)).values("pk"))
