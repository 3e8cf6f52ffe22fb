"""The phone check-in page (到岗打卡), standing in for the 住建委's WeChat mini-program: the
browser's position with its accuracy, a live camera photo, entry or exit. The page posts to
the same API as any app (POST /api/v1/attendance/checkins, checkin_api.py); its script is
static/smartsite/checkin.js (no inline script: the Content-Security-Policy). And the
regulators' enrolment page (人脸录入)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from smartsite.attendance import checkin, enrolment, faces, selectors
from smartsite.attendance.choices import RequestStatus
from smartsite.attendance.models import CheckIn, Enrolment, StandIn
from smartsite.core.models import Person, PostAssignment
from smartsite.core.scoping import scoped


@login_required
def checkin_page(request):
    person = checkin.person_of(request.user)
    posts, today = [], timezone.localdate()
    recent = []
    if person is not None:
        for a in selectors.overlapping(PostAssignment.objects.filter(person=person), today) \
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



@login_required
def enrol_page(request, pk):
    """人脸录入: a regulator takes or uploads a person's reference photo (enrolment.py); the
    page shows the enrolments so far and what the 公安人脸库 said."""
    person = get_object_or_404(scoped(request.user, Person.objects.all()), pk=pk)
    enrolment.require_enrol(request.user, person)
    error, status = "", 200
    if request.method == "POST":
        upload = request.FILES.get("photo")
        if upload is None:
            error, status = "请拍摄或选择一张人脸照片", 400
        elif upload.size > enrolment.photo_max_bytes():
            error, status = (f"照片过大（{upload.size / 1048576:.1f} MB），不能超过 "
                             f"{enrolment.photo_max_bytes() / 1048576:.1f} MB"), 413
        else:
            try:
                done = enrolment.enrol(person=person, photo=upload.read(), actor=request.user)
            except faces.PhotoRejected as exc:
                error, status = exc.message, exc.status
            else:
                level = messages.success if done.enrolment.active else messages.error
                level(request, f"已录入{person.name}的人脸照片：{done.message}"
                               f"{'' if done.enrolment.active else '；未启用，打卡仍与原照片比对'}")
                return redirect("attendance:enrol", pk=person.pk)
    rows = Enrolment.objects.filter(person=person).select_related("enrolled_by")[:20]
    return render(request, "attendance/enrol.html", {
        "title": f"人脸录入 · {person.name}", "person": person, "rows": rows, "error": error},
        status=status)
