"""The permission matrix, generated: every page of the URL resolver and every operation of
/api/v1/openapi.json, asked as every user of the cast (city, 静安区 district, 陆家嘴 street
squad, contractor A, contractor B, project manager A), a user with no role and an anonymous
visitor, about an object in their scope, one out of it and one that does not exist — reads
and writes — against the access declared next to the route (smartsite/<app>/access.py; how
to read a declaration: smartsite/core/access.py).

The expectation does not come from the permission code it checks: who each rule lets through
and who sees each object are written out for the cast in tests/support/matrix.py. A route
without a declaration fails here, naming the file to declare it in; so does a declaration of
a route that no longer exists.

Every refused write (anonymous, hidden, forbidden) must change nothing in the database (not a
row: the connection's change counter is read before and after). Every API answer must be
one the document lists for the operation, with a body of its schema.

The world (the cast, two objects of every kind, tokens and signed-in clients) is built once
for the module; each request runs in a savepoint that is rolled back, so an allowed write
(a delete) does not change what the next user is asked about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.cookies import SimpleCookie

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import reverse
from jsonschema_rs import Draft202012Validator  # schemathesis' own validator
from support import matrix as mx
from support import routes as rt

from smartsite.core.access import RULES, declarations
from smartsite.core.models import AuditEntry

DECLARED = declarations()
ROUTES = rt.all_routes()
#: A write that got past the permission gate: done, or refused for its input.
PASSED_GATE = {200, 201, 204, 302, 400, 409, 422}
NOT_ALLOWED = 405
NOT_FOUND = {"code": "not_found", "field": None, "message": "未找到该对象"}


@dataclass
class Principals:
    world: mx.World
    client: Client  # one for all: a new one loads the middleware again (whitenoise: 0.2 s)
    sessions: dict[str, str | None]  # principal → session key
    api: dict[str, dict]  # principal → headers


@pytest.fixture(scope="module")
def principals(django_db_setup, django_db_blocker, cast_maker, tmp_path_factory):
    data = tmp_path_factory.mktemp("matrix-data")
    with django_db_blocker.unblock(), override_settings(
            DATA_DIR=data, MEDIA_ROOT=data / "media",
            VIDEO_FFMPEG=str(data / "no-ffmpeg"),  # no camera process starts in the matrix
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), \
            transaction.atomic():
        from smartsite.core import services
        from smartsite.core.models import ApiToken

        cast = cast_maker()
        world = mx.build_world(cast)
        users = cast.users()
        client = Client()
        sessions, api = {"anonymous": None}, {"anonymous": {}}
        for name, user in users.items():
            client.cookies = SimpleCookie()  # a session of its own
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
            sessions[name] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
            token, key = services.issue_token(user, actor=user, name="matrix")
            # Used "in the future": the token's last-use stamp is not written on each
            # request, so a refused request writes nothing at all.
            ApiToken.objects.filter(pk=token.pk).update(last_used="2999-01-01T00:00Z")
            api[name] = {"Authorization": f"Bearer {key}"}
        yield Principals(world, client, sessions, api)
        transaction.set_rollback(True)


# ================================================================ the declarations


def test_every_route_is_declared_and_every_declaration_is_a_route():
    keys = {route.key for route in ROUTES}
    missing = [f"{r.key}  ({r.template}): add it to ROUTES in {r.declare_in}"
               for r in ROUTES if r.key not in DECLARED]
    stale = [f"{key}: declared in {module}, but there is no such route"
             for key, (_, module) in DECLARED.items() if key not in keys]
    assert not missing + stale, "\n".join(missing + stale)


def test_each_route_is_declared_by_the_app_that_owns_it():
    wrong = [f"{r.key}: declared in {DECLARED[r.key][1]}, owned by {r.app} ({r.declare_in})"
             for r in ROUTES if r.key in DECLARED and DECLARED[r.key][1] != f"{r.app}.access"]
    assert not wrong, "\n".join(wrong)


def test_declarations_fit_their_routes():
    problems = []
    for route in ROUTES:
        if route.key not in DECLARED:
            continue
        access = DECLARED[route.key][0]
        if route.api and access.rule_for(route.method) is None:
            problems.append(f"{route.key}: declares no rule for {route.method}")
        if access.object and not route.params and not route.api and access.rule_for("GET") is None:
            problems.append(f"{route.key}: an object but no path parameter and no list")
        for rule in (access.read, access.write):
            if rule is not None and RULES.get(rule.name) is not rule:
                problems.append(f"{route.key}: unknown rule {rule}")
    assert not problems, "\n".join(problems)


def test_the_cast_tables_spell_out_every_rule():
    """Each rule of core/access.py is written out for the cast (tests/support/matrix.py),
    those decided by the role alone among the role-level ones, and the users asked about
    project A's object only get the same answers on B."""
    spelled = set(mx.ROLE_LEVEL) | set(mx.WHO) | {"scoped"}
    assert spelled == set(RULES), f"spell out {set(RULES) - spelled} in tests/support/matrix.py"
    assert {r.name for r in RULES.values() if r.before_object} <= set(mx.ROLE_LEVEL)
    for name, table in mx.WHO.items():
        for principal in ONE_OBJECT:
            assert (principal in table["A"]) == (principal in table["B"]), (name, principal)


