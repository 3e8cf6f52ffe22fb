"""The pit scenario's worker jobs (declared in declaration.py, run by core.scheduler)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from smartsite.pits import selectors
from smartsite.pits.models import Pit, Reading, Stage, UploadGap
from smartsite.pits.schedule import interval_days

#: The most missed surveys recorded per pit and item in one run (a month of daily surveys).
MAX_GAPS = 31


def upload_gaps(now: datetime.datetime | None = None) -> int:
    """Record every survey that was due by the frequency table for the pit's current stage
    and has not arrived within the upload time (`upload_within_hours`), per pit and item —
    one `UploadGap` per missed survey; mark gaps filled (late) when data measured after them
    comes in. Idempotent: a gap is found once. Returns how many new gaps were found."""
    now = now or timezone.now()
    rows = selectors.frequencies()
    grace = datetime.timedelta(hours=selectors.parameter("upload_within_hours", 24))
    found = 0
    today = timezone.localtime(now).date()
    for pit in Pit.objects.filter(stages__isnull=False).distinct():
        stage = (Stage.objects.filter(pit=pit, started_on__lte=today)
                 .order_by("-started_on").first())
        due = interval_days(grade=pit.safety_grade, design_depth_m=pit.design_depth_m,
                            depth_m=stage.excavation_depth_m if stage else None,
                            slab_on=pit.base_slab_on, day=today, rows=rows)
        if due is None:
            continue
        interval = datetime.timedelta(days=float(due[0]))
        last = (Reading.objects.filter(point__pit=pit, point__active=True)
                .values("point__item").annotate(last=Max("measured_at")))
        with transaction.atomic():
            for row in last:
                # every survey due since the last one that has not come within the upload
                # time: last + interval, last + 2 × interval, … (a month of them at most)
                for k in range(1, MAX_GAPS + 1):
                    due_at = row["last"] + k * interval
                    if now <= due_at + grace:
                        break
                    _, created = UploadGap.objects.get_or_create(
                        pit=pit, item=row["point__item"], due_at=due_at,
                        defaults={"interval_days": due[0],
                                  "monitoring_company_id": pit.monitoring_company_id})
                    found += created
            for gap in UploadGap.objects.filter(pit=pit, filled_at__isnull=True):
                filled = (Reading.objects.filter(point__pit=pit, point__item=gap.item,
                                                 measured_at__gt=gap.due_at)
                          .order_by("measured_at").values_list("measured_at", flat=True).first())
                if filled is not None:
                    gap.filled_at = filled
                    gap.save(update_fields=["filled_at"])
    return found
