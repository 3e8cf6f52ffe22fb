"""The API kit: what every app's `api.py` (and `smartsite.api`) builds its routes from.

    Id, Text, LocalTime, pk_param     field types: ids within the database's range, text
                                      without NUL, times in Asia/Shanghai
    In, ErrorOut, ValidationOut,      request bodies (unknown fields refused) and the error
    READ_ERRORS, WRITE_ERRORS         shapes every route declares
    Invalid, invalid_from_ninja       the one 422: field → Chinese messages with labels
    json_body, JsonParser,            the one reader of JSON request bodies (bounded in size
    unsupported_body                  and depth; a form to a JSON route is a 415)
    refuse_nulls, writing,            write helpers: nulls for NOT NULL columns, a service's
    check_resolved                    ValidationError as an `Invalid`, all errors at once
    visible_or_404, filtered,         reads: `scoped()` or 404, the page's FilterSet (bad
    filter_params, Pagination         values → 422) and its OpenAPI parameters, pages

Core's own routes (the registry) are in `core/api.py`.
"""

import json
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import django_filters as df
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Path, Schema
from ninja.pagination import PageNumberPagination
from ninja.parser import Parser
from pydantic import AfterValidator, ConfigDict, create_model

from smartsite.core.bounds import MAX_ID
from smartsite.core.errors import BadRequest, TooLarge, UnsupportedMediaType
from smartsite.core.scoping import scoped

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "READ_ERRORS",
    "WRITE_ERRORS",
    "ErrorOut",
    "Id",
    "In",
    "Invalid",
    "JsonParser",
    "LocalTime",
    "Pagination",
    "Text",
    "ValidationOut",
    "check_resolved",
    "filter_params",
    "filtered",
    "invalid_from_ninja",
    "json_body",
    "pk_param",
    "refuse_nulls",
    "unsupported_body",
    "visible_or_404",
    "writing",
]

#: An object id; larger than the database's integer column (`bounds.MAX_ID`) is a 422.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含空字符（\\x00）")
    return value


#: Input text: surrounding whitespace stripped (model config), NUL refused (PostgreSQL).
Text = Annotated[str, AfterValidator(_no_nul)]
#: Output times in Asia/Shanghai, ISO 8601 with offset.
LocalTime = Annotated[datetime, AfterValidator(timezone.localtime)]


def pk_param():
    return Path(..., ge=1, le=MAX_ID, description="编号")


class Invalid(DjangoValidationError):
    """The one 422: field → messages, plus a Chinese summary built with field labels."""

    def __init__(self, errors: dict[str, list[str]], *, labels: dict[str, str] | None = None,
                 title: str = "数据校验未通过"):
        super().__init__({k: list(v) for k, v in errors.items()})
        self.errors = {k: [str(msg) for msg in v] for k, v in errors.items()}
        self.labels = labels or {}
        self.title = title

    @classmethod
    def wrap(cls, exc: DjangoValidationError, *, labels=None, renames=None) -> "Invalid":
        """An `Invalid` from a Django ValidationError (field keys renamed to API names)."""
        renames = renames or {}
        if hasattr(exc, "error_dict"):
            errors: dict[str, list[str]] = {}
            for field, messages in exc.message_dict.items():
                errors.setdefault(renames.get(field, field), []).extend(messages)
        else:
            errors = {NON_FIELD_ERRORS: list(exc.messages)}
        return cls(errors, labels=labels)

    def summary(self) -> str:
        parts = []
        for field, messages in self.errors.items():
            label = self.labels.get(field) or ("" if field == NON_FIELD_ERRORS else field)
            for message in messages:
                message = message.rstrip("。.")
                parts.append(f"{label}：{message}" if label else message)
        text = "；".join(parts[:3])
        if len(parts) > 3:
            text += f"（共 {len(parts)} 项）"
        return f"{self.title}：{text}" if text else self.title

    def as_dict(self) -> dict:
        return {"code": "validation", "message": self.summary(), "errors": self.errors}


_PYDANTIC_ZH = {
    "missing": "必填",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为布尔值（true 或 false）",
    "bool_parsing": "应为布尔值（true 或 false）",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "extra_forbidden": "不是可接受的字段",
    "json_invalid": "不是合法的 JSON",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "必须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "必须小于 {lt}",
    "decimal_max_digits": "数字总位数不能超过 {max_digits} 位",
    "decimal_max_places": "小数位数不能超过 {decimal_places} 位",
}


