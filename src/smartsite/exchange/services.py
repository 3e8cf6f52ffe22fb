"""The write path of the exchange app: importing a checked workbook, all or nothing."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from smartsite.core import permissions
from smartsite.core import services as core_services
from smartsite.core.errors import Forbidden
from smartsite.exchange import importers
from smartsite.exchange.importers import ImportFailed

__all__ = ["import_workbook", "require_importer"]


def require_importer(user) -> None:
    """Only registry editors (city and district regulators) may import 报建 data."""
    if not permissions.can_edit_registry(user):
        raise Forbidden("只有市、区监管人员可以导入登记数据")


def import_workbook(kind: str, upload, *, actor, dry_run: bool = False) -> int:
    """Check every row of an .xlsx upload and, only if all are valid, save them all.

    Returns the number of data rows. Raises `ImportFailed` (row, column, message for every
    problem; nothing saved) or `Forbidden`. Each row's permission was checked by the
    importer with `permissions.require_edit`; every saved object gets an "导入" audit entry
    from `core.services.bulk_create_audited`, in the same transaction.
    """
    require_importer(actor)
    plan = importers.validate(kind, upload, actor=actor)
    if dry_run:
        return plan.rows
    try:
        with transaction.atomic():
            core_services.bulk_create_audited(plan.objects, actor=actor)
    except IntegrityError:
        # Someone saved a conflicting row (same 报建编号, 身份证号 …) since we checked.
        raise ImportFailed.file("保存时发现与他人同时录入的数据冲突（如报建编号或身份证号重复），"
                                "未导入任何数据，请重新上传") from None
    return plan.rows
