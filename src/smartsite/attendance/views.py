"""Pages of the attendance scenario (the rest of the pages come with the phone check-in and
the boards): thin callers of `selectors`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from smartsite.attendance import rates, selectors

SHOWN = 200


@login_required
def dashboard(request):
    """关键岗位到岗: this month's rate of every key post the user sees (closed days so far),
    the lowest first."""
    today = timezone.localdate()
    first, last = rates.month_bounds(today)
    min_rate = selectors.param("min_monthly_rate")
    by: dict[int, list[str]] = {}
    for aid, status in selectors.days(request.user).filter(
            date__gte=first, date__lte=last).values_list("assignment", "status"):
        by.setdefault(aid, []).append(status)
    assignments = {a.pk: a for a in selectors.assignments(request.user).filter(pk__in=list(by))}
    rows = []
    for aid, statuses in by.items():
        t = rates.tally(statuses)
        if aid in assignments and t.rate is not None:
            rows.append({"a": assignments[aid], "t": t, "rate": float(t.rate),
                         "below": not t.meets(min_rate)})
    rows.sort(key=lambda r: (r["rate"], r["a"].pk))
    total = rates.tally(s for statuses in by.values() for s in statuses)
    return render(request, "attendance/dashboard.html", {
        "month": first, "rows": rows[:SHOWN], "more": max(0, len(rows) - SHOWN),
        "below": sum(r["below"] for r in rows), "posts": len(rows),
        "rate": None if total.rate is None else float(total.rate), "min_rate": min_rate})
