"""The simulated Shanghai: enterprises, projects with their parties and geofences, the
people on their key posts, and the demo logins.

Determinism
    Everything derives from the seed through named streams (`rng_for(seed, "projects")`,
    `rng_for(seed, "staff")` …), never from the `random` module's global state or the
    clock. Every date is an offset from `today`, which defaults to the fixed anchor
    `ANCHOR`; so the same seed (and the same `today`) gives the same rows, field for field,
    except the `created`/`updated` timestamps and the audit entries' times. Streams are
    independent: a later scenario that draws from `rng_for(seed, "dust")` does not change
    the projects, and a change to how people are drawn does not move any project.

Scale
    `SCALES["demo"]` (the default of `smartsite demo`) is ~300 projects; `SCALES["city"]`
    is Shanghai's order of magnitude: ~5,000 projects, ~1,100 with a pit, ~40,000 people on
    key posts, to which the dust scenario adds the monitors each site needs. Projects are spread
    over the 16 districts by `DISTRICT_WEIGHTS` (most in 浦东新区 and the suburban
    districts, fewest in 黄浦区 and 虹口区).

报建编号 (permit_no)
    ``YYMM`` of the registration (20–150 days before the start) + the district's two-letter
    code (`names.DISTRICT_ABBR`, e.g. ``PD`` 浦东新区) + a 4-digit sequence within that
    district and month: ``2409PD0012``, the shape the test cast uses (``2301JA0001``). The
    official meaning of each position of Shanghai's 报建编号 is not confirmed here, so
    nothing parses it.

Geography
    The registry knows district polygons, not street polygons: a project's street is a real
    street Region of its district, and its geofence is a square (side √site area) around a
    random point of the district, wholly inside it (so `Project.clean` passes).

Writes
    The city is written with `bulk_create` in one transaction. Rows are valid by
    construction (`tests/simulator` runs `full_clean` on a sample), so `full_clean` is not
    run per row. The audit trail gets one "import" entry per model and run, on the first
    row, with ``{"simulated": [null, count]}``; demo users and their roles get one entry
    each (a permission change is always audited row by row).
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import shapely.geometry
from django.db import transaction

from smartsite.core import audit, geo, reference
from smartsite.core.choices import (
    AuditAction,
    PartyRole,
    ProjectKind,
    ProjectStatus,
    RegionLevel,
)
from smartsite.core.models import Enterprise, Project, ProjectParty, Region
from smartsite.core.validators import make_uscc
from smartsite.simulator import names
from smartsite.simulator.users import DEMO_PASSWORD, create_demo_users, demo_logins

__all__ = [
    "ANCHOR",
    "DEMO_PASSWORD",
    "DISTRICT_WEIGHTS",
    "SCALES",
    "USES",
    "CityReport",
    "Scale",
    "build_city",
    "demo_logins",
    "rng_for",
]

#: The default "today" of a simulated city. Every generated date is an offset from it.
ANCHOR = date(2026, 11, 1)

BATCH = 2000


def rng_for(seed: int, stream: str) -> random.Random:
    """An independent random stream of the city `seed` (str seeds hash with SHA-512, so the
    stream is the same on every run and Python version 3.2+)."""
    return random.Random(f"smartsite:{seed}:{stream}")


@dataclass(frozen=True)
class Scale:
    """How big a simulated city is. A scenario sizes what it adds from the city (e.g. the
    monitors each site needs)."""

    name: str
    projects: int
    pit_share: float  # share of projects with a foundation pit
    people_target: int  # people on key posts (an outcome, checked by the benchmark)
    planted: int  # how many of each deliberate anomaly


SCALES = {
    "demo": Scale("demo", projects=300, pit_share=0.22, people_target=2_500, planted=2),
    "city": Scale("city", projects=5_000, pit_share=0.22, people_target=40_000, planted=20),
}

#: Relative construction activity per district (share of projects). Central districts have
#: little land left; 浦东新区 (with 临港) and the new towns of the suburbs have the most.
DISTRICT_WEIGHTS = {
    "浦东新区": 22.0, "闵行区": 9.0, "嘉定区": 9.0, "松江区": 8.5, "青浦区": 8.0, "宝山区": 7.5,
    "奉贤区": 6.5, "金山区": 4.5, "崇明区": 3.5, "杨浦区": 3.5, "普陀区": 3.5, "徐汇区": 3.5,
    "静安区": 3.0, "长宁区": 2.5, "虹口区": 2.0, "黄浦区": 2.0,
}


@dataclass(frozen=True)
class Use:
    """What a project builds: its kind, how often it occurs and how big it tends to be."""

    kind: str
    weight: float
    area_median: float  # site area, m²
    area_sigma: float  # of the log-normal
    far: tuple[float, float]  # floor-area ratio range (building) — 0 for municipal
    cost: tuple[float, float]  # 万元 per m² of floor area (building) or site area (municipal)
    days: tuple[int, int]  # planned duration
    pit: float  # relative chance of a foundation pit
    owner: str  # developer | platform | 教育局 … (a public body)


USES = {
    "residential": Use(ProjectKind.BUILDING, 30, 20_000, 0.6, (1.6, 2.8), (0.35, 0.55),
                       (600, 1100), 1.3, "developer"),
    "commercial": Use(ProjectKind.BUILDING, 12, 12_000, 0.7, (2.5, 5.0), (0.45, 0.8),
                      (700, 1200), 2.2, "developer"),
    "industrial": Use(ProjectKind.BUILDING, 14, 30_000, 0.7, (1.2, 2.2), (0.25, 0.4),
                      (400, 800), 0.4, "developer"),
    "school": Use(ProjectKind.BUILDING, 7, 20_000, 0.4, (0.8, 1.3), (0.4, 0.6),
                  (500, 800), 0.9, "教育局"),
    "hospital": Use(ProjectKind.BUILDING, 3, 25_000, 0.5, (1.5, 2.5), (0.6, 0.9),
                    (700, 1100), 1.8, "卫生健康委员会"),
    "renewal": Use(ProjectKind.BUILDING, 6, 12_000, 0.8, (2.0, 3.5), (0.4, 0.7),
                   (600, 1000), 1.2, "developer"),
    "eldercare": Use(ProjectKind.BUILDING, 3, 8_000, 0.5, (1.2, 2.0), (0.35, 0.5),
                     (400, 700), 0.6, "民政局"),
    "road": Use(ProjectKind.MUNICIPAL, 9, 30_000, 0.8, (0, 0), (0.1, 0.2),
                (300, 700), 0.05, "platform"),
    "drainage": Use(ProjectKind.MUNICIPAL, 5, 8_000, 0.9, (0, 0), (0.5, 1.0),
                    (300, 600), 0.5, "platform"),
    "bridge": Use(ProjectKind.MUNICIPAL, 2, 6_000, 0.6, (0, 0), (2.0, 3.0),
                  (400, 800), 0.4, "platform"),
    "metro": Use(ProjectKind.MUNICIPAL, 2, 12_000, 0.4, (0, 0), (3.0, 5.0),
                 (1000, 1500), 40.0, "platform"),
    "utility_tunnel": Use(ProjectKind.MUNICIPAL, 1.5, 15_000, 0.7, (0, 0), (1.5, 2.5),
                          (500, 900), 1.5, "platform"),
    "river": Use(ProjectKind.MUNICIPAL, 3, 20_000, 0.8, (0, 0), (0.05, 0.15),
                 (200, 500), 0.1, "platform"),
    "park": Use(ProjectKind.MUNICIPAL, 2.5, 30_000, 0.8, (0, 0), (0.03, 0.08),
                (200, 400), 0.05, "platform"),
}

STATUS_WEIGHTS = {ProjectStatus.ACTIVE: 0.78, ProjectStatus.SUSPENDED: 0.07,
                  ProjectStatus.COMPLETED: 0.15}
STATUS = names.Weighted(list(STATUS_WEIGHTS), STATUS_WEIGHTS.values())

#: Enterprises of each kind per project (at least the minimum), and how concentrated the
#: market is (Zipf exponent of the choice: a few big contractors hold many projects).
POOLS = {
    "contractor": (0.22, 20, 0.9),
    "supervisor": (0.10, 10, 0.8),
    "surveyor": (0.04, 6, 0.7),
    "designer": (0.07, 8, 0.7),
    "developer": (0.30, 30, 0.6),
    "platform": (0.03, 8, 0.6),
}
MONITORS_PER_PIT = 0.06
PARTY_POOL = {PartyRole.CONTRACTOR: "contractor", PartyRole.SUPERVISOR: "supervisor",
              PartyRole.SURVEYOR: "surveyor", PartyRole.DESIGNER: "designer",
              PartyRole.MONITOR: "monitor"}


@dataclass
class CityReport:
    """What `build_city` made: sizes, the planted anomalies and the demo logins."""

    seed: int
    scale: str
    today: date
    counts: dict[str, int] = field(default_factory=dict)
    by_district: dict[str, int] = field(default_factory=dict)
    #: kind (身兼多岗, 建造师证书过期, 配备不足) → one dict per planted case, by natural keys
    #: (permit_no, resident_id), so they survive a reload with other primary keys.
    anomalies: dict[str, list[dict]] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        c = self.counts
        planted = sum(len(v) for v in self.anomalies.values())
        return (f"{c['projects']:,} 个项目（{c['pits']:,} 个含基坑）、{c['enterprises']:,} 家企业、"
                f"{c['people']:,} 名人员、{c['assignments']:,} 条岗位任职，预置异常 {planted} 处")


# ---------------------------------------------------------------------------------------


def _lognormal(rng: random.Random, median: float, sigma: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, median * math.exp(rng.gauss(0, sigma))))


def _zipf_weights(n: int, s: float) -> list[float]:
    return [1 / (rank + 1) ** s for rank in range(n)]


def _allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` by `weights` (largest remainder, ties by key)."""
    whole = sum(weights.values())
    raw = {k: total * w / whole for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    left = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], k))[:left]:
        out[k] += 1
    return out