def test_the_matrix_walks_the_document_the_api_serves(client):
    served = client.get("/api/v1/openapi.json").json()
    ops = {f"{method.upper()} {path.removeprefix(rt.API_PREFIX)}"
           for path, item in served["paths"].items() for method in item}
    assert ops == {route.key for route in rt.operations()}


# ================================================================ the matrix


@pytest.mark.parametrize("route", ROUTES, ids=[r.key for r in ROUTES])
def test_each_route_answers_everyone_as_declared(route, principals, db):
    if route.key not in DECLARED:
        pytest.fail(f"{route.key} ({route.template}) has no declared access: add it to ROUTES "
                    f"in {route.declare_in} (how: src/smartsite/core/access.py)")
    access = DECLARED[route.key][0]
    principals.world.ensure_files()
    methods = [route.method] if route.api else \
        [m for m, rule in (("GET", access.read), ("POST", access.write)) if rule is not None]
    failures = []
    for method in methods:
        for case in _cases(route, access, principals.world):
            failures += _ask(principals, route, access, method, *case)
    if not route.api:
        failures += _undeclared_methods(principals, route, access)
    assert not failures, f"{route.key} ({route.template}):\n" + "\n".join(failures)


#: Who is asked about project A's object only: the answer cannot differ for B (the city sees
#: and may do the same on both; nobody and anonymous see neither).
ONE_OBJECT = {"anonymous", "city", "nobody"}
#: Who is asked where every answer is the same for everyone signed in or not.
PUBLIC_ASKED = ("anonymous", "city", "nobody")


def _cases(route, access, world):
    """(principal, thing, absent) to ask about: both objects as everyone who may see one of
    them, an absent one as the city and as contractor B; without an object, everyone once."""
    things = world.things.get(access.object, {}) if access.object else {}
    asks_object = bool(route.params) or access.via
    if asks_object and access.object and not things:
        raise AssertionError(f"{route.key}: no {access.object} in the world; add two to "
                             "build_world in tests/support/matrix.py")
    rules = {rule.name for rule in (access.read, access.write) if rule is not None}
    everyone = PUBLIC_ASKED if rules == {"public"} else mx.PRINCIPALS
    if not asks_object or not access.object:  # (an import kind: parameters but no object)
        return [(p, None, False) for p in everyone]
    variant = mx.VARIANTS.get(route.key)
    letters = [f"A:{variant}", f"B:{variant}"] if variant else ["A", "B"]
    cases = [(p, things[letter], False) for letter in letters for p in everyone
             if letter == letters[0] or p not in ONE_OBJECT]
    return cases + [(p, things[letters[0]], True) for p in ("city", "contractor_b")]


