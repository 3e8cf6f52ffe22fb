"""The attendance pages: the rankings (the scenario's dashboard), a project's board, a
person's month calendar, the review queue with its photos, the list of key-post holders to
enrol (the enrolment page itself is checkin_views.enrol_page), and the forms for leave,
stand-ins and stoppages. Thin callers of `board` / `selectors` (reads) and `services`
(writes); an object the user cannot see is a 404, one they see but
may not act on a 403 (the services' `Forbidden`), bad input the form again with a Chinese
message and nothing changed.

Charts get their data through `json_script` (the Content-Security-Policy allows no inline
script): static/smartsite/attendance.js draws them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from smartsite.attendance import board, forms, permissions, selectors, services
from smartsite.attendance.choices import CaseStatus
from smartsite.attendance.models import CheckIn, Enrolment
from smartsite.core.choices import PartyRole
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import Person
from smartsite.core.permissions import can_edit_registry, party_projects
from smartsite.core.scoping import grant_for, scoped

POST_PARTIES = (PartyRole.CONTRACTOR, PartyRole.SUPERVISOR)


def _acts_for(user, roles):
    """The projects the user sees and acts on for one of the party `roles`."""
    return selectors.projects(user).filter(party_projects(user, roles))


def _month(request):
    return board.month_of(request.GET.get("month"), timezone.localdate())


def _months_around(month):
    prev = (month - board.rates.DAY).replace(day=1)
    nxt = (month + board.rates.DAY * 32).replace(day=1)
    return prev, nxt


def _form_error(form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# ---------------------------------------------------------------- rankings (the dashboard)


@login_required
def dashboard(request):
    """关键岗位考勤排名: the month's rate by project, enterprise and district, Class I vs
    Class II, the trend since go-live, and every key post's rate, the lowest first."""
    month = _month(request)
    data = board.rankings(request.user, month)
    flags = selectors.no_awards([e["pk"] for e in data["enterprises"]], month.year)
    for e in data["enterprises"]:
        e["no_awards"] = flags.get(e["pk"], "")
    posts = _post_rows(request.user, month)
    prev, nxt = _months_around(month)
    return render(request, "attendance/rankings.html", {
        **data, "month": month, "prev": prev, "next": nxt, **posts,
        "is_regulator": grant_for(request.user).is_regulator,
        "can_enrol": can_edit_registry(request.user),
        "pending": board.pending_for(
            request.user, owned=_acts_for(request.user, (PartyRole.OWNER,)),
            regulated=permissions.regulated_projects(request.user)),
        "open_reviews": selectors.review_cases(request.user)
        .filter(status=CaseStatus.OPEN).count() if grant_for(request.user).is_regulator else 0,
        "min_pct": round(data["params"]["min_monthly_rate"] * 100),
        **board.sanctions_section(request.user)})


SHOWN = 200


def _post_rows(user, month) -> dict:
    """Every key post's rate over the month's closed days, the lowest first (counted in the
    database; only the posts shown are loaded)."""
    first, last = board.rates.month_bounds(month)
    min_rate = selectors.param("min_monthly_rate")
    counts: dict[int, dict[str, int]] = {}
    for aid, status, n in (selectors.days(user).filter(date__gte=first, date__lte=last)
                           .values_list("assignment", "status").annotate(n=Count("pk"))
                           .order_by()):
        counts.setdefault(aid, {})[status] = n
    tallies = []
    for aid, c in counts.items():
        t = board.rates.tally(s for s, n in c.items() for _ in range(n))
        if t.rate is not None:
            tallies.append((t.rate, aid, t))
    tallies.sort(key=lambda x: (x[0], x[1]))
    shown = tallies[:SHOWN]
    assignments = {a.pk: a for a in selectors.assignments(user).filter(
        pk__in=[aid for _r, aid, _t in shown])}
    rows = [{"a": assignments[aid], "t": t, "rate": float(r),
             "pct": board.Rate(t, min_rate, 0).pct, "below": not t.meets(min_rate)}
            for r, aid, t in shown if aid in assignments]
    return {"rows": rows, "more": max(0, len(tallies) - SHOWN),
            "below": sum(not t.meets(min_rate) for _r, _a, t in tallies),
            "posts": len(tallies)}


# ---------------------------------------------------------------- a project's board


@login_required
def project(request, pk):
    project = get_object_or_404(selectors.projects(request.user), pk=pk)
    today = timezone.localdate()
    data = board.project_board(request.user, project, today)
    user = request.user
    return render(request, "attendance/project.html", {
        **data, "project": project, "today": today, "now": timezone.now(),
        "can_request": _acts_for(user, POST_PARTIES).filter(pk=pk).exists(),
        "can_decide": _acts_for(user, (PartyRole.OWNER,)).filter(pk=pk).exists(),
        "can_file": _acts_for(user, (PartyRole.OWNER, PartyRole.CONTRACTOR))
        .filter(pk=pk).exists(),
        "can_approve_stoppage": permissions.regulated_projects(user).filter(pk=pk).exists(),
        "can_enrol": can_edit_registry(user), "decision_form": forms.DecisionForm(),
        **board.sanctions_section(user, project=project)})


