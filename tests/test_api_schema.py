"""Schemathesis over every operation of /api/v1/openapi.json, as every user of the cast —
the city, the 静安区 district, the 陆家嘴 street squad, contractor A, contractor B, project
manager A and a user with no role — each with an API token of its own, as an integrator
would hold.

Each run of each role must answer without a server error (5xx), with only the status codes
the document lists for the operation, and with bodies of the documented type and schema.
The operations come from the document itself, so a route added later is covered without
touching this file.

Bounded so that the module stays near a minute of CPU: by default every role runs every
operation with MAX_EXAMPLES (1) generated case, from a fixed seed, with Hypothesis' example
database off — a failure here reproduces on any machine with the same command. Deeper runs:
SCHEMATHESIS_MAX_EXAMPLES=5 (fuzzed cases, valid and invalid, per operation and role) and
SCHEMATHESIS_COVERAGE=once (the coverage phase — boundary values and nulls the schema allows
— for each operation, under the roles in turn; ~1,450 more cases) or =all (as every role).
Measured on the 2-core build machine: the default ~47 s of CPU; MAX_EXAMPLES=2 ~70 s;
COVERAGE=once ~+35 s. What every role gets for real objects in and out of its scope is the
permission matrix's business (tests/test_matrix.py, which checks those answers against the
document too).
"""

from __future__ import annotations

import collections
import copy
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from support.monitors import add_monitor

from smartsite.core import services as core_services
from smartsite.workorders import services as order_services

DOCUMENT = "/api/v1/openapi.json"
ROLES = ["city", "district", "street", "contractor_a", "contractor_b", "manager_a", "nobody"]
SEED = 20261207
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "1"))
#: The coverage phase: "off", "once" (each operation once, under the roles in turn) or
#: "all" (each operation as every role).
COVERAGE_RUN = os.environ.get("SCHEMATHESIS_COVERAGE", "off")
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance"]
COVERAGE = {"enabled": True, "unexpected-methods": [],
            "generate-duplicate-query-parameters": False, "generation": {"mode": "positive"}}
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "deterministic": True,
                   "mode": "all"},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {**COVERAGE, "enabled": COVERAGE_RUN == "all"},  # "once": _coverage()
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, cast_maker):
    """The cast, something in scope to find (a monitor, an order) and every role's token,
    made once for the module; each role's run rolls back what it wrote (`db`). The WSGI app
    is made once too (each one loads the middleware again)."""
    with django_db_blocker.unblock(), override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), \
            transaction.atomic():
        cast = cast_maker()
        add_monitor(cast.project_a)
        order_services.open_order(scenario="dust", kind="exceedance", project=cast.project_a,
                                  title="PM10 15分钟均值超标", actor=cast.city)
        keys = {role: core_services.issue_token(getattr(cast, role), actor=getattr(cast, role),
                                                name="schemathesis")[1] for role in ROLES}
        app = get_wsgi_application()
        served = Client().get(DOCUMENT)
        assert served.status_code == 200, served.content[:200]
        yield keys, app, served.json()
        transaction.set_rollback(True)


@pytest.fixture(params=ROLES)
def api_schema(request, world, db, settings, tmp_path):
    """The live OpenAPI document of the production URL conf (as served), called through the
    WSGI app with the role's token."""
    # schemathesis 4 renames the pytest node through `_nodeid`, which pytest 9 dropped
    request.node._nodeid = request.node.nodeid
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    settings.VIDEO_RTSP_TIMEOUT_SECONDS = settings.VIDEO_ONVIF_TIMEOUT_SECONDS = 1
    # As Django's test client does: a request must not close the connection that holds the
    # test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    def reconnect():
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)

    request.addfinalizer(reconnect)
    keys, wsgi, document = world
    config = schemathesis.Config.from_dict(
        {**CONFIG, "headers": {"Authorization": f"Bearer {keys[request.param]}"},
         "operations": _coverage(request.param)})
    app, answered = _recording(wsgi)
    request.addfinalizer(lambda: _check_not_vacuous(answered))
    # as `schemathesis.openapi.from_wsgi` loads it, from the document fetched once
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document), config=config)
    schema.app, schema.location = app, DOCUMENT
    return schema


def _coverage(role: str) -> list[dict]:
    """The operations whose coverage phase runs as `role`: every operation once, under the
    roles in turn (the phase's boundary values are refused or taken by the same validation
    whoever asks)."""
    if COVERAGE_RUN != "once":
        return []
    mine = [name for i, name in enumerate(_operation_names()) if i % len(ROLES) ==
            ROLES.index(role)]
    return [{"include-name": mine, "phases": {"coverage": COVERAGE}}] if mine else []


def _operation_names() -> list[str]:
    from support.routes import document

    return sorted(f"{method.upper()} {path}" for path, item in document()["paths"].items()
                  for method in item)


def _recording(app):
    """The WSGI app, recording each request's status by method and path."""
    answered: dict[str, set[int]] = collections.defaultdict(set)

    def recording(environ, start_response):
        def start(status, headers, exc_info=None):
            answered[f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}"].add(int(status[:3]))
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return recording, answered


def _check_not_vacuous(answered):
    """The token worked: every list (a GET without path parameters) answered 200 at least
    once, so the run was not 401s throughout."""
    lists = {key for key in answered if key.startswith("GET /api/v1/") and
             key.count("/") == 3 and not key.endswith("openapi.json")}
    assert len(lists) >= 10, sorted(answered)
    assert {key for key in lists if 200 not in answered[key]} <= {"GET /api/v1/audit"}, \
        {key: answered[key] for key in lists}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_server_errors_and_only_documented_answers(case):
    case.call_and_validate()