def _zh(error: dict) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind.startswith("datetime"):
        text = "应为日期时间（ISO 8601，如 2025-03-01T08:00:00+08:00）"
    elif kind.startswith("date"):
        text = "应为日期（YYYY-MM-DD）"
    elif kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace(" or ", "、").replace(", ", "、")
        text = f"应为 {expected} 之一"
    elif kind == "value_error" and "error" in ctx:
        text = str(ctx["error"])
    elif kind in _PYDANTIC_ZH:
        try:
            text = _PYDANTIC_ZH[kind].format(**ctx)
        except (KeyError, IndexError):
            text = _PYDANTIC_ZH[kind].split("{")[0].strip()
    else:
        text = str(error.get("msg") or "无效的值")
    value = error.get("input")  # kept for short scalars by smartsite.api
    if kind not in ("missing", "extra_forbidden") and isinstance(value, str | int | float) \
            and not isinstance(value, bool) and len(str(value)) <= 40:
        text += f"，实为“{value}”"
    return text


_SOURCES = {"body", "query", "path", "form", "header", "cookie", "file"}


def invalid_from_ninja(errors: list[dict]) -> Invalid:
    """ninja's (pydantic's) errors as field → Chinese messages (`loc` minus the source)."""
    out: dict[str, list[str]] = {}
    for error in errors:
        if "loc" not in error:  # a hand-made error, e.g. {"cursor": "Invalid Cursor"}
            for key, value in error.items():
                out.setdefault(str(key), []).append(str(value))
            continue
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] in _SOURCES:
            source, loc = loc[0], loc[1:]
            if source == "body" and len(loc) > 1 and loc[0] == "payload":
                loc = loc[1:]
            elif source == "body" and loc == ["payload"]:
                loc = []
        field = ".".join(loc) or NON_FIELD_ERRORS
        out.setdefault(field, []).append(_zh(error))
    return Invalid(out, title="请求数据有误")


# ---------------------------------------------------------------- request bodies

#: The largest JSON body a route reads. The largest real one (a project with a detailed
#: geofence) is tens of kB; files travel as multipart uploads, under their own limit.
MAX_JSON_BYTES = 1024 * 1024
#: How deeply a JSON body may nest. No input goes deeper than 4 (a geofence: object →
#: rings → ring → point); without a bound, a body of 100,000 "[" exhausts the parser's stack.
MAX_JSON_DEPTH = 32
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def is_json_type(content_type: str) -> bool:
    """application/json, or a JSON-based type such as application/merge-patch+json."""
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json"))


def unsupported_body(content_type: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"此接口的请求体应为 JSON（Content-Type: application/json），收到的是 {content_type}")


def json_body(request) -> Any:
    """The request's JSON body (b"" → None), or the 4xx that says what is wrong with it:
    415 for another format (a form, a file upload), 413 over MAX_JSON_BYTES, 400 for bad
    JSON or nesting deeper than MAX_JSON_DEPTH. No Content-Type at all is read as JSON."""
    content_type = request.content_type or ""
    if content_type and not is_json_type(content_type):
        raise unsupported_body(content_type)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    size = length if length > MAX_JSON_BYTES else len(request.body)  # (don't read a huge one)
    if size > MAX_JSON_BYTES:
        raise TooLarge(f"JSON 请求体过大（{size / 1024:.0f} KB），上限为 {MAX_JSON_BYTES // 1024} KB")
    if not request.body:
        return None
    too_deep = BadRequest(f"请求体的 JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）")
    try:
        data = json.loads(request.body)
    except RecursionError:
        raise too_deep from None
    except ValueError:  # (UnicodeDecodeError included)
        raise BadRequest("请求体不是合法的 JSON") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    return data


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar: 0), stopping past the bound."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


class JsonParser(Parser):
    """ninja's body parser through `json_body`: its errors reach `smartsite.api`'s handler
    as the `__cause__` of ninja's "Cannot parse request body"."""

    def parse_body(self, request):
        return json_body(request)


def refuse_nulls(model: type[models.Model], data: dict, errors: dict[str, list[str]]) -> dict:
    """`data` without the nulls given for columns that hold no NULL, each an error instead.

    PATCH schemas say `null` only where a field may be empty; this is the write path's own
    guard, so that a schema that forgets can never reach the database's NOT NULL (a 500):
    `full_clean` does not look at a blank-allowed field's None."""
    out = {}
    for name, value in data.items():
        if value is None:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:  # not a column: the caller resolves it
                field = None
            if field is not None and field.concrete and not field.null:
                text = isinstance(field, models.CharField | models.TextField)
                errors.setdefault(name, []).append(
                    "不能为 null；清空请用空字符串 \"\"" if text else "不能为 null")
                continue
        out[name] = value
    return out


def _labels(model: type[models.Model], **extra: str) -> dict[str, str]:
    labels = {f.name: str(f.verbose_name) for f in model._meta.concrete_fields}
    labels.update(extra)
    return labels


@contextmanager
def writing(model: type[models.Model], *, renames: dict[str, str] | None = None, **labels):
    """Turn a service's ValidationError into an `Invalid` with the model's field labels."""
    try:
        yield
    except Invalid:
        raise
    except DjangoValidationError as exc:
        raise Invalid.wrap(exc, labels=_labels(model, **labels), renames=renames) from exc


