"""The phone check-in page (到岗打卡), standing in for the 住建委's WeChat mini-program: the
browser's position with its accuracy, a live camera photo, entry or exit. The page posts to
the same API as any app (POST /api/v1/attendance/checkins, checkin_api.py); its script is
static/smartsite/checkin.js (no inline script: the Content-Security-Policy)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from smartsite.attendance import checkin
from smartsite.attendance.choices import RequestStatus
from smartsite.attendance.models import CheckIn, StandIn
from smartsite.core.models import PostAssignment


@login_required
def checkin_page(request):
    person = checkin.person_of(request.user)
    posts, today = [], timezone.localdate()
    recent = []
    if person is not None:
        for a in checkin.current_on(PostAssignment.objects.filter(person=person), today) \
                .select_related("project", "post").order_by("project__name", "pk"):
            posts.append({"project": a.project, "label": f"{a.project.name} · {a.post.name}"})
        for s in (StandIn.objects.filter(person=person, status=RequestStatus.APPROVED,
                                         start_date__lte=today, end_date__gte=today)
                  .select_related("assignment__project", "assignment__post")):
            posts.append({"project": s.assignment.project,
                          "label": f"{s.assignment.project.name} · {s.assignment.post.name}（顶岗）"})
        recent = (CheckIn.objects.filter(person=person, at__date__gte=today)
                  .select_related("project").order_by("-at")[:10])
    return render(request, "attendance/checkin.html", {
        "title": "到岗打卡", "person": person, "posts": posts, "recent": recent})

