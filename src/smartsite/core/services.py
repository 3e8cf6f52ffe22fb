"""The one write path of the core app: registry changes, roles, API tokens.

Every function takes a keyword-only `actor`, checks permission, validates the whole object
(`full_clean`), writes it and its audit entry in one transaction, and raises
`ValidationError` (field → messages) or `Forbidden`. Views, API, import and CLI call these.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from smartsite.core import audit, permissions
from smartsite.core.choices import AuditAction
from smartsite.core.errors import Forbidden
from smartsite.core.models import ApiToken, Role
from smartsite.core.scoping import forget_grant

User = get_user_model()


@transaction.atomic
def save(instance: models.Model, *, actor, data: dict | None = None,
         check: bool = True) -> models.Model:
    """Create or update a registry object from `data` (field → value), with audit.

    `check=False` is for trusted internal callers (the simulator); permission only.
    """
    creating = instance.pk is None
    before = None
    if not creating:
        stored = type(instance).objects.select_for_update().get(pk=instance.pk)
        before = audit.snapshot(stored)
        if check:
            permissions.require_edit(actor, stored)
    for field, value in (data or {}).items():
        setattr(instance, field, value)
    if check:
        permissions.require_edit(actor, instance)
    instance.full_clean()
    instance.save()
    after = audit.snapshot(instance)
    changes = audit.diff(before, after)
    if creating or changes:
        audit.record(actor, instance, AuditAction.CREATE if creating else AuditAction.UPDATE,
                     changes)
    return instance


@transaction.atomic
def save_project(project, *, actor, parties: dict | None = None, check: bool = True):
    """Save a project and, if given, set its parties ({role: enterprise}, others removed)."""
    from smartsite.core.models import ProjectParty

    save(project, actor=actor, check=check)
    if parties is None:
        return project
    for party in list(project.parties.select_related("enterprise")):
        wanted = parties.get(party.role)
        if wanted is None:
            delete(party, actor=actor) if check else party.delete()
        elif wanted.pk != party.enterprise_id:
            save(party, actor=actor, data={"enterprise": wanted}, check=check)
    existing = set(project.parties.values_list("role", flat=True))
    for role, enterprise in parties.items():
        if role not in existing:
            save(ProjectParty(project=project, role=role, enterprise=enterprise),
                 actor=actor, check=check)
    return project


@transaction.atomic
def delete(instance: models.Model, *, actor) -> None:
    """Delete a registry object, with audit. Protected references raise ValidationError."""
    from django.db.models import ProtectedError

    permissions.require_edit(actor, instance)
    before = audit.snapshot(instance)
    pk = instance.pk
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as exc:
        used = {str(o._meta.verbose_name) for o in exc.protected_objects}
        raise ValidationError(f"“{instance}”仍被{'、'.join(sorted(used))}引用，不能删除") from exc
    instance.pk = pk
    audit.record(actor, instance, AuditAction.DELETE, audit.diff(before, None))


@transaction.atomic
def bulk_create_audited(objects: Iterable[models.Model], *, actor,
                        action: str = AuditAction.IMPORT) -> list[models.Model]:
    """Save already-validated objects one by one with an audit entry each (imports)."""
    saved = []
    for obj in objects:
        obj.save()
        audit.record(actor, obj, action, audit.diff(None, audit.snapshot(obj)))
        saved.append(obj)
    return saved


@transaction.atomic
def grant_role(user, *, actor, **spec) -> Role:
    """Give `user` a scoped role (kind, agency | enterprise | project + party_role, post)."""
    permissions.require_city_admin(actor)
    role = Role(user=user, **spec)
    role.full_clean()
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError:
        # granted by someone else between the check and the save (two admins, a double click)
        if not role.same_roles().exists():
            raise
        raise ValidationError({"kind": role.duplicate_message()}) from None
    audit.record(actor, role, AuditAction.GRANT, audit.diff(None, audit.snapshot(role)))
    forget_grant(user)
    return role


@transaction.atomic
def revoke_role(role: Role, *, actor) -> None:
    permissions.require_city_admin(actor)
    before = audit.snapshot(role)
    pk = role.pk
    role.delete()
    role.pk = pk
    audit.record(actor, role, AuditAction.REVOKE, audit.diff(before, None))
    forget_grant(role.user)


@transaction.atomic
def create_user(username: str, *, actor, password: str | None, full_name: str = "",
                email: str = "", check: bool = True) -> User:
    """Create a login. Passwords are hashed by Django; `password=None` makes it unusable."""
    from django.contrib.auth.password_validation import validate_password

    if check:
        permissions.require_city_admin(actor)
    user = User(username=username, email=email, first_name=full_name)
    user.full_clean(exclude=["password"])
    if password is None:
        user.set_unusable_password()
    else:
        if check:
            validate_password(password, user)
        user.set_password(password)
    user.save()
    audit.record(actor, user, AuditAction.CREATE,
                 audit.diff(None, {"username": username, "full_name": full_name}))
    return user


@transaction.atomic
def change_own_password(user, *, old_password: str, new_password: str,
                        client_ip: str | None = None) -> None:
    """A user changes their own password: the current one must be right and the new one pass
    the password validators (ValidationError by field otherwise). Audited without either."""
    from django.contrib.auth.password_validation import validate_password

    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": "当前密码不正确"})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    changes = {"password": ["（已隐藏）", "已修改"]}
    if client_ip:
        changes["client_ip"] = client_ip
    audit.record(user, user, AuditAction.UPDATE, changes)


@transaction.atomic
def issue_token(user, *, actor, name: str) -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns it and the raw key (shown once, never stored)."""
    if actor != user and not permissions.is_city_admin(actor):
        raise Forbidden("只能为自己创建 API 令牌")
    if not name.strip():

        raise ValidationError({"name": "请填写令牌用途"})
    raw = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=raw[:10],
                                    digest=ApiToken.digest_of(raw))
    audit.record(actor, token, AuditAction.TOKEN, {"issued": [None, token.prefix]})
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, actor) -> None:
    if actor != token.user and not permissions.is_city_admin(actor):
        raise Forbidden("只能撤销自己的 API 令牌")
    if token.revoked is None:
        token.revoked = timezone.now()
        token.save(update_fields=["revoked"])
        audit.record(actor, token, AuditAction.TOKEN, {"revoked": [None, token.prefix]})