# ---------------------------------------------------------------- a person's month


@login_required
def person(request, pk):
    person = get_object_or_404(scoped(request.user, Person.objects.all()), pk=pk)
    month = _month(request)
    prev, nxt = _months_around(month)
    data = board.calendar(request.user, person, month)
    return render(request, "attendance/person.html", {
        **data, "person": person, "month": month, "prev": prev, "next": nxt,
        "weekdays": "一二三四五六日", "is_regulator": grant_for(request.user).is_regulator,
        "min_pct": round(data["params"]["min_monthly_rate"] * 100),
        "max_leave_pct": round(data["params"]["max_leave_share"] * 100)})


# ---------------------------------------------------------------- leave and stand-ins


def _assignment(request, pk):
    a = get_object_or_404(selectors.assignments(request.user), pk=pk)
    permissions.require_request(request.user, a.project, a.post.party_role)
    return a


def _request_page(request, pk, form_class, title, file):
    a = _assignment(request, pk)
    form = form_class(request.POST) if request.method == "POST" else form_class()
    if request.method == "POST" and form.is_valid():
        try:
            file(a, form)
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"已提交{title}，等待建设单位审批")
            return redirect(reverse("attendance:project", args=[a.project_id]) + "#requests")
    return render(request, "attendance/request_form.html", {
        "a": a, "form": form, "title": title},
        status=422 if request.method == "POST" else 200)


@login_required
def leave_add(request, pk):
    """请假申请: the post's party (施工单位 / 监理单位) asks for whole days."""
    def file(a, form):
        d = form.cleaned_data
        services.request_leave(request.user, a, start_date=d["start_date"],
                               end_date=d["end_date"], reason=d["reason"])
    return _request_page(request, pk, forms.LeaveForm, "请假申请", file)


@login_required
def stand_in_add(request, pk):
    """顶岗申请: another person with a valid certificate of the same kind takes the post."""
    def file(a, form):
        d = form.cleaned_data
        services.request_stand_in(request.user, a, person=form.person,
                                  start_date=d["start_date"], end_date=d["end_date"],
                                  reason=d.get("reason", ""))
    return _request_page(request, pk, forms.StandInForm, "顶岗申请", file)


def _decide(request, obj, decide, what):
    permissions.require_owner(request.user, obj.assignment.project)
    form = forms.DecisionForm(request.POST)
    back = reverse("attendance:project", args=[obj.assignment.project_id]) + "#requests"
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, f"{what}未审批：{errors[0]}")
        return redirect(back)
    d = form.cleaned_data
    try:
        decide(request.user, obj, approve=d["decision"] == "approve", note=d["note"])
    except DomainError as error:
        messages.error(request, f"{what}未审批：{error.message}")
    else:
        messages.success(request, f"{what}已{'批准' if d['decision'] == 'approve' else '驳回'}")
    return redirect(back)


@login_required
@require_POST
def leave_decide(request, pk):
    leave = get_object_or_404(selectors.leaves(request.user), pk=pk)
    return _decide(request, leave, services.decide_leave,
                   f"{leave.assignment.person.name}的请假（{leave.start_date}～{leave.end_date}）")


@login_required
@require_POST
def stand_in_decide(request, pk):
    s = get_object_or_404(selectors.stand_ins(request.user), pk=pk)
    return _decide(request, s, services.decide_stand_in,
                   f"{s.person.name}顶岗{s.assignment.person.name}（{s.start_date}～{s.end_date}）")


# ---------------------------------------------------------------- stoppages


@login_required
def stoppage_add(request, pk):
    """停工报备: the 建设单位 or 施工单位 files it; the district approves it."""
    project = get_object_or_404(selectors.projects(request.user), pk=pk)
    permissions.require_file_stoppage(request.user, project)
    form = forms.StoppageForm(request.POST) if request.method == "POST" \
        else forms.StoppageForm()
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.file_stoppage(request.user, project, start_date=d["start_date"],
                                   end_date=d["end_date"], reason=d["reason"])
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, "已报备停工，等待区监督机构审批")
            return redirect(reverse("attendance:project", args=[pk]) + "#stoppages")
    return render(request, "attendance/stoppage_form.html", {"project": project, "form": form},
                  status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def stoppage_decide(request, pk):
    stoppage = get_object_or_404(selectors.stoppages(request.user), pk=pk)
    permissions.require_regulator(request.user, stoppage.project)
    back = reverse("attendance:project", args=[stoppage.project_id]) + "#stoppages"
    form = forms.StoppageDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"停工报备未审批：{form.errors['decision'][0]}")
        return redirect(back)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.decide_stoppage(request.user, stoppage, approve=approve)
    except DomainError as error:
        messages.error(request, f"停工报备未审批：{error.message}")
    else:
        messages.success(request, f"停工报备已{'批准，停工期间不计考勤' if approve else '驳回'}")
    return redirect(back)


