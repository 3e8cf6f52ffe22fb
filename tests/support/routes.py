"""Every route of the product, found where Django and the API find them: the pages in the URL
resolver (admin and static files left out), the API operations in the OpenAPI document.

A page is known by its URL name (``"dust:monitor"``), an API operation by its method and its
path without the ``/api/v1`` prefix (``"GET /monitors/{pk}"``) — the keys of the apps'
`access.py` (smartsite/core/access.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

API_PREFIX = "/api/v1"
#: URL namespaces that are not ours to declare: Django's admin.
SKIPPED_NAMESPACES = {"admin"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    key: str  # "dust:monitor" | "GET /monitors/{pk}"
    api: bool
    template: str  # the path as written in the URL conf / the document, for messages
    params: tuple[str, ...]  # path parameters, in order
    module: str  # the module of the view function
    method: str | None = None  # an API operation's method
    query: tuple[str, ...] = ()  # an API operation's query parameters
    body: bool = False  # an API operation takes a request body

    @property
    def app(self) -> str:
        """The app of ours that owns the view ("smartsite.dust"); views that are not ours
        (Django's login, ninja's docs) and `smartsite.api` belong to core."""
        parts = self.module.split(".")
        if parts[0] == "smartsite" and len(parts) > 2:
            return ".".join(parts[:2])
        return "smartsite.core"

    @property
    def declare_in(self) -> str:
        return f"src/{self.app.replace('.', '/')}/access.py"

    def __str__(self) -> str:
        return self.key


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    from django.urls import URLResolver

    for entry in patterns:
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, text, inner)
        else:
            yield text, namespace, entry


@cache
def pages() -> tuple[Route, ...]:
    """Every page of the URL resolver, API operations (ninja's views) excepted."""
    from django.urls import get_resolver

    found = []
    for text, namespace, entry in _walk(get_resolver().url_patterns):
        callback = entry.callback
        module = getattr(callback, "__module__", None) or ""
        if module.startswith("ninja.operation"):
            continue  # an API operation: declared by its method and path (operations())
        if entry.name is None:
            raise AssertionError(f"the URL pattern {text!r} has no name: name it, so that "
                                 "its access can be declared")
        key = f"{namespace}:{entry.name}" if namespace else entry.name
        if module.startswith("functools") or not module:
            module = getattr(getattr(callback, "func", None), "__module__", "") or "smartsite.core"
        found.append(Route(key=key, api=False, template="/" + text,
                           params=tuple(_names(text)), module=module))
    keys = [r.key for r in found]
    duplicates = {k for k in keys if keys.count(k) > 1}
    assert not duplicates, f"URL names used twice: {sorted(duplicates)}"
    return tuple(found)


def _names(text: str) -> list[str]:
    """The parameter names of a pattern written `<int:pk>` or `(?P<pk>...)`."""
    return re.findall(r"<(?:[^:>]+:)?([^>]+)>", text.replace("(?P<", "<"))


@cache
def document() -> dict:
    """The OpenAPI document, as /api/v1/openapi.json serves it."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from smartsite.api import api

    # through JSON, as served: status codes become strings
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix=API_PREFIX),
                                 cls=DjangoJSONEncoder))


def _view_modules() -> dict[tuple[str, str], str]:
    """(METHOD, path) → the module of the operation's view function."""
    from smartsite.api import api

    out = {}
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = re.sub("/+", "/", f"/{prefix}/{path}").rstrip("/") or "/"
            for operation in path_view.operations:
                for method in operation.methods:
                    out[(method.upper(), full)] = operation.view_func.__module__
    return out


@cache
def operations() -> tuple[Route, ...]:
    """Every operation of the OpenAPI document."""
    modules = _view_modules()
    found = []
    for full, item in document()["paths"].items():
        path = full.removeprefix(API_PREFIX)
        for method, op in item.items():
            method = method.upper()
            params = [p for p in op.get("parameters", [])]
            found.append(Route(
                key=f"{method} {path}", api=True, template=full,
                params=tuple(re.findall(r"{([^}]+)}", path)),
                module=modules.get((method, path), "smartsite.core"), method=method,
                query=tuple(p["name"] for p in params if p["in"] == "query"),
                body="requestBody" in op))
    return tuple(found)


def all_routes() -> tuple[Route, ...]:
    return pages() + operations()
