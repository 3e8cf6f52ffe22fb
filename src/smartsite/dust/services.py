"""The write path of the dust scenario's registry (design.md §2 rule 1): monitors, their
linked spray/fog cannons, inspections and maintenance (设备运维), the detection rules'
parameters and the monthly O&M reviews. Every change is permission-checked and audited.

Device data (readings, means, the gateway's records) is stored by `dust.ingest`.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import AuditAction, PartyRole, RoleKind
from smartsite.core.errors import DomainError
from smartsite.core.models import Project, ProjectParty, Role
from smartsite.core.uploads import CERTIFICATE_TYPES, check_upload
from smartsite.dust import models as dust_models
from smartsite.dust import permissions, upkeep_selectors
from smartsite.dust.choices import ReviewState
from smartsite.dust.models import Inspection, MaintenanceRecord, Monitor, MonthlyReview

# ---------------------------------------------------------------- registry


def register_monitor(*, project, mn: str, password: str, location: str = "", actor=None,
                     **fields) -> Monitor:
    """Add a monitor (validated like the form); the gateway accepts it within its refresh.
    With an `actor` (a person, not the simulator) the permission is checked and the change
    audited (the PW is never copied into the audit trail)."""
    if actor is not None:
        permissions.require_manage(actor, project)
    monitor = Monitor(project=project, mn=(mn or "").strip(), password=password,
                      location=(location or "").strip(), **fields)
    monitor.full_clean()
    with transaction.atomic():
        _save_monitor(monitor)
        if actor is not None:
            audit.record(actor, monitor, AuditAction.CREATE,
                         audit.diff(None, audit.snapshot(monitor)))
    return monitor


def _save_monitor(monitor: Monitor) -> None:
    """Save a validated monitor; an MN registered by someone else between the check and the
    save (two people, a double click) gets the field's own message, not a 500."""
    try:
        with transaction.atomic():
            monitor.save()
    except IntegrityError:
        if not Monitor.objects.filter(mn=monitor.mn).exclude(pk=monitor.pk).exists():
            raise
        raise ValidationError(
            {"mn": Monitor._meta.get_field("mn").error_messages["unique"]}) from None


def update_monitor(monitor: Monitor, *, actor=None, **fields) -> Monitor:
    """Change a monitor's registration (validated like the form; nothing is saved when it is
    refused); the gateway picks the change up within its refresh."""
    if actor is not None:
        permissions.require_manage(actor, monitor.project)
        if "project" in fields:
            permissions.require_manage(actor, fields["project"])
    before, old_password = audit.snapshot(monitor), monitor.password
    for name, value in fields.items():
        setattr(monitor, name, value.strip() if name == "mn" and isinstance(value, str)
                else value)
    monitor.full_clean()
    with transaction.atomic():
        _save_monitor(monitor)
        changes = audit.diff(before, audit.snapshot(monitor))
        if monitor.password != old_password:  # that it changed, never the value
            changes["password"] = ["", "已更改"]
        if actor is not None and changes:
            audit.record(actor, monitor, AuditAction.UPDATE, changes)
    return monitor


# ---------------------------------------------------------------- upkeep (设备运维)
# Annual inspections and calibrations with certificates, linked spray/fog cannons, maintenance
# records. Reads live in `upkeep_selectors`; pages in `upkeep_views`, routes in `upkeep_api`.


def _merge(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for name, messages in exc.message_dict.items():
        errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))


def record_inspection(monitor: Monitor, *, actor, kind: str = "annual", inspected_on,
                      expires_on, body: str, certificate_no: str, passed: bool = True,
                      certificate=None) -> Inspection:
    """Record an annual inspection, calibration or comparison of `monitor` with its
    certificate (PDF, JPEG or PNG, judged by its bytes). Refused with field messages, nothing
    stored: a date in the future, an expiry not after the inspection, a certificate number
    already recorded, a file that is not a certificate, a user who may not record it."""
    permissions.require_inspect(actor, monitor.project)
    if certificate is not None:
        check_upload(certificate, allowed=CERTIFICATE_TYPES, field="certificate",
                     what="证书文件")
    certificate_no = (certificate_no or "").strip()
    inspection = Inspection(monitor=monitor, kind=kind, inspected_on=inspected_on,
                            expires_on=expires_on, body=(body or "").strip(),
                            certificate_no=certificate_no, passed=passed,
                            recorded_by=actor if actor is not None and actor.pk else None)
    errors: dict[str, list[str]] = {}
    try:
        inspection.full_clean(exclude=["certificate"], validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)
    if certificate_no:
        same = (Inspection.objects.filter(kind=kind, certificate_no__iexact=certificate_no)
                .order_by("-inspected_on").first())
        if same is not None and same.monitor_id == monitor.pk:
            errors.setdefault("certificate_no", []).append(
                f"证书编号“{certificate_no}”已登记（{same.inspected_on:%Y-%m-%d} 的"
                f"{same.get_kind_display()}记录），同一证书不能重复登记")
        elif same is not None:
            errors.setdefault("certificate_no", []).append(
                f"证书编号“{certificate_no}”已登记在另一台监测设备上，一份证书只对应一台设备")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            if certificate is not None:
                inspection.certificate.save(getattr(certificate, "name", "") or "certificate",
                                            certificate, save=False)
            inspection.save()
            audit.record(actor, inspection, AuditAction.CREATE,
                         audit.diff(None, audit.snapshot(inspection)), project=monitor.project)
    except IntegrityError:  # recorded by someone else a moment ago
        raise ValidationError({"certificate_no": [
            f"证书编号“{certificate_no}”已登记，同一证书不能重复登记"]}) from None
    return inspection


