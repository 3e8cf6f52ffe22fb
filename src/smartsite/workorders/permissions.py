"""Who may do what to an order (reads are `core.scoping`'s job).

Court actions (接单, 派单, 处置, 核查) belong to whoever holds the ball (`courts.in_court`);
steering actions (转派, 挂起, 恢复) to the supervising regulators — the city, or the project's
district; 撤销 to the issuer; 立案处罚 also to the squad of the project's street. A refusal is
`Forbidden` (403) with a message that says who may.
"""

from __future__ import annotations

from smartsite.core.errors import Forbidden
from smartsite.core.scoping import grant_for
from smartsite.workorders.choices import Action, OrderState
from smartsite.workorders.courts import in_court
from smartsite.workorders.models import WorkOrder
from smartsite.workorders.transitions import ALLOWED

#: Human actions taken by whoever holds the ball.
COURT_ACTIONS = {Action.ACCEPT, Action.DISPATCH, Action.DISPOSE, Action.VERIFY_PASS,
                 Action.VERIFY_REJECT}
#: Human actions of the supervising regulators (city, or the project's district).
REGULATOR_ACTIONS = {Action.REASSIGN, Action.SUSPEND, Action.RESUME}


def is_supervising_regulator(user, project) -> bool:
    grant = grant_for(user)
    return grant.sees_all or project.district_id in grant.district_ids


def require_regulator(user, project) -> None:
    if not is_supervising_regulator(user, project):
        raise Forbidden("只有市级或项目所在区的监管部门可以执行此操作")


def allowed_actions(order: WorkOrder, user) -> list[str]:
    """The actions `user` may take on `order` now (the buttons a page shows)."""
    out = []
    for action in ALLOWED[OrderState(order.state)]:
        if action == Action.ACCEPT and order.assignee_id is not None:
            continue
        try:
            check_permission(order, action, user)
        except Forbidden:
            continue
        out.append(action)
    return [a for a in Action.values if a in out]


def check_permission(order: WorkOrder, action: str, user) -> None:
    if action in (Action.VERIFY_PASS, Action.VERIFY_REJECT) and \
            order.policy.rules.levels[order.loop_level].verifier is None:
        # The handler holds the ball only to wait: it may not verify its own disposal.
        raise Forbidden(f"本环节由系统自动核查（{order.policy.rules.auto_verify_check}），"
                        "不能人工核查")
    if action in COURT_ACTIONS:
        if not in_court(user, order):
            raise Forbidden(f"工单当前由“{order.court_label}”办理，您不能执行“{Action(action).label}”")
    elif action in REGULATOR_ACTIONS:
        require_regulator(user, order.project)
    elif action == Action.CANCEL and (order.issuer_id is None or order.issuer_id != user.pk):
        raise Forbidden("只有派单人可以撤销工单")


def can_penalise(user, project) -> bool:
    """City regulators, the project's district and the squad of the project's street
    (design.md §3) may record a penalty on the project's orders."""
    return (is_supervising_regulator(user, project)
            or project.street_id in grant_for(user).street_ids)

