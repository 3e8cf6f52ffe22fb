"""Who gets through each route's permission gate, declared next to the routes.

Every app of ours declares its routes in its own `access.py`: one dict, `ROUTES`, from a
page's URL name (``"dust:monitor"``, ``"home"``) or an API operation as /api/v1/openapi.json
names it (``"GET /monitors/{pk}"``: the method and the path without ``/api/v1``) to an
`Access`. The permission matrix (tests/test_matrix.py) walks the URL resolver and the OpenAPI
document, asks every route as every user of the demo cast (plus anonymous, plus a user with no
role) about an object in scope, one out of it and one that does not exist, and compares the
answers with these declarations. A route without a declaration fails the suite.

The answers a declaration stands for (design.md §2 rule 2, §3):

* anonymous: a page redirects to the login page, the API answers 401 (`PUBLIC` routes excepted);
* a rule decided by the user's role alone (``before_object``): 403 for everyone else, whatever
  the object — the route says "not for you" before it looks anything up;
* an object the user cannot see, or that does not exist: 404 — the same answer for both;
  where an API create names the object in its body (`Access.via`), the same 422 on that
  field as for an id that does not exist;
* an object the user sees but the rule does not let through: 403, and nothing changes;
* otherwise the route's own answer: 200 for a read (or `Access.ok`), and for a write whatever
  the input deserves — done, or a validation message — but never 401/403/404.

Who each rule lets through is described here in words; the matrix spells it out for the cast
by hand, so that the expectation does not come from the permission code it checks.

This module imports no other app: `declarations()` finds the apps' modules through the app
registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

__all__ = [
    "AUDITORS",
    "CAMERA_OPERATORS",
    "CITY_ADMIN",
    "DESIGN_UNIT",
    "DEVICE_MANAGERS",
    "IMPORTERS",
    "INSPECTORS",
    "MAINTAINERS",
    "MONITORING_COMPANY",
    "OWNER_PARTY",
    "PENALISERS",
    "POST_PARTY",
    "PROJECT_MANAGER",
    "PUBLIC",
    "REGISTRY_EDITORS",
    "REGULATORS",
    "RULES",
    "SCOPED",
    "SIGNED_IN",
    "SITE_RECORD_EDITORS",
    "STOPPAGE_FILERS",
    "SUPERVISING_REGULATORS",
    "Access",
    "Rule",
    "declarations",
]


@dataclass(frozen=True)
class Rule:
    """Who a route lets through: a name the matrix knows, and the same in words."""

    name: str
    who: str
    #: Decided by the user's roles alone, before the object is looked up: everyone else gets
    #: 403, even for an object they cannot see or one that does not exist.
    before_object: bool = False

    def __str__(self) -> str:
        return self.name


PUBLIC = Rule("public", "anyone, signed in or not")
SIGNED_IN = Rule("signed_in", "any signed-in user, with or without a role: their own data, "
                              "or a list narrowed to their scope", before_object=True)
SCOPED = Rule("scoped", "whoever sees the object (core.scoping.scoped: a project's regulators, "
                        "parties and project roles; reference data: any role; a user's own "
                        "tokens, webhooks, notifications: that user); a list: any signed-in "
                        "user, who sees the rows of their scope")
REGISTRY_EDITORS = Rule("registry_editors", "city regulators; district regulators for their "
                                            "district's projects and the city-wide registers "
                                            "of enterprises and people")
DEVICE_MANAGERS = Rule("device_managers", "city regulators, the project's district regulator "
                                          "and its 施工单位 (company and project-role users): "
                                          "monitors, spray/fog cannons, cameras")
INSPECTORS = Rule("inspectors", "the device managers and the project's 运维单位: annual "
                                "inspections and calibrations")
MAINTAINERS = Rule("maintainers", "the project's 施工单位 and 运维单位: O&M records, "
                                  "resubmitting a month")
PROJECT_MANAGER = Rule("project_manager", "the 施工单位's 项目经理 on the project: reviewing "
                                          "a month's O&M statistics")
CAMERA_OPERATORS = Rule("camera_operators", "the device managers and any regulator who sees "
                                            "the camera: PTZ, manual snapshots")
SUPERVISING_REGULATORS = Rule("supervising_regulators", "city regulators and the project's "
                                                        "district regulator: dispatching, "
                                                        "ignoring events")
PENALISERS = Rule("penalisers", "the supervising regulators and the squad of the project's "
                                "street: penalties")
CITY_ADMIN = Rule("city_admin", "city administrators: users and roles, dust rules, loop "
                                "policies", before_object=True)
MONITORING_COMPANY = Rule("monitoring_company", "the project's 监测单位 (its enterprise users and "
                                                "project-role users): pit survey uploads")
SITE_RECORD_EDITORS = Rule("site_record_editors", "city regulators, the project's district "
                          "regulator and the project's 建设、施工、监测单位: a pit's registry")
DESIGN_UNIT = Rule("design_unit", "the project's 设计单位 (its enterprise users and project-role "
                                  "users): judging a pit's colour (研判)")
OWNER_PARTY = Rule("owner_party", "the project's 建设单位 (its enterprise users and project-role "
                                  "users): deciding key-post leave and stand-in requests")
POST_PARTY = Rule("post_party", "the project's party that fills the key post (施工单位 or "
                                "监理单位; enterprise and project-role users): key-post leave "
                                "and stand-in requests")
STOPPAGE_FILERS = Rule("stoppage_filers", "the project's 建设单位 or 施工单位 (enterprise and "
                                          "project-role users): filing a 停工 (停工报备)")
REGULATORS = Rule("regulators", "city, district and street regulators", before_object=True)
AUDITORS = Rule("auditors", "city and district regulators: the audit trail", before_object=True)
IMPORTERS = Rule("importers", "registry editors (city and district regulators): Excel import",
                 before_object=True)

RULES = {rule.name: rule for rule in (
    PUBLIC, SIGNED_IN, SCOPED, REGISTRY_EDITORS, DEVICE_MANAGERS, INSPECTORS, MAINTAINERS,
    PROJECT_MANAGER, CAMERA_OPERATORS, SUPERVISING_REGULATORS, PENALISERS, CITY_ADMIN,
    MONITORING_COMPANY, DESIGN_UNIT, SITE_RECORD_EDITORS, OWNER_PARTY, POST_PARTY,
    STOPPAGE_FILERS, REGULATORS,
    AUDITORS, IMPORTERS)}


@dataclass(frozen=True)
class Access:
    """One route's expectation.

    `read` answers GET (and HEAD); `write` answers POST, PUT, PATCH and DELETE. None: the
    route does not take that kind of request (a page that only shows, an action that is only
    posted). An API operation has one method, so it declares the one that applies.
    """

    read: Rule | None = None
    write: Rule | None = None
    #: The object the route is about, as "app_label.model": the one its path names (<pk>,
    #: <code>), the one an API create names in its body (`via`), or a list's rows.
    object: str | None = None
    #: An API create: the body field that names `object` (e.g. "project").
    via: str | None = None
    #: The answer when the rule lets the user through, if it is not the usual one (200 for a
    #: read; for a write: done or refused for its input) — e.g. 302 for a page that only
    #: redirects to another one.
    ok: int = 200

    def rule_for(self, method: str) -> Rule | None:
        return self.read if method.upper() in ("GET", "HEAD") else self.write


def declarations() -> dict[str, tuple[Access, str]]:
    """Every declared route: key → (Access, the module that declares it), from the `access`
    module each app names in its declaration (core.scenarios). A key declared twice is an
    error."""
    from smartsite.core import scenarios

    found: dict[str, tuple[Access, str]] = {}
    for declaration in scenarios.declarations():
        if not declaration.access:
            continue
        name = declaration.access
        module = import_module(name)
        for key, access in getattr(module, "ROUTES", {}).items():
            if key in found:
                raise ValueError(f"route {key!r} is declared in {found[key][1]} and in {name}")
            if not isinstance(access, Access):
                raise TypeError(f"{name}.ROUTES[{key!r}] is not an Access")
            found[key] = (access, name)
    return found


# ================================================================ core's routes

# Pages of the root URL conf and of `core` (the registry, users, tokens), the API machinery's
# own pages, and the registry's API.
ROUTES = {
    # -------------------------------------------------------------- the site
    "home": Access(read=SIGNED_IN),
    "login": Access(read=PUBLIC, write=PUBLIC),
    "logout": Access(write=PUBLIC),
    "password_change": Access(read=SIGNED_IN, write=SIGNED_IN),
    "password_change_done": Access(read=SIGNED_IN),
    "district_shapes": Access(read=PUBLIC),
    "api-v1:openapi-json": Access(read=PUBLIC),
    "api-v1:openapi-view": Access(read=PUBLIC),
    "api-v1:api-root": Access(read=PUBLIC, ok=404),  # ninja's placeholder: nothing at the root
    "api-v1:unknown_path": Access(read=PUBLIC, write=PUBLIC, ok=404),
    # -------------------------------------------------------------- reference data
    "core:region_list": Access(read=SCOPED, object="core.region"),
    "core:streets_options": Access(read=SIGNED_IN),
    "core:region": Access(read=SCOPED, object="core.region"),
    "core:agency": Access(read=SCOPED, object="core.agency"),
    "GET /regions": Access(read=SCOPED, object="core.region"),
    "GET /regions/{pk}": Access(read=SCOPED, object="core.region"),
    "GET /agencies": Access(read=SCOPED, object="core.agency"),
    "GET /agencies/{pk}": Access(read=SCOPED, object="core.agency"),
    "GET /posts": Access(read=SCOPED),
    # -------------------------------------------------------------- projects
    "core:project_list": Access(read=SCOPED, object="core.project"),
    "core:project_points": Access(read=SCOPED),
    "core:project_add": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS),
    "core:project": Access(read=SCOPED, object="core.project"),
    "core:project_edit": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS,
                                object="core.project"),
    "core:assignment_add": Access(write=REGISTRY_EDITORS, object="core.project"),
    "GET /projects": Access(read=SCOPED, object="core.project"),
    "POST /projects": Access(write=REGISTRY_EDITORS),
    "GET /projects/{pk}": Access(read=SCOPED, object="core.project"),
    "PATCH /projects/{pk}": Access(write=REGISTRY_EDITORS, object="core.project"),
    "DELETE /projects/{pk}": Access(write=REGISTRY_EDITORS, object="core.project"),
    "GET /assignments": Access(read=SCOPED, object="core.postassignment"),
    "POST /assignments": Access(write=REGISTRY_EDITORS, object="core.project", via="project"),
    "GET /assignments/{pk}": Access(read=SCOPED, object="core.postassignment"),
    "DELETE /assignments/{pk}": Access(write=REGISTRY_EDITORS, object="core.postassignment"),
    # -------------------------------------------------------------- enterprises
    "core:enterprise_list": Access(read=SCOPED, object="core.enterprise"),
    "core:enterprise_add": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS),
    "core:enterprise": Access(read=SCOPED, object="core.enterprise"),
    "core:enterprise_edit": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS,
                                   object="core.enterprise"),
    "GET /enterprises": Access(read=SCOPED, object="core.enterprise"),
    "POST /enterprises": Access(write=REGISTRY_EDITORS),
    "GET /enterprises/{pk}": Access(read=SCOPED, object="core.enterprise"),
    "PATCH /enterprises/{pk}": Access(write=REGISTRY_EDITORS, object="core.enterprise"),
    "DELETE /enterprises/{pk}": Access(write=REGISTRY_EDITORS, object="core.enterprise"),
    # -------------------------------------------------------------- people
    "core:person_list": Access(read=SCOPED, object="core.person"),
    "core:person_add": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS),
    "core:person": Access(read=SCOPED, object="core.person"),
    "core:person_edit": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS,
                               object="core.person"),
    "core:qualification_add": Access(write=REGISTRY_EDITORS, object="core.person"),
    "GET /people": Access(read=SCOPED, object="core.person"),
    "POST /people": Access(write=REGISTRY_EDITORS),
    "GET /people/{pk}": Access(read=SCOPED, object="core.person"),
    "PATCH /people/{pk}": Access(write=REGISTRY_EDITORS, object="core.person"),
    "DELETE /people/{pk}": Access(write=REGISTRY_EDITORS, object="core.person"),
    "GET /qualifications": Access(read=SCOPED, object="core.qualification"),
    "POST /qualifications": Access(write=REGISTRY_EDITORS, object="core.person", via="person"),
    "GET /qualifications/{pk}": Access(read=SCOPED, object="core.qualification"),
    "DELETE /qualifications/{pk}": Access(write=REGISTRY_EDITORS, object="core.qualification"),
    # -------------------------------------------------------------- audit, users, tokens
    "core:audit_list": Access(read=AUDITORS),
    "GET /audit": Access(read=AUDITORS),
    "core:user_list": Access(read=CITY_ADMIN),
    "core:user_add": Access(read=CITY_ADMIN, write=CITY_ADMIN),
    "core:user": Access(read=CITY_ADMIN, write=CITY_ADMIN, object="auth.user"),
    "core:role_revoke": Access(write=CITY_ADMIN, object="core.role"),
    "core:tokens": Access(read=SIGNED_IN, write=SIGNED_IN),
    "core:token_revoke": Access(write=SCOPED, object="core.apitoken"),
    "GET /me": Access(read=SIGNED_IN),
}
