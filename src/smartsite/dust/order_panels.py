"""The dust evidence on an order's phone page (the 街镇城管执法中队 officer's view): each
event's findings (the exceedance periods against the limit, the other evidence in words),
the monitor's live values, camera snapshots of the event when the video scenario is
installed, and the site on the offline map. Declared in dust/declaration.py (`panel`)."""

from __future__ import annotations

import json

from django.apps import apps
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from smartsite.dust import dashboard, selectors
from smartsite.dust.choices import Connectivity, Particulate
from smartsite.dust.models import DustLimit
from smartsite.workorders.templatetags.workorders import evidence_label

#: Evidence keys the panel shows in its own way (not as "key: value").
SHOWN_APART = {"quarters", "rule", "mn", "drops", "particulate", "limit_status"}
#: The words (and units) of the evidence the dust detectors write (dust.detectors).
DUST_EVIDENCE = {
    "limit": ("限值", ""), "standard": ("依据标准", ""), "allowed_per_day": ("每日允许超标", " 次"),
    "count_today": ("今日超标", " 个时段"), "period": ("时段", ""), "leq": ("等效声级", " dB(A)"),
    "max": ("最大声级", " dB(A)"), "quarter": ("时段起", ""),
    "last_data_time": ("最近数据时间", ""), "minutes": ("持续", " 分钟"),
    "threshold": ("判定阈值", " 分钟"), "required": ("应装", " 台"), "installed": ("已装", " 台"),
    "site_area_m2": ("占地面积", " m²"), "exceedance_from": ("超标开始", ""),
    "within_minutes": ("应在", " 分钟内联动"), "sprays": ("联动设备", ""),
    "expires_on": ("年检有效期至", ""), "days_left": ("剩余", " 天"), "reason": ("原因", ""),
    "hours": ("持续", " 小时"), "value": ("数值", ""), "pattern": ("异常类型", ""),
    "same_as": ("与之相同的设备", ""), "position": ("位置（经纬度）", ""),
    "source": ("位置来源", ""), "metres_outside": ("在围栏外", " 米"), "criterion": ("判定依据", ""),
}
PATTERNS = {"flat_line": "长时间恒定", "cross_site": "与其他工地数据相同",
            "drop_at_exceedance": "超标时骤降", "outside_site": "位置在围栏外"}


def _fact(key: str, value, evidence: dict) -> tuple[str, str]:
    label, unit = DUST_EVIDENCE.get(key, (evidence_label(key), ""))
    if key == "limit" and isinstance(value, int | float):
        unit = " µg/m³" if evidence.get("particulate") or "quarters" in evidence else " dB(A)"
        if evidence.get("limit_status"):  # e.g. DB31/964's PM10 value, not yet confirmed
            unit += f"（{evidence['limit_status']}）"
    if key == "pattern":
        value = PATTERNS.get(value, value)
    if isinstance(value, float):
        value = f"{value:g}"  # 100.0 → 100
    if isinstance(value, list):
        value = "、".join(map(str, value)) if key != "position" else \
            ", ".join(f"{v:.6f}" if isinstance(v, float) else str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    elif value is None:
        value, unit = "—", ""
    return label, f"{value}{unit}"


def _snapshots(user, events) -> list[dict]:
    """The camera snapshots attached to `events` (smartsite.video), newest first."""
    if not apps.is_installed("smartsite.video"):
        return []
    try:
        snapshot = apps.get_model("video", "Snapshot")
    except LookupError:
        return []
    from smartsite.core.scoping import scoped

    out = []
    for s in scoped(user, snapshot.objects.filter(event__in=events)).select_related(
            "camera").order_by("-taken_at")[:6]:
        try:
            url = s.get_absolute_url()
        except NoReverseMatch:
            continue  # the video pages are not routed (yet)
        out.append({"url": url, "taken_at": s.taken_at, "camera": str(s.camera)})
    return out


def _event(e, monitors: dict) -> dict:
    evidence = e.evidence or {}
    limit = evidence.get("limit")
    quarters = []
    for item in evidence.get("quarters") or []:
        if isinstance(item, list | tuple) and len(item) == 2:
            at, value = item
            over = isinstance(value, int | float) and isinstance(limit, int | float) \
                and value > limit
            quarters.append({"at": at, "value": value,
                             "over": round(value - limit, 1) if over else None})
    facts = [_fact(k, v, evidence) for k, v in evidence.items() if k not in SHOWN_APART]
    return {"event": e, "quarters": quarters, "facts": facts,
            "monitor": monitors.get(evidence.get("mn") or e.subject)}


def order_panel(request, order) -> str:
    events = list(order.events.all()[:20])
    mns = {(e.evidence or {}).get("mn") or e.subject for e in events} - {"", None}
    now = timezone.now()
    monitors = {}
    for m in selectors.monitors(request.user).filter(mn__in=mns):
        state = selectors.connectivity_of(m, now)
        monitors[m.mn] = {"monitor": m, "values": selectors.current_values(m)[:3],
                          "label": Connectivity(state).label,
                          "colour": Connectivity.colour(state)}
    project = order.project
    limit = DustLimit.in_force(Particulate.PM10, timezone.localdate(now))
    statuses = [*([b.value, b.label, b.colour] for b in dashboard.bands(limit)),
                ["site", "工地", "#1d4ed8"]]
    try:
        points = reverse("dust:dashboard_points") + f"?project={project.pk}"
    except NoReverseMatch:  # pragma: no cover - the dust pages are always routed
        points = ""
    return render_to_string("dust/partials/order_evidence.html", {
        "order": order, "project": project,
        "items": [_event(e, monitors) for e in events],
        "snapshots": _snapshots(request.user, events),
        "points_url": points,
        "statuses_json": json.dumps(statuses, ensure_ascii=False),
        "has_position": project.longitude is not None or any(
            m["monitor"].longitude is not None for m in monitors.values()),
    }, request=request)
