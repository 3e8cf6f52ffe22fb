"""One error vocabulary for pages and API (style.md §5 "Errors")."""

from __future__ import annotations


class SmartsiteError(Exception):
    """Base of errors a user can be shown. `code` is stable, `message` is Chinese."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "message": self.message}


class DomainError(SmartsiteError):
    """A request that is well-formed but not allowed by the rules (400 / 409)."""

    code = "domain"


class Conflict(DomainError):
    code, status = "conflict", 409


class Forbidden(SmartsiteError):
    """The user can see the object but may not do this to it (403)."""

    code, status = "forbidden", 403

    def __init__(self, message: str = "您没有执行此操作的权限", **kwargs):
        super().__init__(message, **kwargs)


class BadRequest(SmartsiteError):
    """A request the server cannot read (a body that is not JSON, nested too deep) (400)."""

    code = "bad_request"


class TooLarge(SmartsiteError):
    """A body over the size the endpoint accepts (413)."""

    code, status = "too_large", 413


class UnsupportedMediaType(SmartsiteError):
    """A body in a format the endpoint does not take, e.g. a form sent to a JSON route (415)."""

    code, status = "unsupported_media_type", 415