@dataclass
class Plan:
    """A project being generated, with what the staffing step needs to know."""

    project: Project
    use: str
    floor_area: float
    parties: dict[str, Enterprise]


class _Builder:
    def __init__(self, seed: int, scale: Scale, today: date):
        self.seed, self.scale, self.today = seed, scale, today
        self.districts = {r.name: r for r in Region.objects.filter(level=RegionLevel.DISTRICT)}
        self.streets: dict[int, list[Region]] = defaultdict(list)
        for street in Region.objects.filter(level=RegionLevel.STREET).order_by("code"):
            self.streets[street.parent_id].append(street)
        self.usccs = set(Enterprise.objects.values_list("uscc", flat=True))
        self.permits = set(Project.objects.values_list("permit_no", flat=True))
        self.enterprises: list[Enterprise] = []
        self.pools: dict[str, list[Enterprise]] = {}
        self.public: dict[tuple[str, str], Enterprise] = {}
        self.plans: list[Plan] = []

    # -- enterprises ---------------------------------------------------------------------

    def _district_code(self, district: Region) -> str:
        code = district.code[:6]
        return code if code.isdigit() and code.startswith("31") else "310000"

    def _enterprise(self, rng, name: str, home: tuple | None, district: Region,
                    authority: str = "9", category: str = "1") -> Enterprise:
        region_code = home[2] if home else self._district_code(district)
        uscc = make_uscc(rng, region_code=region_code, authority=authority, category=category)
        while uscc in self.usccs:
            uscc = make_uscc(rng, region_code=region_code, authority=authority,
                             category=category)
        self.usccs.add(uscc)
        if home:
            address = f"{home[0]}省{home[1]}{names.road_name(rng)}{rng.randint(1, 999)}号"
            phone = f"{home[3]}-{rng.randint(5, 8)}{rng.randrange(10**7):07d}"
        else:
            address = f"上海市{district.name}{names.road_name(rng)}{rng.randint(1, 2999)}号"
            phone = f"021-{rng.choice('56')}{rng.randrange(10**7):07d}"
        ent = Enterprise(uscc=uscc, name=name, address=address, phone=phone,
                         legal_representative=names.person_name(rng) if authority == "9" else "")
        self.enterprises.append(ent)
        return ent

    def make_enterprises(self) -> None:
        rng = rng_for(self.seed, "enterprises")
        trades = iter(names.trade_names(rng))
        district_list = sorted(self.districts.values(), key=lambda r: r.code)
        where = names.Weighted(district_list, [DISTRICT_WEIGHTS.get(d.name, 1.0)
                                               for d in district_list])
        pits = round(self.scale.projects * self.scale.pit_share)
        sizes = {kind: max(minimum, round(self.scale.projects * per))
                 for kind, (per, minimum, _) in POOLS.items()}
        sizes["monitor"] = max(4, round(pits * MONITORS_PER_PIT))
        seen: set[str] = set()
        for kind in sorted(sizes):
            pool = []
            while len(pool) < sizes[kind]:
                name, home = names.company_name(rng, kind, next(trades))
                if name in seen:
                    continue
                seen.add(name)
                pool.append(self._enterprise(rng, name, home, where(rng)))
            self.pools[kind] = pool

    def _public_body(self, rng, district: Region, body: str) -> Enterprise:
        """A district bureau as 建设单位 (schools, hospitals, homes for the elderly); its
        USCC is that of an organ of state (登记管理部门 1 机构编制, 类别 1 机关)."""
        key = (district.name, body)
        if key not in self.public:
            self.public[key] = self._enterprise(rng, f"上海市{district.name}{body}", None,
                                                district, authority="1", category="1")
        return self.public[key]

    # -- projects ------------------------------------------------------------------------

    def make_projects(self) -> None:
        rng = rng_for(self.seed, "projects")
        georng = rng_for(self.seed, "geo")
        weights = {n: w * rng.uniform(0.85, 1.15) for n, w in DISTRICT_WEIGHTS.items()
                   if n in self.districts}
        per_district = _allocate(self.scale.projects, weights)
        choosers = {kind: names.Weighted(pool, _zipf_weights(len(pool), POOLS[kind][2]))
                    for kind, pool in self.pools.items() if kind in POOLS}
        use = names.Weighted(sorted(USES), [USES[u].weight for u in sorted(USES)])
        titles: set[str] = set(Project.objects.values_list("name", flat=True))
        sequence: Counter = Counter()
        for district_name in sorted(per_district, key=lambda n: self.districts[n].code):
            district = self.districts[district_name]
            streets = self.streets[district.pk]
            # Towns (镇) in the suburbs see more building than urban sub-districts (街道).
            street = names.Weighted(streets, [
                rng.gammavariate(2.0, 1.0) * (1.6 if s.name.endswith("镇") else 1.0)
                for s in streets])
            for _ in range(per_district[district_name]):
                self.plans.append(self._project(rng, georng, district, street(rng), use(rng),
                                                titles, sequence, choosers))
        self._choose_pits(rng)

    def _project(self, rng, georng, district, street, use_name, titles, sequence, choosers):
        use = USES[use_name]
        place = names.place_short(street.name)
        title = names.project_title(rng, use_name, place)
        for attempt in range(2, 50):
            if title not in titles:
                break
            title = names.project_title(rng, use_name, place) if attempt < 40 else \
                f"{title}（{attempt}期）"
        titles.add(title)
        area = round(_lognormal(rng, use.area_median, use.area_sigma, 800, 400_000), -1)
        if use.kind == ProjectKind.BUILDING:
            floor_area = area * rng.uniform(*use.far)
            value = floor_area * rng.uniform(*use.cost)
        else:
            floor_area = 0.0
            value = area * rng.uniform(*use.cost)
        status = STATUS(rng)
        start, finish = self._dates(rng, status, use)
        registered = start - timedelta(days=rng.randint(20, 150))
        abbr = names.DISTRICT_ABBR.get(district.name, "SH")
        prefix = f"{registered:%y%m}{abbr}"
        while True:
            sequence[prefix] += 1
            permit_no = f"{prefix}{sequence[prefix]:04d}"
            if permit_no not in self.permits:
                break
        self.permits.add(permit_no)
        address = f"{district.name}{street.name}{names.road_name(rng)}{rng.randint(1, 2999)}号"
        project = Project(
            permit_no=permit_no, name=title, address=address, kind=use.kind,
            district=district, street=street, site_area_m2=Decimal(f"{area:.1f}"),
            contract_value=Decimal(f"{value:.2f}"), start_date=start, finish_date=finish,
            status=status, has_pit=False)
        self._geofence(georng, project, area)
        parties = {}
        if use.owner in ("developer", "platform"):
            parties[PartyRole.OWNER] = choosers[use.owner](rng)
        else:
            parties[PartyRole.OWNER] = self._public_body(rng, district, use.owner)
        for role in (PartyRole.SURVEYOR, PartyRole.DESIGNER, PartyRole.CONTRACTOR,
                     PartyRole.SUPERVISOR):
            parties[role] = choosers[PARTY_POOL[role]](rng)
        return Plan(project, use_name, floor_area, parties)

    def _dates(self, rng, status, use) -> tuple[date, date]:
        days = rng.randint(*use.days)
        today = self.today
        if status == ProjectStatus.COMPLETED:
            finish = today - timedelta(days=rng.randint(10, 1100))
            return finish - timedelta(days=days), finish
        if status == ProjectStatus.ACTIVE and rng.random() < 0.08:  # running late
            finish = today - timedelta(days=rng.randint(1, 120))
            return finish - timedelta(days=days), finish
        elapsed = rng.randint(20, max(21, int(days * 0.95)))
        start = today - timedelta(days=elapsed)
        return start, start + timedelta(days=days)

    def _geofence(self, rng, project: Project, area: float) -> None:
        side = math.sqrt(area)
        name = project.district.name
        # Keep the whole square inside its district: its centre at least the half diagonal
        # from the border (in 100 m steps, so geo caches a few sampling areas per district).
        margin = math.ceil(side * 0.7072 / 100) * 100
        for _ in range(50):
            lon, lat = geo.random_point_in_district(name, rng, margin_m=margin)
            fence = geo.square_geofence(lon, lat, side)  # already normalised (to_geojson)
            clon, clat = geo.centroid_lonlat(shapely.geometry.shape(fence))
            if geo.district_of(clon, clat) == name:
                break
        else:  # pragma: no cover - the margin keeps the centre well inside
            raise RuntimeError(f"no room for a {area:.0f} m² site in {name}")
        # What Project.clean would store (tests parse every fence with geo.parse_geofence).
        project.geofence = fence
        project.longitude, project.latitude = clon, clat

    def _choose_pits(self, rng) -> None:
        """Exactly `pit_share` of the projects get a pit, weighted by use and size
        (weighted sampling without replacement: the largest u^(1/w) win)."""
        wanted = round(len(self.plans) * self.scale.pit_share)
        keys = []
        for i, plan in enumerate(self.plans):
            w = USES[plan.use].pit * math.sqrt(float(plan.project.site_area_m2) / 10_000)
            keys.append((rng.random() ** (1 / max(w, 1e-6)), i))
        monitors = self.pools["monitor"]
        monitor = names.Weighted(monitors, _zipf_weights(len(monitors), 0.7))
        for _, i in sorted(keys, reverse=True)[:wanted]:
            plan = self.plans[i]
            plan.project.has_pit = True
            plan.parties[PartyRole.MONITOR] = monitor(rng)

    # -- writing -------------------------------------------------------------------------

    def save_registry(self) -> dict[str, int]:
        Enterprise.objects.bulk_create(self.enterprises, batch_size=BATCH)
        projects = [p.project for p in self.plans]
        Project.objects.bulk_create(projects, batch_size=BATCH)
        parties = [ProjectParty(project=p.project, role=role, enterprise=ent)
                   for p in self.plans for role, ent in sorted(p.parties.items())]
        ProjectParty.objects.bulk_create(parties, batch_size=BATCH)
        _audit_import(self.enterprises)
        _audit_import(projects)
        _audit_import(parties)
        return {"enterprises": len(self.enterprises), "projects": len(projects),
                "parties": len(parties)}


