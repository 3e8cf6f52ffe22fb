"""立案处罚: a penalty decision recorded on an order, against a legal basis's fine range.

`record_penalty` is an order action (`services.record_penalty` is this function): it bumps the
order's version and goes into the hash-chained history with its attachments. `LegalBasis`
rows (reference data) carry the clause, the party penalised by default and the fine range.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from smartsite.core.choices import PartyRole
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.models import Enterprise, ProjectParty
from smartsite.core.uploads import check_upload
from smartsite.workorders.choices import Action, OrderState, Scenario
from smartsite.workorders.history import attach, log_action
from smartsite.workorders.models import LegalBasis, Penalty, WorkOrder
from smartsite.workorders.permissions import can_penalise

CENT = Decimal("0.01")


def yuan(value: Decimal) -> str:
    """An amount as the UI writes it: ¥10,000 or ¥10,000.50."""
    text = f"{value:,.2f}"
    return f"¥{text[:-3] if text.endswith('.00') else text}"


def record_penalty(order: WorkOrder, actor, *, version: int, basis, amount, decision_number: str,
                   decided_on, party: Enterprise | None = None, note: str = "",
                   files: Iterable = (), now: datetime.datetime | None = None) -> Penalty:
    """Record a penalty decision (立案处罚) on `order`, seen by `actor` at `version`.

    `basis` is a `LegalBasis` (or its code); the amount must lie in its range. The penalty is
    an order action: it bumps the version and is written into the hash-chained history, with
    the attachments (decision scans, photos) on that entry. Refuses — with a message, changing
    nothing — a stale version, a cancelled order, an actor who is not a regulator of the
    project, an inactive basis or one of another scenario, an amount outside the range or not
    in whole cents, a missing or taken decision number, a decision dated in the future, a
    party that is not on the project, or a bad attachment.
    """
    now = now or timezone.now()
    files = list(files)
    note = (note or "").strip()
    decision_number = (decision_number or "").strip()
    with transaction.atomic():
        current = WorkOrder.objects.select_for_update().select_related("project").get(
            pk=order.pk)
        if current.version != version:
            raise Conflict(f"工单已被他人更新（您看到的是第 {version} 版，当前第 {current.version} 版），"
                           "请刷新后重试")
        if current.state == OrderState.CANCELLED:
            raise DomainError("工单已撤销，不能立案处罚")
        if not can_penalise(actor, current.project):
            raise Forbidden("只有市级、项目所在区的监管部门或项目所在街镇的执法中队可以立案处罚")
        basis = _penalty_basis(basis, current)
        amount = _penalty_amount(amount, basis)
        if not decision_number:
            raise DomainError("请填写处罚决定书文号", field="decision_number")
        limit = Penalty._meta.get_field("decision_number").max_length
        if len(decision_number) > limit:
            raise DomainError(f"处罚决定书文号不能超过 {limit} 个字", field="decision_number")
        if Penalty.objects.filter(decision_number=decision_number).exists():
            raise DomainError(f"处罚决定书文号“{decision_number}”已登记过，不能重复登记",
                              field="decision_number")
        decided_on = _decision_date(decided_on, now)
        party = _penalised_party(party, basis, current.project)
        checked = [check_upload(f) for f in files]
        try:
            with transaction.atomic():
                penalty = Penalty.objects.create(
                    order=current, basis=basis, amount=amount, basis_min=basis.min_amount,
                    basis_max=basis.max_amount, decision_number=decision_number,
                    decided_on=decided_on, party=party, note=note, created_by=actor,
                    created=now)
        except IntegrityError:  # the same number, committed between our check and insert
            raise DomainError(f"处罚决定书文号“{decision_number}”已登记过，不能重复登记",
                              field="decision_number") from None
        current.version += 1
        current.save(update_fields=["version"])
        summary = f"依据{basis}立案处罚{party}，罚款 {yuan(amount)}，决定书 {decision_number}"
        entry = log_action(current, Action.PENALTY, actor, now, from_state=current.state,
                           comment=f"{summary}。{note}" if note else summary,
                           data={"penalty": penalty.pk, "basis": basis.code,
                                 "amount": str(amount),
                                 "range": [str(basis.min_amount), str(basis.max_amount)],
                                 "decision_number": decision_number})
        attach(entry, files, checked)
        penalty.action = entry
        penalty.save(update_fields=["action"])
        return penalty


def _penalty_basis(basis, order: WorkOrder) -> LegalBasis:
    code = basis.code if isinstance(basis, LegalBasis) else str(basis or "").strip()
    found = LegalBasis.objects.filter(code=code).first() if code else None
    if found is None:
        raise DomainError(f"未知的处罚依据“{code}”" if code else "请选择处罚依据", field="basis")
    if not found.active:
        raise DomainError(f"{found}已停用，不能作为处罚依据", field="basis")
    if found.scenario != order.scenario:
        raise DomainError(f"{found}适用于“{Scenario.label_of(found.scenario)}”场景的工单，"
                          f"本工单属于“{Scenario.label_of(order.scenario)}”场景", field="basis")
    return found


def _penalty_amount(value, basis: LegalBasis) -> Decimal:
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise DomainError("请填写罚款金额", field="amount")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise DomainError(f"罚款金额“{value}”不是有效的数字", field="amount")
    if amount <= 0:
        raise DomainError("罚款金额必须大于 0", field="amount")
    if not basis.min_amount <= amount <= basis.max_amount:
        raise DomainError(f"罚款金额 {yuan(amount)} 不在{basis}规定的 {yuan(basis.min_amount)}–"
                          f"{yuan(basis.max_amount)} 之内", field="amount")
    if amount != amount.quantize(CENT):
        raise DomainError(f"罚款金额“{value}”最多保留两位小数（精确到分）", field="amount")
    return amount.quantize(CENT)


def _decision_date(value, now) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    elif isinstance(value, str) and value.strip():
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise DomainError(f"决定日期“{value}”不是有效的日期（例如 2026-06-01）",
                              field="decided_on") from None
    if not isinstance(value, datetime.date):
        raise DomainError("请填写处罚决定日期", field="decided_on")
    today = timezone.localdate(now)
    if value > today:
        raise DomainError(f"决定日期 {value:%Y-%m-%d} 晚于今天（{today:%Y-%m-%d}），"
                          "不能登记尚未作出的处罚决定", field="decided_on")
    return value


def _penalised_party(party, basis: LegalBasis, project) -> Enterprise:
    if party is None:
        found = ProjectParty.objects.filter(project=project, role=basis.party_role).select_related(
            "enterprise").first()
        if found is None:
            raise DomainError(f"项目“{project}”没有登记{PartyRole(basis.party_role).label}，"
                              "请指定被处罚单位", field="party")
        return found.enterprise
    if not ProjectParty.objects.filter(project=project, enterprise=party).exists():
        raise DomainError(f"“{party}”不是项目“{project}”的参建单位", field="party")
    return party
