"""Turn user-facing errors into clear responses instead of 500s."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from smartsite.core.errors import SmartsiteError


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def _has_nul(request) -> bool:
    """Whether a query or form value holds a NUL byte (PostgreSQL cannot store one; no user
    types one): refused here once for every page and form instead of in each view."""
    sources = [request.GET]
    if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.POST)
    return any("\x00" in text for source in sources for key, values in source.lists()
               for text in (key, *values))


class ErrorPagesMiddleware:
    """Refuse oversized bodies up front (413) and render SmartsiteError as its status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD_BYTES:
            limit = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
            message = f"上传内容过大（{length / 1048576:.1f} MB），上限为 {limit} MB"
            if _wants_json(request):
                return JsonResponse({"code": "too_large", "field": None, "message": message},
                                    status=413)
            return render(request, "error.html", {"status": 413, "message": message},
                          status=413)
        if _has_nul(request):
            message = "提交的内容含有空字符（\\x00），已拒绝；请检查输入后重试"
            if _wants_json(request):
                return JsonResponse({"code": "bad_request", "field": None, "message": message},
                                    status=400)
            return render(request, "error.html", {"status": 400, "message": message}, status=400)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, SmartsiteError):
            return None
        if _wants_json(request):
            return JsonResponse(exception.as_dict(), status=exception.status)
        return render(request, "error.html",
                      {"status": exception.status, "message": exception.message},
                      status=exception.status)