def add_spray_device(monitor: Monitor, *, actor, name: str, sb_code: str = "SB1",
                     kind: str = "fog_cannon", active: bool = True) -> dust_models.SprayDevice:
    """Link a fog cannon or spray system (雾炮/喷淋) to `monitor`; its state then arrives as
    `sb_code` in the monitor's packets. Same permission as registering the monitor."""
    permissions.require_manage(actor, monitor.project)
    device = dust_models.SprayDevice(monitor=monitor, name=(name or "").strip(),
                         sb_code=(sb_code or "").strip().upper(), kind=kind, active=active)
    device.full_clean(validate_constraints=False)
    if dust_models.SprayDevice.objects.filter(monitor=monitor, sb_code=device.sb_code).exists():
        raise ValidationError({"sb_code": [
            f"该监测设备已有设施编码为 {device.sb_code} 的喷淋/雾炮，请换一个编码"]})
    with transaction.atomic():
        device.save()
        audit.record(actor, device, AuditAction.CREATE, audit.diff(None, audit.snapshot(device)),
                     project=monitor.project)
    return device


def update_spray_device(device: dust_models.SprayDevice, *, actor, **fields) -> dust_models.SprayDevice:
    """Rename, recode, or stop/start linking a spray device (nothing saved when refused)."""
    permissions.require_manage(actor, device.monitor.project)
    before = audit.snapshot(device)
    allowed = {"name", "kind", "sb_code", "active"}
    if set(fields) - allowed:
        raise DomainError(f"不能修改 {', '.join(sorted(set(fields) - allowed))}")
    for name, value in fields.items():
        setattr(device, name, value.strip().upper() if name == "sb_code" else value)
    device.full_clean(validate_constraints=False)
    if dust_models.SprayDevice.objects.filter(monitor=device.monitor_id, sb_code=device.sb_code) \
            .exclude(pk=device.pk).exists():
        raise ValidationError({"sb_code": [
            f"该监测设备已有设施编码为 {device.sb_code} 的喷淋/雾炮，请换一个编码"]})
    with transaction.atomic():
        device.save()
        changes = audit.diff(before, audit.snapshot(device))
        if changes:
            audit.record(actor, device, AuditAction.UPDATE, changes,
                         project=device.monitor.project)
    return device


def _maintainer_of(actor, project):
    """The enterprise `actor` enters O&M records for on `project`: the 运维单位 if the actor
    works for it, else the 施工单位."""
    mine = set(Role.objects.filter(user=actor).exclude(enterprise=None)
               .values_list("enterprise", flat=True))
    parties = {p.role: p.enterprise for p in ProjectParty.objects.filter(
        project=project, enterprise__in=mine).select_related("enterprise")}
    return parties.get(PartyRole.MAINTAINER) or parties.get(PartyRole.CONTRACTOR)


def record_maintenance(monitor: Monitor, *, actor, kind: str, started_at, ended_at=None,
                       description: str, technician: str = "") -> MaintenanceRecord:
    """Enter a visit, fault, repair, replacement or calibration of `monitor` for the
    project's O&M company (or its contractor). A fault stays open until it is ended
    (`end_maintenance`) or a repair or replacement ends after it began."""
    permissions.require_maintain(actor, monitor.project)
    record = MaintenanceRecord(
        monitor=monitor, kind=kind, started_at=started_at, ended_at=ended_at,
        description=(description or "").strip(), technician=(technician or "").strip(),
        enterprise=_maintainer_of(actor, monitor.project),
        recorded_by=actor if actor is not None and actor.pk else None)
    record.full_clean()
    with transaction.atomic():
        record.save()
        audit.record(actor, record, AuditAction.CREATE, audit.diff(None, audit.snapshot(record)),
                     project=monitor.project)
    return record


