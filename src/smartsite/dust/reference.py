"""Dust limits shipped as data (fixtures/limits.json, each row with its citation).

Loading is idempotent: a row is matched by its code and updated in place when the fixture
changes it; a new edition of a standard is a new code with a later `valid_from`.
"""

from __future__ import annotations

from smartsite.core.reference import load_by_code
from smartsite.dust.models import DustLimit


def load_limits() -> int:
    return load_by_code(DustLimit, "smartsite.dust", "limits.json")


def load_rules() -> int:
    from smartsite.dust.rules import load_rules

    return load_rules()
