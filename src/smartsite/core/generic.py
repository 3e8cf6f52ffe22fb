"""Declared views, NetBox-style: a list names a queryset, a filterset and columns; a detail
view names a queryset; an edit view names a form. Every read starts from `scoped()`.

Every app reuses these, so a new list page is a few lines and gets search, filters,
pagination, HTMX partial refresh and .xlsx export for free.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.views import View

from smartsite.core import audit, permissions, services
from smartsite.core.scoping import scoped
from smartsite.core.spreadsheet import text_row
from smartsite.core.templatetags.smartsite import badge, format_number

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Column:
    """One column of a list: header, how to get the value, and how to show it."""

    header: str
    accessor: str | Callable[[Any], Any]
    link: bool = False
    badge: type | None = None  # a ColouredChoices class: show as a coloured badge
    export: bool = True  # False: a page-only column (e.g. a row checkbox)

    def value(self, obj) -> Any:
        if callable(self.accessor):
            return self.accessor(obj)
        value = obj
        for part in self.accessor.split("."):
            value = getattr(value, part, None)
            if value is None:
                return ""
        display = getattr(obj, f"get_{self.accessor}_display", None)
        return display() if display and "." not in self.accessor else value

    def text(self, obj) -> str:
        value = self.value(obj)
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, datetime.datetime):  # shown in Asia/Shanghai, to the minute
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value.tzinfo \
                else value.strftime("%Y-%m-%d %H:%M")
        return format_number(value)

    def cell(self, obj) -> Any:
        """The value for a spreadsheet cell: numbers and dates stay typed."""
        value = self.value(obj)
        if isinstance(value, int | float | Decimal | datetime.date) and not isinstance(value, bool):
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                return timezone.localtime(value).replace(tzinfo=None)
            return value
        return self.text(obj)

    def html(self, obj) -> str:
        text = self.text(obj)
        if self.badge is not None and not callable(self.accessor):
            raw = getattr(obj, self.accessor, "")
            return badge(self.badge.colour(raw), text)
        if self.link and hasattr(obj, "get_absolute_url"):
            return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), text)
        return format_html("{}", text)


def export_xlsx(rows, columns: list[Column], title: str) -> HttpResponse:
    """A .xlsx of `rows` with the list's columns (write-only mode keeps memory flat)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append([c.header for c in columns])
    for obj in rows:
        ws.append(text_row(ws, [c.cell(obj) for c in columns]))
    buf = io.BytesIO()
    wb.save(buf)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(title)}-{stamp}.xlsx"
    return response


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


class ObjectListView(LoginRequiredMixin, View):
    queryset: QuerySet
    filterset_class = None
    columns: list[Column] = []
    title = ""
    add_url_name: str | None = None
    template_name = "generic/object_list.html"
    export_limit = 100_000

    def get_queryset(self, request) -> QuerySet:
        return scoped(request.user, self.queryset.all())

    def get_columns(self, request) -> list[Column]:
        return self.columns

    def extra_context(self, request) -> dict:
        return {}

    def get(self, request):
        qs = self.get_queryset(request)
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(request.GET or None, queryset=qs, request=request)
            if filterset.is_bound:
                # An invalid filter shows its message and no rows, never an unfiltered list
                # that looks filtered.
                qs = filterset.qs if filterset.is_valid() else qs.none()
        columns = self.get_columns(request)
        if request.GET.get("export") == "xlsx":
            return export_xlsx(qs[: self.export_limit], [c for c in columns if c.export],
                               self.title)
        paginator = Paginator(qs, _page_size(request))
        page = paginator.get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "title": self.title,
            "filterset": filterset,
            "columns": columns,
            "page": page,
            "rows": [[c.html(o) for c in columns] for o in page.object_list],
            "query": query.urlencode(),
            "add_url_name": self.add_url_name if permissions.can_edit_registry(request.user)
            else None,
            **self.extra_context(request),
        }
        template = "generic/partials/table.html" if request.headers.get("HX-Request") else \
            self.template_name
        return render(request, template, context)


def _page_size(request) -> int:
    from django.conf import settings

    try:
        return max(1, min(500, int(request.GET.get("per_page", settings.PAGE_SIZE))))
    except ValueError:
        return settings.PAGE_SIZE


class ObjectDetailView(LoginRequiredMixin, View):
    queryset: QuerySet
    template_name: str

    def get_object(self, request, pk) -> Model:
        # 404 whether the object is absent or outside the user's scope.
        return get_object_or_404(scoped(request.user, self.queryset.all()), pk=pk)

    def extra_context(self, request, obj) -> dict:
        return {}

    def get(self, request, pk):
        obj = self.get_object(request, pk)
        context = {
            "object": obj,
            "history": audit.history(obj)[:20],
            "can_edit": _may_edit(request.user, obj),
            **self.extra_context(request, obj),
        }
        return render(request, self.template_name, context)


def _may_edit(user, obj) -> bool:
    try:
        permissions.require_edit(user, obj)
    except Exception:
        return False
    return True


class ObjectEditView(LoginRequiredMixin, View):
    """Create (no pk) or edit an object through `services.save`."""

    queryset: QuerySet
    form_class: type
    template_name = "generic/object_edit.html"
    title = ""

    def get_object(self, request, pk) -> Model:
        if pk is None:
            return self.queryset.model()
        return get_object_or_404(scoped(request.user, self.queryset.all()), pk=pk)

    def get_form(self, request, obj, data=None, files=None):
        return self.form_class(data, files, instance=obj)

    def save(self, request, form):
        return services.save(form.instance, actor=request.user)

    def render_form(self, request, form, obj, status=200):
        return render(request, self.template_name,
                      {"form": form, "object": obj, "title": self.title}, status=status)

    def get(self, request, pk=None):
        obj = self.get_object(request, pk)
        permissions.require_edit(request.user, obj) if obj.pk else _require_creator(request.user)
        return self.render_form(request, self.get_form(request, obj), obj)

    def post(self, request, pk=None):
        obj = self.get_object(request, pk)
        permissions.require_edit(request.user, obj) if obj.pk else _require_creator(request.user)
        form = self.get_form(request, obj, request.POST, request.FILES)
        if form.is_valid():
            try:
                saved = self.save(request, form)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, f"已保存：{saved}")
                return redirect(saved.get_absolute_url())
        return self.render_form(request, form, obj, status=422)


def _require_creator(user):
    if not permissions.can_edit_registry(user):
        from smartsite.core.errors import Forbidden

        raise Forbidden("您没有新增登记数据的权限")


def _errors_to_form(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ObjectDeleteView(LoginRequiredMixin, View):
    queryset: QuerySet
    success_url_name: str
    template_name = "generic/object_delete.html"

    def post(self, request, pk):
        obj = get_object_or_404(scoped(request.user, self.queryset.all()), pk=pk)
        try:
            services.delete(obj, actor=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return redirect(obj.get_absolute_url())
        messages.success(request, f"已删除：{obj}")
        return redirect(self.success_url_name)

    def get(self, request, pk):
        obj = get_object_or_404(scoped(request.user, self.queryset.all()), pk=pk)
        if not _may_edit(request.user, obj):
            raise Http404
        return render(request, self.template_name, {"object": obj})
