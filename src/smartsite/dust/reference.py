"""Dust limits shipped as data (fixtures/limits.json, each row with its citation).

Loading is idempotent: a row is matched by its code. A missing row is created; an existing row
is upgraded to the fixture only while it still equals what an earlier fixture shipped (listed
in the row's `replaces`: the fields that differed), so a value or `confirmed` an administrator
changed survives every `smartsite migrate`, demo start and deployment. When you change a
shipped row, add its old values to `replaces`. A new edition of a standard is a new code with
a later `valid_from`.
"""

from __future__ import annotations

from smartsite.core.reference import load_by_code
from smartsite.dust.models import DustLimit
from smartsite.workorders import reference as loops


def load_limits(package: str = "smartsite.dust") -> int:
    return load_by_code(DustLimit, package, "limits.json", keep_edits=True)


def load_rules() -> int:
    from smartsite.dust.rules import load_rules

    return load_rules()


def load_policies() -> int:
    """The dust loop policies (fixtures/loop_policies.json)."""
    return loops.load_policies("smartsite.dust")


def load_legal_bases() -> int:
    """The penalty clauses of the dust scenario (fixtures/legal_bases.json)."""
    return loops.load_legal_bases("smartsite.dust")
