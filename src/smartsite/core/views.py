"""Registry pages. Declared on `core.generic`; each view is a few lines."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from smartsite.core import filtersets, forms, permissions, scenarios, selectors, services
from smartsite.core import models as m
from smartsite.core.bounds import parse_id
from smartsite.core.choices import ProjectStatus, RegionLevel
from smartsite.core.clientip import client_ip
from smartsite.core.generic import (
    Column,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    _errors_to_form,
)
from smartsite.core.scoping import grant_for, scoped

User = get_user_model()


# ---------------------------------------------------------------- home and map


@login_required
def home(request):
    counts = selectors.project_status_counts(request.user)
    by_district = selectors.projects_by_district(request.user)
    return render(request, "core/home.html", {
        "counts": [(s.label, counts.get(s.value, 0), ProjectStatus.colour(s.value))
                   for s in ProjectStatus],
        "total": sum(counts.values()),
        "by_district": by_district,
        "statuses": [(s.value, s.label, ProjectStatus.colour(s.value)) for s in ProjectStatus],
        "sees_all": grant_for(request.user).sees_all,
        "indicators": _home_indicators(request.user),
    })


def _home_indicators(user) -> list:
    """The scenarios' indicators (core.scenarios) at the user's widest single scope: the city
    for city users, their district for a district user, their project for a project user;
    `scoped()` narrows every other case."""
    grant = grant_for(user)
    scope, obj = "city", None
    if not grant.sees_all and len(grant.district_ids) == 1 and not grant.project_ids:
        scope, obj = "district", m.Region.objects.filter(pk=next(iter(grant.district_ids))).first()
    elif not grant.sees_all and not grant.district_ids and len(grant.project_ids) == 1 \
            and not (grant.street_ids or grant.enterprise_ids):
        scope, obj = "project", m.Project.objects.filter(pk=next(iter(grant.project_ids))).first()
    return scenarios.indicator_values(user, scope, obj, timezone.now())


@login_required
def project_points(request):
    """Visible projects as map points: [lon, lat, id, name, status]."""
    rows = selectors.project_points(request.user)
    return JsonResponse({"points": [list(r) for r in rows]})


@login_required
def streets_options(request):
    """<option>s of the streets of a district, for the project form's dependent select."""
    streets = m.Region.objects.filter(level=RegionLevel.STREET,
                                      parent=parse_id(request.GET.get("district")))
    return HttpResponse(format_html('<option value="">---------</option>{}', format_html_join(
        "", '<option value="{}">{}</option>', ((s.pk, s.name) for s in streets))))


# ---------------------------------------------------------------- regions


class RegionListView(ObjectListView):
    queryset = m.Region.objects.select_related("parent")
    filterset_class = filtersets.RegionFilterSet
    title = "行政区划"
    columns = [
        Column("区划代码", "code", link=True),
        Column("名称", "name", link=True),
        Column("层级", "level"),
        Column("上级", "parent.name"),
    ]


class RegionDetailView(ObjectDetailView):
    queryset = m.Region.objects.all()
    template_name = "core/region.html"

    def extra_context(self, request, obj):
        return {"children": obj.children.all(), "agencies": obj.agencies.all(),
                "project_count": selectors.project_count_in(request.user, obj)}


class AgencyDetailView(ObjectDetailView):
    queryset = m.Agency.objects.select_related("region")
    template_name = "core/agency.html"


# ---------------------------------------------------------------- projects


class ProjectListView(ObjectListView):
    queryset = m.Project.objects.select_related("district", "street")
    filterset_class = filtersets.ProjectFilterSet
    title = "项目"
    add_url_name = "core:project_add"
    columns = [
        Column("报建编号", "permit_no", link=True),
        Column("项目名称", "name", link=True),
        Column("区", "district.name"),
        Column("街镇", "street.name"),
        Column("类型", "kind"),
        Column("状态", "status", badge=ProjectStatus),
        Column("开工日期", "start_date"),
        Column("占地面积（m²）", "site_area_m2"),
    ]


