"""Loop policies and legal bases shipped as data (fixtures/loop_policies.json,
fixtures/legal_bases.json, each row with its citation).

Loading is idempotent: a shipped policy whose spec or source changed becomes a new active
version (the old one stays for the orders opened under it); an unchanged one is left alone.
A legal basis is matched by its code and updated in place when the fixture changes it.
"""

from __future__ import annotations

import json
from importlib import resources

from django.db import transaction

from smartsite.workorders.models import LegalBasis, LoopPolicy


@transaction.atomic
def load_policies() -> int:
    rows = json.loads(resources.files("smartsite.workorders").joinpath(
        "fixtures", "loop_policies.json").read_text("utf-8"))
    for row in rows:
        current = LoopPolicy.objects.filter(scenario=row["scenario"], kind=row["kind"],
                                            active=True).first()
        if current and (current.spec, current.source, current.kind_label) == (
                row["spec"], row["source"], row["kind_label"]):
            continue
        version = 1
        if current:
            current.active = False
            current.save(update_fields=["active"])
            version = current.version + 1
        policy = LoopPolicy(version=version, **row)
        policy.full_clean()
        policy.save()
    return len(rows)


@transaction.atomic
def load_legal_bases() -> int:
    rows = json.loads(resources.files("smartsite.workorders").joinpath(
        "fixtures", "legal_bases.json").read_text("utf-8"))
    for row in rows:
        basis = LegalBasis.objects.filter(code=row["code"]).first() or LegalBasis()
        for field, value in row.items():
            setattr(basis, field, value)
        basis.full_clean(validate_unique=False)
        basis.save()
    return len(rows)
