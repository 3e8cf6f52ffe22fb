"""An API client as one user: a real token through the real service, JSON bodies, and the
field messages of a 422."""

from __future__ import annotations

from smartsite.core import services as core_services

API = "/api/v1"


class Api:
    def __init__(self, client, user):
        _, key = core_services.issue_token(user, actor=user, name="pytest")
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def call(self, method, path, body=None):
        if body is None:
            return getattr(self.client, method)(API + path, headers=self.headers)
        return getattr(self.client, method)(API + path, body, content_type="application/json",
                                            headers=self.headers)

    def refused(self, method, path, body, field) -> list[str]:
        """The messages on `field` of a 422 (asserting it is one)."""
        response = self.call(method, path, body)
        assert response.status_code == 422, response.content
        errors = response.json()["errors"]
        assert field in errors, errors
        return errors[field]
