"""Reads of the registry for a user: every project-bound one starts from `scoped()`.

The pages' lists and details are declared on `core.generic` (their querysets are scoped
there); these are the reads a page makes beyond its object.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from smartsite.core import models as m
from smartsite.core.choices import RegionLevel
from smartsite.core.scoping import scoped


def projects(user) -> QuerySet[m.Project]:
    return scoped(user, m.Project.objects.all())


def project_status_counts(user) -> dict[str, int]:
    """{status: number of visible projects}."""
    return dict(projects(user).values_list("status").annotate(n=Count("pk")))


def projects_by_district(user, limit: int = 16) -> QuerySet:
    """[{"district__name", "n"}] of the visible projects, most first."""
    return projects(user).values("district__name").annotate(n=Count("pk")).order_by("-n")[:limit]


def project_points(user) -> QuerySet:
    """Visible projects with a position: (longitude, latitude, id, name, status) rows."""
    return (projects(user).filter(longitude__isnull=False)
            .values_list("longitude", "latitude", "pk", "name", "status"))


def project_count_in(user, region: m.Region) -> int:
    """How many visible projects lie in `region` (a district or a street; the city: all)."""
    qs = projects(user)
    if region.level == RegionLevel.DISTRICT:
        qs = qs.filter(district=region)
    elif region.level == RegionLevel.STREET:
        qs = qs.filter(street=region)
    return qs.count()


def parties_of(user, enterprise: m.Enterprise) -> QuerySet[m.ProjectParty]:
    """The enterprise's roles on the projects `user` can see, newest project first."""
    return (enterprise.parties.filter(project__in=projects(user).values("pk"))
            .select_related("project__district").order_by("-project__start_date"))


def assignments_of(user, person: m.Person) -> QuerySet[m.PostAssignment]:
    """The person's post assignments on the projects `user` can see."""
    return person.assignments.filter(project__in=projects(user).values("pk")).select_related(
        "project", "post")


def role_history(user) -> QuerySet[m.AuditEntry]:
    """The audit entries of roles granted to or revoked from `user`, newest first (20)."""
    return m.AuditEntry.objects.filter(model="core.role").filter(
        Q(changes__user__0=user.pk) | Q(changes__user__1=user.pk))[:20]