def _expect(access, method, principal, thing, absent) -> str:
    rule = access.rule_for(method).name
    if principal == "anonymous" and rule != "public":
        return "login"
    if rule in mx.ROLE_LEVEL:
        if principal not in mx.ROLE_LEVEL[rule]:
            return "forbidden"
        if thing is None:
            return "ok"
    if thing is not None and (absent or principal not in thing.seen_by):
        return "hidden"
    if rule in mx.ROLE_LEVEL or rule == "scoped":
        return "ok"
    allowed = mx.WHO[rule][thing.project] if thing is not None else \
        frozenset().union(*mx.WHO[rule].values())
    return "ok" if principal in allowed else "forbidden"


def _allowed_somewhere(rule, principal) -> bool:
    if rule.name in mx.ROLE_LEVEL:
        return principal in mx.ROLE_LEVEL[rule.name]
    if rule.name == "scoped":
        return principal in mx.SIGNED_IN
    return principal in frozenset().union(*mx.WHO[rule.name].values())


def _ask(p: Principals, route, access, method, principal, thing, absent) -> list[str]:
    rule = access.rule_for(method)
    expect = _expect(access, method, principal, thing, absent)
    try:
        response, changed, audited = _request(p, route, access, method, principal, thing,
                                              absent)
    except Exception as exc:  # a server error: report it with the case
        return [f"  {method} as {principal}{_about(thing, absent)}: raised {exc!r}"]
    status = response.status_code
    problems = []
    if expect == "login":
        ok = status == 401 if route.api else status == 302 and _to_login(response)
        want = "401" if route.api else "302 to the login page"
    elif expect == "forbidden":
        ok, want = status == 403, "403"
    elif expect == "hidden" and access.via and not _allowed_somewhere(rule, principal):
        # a create may refuse a user who may create nowhere before it looks the object up:
        # 403 whatever the id, which says nothing about the object either
        ok = status == 403 or (status == 422 and access.via in _json(response).get("errors", {}))
        want = f"403, or 422 on {access.via}"
    elif expect == "hidden":
        if access.via and route.api:
            ok = status == 422 and access.via in _json(response).get("errors", {})
            want = f"422 on {access.via}"
        elif route.api:  # word for word what an id that does not exist gets
            ok, want = status == 404 and _json(response) == NOT_FOUND, f"404 {NOT_FOUND}"
        else:
            ok, want = status == 404, "404"
    elif method in ("GET", "HEAD"):
        want = mx.OK_HERE.get(route.key, access.ok)
        ok = status == want
    elif route.key in mx.DONE and method != "GET":
        ok = status == mx.DONE[route.key] and audited
        want = f"{mx.DONE[route.key]} and an audit entry under the user's name"
    elif access.ok != 200:  # a route with one answer for everyone (the API's catch-all)
        ok, want = status == access.ok, str(access.ok)
    else:  # a public write (logging out) may well send the user to the login page
        ok = status in PASSED_GATE and (rule.name == "public" or not _to_login(response))
        want = "past the permission gate"
    if not ok:
        problems.append(f"{status} (want {want})")
    if expect != "ok" and changed:
        problems.append(f"a refused write changed {changed} row(s)")
    if route.api:
        problems += _conforms(route, response)
    if expect == "ok" and method == "GET" and not route.params and access.object:
        problems += _rows(p.world, access, route, principal, response)
    return [f"  {method} as {principal}{_about(thing, absent)}: {'; '.join(problems)}"] \
        if problems else []


def _about(thing, absent) -> str:
    if thing is None:
        return ""
    return f" about an absent {thing.obj._meta.label_lower}" if absent else \
        f" about {thing.obj._meta.label_lower} {thing.letter}"


def _to_login(response) -> bool:
    return response.status_code == 302 and \
        response["Location"].startswith(resolve_url(django_settings.LOGIN_URL))


def _json(response) -> dict:
    try:
        return response.json()
    except (ValueError, TypeError):
        return {}


def _request(p: Principals, route, access, method, principal, thing, absent):
    values = mx.path_values(route, thing, absent=absent and not access.via)
    body = mx.BODIES[route.key](p.world, thing) if route.key in mx.BODIES else None
    if access.via and thing is not None:
        body = {**(body or {}), access.via: mx.ABSENT_ID if absent else thing.obj.pk}
    user = p.world.cast.users().get(principal)
    audit = AuditEntry.objects.filter(actor=user) if route.key in mx.DONE and user else None
    with transaction.atomic():
        before, entries = _changes(), audit.count() if audit is not None else 0
        if route.api:
            response = _api(p, route, method, principal, values, body)
        else:
            response = _page(p, route, method, principal, values, body)
        changed = _changes() - before
        audited = audit is not None and audit.count() > entries
        transaction.set_rollback(True)
    return response, changed, audited


