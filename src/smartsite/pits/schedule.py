"""How often a pit must be surveyed now (GB 50497 表7.0.3 practice, `SurveyFrequency` rows):
during excavation by the excavated share of H, after the base slab by days since it was cast.
A grade-3 pit, for which the table sets no frequency, is held to grade 2's."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal


def interval_days(*, grade: int, design_depth_m: Decimal, depth_m: Decimal | None,
                  slab_on: datetime.date | None, day: datetime.date,
                  rows: Iterable) -> tuple[Decimal, str] | None:
    """(the longest allowed gap in days, the row's code) for a pit on `day`, or None when no
    survey is due (excavation not started, or no row applies)."""
    rows = list(rows)
    graded = [r for r in rows if r.grade == grade] or [r for r in rows if r.grade == 2]
    if slab_on is not None and day >= slab_on:
        days = (day - slab_on).days
        for row in graded:
            if (row.phase == "after_slab" and row.days_after_slab_from <= days
                    and (row.days_after_slab_to is None or days < row.days_after_slab_to)):
                return row.interval_days, row.code
        return None
    if depth_m is None or depth_m <= 0:
        return None
    # to the table's precision: h = H/3 is 33.33 %, the end of the first band, not past it
    share = (Decimal(depth_m) / Decimal(design_depth_m) * 100).quantize(Decimal("0.01"))
    for row in sorted((r for r in graded if r.phase == "excavation"),
                      key=lambda r: r.depth_pct_h_from):
        if share <= row.depth_pct_h_to or row.depth_pct_h_to >= 100:
            return row.interval_days, row.code
    return None
