"""The test database as a process the tests start sees it."""

from __future__ import annotations

from django.db import connection


def database_url() -> str:
    """The URL of the test database, for a process the test starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}")
