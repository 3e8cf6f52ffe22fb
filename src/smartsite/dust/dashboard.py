"""Reads of the dust dashboards (决策中心 · 扬尘): the city/district overview and a project's
dust page. Every read starts from `core.scoping.scoped()`.

The overview is a handful of set-based queries whatever the size of the scope — never a query
per monitor (the city has ~4,500): one for the monitors with their live PM10 and last contact,
one for today's 15-minute exceedances (`selectors.exceedances`, keyed by monitor), one for the
monitors that reported today (the day means), and two grouped queries over the dust orders.
The per-district, per-project and per-band figures are then sums over those rows in Python.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from smartsite.core.models import Project
from smartsite.core.scoping import scoped
from smartsite.dust import selectors
from smartsite.dust.choices import Particulate
from smartsite.dust.models import DustLimit, Monitor, PeriodMean, SprayDevice, SprayReading
from smartsite.workorders.choices import OPEN_ORDER_STATES, LoopLevel, OrderState
from smartsite.workorders.models import Event, LoopPolicy, WorkOrder

SCENARIO = "dust"
#: How far back "closed" and the closure rate look (days), and the choices the page offers.
WINDOWS = (1, 7, 30)
DEFAULT_WINDOW = 30


# ---------------------------------------------------------------- map bands


@dataclass(frozen=True)
class Band:
    value: str
    label: str
    colour: str


def bands(limit: DustLimit | None) -> list[Band]:
    """The map's colours: connection state first, then the live PM10 against the limit in
    force (DB31/964: the 15-minute mean's limit; the live value is an early sign of it)."""
    n = f"{limit.limit:g}" if limit else "?"
    half = f"{limit.limit / 2:g}" if limit else "?"
    if limit is not None and limit.status:
        n += f"（{limit.status}）"
    return [
        Band("good", f"PM10 ≤ {half}", "#16a34a"),
        Band("fair", f"PM10 {half}–{n}", "#ca8a04"),
        Band("over", f"PM10 > 限值 {n}", "#dc2626"),
        Band("severe", "PM10 > 2 倍限值", "#7f1d1d"),
        Band("nodata", "在线·无 PM10", "#0891b2"),
        Band("offline", "离线", "#475569"),
        Band("never", "从未上线", "#a3a3a3"),
    ]


def band_of(connectivity: str, pm10: float | None, limit: DustLimit | None) -> str:
    if connectivity != "online":
        return connectivity
    if pm10 is None or limit is None:
        return "nodata"
    if pm10 > 2 * limit.limit:
        return "severe"
    if pm10 > limit.limit:
        return "over"
    return "fair" if pm10 > limit.limit / 2 else "good"


# ---------------------------------------------------------------- the monitors of a scope


@dataclass
class MonitorRow:
    pk: int
    mn: str
    active: bool
    lon: float | None
    lat: float | None
    project_id: int
    project: str
    district_id: int
    district: str
    connectivity: str
    pm10: float | None
    band: str = ""
    exceeded: int = 0  # today's periods above the limit


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def monitor_rows(user, now: datetime.datetime, limit: DustLimit | None,
                 project: Project | None = None) -> list[MonitorRow]:
    """Every monitor in `user`'s scope (one query), with its connectivity, live PM10 and band.
    A monitor without a registered position is drawn at its project's."""
    qs = scoped(user, Monitor.objects.all())
    if project is not None:
        qs = qs.filter(project=project)
    cutoff = selectors.offline_cutoff(now)
    rows = []
    for (pk, mn, active, lon, lat, project_id, name, plon, plat, district_id, district,
         last_seen, pm10) in qs.order_by("mn").values_list(
            "pk", "mn", "active", "longitude", "latitude", "project_id", "project__name",
            "project__longitude", "project__latitude", "project__district_id",
            "project__district__name", "status__last_seen", "status__values__pm10"):
        connectivity = ("never" if last_seen is None
                        else "online" if last_seen >= cutoff else "offline")
        value = _number(pm10)
        rows.append(MonitorRow(
            pk, mn, active, lon if lon is not None else plon, lat if lat is not None else plat,
            project_id, name, district_id, district, connectivity, value,
            band_of(connectivity, value, limit)))
    return rows


def map_points(rows: list[MonitorRow]) -> list[list]:
    """[lon, lat, id, tooltip, band] of the active monitors with a position (map.js format)."""
    out = []
    for r in rows:
        if not r.active or r.lon is None or r.lat is None:
            continue
        value = f"PM10 {r.pm10:g} µg/m³" if r.pm10 is not None and r.connectivity == "online" \
            else ""
        tip = f"{r.project} · {r.mn[-6:]}" + (f" · {value}" if value else "")
        out.append([round(r.lon, 6), round(r.lat, 6), r.pk, tip, r.band])
    return out


# ---------------------------------------------------------------- the overview


@dataclass
class DistrictRow:
    district_id: int
    name: str
    monitors: int = 0
    online: int = 0
    reporting: int = 0  # monitors with valid PM10 today
    failing: int = 0  # monitors over the day's allowance of exceedances
    quarters: int = 0  # periods above the limit today
    opened: int = 0  # dust orders opened in the window
    closed: int = 0  # … of which closed
    open_now: int = 0

    @property
    def online_rate(self) -> float | None:
        return self.online / self.monitors if self.monitors else None

    @property
    def exceedance_rate(self) -> float | None:
        return self.failing / self.reporting if self.reporting else None

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.opened if self.opened else None


@dataclass
class Overview:
    now: datetime.datetime
    today: datetime.date
    limit: DustLimit | None
    window: int
    rows: list[MonitorRow]
    band_counts: dict[str, int]
    connectivity: dict[str, int]
    kinds: list[dict]
    levels: list[dict]
    top_projects: list[dict]
    districts: list[DistrictRow]
    totals: dict = field(default_factory=dict)


def kind_labels() -> dict[str, str]:
    """{order kind: label} from the dust loop policies in force (LoopPolicy.kind_label)."""
    return dict(LoopPolicy.objects.filter(scenario=SCENARIO, active=True)
                .values_list("kind", "kind_label"))


def dust_orders(user):
    return scoped(user, WorkOrder.objects.filter(scenario=SCENARIO))


def overview(user, now: datetime.datetime, window: int = DEFAULT_WINDOW) -> Overview:
    today = selectors.local_day(now.astimezone(selectors.SHANGHAI).date())[0].date()
    limit = DustLimit.in_force(Particulate.PM10, today)
    since = now - datetime.timedelta(days=window)

    rows = monitor_rows(user, now, limit)
    by_id = {r.pk: r for r in rows}
    active = [r for r in rows if r.active]

    # Today's exceedances (one grouped query on the means, keyed by monitor) and the monitors
    # with valid PM10 today (their day mean exists).
    exceeded: dict[int, int] = {}
    if limit is not None:
        exceeded = selectors.exceedance_counts(selectors.exceedances(user, today, limit))
    for monitor_id, n in exceeded.items():
        if monitor_id in by_id:
            by_id[monitor_id].exceeded = n
    start, _end = selectors.local_day(today)
    visible = scoped(user, Monitor.objects.all())
    reporting = set(PeriodMean.objects.filter(
        selectors.monitor_in(visible), period=86400, bucket=start, n_pm10__gt=0)
        .values_list("monitor_id", flat=True))
    allowed = limit.max_exceedances_per_day if limit else 0

    # Orders: by kind and level (one grouped query), by district and by project (two more).
    orders = dust_orders(user).order_by()
    open_q = Q(state__in=OPEN_ORDER_STATES)
    closed_q = Q(state=OrderState.CLOSED, closed_at__gte=since)
    grouped = list(orders.values("kind", "loop_level", "closed_level").annotate(
        open=Count("pk", filter=open_q), closed=Count("pk", filter=closed_q)))
    labels = kind_labels()
    by_kind: dict[str, Counter] = defaultdict(Counter)
    by_level: dict[str, Counter] = defaultdict(Counter)
    for g in grouped:
        by_kind[g["kind"]]["open"] += g["open"]
        by_kind[g["kind"]]["closed"] += g["closed"]
        by_level[g["loop_level"]]["open"] += g["open"]
        if g["closed_level"]:
            by_level[g["closed_level"]]["closed"] += g["closed"]
    kinds = [{"kind": k, "label": labels.get(k, k), "open": by_kind[k]["open"],
              "closed": by_kind[k]["closed"]}
             for k in [*labels, *sorted(set(by_kind) - set(labels))]]
    levels = [{"level": lv.value, "label": lv.label, "colour": LoopLevel.colour(lv.value),
               "open": by_level[lv.value]["open"], "closed": by_level[lv.value]["closed"]}
              for lv in LoopLevel]

    # Districts.
    districts: dict[int, DistrictRow] = {}

    def district(pk, name) -> DistrictRow:
        if pk not in districts:
            districts[pk] = DistrictRow(pk, name)
        return districts[pk]

    for r in active:
        d = district(r.district_id, r.district)
        d.monitors += 1
        d.online += r.connectivity == "online"
    for monitor_id in reporting:
        r = by_id.get(monitor_id)
        if r is not None:
            d = district(r.district_id, r.district)
            d.reporting += 1
    for monitor_id, n in exceeded.items():
        r = by_id.get(monitor_id)
        if r is not None:
            d = district(r.district_id, r.district)
            d.quarters += n
            d.failing += n > allowed
    for g in orders.values("district_id", "district__name").annotate(
            opened=Count("pk", filter=Q(opened_at__gte=since)),
            closed=Count("pk", filter=Q(opened_at__gte=since, state=OrderState.CLOSED)),
            open_now=Count("pk", filter=open_q)):
        d = district(g["district_id"], g["district__name"])
        d.opened, d.closed, d.open_now = g["opened"], g["closed"], g["open_now"]
    ranking = sorted(districts.values(), key=lambda d: (
        -(d.exceedance_rate or 0), -d.quarters, (d.closure_rate if d.closure_rate is not None
                                                 else 1), d.name))

    # Top offending projects: today's exceedance periods, then open dust orders.
    quarters_by_project: Counter = Counter()
    names: dict[int, str] = {}
    district_of: dict[int, str] = {}
    for r in rows:
        names[r.project_id], district_of[r.project_id] = r.project, r.district
        if r.exceeded:
            quarters_by_project[r.project_id] += r.exceeded
    open_by_project = dict(orders.filter(open_q).values_list("project_id")
                           .annotate(n=Count("pk")))
    candidates = set(quarters_by_project) | set(open_by_project)
    ranked = sorted(candidates, key=lambda p: (-quarters_by_project[p],
                                               -open_by_project.get(p, 0), p))[:10]
    missing = [p for p in ranked if p not in names]
    for p in Project.objects.filter(pk__in=missing).values("pk", "name", "district__name"):
        names[p["pk"]], district_of[p["pk"]] = p["name"], p["district__name"]
    top = [{"pk": p, "name": names.get(p, ""), "district": district_of.get(p, ""),
            "quarters": quarters_by_project[p], "open": open_by_project.get(p, 0)}
           for p in ranked]

    band_counts = Counter(r.band for r in active)
    connectivity = Counter(r.connectivity for r in active)
    totals = {
        "monitors": len(active), "inactive": len(rows) - len(active),
        "online": connectivity["online"], "reporting": len(reporting & set(by_id)),
        "failing": sum(1 for m, n in exceeded.items() if n > allowed and m in by_id),
        "quarters": sum(n for m, n in exceeded.items() if m in by_id),
        "open": sum(k["open"] for k in kinds), "closed": sum(k["closed"] for k in kinds),
        "large_open": by_level[LoopLevel.LARGE]["open"],
    }
    return Overview(now=now, today=today, limit=limit, window=window, rows=rows,
                    band_counts=dict(band_counts), connectivity=dict(connectivity), kinds=kinds,
                    levels=levels, top_projects=top, districts=ranking, totals=totals)


# ---------------------------------------------------------------- one project


def spray_timeline(project: Project, monitors: list[Monitor], day: datetime.date,
                   now: datetime.datetime, limit: DustLimit | None) -> dict:
    """The day's spray linkage for a project's chart: per monitor one row of its exceedance
    periods, and per linked spray or fog cannon one row of its running intervals (from the
    reported states: running from a "on" report to the next "off" report; still running at
    the last report of a device that is on now).

    {"day": [start ms, end ms], "rows": [labels], "bars": [[row, start ms, end ms, kind,
    tooltip]]}; times as Shanghai wall-clock milliseconds (selectors.chart_ms)."""
    start, end = selectors.local_day(day)
    until = min(end, now)
    labels: list[str] = []
    bars: list[list] = []
    step = datetime.timedelta(seconds=limit.averaging_seconds if limit else 900)
    devices = list(SprayDevice.objects.filter(monitor__in=monitors, active=True)
                   .order_by("monitor__mn", "sb_code"))
    states: dict[int, list[tuple]] = defaultdict(list)
    for device_id, at, running in (SprayReading.objects
                                   .filter(device__in=devices, data_time__gte=start,
                                           data_time__lt=until)
                                   .order_by("device", "data_time")
                                   .values_list("device_id", "data_time", "running")):
        states[device_id].append((at, running))
    for monitor in monitors:
        row = len(labels)
        labels.append(f"{monitor.mn[-6:]} 超标时段")
        if limit is not None:
            for bucket, mean in selectors.quarter_means(monitor, day, limit):
                if mean > limit.limit:
                    bars.append([row, selectors.chart_ms(bucket), selectors.chart_ms(bucket + step),
                                 "over", f"{bucket.astimezone(selectors.SHANGHAI):%H:%M} "
                                         f"{limit.get_particulate_display()} {mean:.1f} µg/m³"])
        for device in (d for d in devices if d.monitor_id == monitor.pk):
            row = len(labels)
            labels.append(f"{monitor.mn[-6:]} {device.name}")
            began = None
            reports = states.get(device.pk, [])
            for at, running in reports:
                if running and began is None:
                    began = at
                elif not running and began is not None:
                    bars.append(_run(row, began, at))
                    began = None
            if began is not None:
                last = reports[-1][0]
                bars.append(_run(row, began, until if device.running else
                                 max(last, began + datetime.timedelta(minutes=1))))
    return {"day": [selectors.chart_ms(start), selectors.chart_ms(end)], "rows": labels,
            "bars": bars, "devices": len(devices)}


def _run(row: int, began: datetime.datetime, ended: datetime.datetime) -> list:
    local = began.astimezone(selectors.SHANGHAI), ended.astimezone(selectors.SHANGHAI)
    return [row, selectors.chart_ms(began), selectors.chart_ms(ended), "spray",
            f"运行 {local[0]:%H:%M}–{local[1]:%H:%M}"]


def project_events(user, project: Project, limit: int = 50):
    return (scoped(user, Event.objects.filter(project=project, scenario=SCENARIO))
            .select_related("order").order_by("-last_seen")[:limit])


def project_orders(user, project: Project, limit: int = 50):
    return (dust_orders(user).filter(project=project)
            .select_related("policy", "court_agency", "court_enterprise", "court_post")
            .order_by("-opened_at")[:limit])
