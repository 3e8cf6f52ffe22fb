"""Demo logins: one user per role of design.md §3, all with the password `DEMO_PASSWORD`.

The users are picked from the generated city so each one sees something: the street squad
of the street with the most live projects, the contractor with the most projects, and the
项目经理 / 总监理工程师 / 基坑监测单位 of one live project with a pit of that contractor.
Demo users are marked by an e-mail address at ``demo.invalid`` (RFC 2606: never
deliverable), which is how `demo_logins()` finds them again on a later run.
"""

from __future__ import annotations

import functools
from collections import Counter

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, make_password

from smartsite.core import audit
from smartsite.core.choices import AgencyKind, AuditAction, PartyRole, ProjectStatus, RoleKind
from smartsite.core.models import Agency, Post, Role

__all__ = ["DEMO_DOMAIN", "DEMO_PASSWORD", "create_demo_users", "demo_logins", "demo_password_hash",
           "simulated_city"]

#: The password of every demo user. Public by design: demo databases only.
DEMO_PASSWORD = "smartsite-demo"
DEMO_DOMAIN = "demo.invalid"


def demo_password_hash() -> str:
    """`DEMO_PASSWORD` hashed by the hasher in force, once per process and hasher: every demo
    login (the city's and the scenarios' own) shares the hash, as PBKDF2 costs ~0.4 s of CPU
    a hash."""
    hasher = get_hasher()
    return _demo_hash(hasher.algorithm, getattr(hasher, "iterations", None))


@functools.cache
def _demo_hash(algorithm: str, iterations: int | None) -> str:
    return make_password(DEMO_PASSWORD, hasher=algorithm)


def demo_logins() -> list[tuple[str, str]]:
    """(label, username) of the demo users in the database, in the order they were made."""
    users = get_user_model().objects.filter(email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
    return [(u.first_name or u.username, u.username) for u in users]


def simulated_city() -> bool:
    """True when the database holds a simulated city (its demo logins exist)."""
    return get_user_model().objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists()


def _pick_project(plans):
    """The contractor with the most projects, and its largest live project with a pit."""
    counts = Counter(p.parties[PartyRole.CONTRACTOR].pk for p in plans)
    ranked = sorted(counts, key=lambda pk: (-counts[pk], pk))
    for contractor in ranked:
        live = [p for p in plans if p.parties[PartyRole.CONTRACTOR].pk == contractor
                and p.project.status == ProjectStatus.ACTIVE and p.project.has_pit]
        if live:
            plan = max(live, key=lambda p: (p.project.site_area_m2, p.project.permit_no))
            return ranked[0], plan
    raise RuntimeError("the simulated city has no live project with a pit")


def create_demo_users(plans: list) -> list[tuple[str, str]]:
    """Create the demo users and their roles for the generated `plans`; return the logins.

    No randomness: each pick is the most telling one, so it follows from the city itself.
    """
    User = get_user_model()
    password = demo_password_hash()  # one hash: PBKDF2 per user would cost seconds
    agency = Agency.objects.select_related("region").get
    top_contractor_pk, plan = _pick_project(plans)
    contractor = next(p.parties[PartyRole.CONTRACTOR] for p in plans
                      if p.parties[PartyRole.CONTRACTOR].pk == top_contractor_pk)
    project = plan.project
    live = Counter(p.project.street for p in plans if p.project.status == ProjectStatus.ACTIVE)
    street = sorted(live, key=lambda s: (-live[s], s.code))[0]
    posts = {p.code: p for p in Post.objects.filter(
        code__in=["project_manager", "chief_supervising_engineer"])}
    station = agency(kind=AgencyKind.SUPERVISION_STATION, region__name="静安区")
    commission = agency(kind=AgencyKind.DISTRICT_COMMISSION, region__name="浦东新区")
    monitor = plan.parties[PartyRole.MONITOR]
    squad = agency(kind=AgencyKind.ENFORCEMENT_SQUAD, region=street)

    wanted = [
        ("city", "市住建委（市级监管）",
         {"kind": RoleKind.CITY, "agency": agency(kind=AgencyKind.CITY_COMMISSION)}),
        ("jingan", f"{station.name}（区级监管）", {"kind": RoleKind.DISTRICT, "agency": station}),
        ("pudong", f"{commission.name}（区级监管）",
         {"kind": RoleKind.DISTRICT, "agency": commission}),
        (f"squad_{street.code[:9]}", f"{squad.name}（街镇执法）",
         {"kind": RoleKind.STREET, "agency": squad}),
        ("contractor", f"{contractor.name}（施工单位）",
         {"kind": RoleKind.ENTERPRISE, "enterprise": contractor}),
        ("pm", f"项目经理 · {project.name}",
         {"kind": RoleKind.PROJECT, "project": project, "enterprise": contractor,
          "party_role": PartyRole.CONTRACTOR, "post": posts["project_manager"]}),
        ("chief", f"总监理工程师 · {project.name}",
         {"kind": RoleKind.PROJECT, "project": project,
          "enterprise": plan.parties[PartyRole.SUPERVISOR], "party_role": PartyRole.SUPERVISOR,
          "post": posts["chief_supervising_engineer"]}),
        ("monitor", f"{monitor.name}（基坑监测单位）",
         {"kind": RoleKind.ENTERPRISE, "enterprise": monitor}),
    ]
    logins = []
    for username, label, spec in wanted:
        user = User(username=username, email=f"{username}@{DEMO_DOMAIN}",
                    first_name=label[:150])
        user.full_clean(exclude=["password"])
        user.password = password
        user.save()
        audit.record(None, user, AuditAction.CREATE,
                     audit.diff(None, {"username": username, "full_name": user.first_name}))
        role = Role(user=user, **spec)
        role.full_clean()
        role.save()
        audit.record(None, role, AuditAction.GRANT, audit.diff(None, audit.snapshot(role)))
        logins.append((user.first_name, username))
    return logins