def _audit_import(rows: list) -> None:
    if rows:
        audit.record(None, rows[0], AuditAction.IMPORT, {"simulated": [None, len(rows)]})


def _ensure_reference() -> None:
    from smartsite.core.models import Post

    if (not Region.objects.filter(level=RegionLevel.STREET).exists()
            or not Post.objects.exists()):
        reference.load_all()


def build_city(*, seed: int, scale: str = "demo", today: date = ANCHOR) -> CityReport:
    """Generate the simulated city for `seed` at `scale` ("demo" or "city") into the database.

    Loads the reference data first if it is missing. Runs in one transaction. Meant for an
    empty registry (`smartsite seed` / `smartsite demo` call it only then); existing codes
    are avoided, but demo usernames must be free.
    """
    from smartsite.simulator import staff

    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    spec = SCALES[scale]
    _ensure_reference()
    report = CityReport(seed=seed, scale=scale, today=today)
    with transaction.atomic():
        builder = _Builder(seed, spec, today)
        builder.make_enterprises()
        builder.make_projects()
        counts = builder.save_registry()
        crew = staff.Staffing(rng_for(seed, "staff"), today, builder.plans)
        crew.staff_all()
        report.anomalies = crew.plant_anomalies(rng_for(seed, "anomalies"), spec.planted)
        counts.update(crew.save())
        report.logins = create_demo_users(builder.plans)
    projects = [p.project for p in builder.plans]
    counts["pits"] = sum(p.has_pit for p in projects)
    for status in ProjectStatus:
        counts[status.value] = sum(p.status == status for p in projects)
    counts["users"] = len(report.logins)
    report.counts = counts
    report.by_district = dict(Counter(p.district.name for p in projects))
    return report