# ---------------------------------------------------------------- the review queue


def _require_regulator_role(user) -> None:
    if not grant_for(user).is_regulator:
        raise Forbidden("疑似作假复核只对监管部门开放")


@login_required
def reviews(request):
    """疑似作假复核: the open cases (or the decided ones) with their evidence."""
    _require_regulator_role(request.user)
    status = request.GET.get("status") or CaseStatus.OPEN
    if status not in CaseStatus.values:
        status = CaseStatus.OPEN
    data = board.review_queue(request.user, status=status)
    deciding = set(permissions.regulated_projects(request.user).filter(
        pk__in={c.checkin.project_id for c in data["cases"]}).values_list("pk", flat=True))
    for c in data["cases"]:
        c.can_decide = c.checkin.project_id in deciding and c.status == CaseStatus.OPEN
    return render(request, "attendance/reviews.html", {
        **data, "status": status, "status_label": CaseStatus(status).label,
        "tabs": [(v, label, data["counts"].get(v, 0)) for v, label in CaseStatus.choices]})


@login_required
@require_POST
def review_decide(request, pk):
    case = get_object_or_404(selectors.review_cases(request.user), pk=pk)
    permissions.require_regulator(request.user, case.checkin.project)
    form = forms.ReviewForm(request.POST)
    back = reverse("attendance:reviews") + f"#case-{case.pk}"
    who = f"{case.checkin.person.name} {timezone.localtime(case.checkin.at):%m-%d %H:%M} 的打卡"
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, f"{who}未复核：{errors[0]}")
        return redirect(back)
    confirmed = form.cleaned_data["decision"] == "confirm"
    try:
        services.decide_review(request.user, case, confirmed=confirmed,
                               note=form.cleaned_data["note"])
    except DomainError as error:
        messages.error(request, f"{who}未复核：{error.message}")
    else:
        messages.success(request, f"{who}：{'已确认作假，该次打卡不计考勤' if confirmed else '已排除'}")
    return redirect(back)


def _photo(field):
    if not field:
        raise Http404("没有照片")
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("照片文件已不存在") from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def checkin_photo(request, pk):
    """A check-in's photo, to regulators who see the check-in (faces are personal data: never
    a public URL)."""
    _require_regulator_role(request.user)
    return _photo(get_object_or_404(scoped(request.user, CheckIn.objects.all()), pk=pk).photo)


@login_required
def enrolment_photo(request, pk):
    """An enrolled reference photo, to regulators who see the person."""
    _require_regulator_role(request.user)
    return _photo(get_object_or_404(scoped(request.user, Enrolment.objects.all()), pk=pk).photo)


# ---------------------------------------------------------------- enrolment


def _require_enroller(user) -> None:
    if not can_edit_registry(user):
        raise Forbidden("只有区监督站或市级监管人员可以录入人脸照片")


@login_required
def enrolments(request):
    """人脸采集登记: key-post holders the officer sees, with their enrolment status."""
    _require_enroller(request.user)
    people = list(board.visible_people_with_posts(request.user)[:500])
    active = {e.person_id: e for e in Enrolment.objects.filter(person__in=people, active=True)}
    latest = {}
    for e in Enrolment.objects.filter(person__in=people).order_by("person", "-enrolled_at"):
        latest.setdefault(e.person_id, e)
    rows = [{"p": p, "active": active.get(p.pk), "latest": latest.get(p.pk)} for p in people]
    rows.sort(key=lambda r: (r["active"] is not None, r["p"].name))
    return render(request, "attendance/enrolments.html", {
        "rows": rows, "missing": sum(r["active"] is None for r in rows)})


# ---------------------------------------------------------------- consequences (后果)


@login_required
@require_POST
def sanction_decide(request, pk):
    """The project's district regulator confirms or withdraws a proposed consequence."""
    sanction = get_object_or_404(selectors.sanctions(request.user), pk=pk)
    permissions.require_sanction_decider(request.user, sanction.project)
    back = (request.POST.get("back") == "project" and (
        reverse("attendance:project", args=[sanction.project_id]) + "#sanctions")) \
        or reverse("attendance:dashboard") + "#sanctions"
    what = f"{sanction.get_kind_display()}（{sanction.enterprise.name} {sanction.period}）"
    form = forms.SanctionDecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, f"{what}未处理：{errors[0]}")
        return redirect(back)
    confirm = form.cleaned_data["decision"] == "confirm"
    try:
        services.decide_sanction(request.user, sanction, confirm=confirm,
                                 note=form.cleaned_data["note"])
    except DomainError as error:
        messages.error(request, f"{what}未处理：{error.message}")
    else:
        messages.success(request, f"{what}已{'确认' if confirm else '撤销'}")
    return redirect(back)
