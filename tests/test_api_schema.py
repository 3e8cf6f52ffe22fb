"""Schemathesis over every operation of /api/v1/openapi.json, as a district regulator and as
a contractor (each with an API token of its own, as an integrator would hold).

Each run of each role must answer without a server error (5xx), with only the status codes
the document lists for the operation, and with bodies of the documented type and schema.
The operations come from the document itself, so a route added later is covered without
touching this file.

Bounded so that CI stays short: the coverage phase (boundary values and nulls the schema
allows, no unexpected methods) plus at most MAX_EXAMPLES fuzzed cases (valid and invalid)
per operation, from a fixed seed, with Hypothesis' example database off — a failure here
reproduces on any machine with the same command.
"""

from __future__ import annotations

import collections

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from support.monitors import add_monitor

from smartsite.core import services as core_services
from smartsite.workorders import services as order_services

ROLES = ["district", "contractor_a"]  # [6/10] extends this to every role
SEED = 20261207
MAX_EXAMPLES = 5
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance"]
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "deterministic": True,
                   "mode": "all"},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True, "unexpected-methods": [],
                     "generate-duplicate-query-parameters": False,
                     "generation": {"mode": "positive"}},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
}


@pytest.fixture(params=ROLES)
def api_schema(request, cast, settings, tmp_path):
    """The live OpenAPI document of the production URL conf, called through the WSGI app
    with the role's token; something in the role's scope to find (a monitor, an order)."""
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
    add_monitor(cast.project_a)
    order_services.open_order(scenario="dust", kind="exceedance", project=cast.project_a,
                              title="PM10 15分钟均值超标", actor=cast.city)
    user = getattr(cast, request.param)
    _, key = core_services.issue_token(user, actor=user, name="schemathesis")
    config = schemathesis.Config.from_dict(
        {**CONFIG, "headers": {"Authorization": f"Bearer {key}"}})
    app, answered = _recording(get_wsgi_application())
    request.addfinalizer(lambda: _check_not_vacuous(answered))
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


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