def end_maintenance(record: MaintenanceRecord, *, actor, ended_at) -> MaintenanceRecord:
    """Close an open record (a fault repaired, a visit finished)."""
    permissions.require_maintain(actor, record.monitor.project)
    with transaction.atomic():
        current = MaintenanceRecord.objects.select_for_update().get(pk=record.pk)
        if current.ended_at is not None:
            raise DomainError(f"该记录已于 {timezone.localtime(current.ended_at):%Y-%m-%d %H:%M} 结束",
                              field="ended_at")
        before = audit.snapshot(current)
        current.ended_at = ended_at
        current.full_clean()
        current.save(update_fields=["ended_at"])
        audit.record(actor, current, AuditAction.UPDATE,
                     audit.diff(before, audit.snapshot(current)), project=record.monitor.project)
    return current


# ---------------------------------------------------------------- rules (扬尘规则)


def update_rule(rule, *, actor, params, source: str, enabled: bool):
    """Change a detection rule's parameters, source or switch as a city administrator;
    validated by `rules.parse` (nothing saved when refused) and audited. `params` is a dict
    or its JSON text; only values that differ from the defaults need be given."""
    from smartsite.core import permissions as core_permissions
    from smartsite.core.errors import Forbidden
    from smartsite.dust import rules

    try:
        core_permissions.require_city_admin(actor)
    except Forbidden:
        raise Forbidden("只有市级管理员可以修改扬尘规则") from None
    if isinstance(params, str):
        try:
            params = json.loads(params or "{}")
        except json.JSONDecodeError as exc:
            raise DomainError(f"参数不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近有误",
                              field="params") from None
    try:
        rules.parse(rule.code, params)
    except ValidationError as exc:
        raise DomainError("；".join(exc.messages), field="params") from None
    source = (source or "").strip()
    if not source:
        raise DomainError("请填写依据（标准条款或取值理由）", field="source")
    before = audit.snapshot(rule)
    rule.params, rule.source, rule.enabled = params, source, bool(enabled)
    changes = audit.diff(before, audit.snapshot(rule))
    if not changes:
        raise DomainError("没有修改任何内容")
    with transaction.atomic():
        rule.save(update_fields=["params", "source", "enabled"])
        audit.record(actor, rule, AuditAction.UPDATE, changes)
    return rule


# ---------------------------------------------------------------- monthly reviews (运维月报)


def _review_text(review: MonthlyReview, lead: str) -> str:
    total = review.stats.get("total", {})

    def pct(value):
        return "—" if value is None else f"{value * 100:.1f}%"

    return (f"{review.project.name} {review.month:%Y年%m月}扬尘监测设备运维月报{lead}："
            f"在线率 {pct(total.get('uptime'))}，数据完整率 {pct(total.get('completeness'))}，"
            f"故障 {total.get('faults', 0)} 次")[:300]


def _notify_users(users, review: MonthlyReview, text: str, now) -> int:
    from smartsite.workorders.models import Notification

    link = reverse("dust:review", args=[review.pk])
    return len(Notification.objects.bulk_create([
        Notification(user=u, link=link, text=text, created=now) for u in users]))


def _maintainer_users(project):
    from django.contrib.auth import get_user_model

    ids = ProjectParty.objects.filter(project=project, role=PartyRole.MAINTAINER) \
        .values("enterprise")
    company = Role.objects.filter(kind=RoleKind.ENTERPRISE, enterprise__in=ids)
    on_site = Role.objects.filter(kind=RoleKind.PROJECT, project=project,
                                  party_role=PartyRole.MAINTAINER)
    users = get_user_model().objects.filter(is_active=True)
    return (users.filter(pk__in=company.values("user"))
            | users.filter(pk__in=on_site.values("user"))).order_by("pk")


@dataclass(frozen=True, slots=True)
class ReviewsGenerated:
    created: int
    refreshed: int
    kept: int  # already reviewed: left as the project manager left it
    notified: int


