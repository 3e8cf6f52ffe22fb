"""Loop policies and legal bases shipped as data (`fixtures/loop_policies.json`,
`fixtures/legal_bases.json` of each scenario's package, each row with its citation; a
scenario names these loaders in its declaration with its own package, core.scenarios).

Loading is idempotent: a shipped policy whose spec or source changed becomes a new active
version (the old one stays for the orders opened under it); an unchanged one is left alone.
A legal basis is matched by its code and updated in place when the fixture changes it.
"""

from __future__ import annotations

from django.db import transaction

from smartsite.core.reference import fixture_rows, load_by_code
from smartsite.workorders.models import LegalBasis, LoopPolicy


@transaction.atomic
def load_policies(package: str) -> int:
    rows = fixture_rows(package, "loop_policies.json")
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


def load_legal_bases(package: str) -> int:
    return load_by_code(LegalBasis, package, "legal_bases.json")
