"""Ball in court: whose turn it is on an order, and who belongs there.

A loop policy names, per level and step, the dispatcher, the handler and the verifier;
`point_court` resolves that for the order's project and sets `WorkOrder.court_*`. The rest
answers "who is in the court": `in_court` for one user and one order, `court_q` the same rule
as a query (todos, `mine=true`), `court_users` / `court_users_of` the users to notify. Reads
only: the write paths (`services`, `timers`) call these and save.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable
from functools import reduce

from django.core.exceptions import ValidationError
from django.db.models import Q

from smartsite.core.choices import RoleKind
from smartsite.core.errors import DomainError
from smartsite.core.models import Role
from smartsite.workorders import batch as timer_batch
from smartsite.workorders.choices import STEP_OF_STATE, OrderState
from smartsite.workorders.models import WorkOrder
from smartsite.workorders.policy import Court


def _court_of(order: WorkOrder) -> Court | None:
    level = order.policy.rules.levels[order.loop_level]
    step = STEP_OF_STATE.get(OrderState(order.state))
    if step == "dispatch":
        return level.dispatcher or Court(agency="supervision_station")
    if step == "verify":
        return level.verifier or level.handler  # automatic verification: the handler waits
    return level.handler


def point_court(order: WorkOrder) -> None:
    """Set the ball-in-court fields from the policy for the order's state and level."""
    court = _court_of(order)
    if court is None:
        return
    try:
        agency, enterprise, party_role, post = _resolve(court, order.project)
    except ValidationError as exc:
        raise DomainError(exc.messages[0]) from exc
    order.court_agency, order.court_enterprise = agency, enterprise
    order.court_party_role, order.court_post = party_role, post


def _resolve(court: Court, project):
    """`court.resolve(project)`; in a batch of the worker, from what the batch read at once."""
    batch = timer_batch.current()
    return court.resolve(project, batch.registry if batch is not None else None)


def court_key(order: WorkOrder) -> tuple:
    """Whose turn it is, as a key: (agency, enterprise, project, party role) ids."""
    if order.court_agency_id:
        return (order.court_agency_id, None, None, "")
    if order.court_enterprise_id:
        return (None, order.court_enterprise_id, order.project_id, order.court_party_role)
    return (None, None, None, "")


def court_roles(court: tuple) -> list[dict]:
    """The roles (as `Role` field values) any one of which puts a user in `court`."""
    agency, enterprise, project, party_role = court
    if agency:
        return [{"agency_id": agency}]
    if enterprise:
        return [{"kind": RoleKind.ENTERPRISE, "enterprise_id": enterprise},
                {"kind": RoleKind.PROJECT, "project_id": project, "enterprise_id": enterprise,
                 "party_role": party_role}]
    return []


def court_users(order: WorkOrder):
    """The users in the ball-in-court organisation and role."""
    from django.contrib.auth import get_user_model

    roles = court_roles(court_key(order))
    if not roles:
        return get_user_model().objects.none()
    q = reduce(operator.or_, (Q(**{f"roles__{field}": value for field, value in role.items()})
                              for role in roles))
    return get_user_model().objects.filter(q, is_active=True).distinct().order_by("pk")


def court_users_of(courts: Iterable[tuple]) -> dict[tuple, list]:
    """`court_users` of many courts (`court_key` keys) at once: one query for the roles of
    them all, then each court's users (by pk, as `court_users` orders them)."""
    wanted = {court: court_roles(court) for court in courts}
    shapes: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for roles in wanted.values():
        for role in roles:
            for field, value in role.items():
                shapes[tuple(sorted(role))][field].add(value)
    found = []
    if shapes:  # a superset of what each court needs, matched exactly below
        q = reduce(operator.or_, (Q(**{f"{field}__in": values for field, values in shape.items()})
                                  for shape in shapes.values()))
        found = list(Role.objects.filter(q, user__is_active=True).select_related("user"))
    by_shape = defaultdict(list)
    for shape in shapes:
        for role in found:
            by_shape[shape, tuple(getattr(role, field) for field in shape)].append(role)
    users = {}
    for court, roles in wanted.items():
        members = {}
        for role in roles:
            shape = tuple(sorted(role))
            for row in by_shape.get((shape, tuple(role[field] for field in shape)), ()):
                members[row.user_id] = row.user
        users[court] = [members[pk] for pk in sorted(members)]
    return users


def in_court(user, order: WorkOrder) -> bool:
    """Whether `user` belongs to the organisation (and role) whose turn it is."""
    if user is None or not user.is_authenticated:
        return False
    roles = Role.objects.filter(user=user)
    if order.court_agency_id:
        return roles.filter(agency=order.court_agency_id).exists()
    if order.court_enterprise_id:
        mine = roles.filter(Q(kind=RoleKind.ENTERPRISE, enterprise=order.court_enterprise_id) | Q(
            kind=RoleKind.PROJECT, project=order.project_id,
            enterprise=order.court_enterprise_id, party_role=order.court_party_role))
        if order.court_post_id:
            # A post is named: the project role must hold it (company-level users may act).
            mine = mine.filter(Q(kind=RoleKind.ENTERPRISE) | Q(post=order.court_post_id))
        return mine.exists()
    return False


def court_q(user) -> Q:
    """Orders whose ball is in one of `user`'s courts (mirrors `in_court`)."""
    q = Q(pk__in=[])
    if user is None or not user.is_authenticated:
        return q
    for role in Role.objects.filter(user=user).only("kind", "agency_id", "enterprise_id",
                                                    "project_id", "party_role", "post_id"):
        if role.agency_id:
            q |= Q(court_agency=role.agency_id)
        elif role.kind == RoleKind.ENTERPRISE:
            q |= Q(court_enterprise=role.enterprise_id)
        elif role.kind == RoleKind.PROJECT:
            post = Q(court_post__isnull=True)
            if role.post_id:
                post |= Q(court_post=role.post_id)
            q |= Q(project=role.project_id, court_enterprise=role.enterprise_id,
                   court_party_role=role.party_role) & post
    return q