def generate_monthly_reviews(month: datetime.date, now: datetime.datetime | None = None
                             ) -> ReviewsGenerated:
    """Create or refresh the monthly O&M review of every project that had monitors in `month`
    (any day of it). Idempotent: a new review is pushed to the contractor's project manager
    once; a pending one gets fresh statistics; a reviewed one (审核 or 驳回) is kept as it is."""
    now = now or timezone.now()
    month = upkeep_selectors.month_start(month)
    start, end = upkeep_selectors.month_bounds(month)
    if start >= now:
        raise DomainError(f"{month:%Y-%m} 尚未开始，不能生成运维月报", field="month")
    created = refreshed = kept = notified = 0
    projects = Project.objects.filter(pk__in=Monitor.objects.filter(created__lt=end)
                                      .values("project")).order_by("pk")
    for project in projects:
        stats = upkeep_selectors.monthly_stats(project, month, now)
        try:
            with transaction.atomic():
                review = (MonthlyReview.objects.select_for_update()
                          .filter(project=project, month=month).first())
                if review is None:
                    review = MonthlyReview.objects.create(project=project, month=month,
                                                          stats=stats, generated_at=now)
                    notified += _notify_users(permissions.project_managers(project), review,
                                              _review_text(review, "待审核"), now)
                    created += 1
                elif review.state == ReviewState.PENDING:
                    review.stats, review.generated_at = stats, now
                    review.save(update_fields=["stats", "generated_at"])
                    refreshed += 1
                else:
                    kept += 1
        except IntegrityError:  # another worker created it a moment ago
            kept += 1
    return ReviewsGenerated(created, refreshed, kept, notified)


def review_month(review: MonthlyReview, *, actor, approve: bool, comment: str = "",
                 now: datetime.datetime | None = None) -> MonthlyReview:
    """The project manager approves (审核) or sends back (驳回, with a comment) a monthly
    review; a sent-back review is pushed to the O&M company."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    with transaction.atomic():
        current = MonthlyReview.objects.select_for_update().select_related("project").get(
            pk=review.pk)
        permissions.require_review(actor, current.project)
        if current.state != ReviewState.PENDING:
            when = timezone.localtime(current.reviewed_at) if current.reviewed_at else None
            raise DomainError(f"该运维月报已{ReviewState(current.state).label}"
                              f"{f'（{when:%Y-%m-%d %H:%M}）' if when else ''}，不能再次审核",
                              field="action", code="review.done")
        if not approve and not comment:
            raise DomainError("驳回运维月报须填写审核意见", field="comment")
        if len(comment) > 500:
            raise DomainError("审核意见不能超过 500 字", field="comment")
        before = audit.snapshot(current)
        current.state = ReviewState.APPROVED if approve else ReviewState.REJECTED
        current.reviewer, current.reviewed_at, current.comment = actor, now, comment
        current.save(update_fields=["state", "reviewer", "reviewed_at", "comment"])
        audit.record(actor, current, AuditAction.UPDATE,
                     audit.diff(before, audit.snapshot(current)))
        if not approve:
            _notify_users(_maintainer_users(current.project), current,
                          _review_text(current, f"被驳回（{comment[:60]}）"), now)
    return current


def resubmit_review(review: MonthlyReview, *, actor, now: datetime.datetime | None = None
                    ) -> MonthlyReview:
    """After a 驳回 and corrected records, the O&M company (or contractor) sends the month
    back for review: statistics recomputed, pending again, the project manager notified."""
    now = now or timezone.now()
    with transaction.atomic():
        current = MonthlyReview.objects.select_for_update().select_related("project").get(
            pk=review.pk)
        permissions.require_maintain(actor, current.project)
        if current.state != ReviewState.REJECTED:
            raise DomainError(f"只有已驳回的运维月报可以重新提交（当前：{current.get_state_display()}）",
                              field="action")
        before = audit.snapshot(current)
        current.stats = upkeep_selectors.monthly_stats(current.project, current.month, now)
        current.generated_at, current.state = now, ReviewState.PENDING
        current.reviewer, current.reviewed_at = None, None
        current.save(update_fields=["stats", "generated_at", "state", "reviewer", "reviewed_at"])
        audit.record(actor, current, AuditAction.UPDATE,
                     audit.diff(before, audit.snapshot(current)))
        _notify_users(permissions.project_managers(current.project), current,
                      _review_text(current, "已重新提交，待审核"), now)
    return current


def monthly_chores(now: datetime.datetime | None = None) -> ReviewsGenerated | None:
    """For the worker, safe to call every few minutes: once a month has ended, generate its
    reviews for every project that has none yet (one cheap query when all exist; a worker
    that was down on the 1st catches up when it starts). Returns None when nothing was due."""
    now = now or timezone.now()
    month = upkeep_selectors.previous_month(timezone.localdate(now))
    _, end = upkeep_selectors.month_bounds(month)
    missing = (Monitor.objects.filter(created__lt=end)
               .exclude(project__dust_reviews__month=month).exists())
    if not missing:
        return None
    return generate_monthly_reviews(month, now)
