"""Pages of the pit scenario: thin callers of `selectors` (reads) and `services` (writes)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render

from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.pits import selectors
from smartsite.pits.choices import Colour


@login_required
def dashboard(request):
    """基坑总览: pits by colour and district; deeper than 12 m marked."""
    pits = selectors.pits(request.user)
    districts = (pits.values("project__district__name")
                 .annotate(total=Count("pk"), deep=Count("pk", filter=Q(design_depth_m__gt=12)),
                           yellow=Count("pk", filter=Q(colour=Colour.YELLOW)),
                           red=Count("pk", filter=Q(colour=Colour.RED)))
                 .order_by("project__district__name"))
    watched = pits.exclude(colour=Colour.GREEN, proposed_colour=Colour.GREEN).order_by(
        "-colour", "-design_depth_m")[:50]
    return render(request, "pits/dashboard.html", {
        "counts": selectors.by_colour(request.user), "districts": districts,
        "watched": watched, "total": pits.count(),
        "deep": pits.filter(design_depth_m__gt=12).count()})


@login_required
def project(request, pk):
    project = get_object_or_404(scoped(request.user, Project.objects.all()), pk=pk)
    return render(request, "pits/project.html", {
        "project": project, "pits": selectors.pits(request.user).filter(project=project)})


@login_required
def pit(request, pk):
    pit = get_object_or_404(selectors.pits(request.user), pk=pk)
    return render(request, "pits/pit.html", {
        "pit": pit, "points": selectors.points(request.user, pit),
        "stages": pit.stages.all(), "changes": pit.colour_changes.all()[:30]})