def check_resolved(instance: models.Model, errors: dict[str, list[str]], *,
                   renames: dict[str, str] | None = None, **labels) -> None:
    """Raise the errors found while resolving references, together with the model's own
    (`full_clean` minus the unresolved fields), so the client sees all of them at once."""
    if not errors:
        return
    renames = renames or {}
    back = {api: field for field, api in renames.items()}
    exclude = [back.get(field, field) for field in errors]
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        for field, messages in Invalid.wrap(exc, renames=renames).errors.items():
            errors.setdefault(field, []).extend(messages)
    raise Invalid(errors, labels=_labels(type(instance), **labels))


def visible_or_404(request, qs: QuerySet, pk: int) -> models.Model:
    """The object `pk` of `qs` if the user may see it; 404 whether absent or out of scope."""
    return get_object_or_404(scoped(request.auth, qs), pk=pk)


def visible_project(user, pk: int):
    """The project a request body names, if `user` sees it; otherwise the same field-level
    422 whether it is absent or out of scope (design.md §2 rule 2)."""
    from smartsite.core.models import Project

    project = scoped(user, Project.objects.all()).filter(pk=pk).first()
    if project is None:
        raise Invalid({"project": [f"未找到编号为 {pk} 的项目"]}, labels={"project": "项目"})
    return project


def filtered(request, filterset_class: type[df.FilterSet], qs: QuerySet) -> QuerySet:
    """`qs` narrowed by the page's FilterSet from the query string; bad values → 422."""
    filterset = filterset_class(request.GET, queryset=qs, request=request)  # "mine" filters
    if not filterset.is_valid():
        form = filterset.form
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        labels = {name: str(f.label) for name, f in form.fields.items() if f.label}
        raise Invalid(errors, labels=labels, title="筛选条件有误")
    qs = filterset.qs
    ordering = list(qs.query.order_by or qs.model._meta.ordering)
    if not {"pk", "-pk", "id", "-id"} & set(ordering):
        ordering.append("pk")  # a total order, so pages never overlap
    return qs.order_by(*ordering)


def filter_params(filterset_class: type[df.FilterSet]) -> type[Schema]:
    """A query schema listing a FilterSet's filters, for the OpenAPI document.

    Every parameter is an optional string: the FilterSet itself validates the values (with
    its Chinese messages), exactly as on the page.
    """
    fields: dict[str, Any] = {}
    for name, flt in filterset_class.base_filters.items():
        text = str(flt.label or name)
        choices = flt.extra.get("choices")
        if callable(choices):  # read from the database when the filter runs, not at import
            text += "，可选值随数据而定"
        elif choices:
            text += "，可选：" + "、".join(f"{v}（{label}）" for v, label in choices)
        elif isinstance(flt, df.BooleanFilter):
            text += "，true 或 false"
        elif isinstance(flt, df.DateFilter):
            text += "，YYYY-MM-DD"
        elif isinstance(flt, df.ModelChoiceFilter):
            text += "，编号"
        fields[name] = (str | None, Field(None, description=text))
    return create_model(f"{filterset_class.__name__}Params", __base__=Schema, **fields)


class Pagination(PageNumberPagination):
    """`?page=N&page_size=M` (default settings.PAGE_SIZE, at most 500) → count + items."""

    MAX_PAGE_SIZE = 500

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000, description="页码，从 1 开始")
        page_size: int | None = Field(None, ge=1, description="每页条数，默认 50，最多 500")

    class Output(Schema):
        count: int = Field(description="符合条件的总条数")
        page: int = Field(description="页码")
        page_size: int = Field(description="每页条数")
        items: list[Any]

    def __init__(self, **kwargs):
        super().__init__(page_size=settings.PAGE_SIZE, max_page_size=self.MAX_PAGE_SIZE,
                         **kwargs)

    def paginate_queryset(self, queryset, pagination, request, **params):
        result = super().paginate_queryset(queryset, pagination, request, **params)
        result.update(page=pagination.page, page_size=self._get_page_size(pagination.page_size))
        return result


class ErrorOut(Schema):
    code: str = Field(description="错误代码，如 auth、forbidden、not_found")
    field: str | None = Field(None, description="出错的字段（如有）")
    message: str = Field(description="中文说明")


class ValidationOut(Schema):
    code: str = Field(description="固定为 validation")
    message: str = Field(description="中文摘要")
    errors: dict[str, list[str]] = Field(description="字段 → 错误信息；__all__ 为整体错误")


#: Every route: 400 for a NUL byte in the query (`core.middleware`), 401, 404, 422.
READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ValidationOut}
#: Routes with a body add 403, 413 (too large) and 415 (not JSON; a form to a JSON route).
WRITE_ERRORS = {**READ_ERRORS, 403: ErrorOut, 413: ErrorOut, 415: ErrorOut}


class In(Schema):
    """Request bodies: unknown fields are an error, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
