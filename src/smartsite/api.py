"""The REST API at /api/v1/ (django-ninja): authentication, the error shapes, the routers.

Authentication is an API token (`Authorization: Bearer <key>`, issued on /account/tokens/ and
stored hashed) or the browser's session (for the interactive docs at /api/v1/docs; unsafe
methods then need the CSRF token). Every app's `api.py` holds a Router mounted here.

Errors have two shapes (docs/api.md):

* 422 — `{"code": "validation", "message": "…", "errors": {"field": ["消息", …]}}`, for
  ninja's schema validation, invalid filters and the `ValidationError`s of `services`;
* every other 4xx — `{"code", "field", "message"}` (`core.errors.SmartsiteError.as_dict`).

Bodies are read by `core.apikit.json_body` (JSON only, bounded in size and depth): a form or a
file sent to a JSON route is a 415, bad or too deeply nested JSON a 400, never a 500.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.http.request import RawPostDataException
from django.urls import re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from smartsite.core import scenarios
from smartsite.core.api import router as core_router
from smartsite.core.apikit import Invalid, JsonParser, invalid_from_ninja, unsupported_body
from smartsite.core.errors import Forbidden, SmartsiteError
from smartsite.core.models import ApiToken
from smartsite.exchange.api import router as exchange_router
from smartsite.workorders.api import router as workorders_router

__all__ = ["api", "app_name", "urlpatterns"]

#: `ApiToken.last_used` is written at most this often per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)

MESSAGES = {
    "missing": "请先登录，或在请求头中提供 Authorization: Bearer <API 令牌>",
    "invalid": "API 令牌无效或已撤销",
    "scheme": "Authorization 请求头的格式应为“Bearer <API 令牌>”",
    "csrf": "CSRF 校验失败：请刷新页面后重试（浏览器会话的写操作需要 CSRF 令牌），"
            "或改用 API 令牌",
    "not_found": "未找到该对象",
}


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`, resolved by its SHA-256 (`ApiToken.find`).

    A header that is present but wrong gives 401 at once (no fall-through to the session),
    so a client learns that its key is bad rather than that it is "not logged in".
    """

    def __call__(self, request):
        value = request.headers.get(self.header)
        if not value:
            return None
        scheme, _, key = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthenticationError(401, MESSAGES["scheme"])
        return self.authenticate(request, key.strip())

    def authenticate(self, request, token):
        found = ApiToken.find(token)
        if found is None:
            raise AuthenticationError(401, MESSAGES["invalid"])
        _touch(found)
        request.user = found.user
        request.api_token = found
        return found.user


def _touch(token: ApiToken) -> None:
    """Record use, at most once per LAST_USED_RESOLUTION (a conditional UPDATE, no race)."""
    now = timezone.now()
    if token.last_used is not None and now - token.last_used < LAST_USED_RESOLUTION:
        return
    (ApiToken.objects.filter(pk=token.pk)
     .filter(Q(last_used__isnull=True) | Q(last_used__lt=now - LAST_USED_RESOLUTION))
     .update(last_used=now))


class SessionAuth(NinjaSessionAuth):
    """Django's session, with ninja's CSRF check for unsafe methods kept.

    The CSRF check only runs for a signed-in session: an anonymous request gets the plain
    401 rather than a CSRF 403.
    """

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        try:
            return super().__call__(request)
        except HttpError as exc:
            if exc.status_code != 403:
                raise
            raise Forbidden(MESSAGES["csrf"], code="csrf") from None


class Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # Chinese stays readable in curl


class SmartsiteAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The OpenAPI document, built once per path prefix: building it takes ~0.8 s of CPU
        and /api/v1/openapi.json is public; the routes do not change once the URL conf is
        loaded. Each caller gets its own copy."""
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        cache = self.__dict__.setdefault("_schemas", {})
        if path_prefix not in cache:
            cache[path_prefix] = super().get_openapi_schema(path_prefix=path_prefix)
        return copy.deepcopy(cache[path_prefix])

    def validation_error_from_error_contexts(self, error_contexts):
        """ninja drops the offending value; keep short scalars so a message can quote it
        ("应为日期（YYYY-MM-DD），实为“2025-02-30”")."""
        exc = super().validation_error_from_error_contexts(error_contexts)
        inputs = [error.get("input") for context in error_contexts
                  for error in context.pydantic_validation_error.errors(include_url=False)]
        if len(inputs) == len(exc.errors):
            for error, value in zip(exc.errors, inputs, strict=True):
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    error["input"] = value
        return exc


api = SmartsiteAPI(
    title="smartsite API",
    version="1",
    description="上海智慧工地监管平台开放接口。认证：`Authorization: Bearer <API 令牌>`"
                "（在 /account/tokens/ 创建），或浏览器登录会话。说明见 docs/api.md。",
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api-v1",
    auth=[TokenAuth(), SessionAuth()],
    renderer=Renderer(),
    parser=JsonParser(),
)
api.add_router("/", core_router)
api.add_router("/", workorders_router)
for declaration in scenarios.declarations():  # the routers the apps declare (core.scenarios)
    if declaration.api_router:
        api.add_router("/", scenarios.resolve(declaration.api_router))
api.add_router("/imports/", exchange_router)

# Mounted with `path("api/v1/", include("smartsite.api"))`; the namespace is ninja's
# urls_namespace, which its docs page reverses ("api-v1:openapi-json").
app_name = api.urls_namespace


@csrf_exempt  # it changes nothing; a POST to a mistyped path should learn that, not "CSRF"
def _unknown_path(request, rest=""):
    return JsonResponse({"code": "not_found", "field": None,
                         "message": f"没有这个 API 路径：{request.path}（接口列表见 /api/v1/docs）"},
                        status=404, json_dumps_params={"ensure_ascii": False})


urlpatterns = [*api.urls[0], re_path(r"^(?P<rest>.*)$", _unknown_path, name="unknown_path")]


def _error(request, status: int, code: str, message: str, field: str | None = None):
    response = api.create_response(request, {"code": code, "field": field,
                                             "message": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="smartsite"'
    return response


def _validation(request, exc: Invalid):
    return api.create_response(request, exc.as_dict(), status=422)


@api.exception_handler(NinjaValidationError)
def on_schema_error(request, exc: NinjaValidationError):
    return _validation(request, invalid_from_ninja(exc.errors))


@api.exception_handler(DjangoValidationError)
def on_validation_error(request, exc: DjangoValidationError):
    return _validation(request, exc if isinstance(exc, Invalid) else Invalid.wrap(exc))


@api.exception_handler(SmartsiteError)
def on_smartsite_error(request, exc: SmartsiteError):
    return _error(request, exc.status, exc.code, exc.message, exc.field)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc: AuthenticationError):
    message = exc.message if exc.message != "Unauthorized" else MESSAGES["missing"]
    return _error(request, 401, "auth", message)


@api.exception_handler(RawPostDataException)
def on_form_body(request, exc: RawPostDataException):
    # A route that reads JSON got a form: `core.middleware` has parsed it (looking for NUL
    # bytes), so the body is no longer there to read; it would not be JSON anyway.
    return on_smartsite_error(request, unsupported_body(request.content_type or ""))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, SmartsiteError):  # `JsonParser`: the body was refused
        return on_smartsite_error(request, exc.__cause__)
    code = {401: "auth", 403: "forbidden", 404: "not_found", 429: "throttled"}.get(
        exc.status_code, "http")
    return _error(request, exc.status_code, code, str(exc))


@api.exception_handler(Http404)
def on_not_found(request, exc: Http404):
    # The same answer whether the object is absent or outside the user's scope.
    return _error(request, 404, "not_found", MESSAGES["not_found"])
