"""Dust limits shipped as data (fixtures/limits.json, each row with its citation).

Loading is idempotent: a row is matched by its code and updated in place when the fixture
changes it; a new edition of a standard is a new code with a later `valid_from`.
"""

from __future__ import annotations

import json
from importlib import resources

from django.db import transaction

from smartsite.dust.models import DustLimit


@transaction.atomic
def load_limits() -> int:
    rows = json.loads(resources.files("smartsite.dust").joinpath(
        "fixtures", "limits.json").read_text("utf-8"))
    for row in rows:
        limit = DustLimit.objects.filter(code=row["code"]).first() or DustLimit()
        for field, value in row.items():
            setattr(limit, field, value)
        limit.full_clean(validate_unique=False)
        limit.save()
    return len(rows)
