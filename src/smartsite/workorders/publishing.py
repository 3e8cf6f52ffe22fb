"""Publishing a loop policy: a city administrator makes a new version the one in force.

A `LoopPolicy` row is one version and is never edited in place; `publish_policy` checks the
document (`policy.parse`), writes version N+1 as active and N inactive in one transaction with
an audit entry. Orders keep the version they were opened under. `services.publish_policy` is
this function (the write path's name for it).
"""

from __future__ import annotations

import datetime
import json

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from smartsite.core import audit, permissions, scenarios
from smartsite.core.choices import AuditAction
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.core.models import AuditEntry
from smartsite.workorders import checks
from smartsite.workorders import policy as policy_spec
from smartsite.workorders.models import LoopPolicy


def publish_policy(*, scenario: str, kind: str, kind_label: str, source: str, spec, actor,
                   base_version: int | None = None,
                   now: datetime.datetime | None = None) -> LoopPolicy:
    """Publish a new version of the loop policy of (`scenario`, `kind`) as a city administrator.

    `spec` is the policy document (a dict, or its JSON text). The new version becomes the
    active one and the previous one is deactivated in the same transaction, with an audit
    entry; orders opened before keep the version they were opened under. `base_version` is the
    version the administrator edited: if another was published meanwhile, `Conflict`.
    Refused, with nothing written: a non-administrator, a document the parser rejects, a
    missing label or source, or no change at all.
    """
    try:
        permissions.require_city_admin(actor)
    except Forbidden:
        raise Forbidden("只有市级管理员可以修改闭环策略") from None
    kind_label, source = (kind_label or "").strip(), (source or "").strip()
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise DomainError(f"策略不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误",
                              field="spec") from None
    try:
        rules = policy_spec.parse(spec)
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages), field="spec") from None
    if rules.auto_verify_check and checks.get(rules.auto_verify_check) is None:
        known = "、".join(sorted(scenarios.checks())) or "无"
        raise DomainError(f"auto_verify.check：没有名为“{rules.auto_verify_check}”的自动核查"
                          f"（已声明：{known}）", field="spec")
    if not kind_label:
        raise DomainError("请填写工单类型名称", field="kind_label")
    if not source:
        raise DomainError("请填写依据（标准或文件及条款）", field="source")
    with transaction.atomic():
        current = (LoopPolicy.objects.select_for_update()
                   .filter(scenario=scenario, kind=kind, active=True).first())
        seen = current.version if current else 0
        if base_version is not None and base_version != seen:
            raise Conflict(f"闭环策略已被他人更新（您编辑的是第 {base_version} 版，当前第 {seen} 版），"
                           "请刷新后重试")
        if current and (current.spec, current.source, current.kind_label) == (
                spec, source, kind_label):
            raise DomainError(f"与当前生效的第 {current.version} 版相同，没有改动", field="spec")
        latest = (LoopPolicy.objects.filter(scenario=scenario, kind=kind)
                  .aggregate(n=Max("version"))["n"] or 0)
        if current:
            current.active = False
            current.save(update_fields=["active"])
        policy = LoopPolicy(scenario=scenario, kind=kind, kind_label=kind_label,
                            version=latest + 1, active=True, source=source, spec=spec,
                            created_by=actor)
        try:
            policy.full_clean()
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            raise DomainError("；".join(messages), field=field) from None
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:
            raise Conflict("闭环策略刚被他人更新，请刷新后重试") from None
        changes = {"version": [seen or None, policy.version]}
        for field in ("kind_label", "source", "spec"):
            before = getattr(current, field) if current else None
            if before != getattr(policy, field):
                changes[field] = [before, getattr(policy, field)]
        entry = audit.record(actor, policy,
                             AuditAction.UPDATE if current else AuditAction.CREATE, changes)
        if now is not None:  # a fake clock: the version and its audit entry carry its time
            LoopPolicy.objects.filter(pk=policy.pk).update(created=now)
            AuditEntry.objects.filter(pk=entry.pk).update(at=now)
            policy.created = now
        return policy
