"""The audit trail: every registry change and permission change, before → after."""

from __future__ import annotations

import datetime
import decimal

from django.db import models
from django.db.models.fields.files import FieldFile

from smartsite.core.models import AuditEntry, Project

# Fields never copied into the audit trail.
SECRET_FIELDS = {"password", "digest"}


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):  # an upload: its stored name
        return value.name or ""
    return value


def snapshot(instance: models.Model) -> dict:
    """The concrete field values of `instance`, as JSON-able plain values."""
    out = {}
    for field in instance._meta.concrete_fields:
        if field.name in SECRET_FIELDS or field.name in {"created", "updated"}:
            continue
        out[field.name] = _plain(getattr(instance, field.attname))
    return out


def diff(before: dict | None, after: dict | None) -> dict:
    """{field: [old, new]} for fields that differ (old or new is None on create/delete)."""
    before, after = before or {}, after or {}
    return {k: [before.get(k), after.get(k)]
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _project_of(instance) -> Project | None:
    if isinstance(instance, Project):
        return instance
    project_id = getattr(instance, "project_id", None)
    return Project(pk=project_id) if project_id else None


def record(actor, instance: models.Model, action: str, changes: dict,
           *, project: Project | None = None) -> AuditEntry:
    """Write one audit entry. Called by services inside their transaction."""
    project = project or _project_of(instance)
    name = ""
    if actor is not None:
        name = actor.get_full_name() or actor.get_username()
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=name or "系统",
        action=action,
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        changes=changes,
        project_id=project.pk if project else None,
    )


def history(instance: models.Model):
    """The audit entries of one object, newest first."""
    return AuditEntry.objects.filter(model=instance._meta.label_lower, object_id=str(instance.pk))
