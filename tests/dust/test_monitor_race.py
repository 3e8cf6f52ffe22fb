"""Two people registering the same monitor MN at the same moment (or a double click): the
second gets the MN field's own message — a field-level 422 in the API — never a 500.

A real race on PostgreSQL: another connection inserts a monitor with that MN in a transaction
it has not committed yet, so the service's unique check passes and its write waits on the
unique index; the other commits, and the write fails."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from support.api import Api
from support.monitors import add_monitor

from smartsite.core.models import AuditEntry
from smartsite.dust import services
from smartsite.dust.models import Monitor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

MN = "31JA00000000000000000A09"
TAKEN = Monitor._meta.get_field("mn").error_messages["unique"]


@pytest.fixture
def a1(cast):
    return add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门")


def race(copy_of: Monitor, action):
    """Run `action` in a thread while another connection holds an uncommitted monitor with
    MN; let that commit once the action waits on it. Returns what `action` returned or
    raised."""
    import psycopg

    if connection.vendor != "postgresql":
        pytest.skip("the race needs two PostgreSQL connections; it runs in the PostgreSQL pass")
    db = connection.settings_dict
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
              "password": db["PASSWORD"] or None, "dbname": db["NAME"]}
    columns = [f.column for f in Monitor._meta.concrete_fields if not f.primary_key]
    values = ["%s" if column == "mn" else f'"{column}"' for column in columns]
    insert = (f'INSERT INTO {Monitor._meta.db_table} ({", ".join(map(repr, columns))}) '
              f'SELECT {", ".join(values)} FROM {Monitor._meta.db_table} WHERE id = %s'
              ).replace("'", '"')
    outcome = {}

    def run():
        try:
            outcome["result"] = action()
        except Exception as exc:  # what the user would get
            outcome["error"] = exc
        finally:
            from django.db import connection as own

            own.close()

    with psycopg.connect(**params) as other:
        other.execute(insert, (MN, copy_of.pk))
        thread = threading.Thread(target=run)
        thread.start()
        with psycopg.connect(**params, autocommit=True) as watcher:
            for _ in range(200):  # until the action's write waits on the other's row
                if watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                    break
                thread.join(0.05)
            else:
                pytest.fail("the write never waited on the other connection's insert")
        other.commit()
        thread.join(20)
    return outcome


def test_registering_an_mn_someone_registers_at_the_same_moment_gets_the_message(a1, cast):
    outcome = race(a1, lambda: services.register_monitor(
        project=cast.project_a, mn=MN, password="123456", actor=cast.city))
    error = outcome.get("error")
    assert isinstance(error, ValidationError), repr(outcome)
    assert error.message_dict == {"mn": [TAKEN]}
    assert Monitor.objects.filter(mn=MN).count() == 1
    assert not AuditEntry.objects.filter(model="dust.monitor").exists()  # nothing registered


def test_the_api_answers_422_not_500_to_the_same_race(a1, cast, client):
    api = Api(client, cast.city)
    body = {"mn": MN, "password": "123456", "project": cast.project_a.pk, "location": "南门"}
    outcome = race(a1, lambda: api.call("post", "/monitors", body))
    assert "result" in outcome, outcome  # not an exception (a 500)
    response = outcome["result"]
    assert response.status_code == 422, response.content
    assert response.json()["errors"]["mn"] == [TAKEN]
    assert Monitor.objects.filter(mn=MN).count() == 1


def test_changing_to_an_mn_registered_at_the_same_moment_gets_a_422(a1, cast, client):
    a2 = add_monitor(cast.project_a, mn="31JA00000000000000000A02", location="西门")
    api = Api(client, cast.city)
    outcome = race(a1, lambda: api.call("patch", f"/monitors/{a2.pk}", {"mn": MN}))
    assert "result" in outcome, outcome  # not an exception (a 500)
    response = outcome["result"]
    assert response.status_code == 422, response.content
    assert response.json()["errors"]["mn"] == [TAKEN]
    assert Monitor.objects.get(pk=a2.pk).mn == "31JA00000000000000000A02"