def _api(p: Principals, route, method, principal, values, body):
    client = p.client
    client.cookies = SimpleCookie()  # the token alone
    path = rt.API_PREFIX + route.key.split(" ", 1)[1].format(**values)
    headers = p.api[principal]
    if method == "GET":
        query = {"page_size": 500} if "page_size" in route.query else {}
        return client.get(path, query, headers=headers)
    if route.key in mx.MULTIPART:
        return client.post(path, body or {}, headers=headers)
    call = getattr(client, method.lower())
    if body is None and route.body:
        body = {}
    if body is None:
        return call(path, headers=headers)
    return call(path, json.dumps(body), content_type="application/json", headers=headers)


def _page(p: Principals, route, method, principal, values, body):
    client, session = p.client, p.sessions[principal]
    client.cookies = SimpleCookie()  # as signed in, whatever the last answer set (logout)
    if session:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = session
    url = reverse(route.key, kwargs=values)
    if method == "GET":
        return client.get(url, {} if route.params else {"per_page": 500})
    return client.post(url, body or {})


def _changes() -> int:
    """Rows inserted, updated or deleted on this connection so far."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT total_changes()")
        else:
            cursor.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                           "FROM pg_stat_xact_user_tables")
        return int(cursor.fetchone()[0])


def _undeclared_methods(p: Principals, route, access) -> list[str]:
    """A page declared read-only changes nothing when posted to; one declared write-only
    answers a GET with 405 (asked as the city, who sees every object)."""
    world = p.world
    things = world.things.get(access.object, {}) if access.object else {}
    thing = things.get("A") if route.params and access.object else None
    out = []
    try:
        if access.write is None:
            _, changed, _ = _request(p, route, access, "POST", "city", thing, False)
            if changed:
                out.append(f"  POST as city: declared read-only, but changed {changed} row(s)")
        if access.read is None:
            response, _, _ = _request(p, route, access, "GET", "city", thing, False)
            if response.status_code != NOT_ALLOWED:
                out.append(f"  GET as city: {response.status_code} "
                           "(want 405: declared write-only)")
    except Exception as exc:
        out.append(f"  {exc!r} (as city, a method the route does not declare)")
    return out


_VALIDATORS: dict = {}


def _conforms(route, response) -> list[str]:
    """The answer is one the document lists for the operation, with a body of its schema."""
    doc = rt.document()
    op = doc["paths"][route.template][route.method.lower()]
    spec = op["responses"].get(str(response.status_code))
    if spec is None:
        return [f"status {response.status_code} is not in the document "
                f"({', '.join(sorted(op['responses']))})"]
    content = (spec.get("content") or {}).get("application/json")
    if content is None or not response.get("Content-Type", "").startswith("application/json"):
        return []
    key = (route.key, response.status_code)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = Draft202012Validator({**content["schema"],
                                                 "components": doc["components"]})
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
              for e in _VALIDATORS[key].iter_errors(response.json())]
    return [f"body breaks the schema: {errors[:3]}"] if errors else []


def _rows(world, access, route, principal, response) -> list[str]:
    """A list shows exactly the objects the principal sees."""
    things = {k: t for k, t in world.things.get(access.object, {}).items() if ":" not in k}
    if route.api:
        data = response.json()
        items = data["items"] if isinstance(data, dict) else data
        shown = {item.get("id") for item in items}
        present = {k: t.obj.pk in shown for k, t in things.items()}
    else:
        html = response.content.decode()
        present = {k: f'href="{t.obj.get_absolute_url()}"' in html for k, t in things.items()}
    wrong = [f"{access.object} {k} {'shown' if present[k] else 'missing'}"
             for k, t in things.items() if present[k] != (principal in t.seen_by)]
    return [f"the list is not the scope: {', '.join(wrong)}"] if wrong else []