class ProjectDetailView(ObjectDetailView):
    queryset = m.Project.objects.select_related("district", "street")
    template_name = "core/project.html"

    def extra_context(self, request, obj):
        return {
            "parties": obj.parties.select_related("enterprise"),
            "assignments": obj.assignments.select_related("person", "post")
            .order_by("post__party_role", "post", "-start_date"),
            "geofence_json": json.dumps(obj.geofence) if obj.geofence else "",
            "status_colour": ProjectStatus.colour(obj.status),
            "assignment_form": forms.PostAssignmentForm(),
        }


class ProjectEditView(ObjectEditView):
    queryset = m.Project.objects.all()
    form_class = forms.ProjectForm
    title = "项目"
    template_name = "core/project_edit.html"

    def save(self, request, form):
        return services.save_project(form.instance, actor=request.user, parties=form.parties)


@login_required
@require_POST
def assignment_add(request, pk):
    project = get_object_or_404(scoped(request.user, m.Project.objects.all()), pk=pk)
    form = forms.PostAssignmentForm(request.POST, instance=m.PostAssignment(project=project))
    if form.is_valid():
        try:
            services.save(form.instance, actor=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已登记任职：{form.instance.post} {form.instance.person}")
            return redirect(project)
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
    return redirect(project)


# ---------------------------------------------------------------- enterprises


class EnterpriseListView(ObjectListView):
    queryset = m.Enterprise.objects.all()
    filterset_class = filtersets.EnterpriseFilterSet
    title = "企业"
    add_url_name = "core:enterprise_add"
    columns = [
        Column("统一社会信用代码", "uscc", link=True),
        Column("企业名称", "name", link=True),
        Column("法定代表人", "legal_representative"),
        Column("联系电话", "phone"),
    ]


class EnterpriseDetailView(ObjectDetailView):
    queryset = m.Enterprise.objects.all()
    template_name = "core/enterprise.html"

    def extra_context(self, request, obj):
        parties = selectors.parties_of(request.user, obj)
        return {"parties": parties[:200], "party_count": parties.count(),
                "employees": scoped(request.user, obj.employees.all())[:200]}


class EnterpriseEditView(ObjectEditView):
    queryset = m.Enterprise.objects.all()
    form_class = forms.EnterpriseForm
    title = "企业"


# ---------------------------------------------------------------- people


class PersonListView(ObjectListView):
    queryset = m.Person.objects.select_related("employer")
    filterset_class = filtersets.PersonFilterSet
    title = "人员"
    add_url_name = "core:person_add"
    columns = [
        Column("姓名", "name", link=True),
        Column("身份证号", "masked_id"),
        Column("手机号", "phone"),
        Column("所在单位", "employer.name"),
    ]


class PersonDetailView(ObjectDetailView):
    queryset = m.Person.objects.select_related("employer")
    template_name = "core/person.html"

    def extra_context(self, request, obj):
        return {
            "qualifications": obj.qualifications.all(),
            "assignments": selectors.assignments_of(request.user, obj),
            "qualification_form": forms.QualificationForm(),
        }


class PersonEditView(ObjectEditView):
    queryset = m.Person.objects.all()
    form_class = forms.PersonForm
    title = "人员"


@login_required
@require_POST
def qualification_add(request, pk):
    person = get_object_or_404(scoped(request.user, m.Person.objects.all()), pk=pk)
    form = forms.QualificationForm(request.POST, instance=m.Qualification(person=person))
    if form.is_valid():
        try:
            services.save(form.instance, actor=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"已登记证书：{form.instance}")
            return redirect(person)
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
    return redirect(person)


# ---------------------------------------------------------------- audit


class AuditListView(ObjectListView):
    queryset = m.AuditEntry.objects.all()
    filterset_class = filtersets.AuditFilterSet
    title = "审计日志"
    columns = [
        Column("时间", lambda e: e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
        Column("操作人", "actor_name"),
        Column("操作", "action"),
        Column("对象类型", "model"),
        Column("对象", "object_repr"),
        Column("变更", lambda e: "；".join(f"{k}: {v[0]} → {v[1]}" for k, v in e.changes.items())),
    ]

    def get_queryset(self, request):
        grant = grant_for(request.user)
        if not (grant.sees_all or grant.district_ids):
            from smartsite.core.errors import Forbidden

            raise Forbidden("只有市、区监管人员可以查看审计日志")
        return super().get_queryset(request)


# ---------------------------------------------------------------- users, roles, tokens


class UserListView(ObjectListView):
    queryset = User.objects.annotate(role_count=Count("roles"))
    title = "用户"
    columns = [
        Column("用户名", lambda u: u.username),
        Column("姓名", lambda u: u.get_full_name()),
        Column("角色数", "role_count"),
        Column("最近登录", lambda u: u.last_login.astimezone().strftime("%Y-%m-%d %H:%M")
               if u.last_login else ""),
    ]

    def get_queryset(self, request):
        permissions.require_city_admin(request.user)
        return self.queryset.order_by("username")


@login_required
def user_detail(request, pk):
    permissions.require_city_admin(request.user)
    user = get_object_or_404(User, pk=pk)
    form = forms.RoleForm(user=user)
    if request.method == "POST":
        form = forms.RoleForm(request.POST, user=user)
        if form.is_valid():
            try:
                services.grant_role(user, actor=request.user,
                                    **{f: getattr(form.instance, f) for f in
                                       ("kind", "agency", "enterprise", "project",
                                        "party_role", "post")})
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, "已授权")
                return redirect("core:user", pk=user.pk)
    return render(request, "core/user.html", {
        "object": user, "roles": user.roles.select_related("agency", "enterprise", "project"),
        "form": form,
        "history": selectors.role_history(user),
    }, status=422 if form.errors else 200)


@login_required
@require_POST
def role_revoke(request, pk):
    permissions.require_city_admin(request.user)  # before the lookup: 403 for any id
    role = get_object_or_404(m.Role, pk=pk)
    services.revoke_role(role, actor=request.user)
    messages.success(request, f"已撤销角色：{role}")
    return redirect("core:user", pk=role.user_id)


@login_required
def user_add(request):
    permissions.require_city_admin(request.user)
    form = forms.UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(form.cleaned_data["username"], actor=request.user,
                                        password=form.cleaned_data["password"],
                                        full_name=form.cleaned_data["full_name"],
                                        email=form.cleaned_data["email"])
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            return redirect("core:user", pk=user.pk)
    return render(request, "generic/object_edit.html", {"form": form, "title": "用户"},
                  status=422 if form.errors else 200)


@login_required
def tokens(request):
    """The signed-in user's API tokens: create (key shown once) and revoke."""
    # An empty POST is a bound, invalid form (422 with the field's message), not a blank page.
    form = forms.TokenForm(request.POST if request.method == "POST" else None)
    new_key = None
    if form.is_bound and form.is_valid():
        _, new_key = services.issue_token(request.user, actor=request.user,
                                          name=form.cleaned_data["name"])
        form = forms.TokenForm()
    return render(request, "core/tokens.html", {
        "form": form, "new_key": new_key, "tokens": request.user.api_tokens.all(),
    }, status=422 if form.is_bound and form.errors else 200)


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(m.ApiToken, pk=pk, user=request.user)
    services.revoke_token(token, actor=request.user)
    messages.success(request, f"已撤销令牌 {token.prefix}…")
    return redirect("core:tokens")



def district_shapes(request):
    """Shanghai's district boundaries (WGS-84 GeoJSON) for the offline maps; public, cached."""
    from smartsite.core.reference import district_shapes_geojson

    response = HttpResponse(district_shapes_geojson(), content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=86400"
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password (Django's form and validators, our templates); the change
    goes through `services.change_own_password`, which checks and audits it."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        try:
            services.change_own_password(
                self.request.user, old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
                client_ip=client_ip(self.request))
        except ValidationError as exc:
            _errors_to_form(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=422)
        update_session_auth_hash(self.request, self.request.user)
        return redirect(self.success_url)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=422)


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"
