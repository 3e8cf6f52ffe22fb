"""The one write path of the pit scenario: the registry (pits, stages, points), surveys in
(file, API, MQTT — all through `record_survey`), the assessment after every survey, and the
design unit's colour judgement.

With an `actor` the permission is checked and the change audited; the simulator passes none.
"""

from __future__ import annotations

import bisect
import datetime
import decimal
import itertools
import json
import math
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import connection, models, transaction
from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import AuditAction, PartyRole
from smartsite.core.errors import DomainError
from smartsite.core.models import ProjectParty
from smartsite.pits import inclinometer, permissions, selectors
from smartsite.pits.assessment import Finding, Proposal, assess_point, propose, resolve_limits
from smartsite.pits.choices import (
    LEVEL_ORDER,
    Colour,
    Item,
    Level,
    Measure,
    Source,
    measure_of,
    unit_of,
)
from smartsite.pits.models import (
    ColourChange,
    Pit,
    Point,
    ProfileReading,
    Reading,
    Stage,
    Upload,
)
from smartsite.workorders import services as orders
from smartsite.workorders.choices import OPEN_EVENT_STATES, OPEN_ORDER_STATES, Action

SCENARIO = "pits"
RULE = "warning"
# Surveys timed more than this ahead of the server's clock are refused (device clocks drift).
CLOCK_SKEW = datetime.timedelta(minutes=10)


class SurveyRejected(DomainError):
    """An upload with errors: nothing of it is stored. `errors` are (where, message) pairs —
    "第 5 行", "rows[3]" — so a file's author can fix every row in one go."""

    code = "survey_rejected"

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        shown = "；".join(f"{where}：{msg}" if where else msg for where, msg in errors[:20])
        more = f"（另有 {len(errors) - 20} 处错误）" if len(errors) > 20 else ""
        super().__init__(f"数据未保存，共 {len(errors)} 处错误：{shown}{more}", field="rows")

    def as_dict(self) -> dict:
        return {**super().as_dict(),
                "errors": [{"where": w, "message": m} for w, m in self.errors]}


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """One value of a survey as a source gives it. `where` names it in messages ("第 5 行").
    An inclinometer survey is several rows with `depth_m`: the cumulative displacement (mm,
    relative to the baseline profile) at each depth."""

    point: str
    measured_at: datetime.datetime
    value: object
    unit: str = ""
    depth_m: object = None
    where: str = ""
    #: when the platform first received the value, if earlier than this upload (a raw
    #: inclinometer baseline survey stored once its baseline is complete): decides "late".
    received_at: datetime.datetime | None = None


@dataclass(frozen=True)
class RawProfile:
    """An inclinometer survey as the probe read it: rows (depth m, A0, A180) with the
    instrument constant K and the reading interval L (m). `record_survey` turns it into a
    displacement profile against the hole's baseline profile (see `_convert_raw`)."""

    point: str
    measured_at: datetime.datetime
    readings: tuple
    k: float
    interval: float = 0.5
    where: str = ""


# ---------------------------------------------------------------- registry


def _audited_save(actor, obj, before: dict | None, project) -> None:
    obj.full_clean()
    obj.save()
    if actor is not None:
        action = AuditAction.CREATE if before is None else AuditAction.UPDATE
        audit.record(actor, obj, action, audit.diff(before, audit.snapshot(obj)), project=project)


@transaction.atomic
def register_pit(*, project, actor=None, **fields) -> Pit:
    if actor is not None:
        permissions.require_edit(actor, project)
    parties = dict(ProjectParty.objects.filter(
        project=project, role__in=(PartyRole.MONITOR, PartyRole.DESIGNER))
        .values_list("role", "enterprise"))
    for name, role in (("monitoring_company", PartyRole.MONITOR),
                       ("design_unit", PartyRole.DESIGNER)):
        if fields.get(name) is None and fields.get(f"{name}_id") is None:
            fields.pop(name, None)
            fields[f"{name}_id"] = parties.get(role)
    pit = Pit(project=project, **fields)
    _unique_code(pit)
    _audited_save(actor, pit, None, project)
    return pit


def _unique_code(pit: Pit) -> None:
    pit.code = (pit.code or "").strip()
    if Pit.objects.filter(project=pit.project, code=pit.code).exclude(pk=pit.pk).exists():
        raise DomainError(f"本项目已有编号为 {pit.code} 的基坑", field="code")


@transaction.atomic
def update_pit(pit: Pit, *, actor=None, **fields) -> Pit:
    if actor is not None:
        permissions.require_edit(actor, pit.project)
    pit = Pit.objects.select_for_update().get(pk=pit.pk)
    before = audit.snapshot(pit)
    for name, value in fields.items():
        setattr(pit, name, value)
    _unique_code(pit)
    _audited_save(actor, pit, before, pit.project)
    return pit


@transaction.atomic
def add_stage(pit: Pit, *, name: str, started_on: datetime.date, excavation_depth_m,
              base_slab: bool = False, actor=None) -> Stage:
    """A new construction stage (工况). The excavation cannot go deeper than H, and the
    base slab, once cast, is remembered on the pit (the assessment's after-slab rule)."""
    if actor is not None:
        permissions.require_edit(actor, pit.project)
    stage = Stage(pit=pit, name=(name or "").strip(), started_on=started_on,
                  excavation_depth_m=excavation_depth_m, base_slab=base_slab)
    try:
        depth = Decimal(str(excavation_depth_m))
    except InvalidOperation:
        raise DomainError("开挖深度应为数字（米）", field="excavation_depth_m") from None
    if depth > pit.design_depth_m:
        raise DomainError(f"开挖深度 {depth} m 超过设计开挖深度 H = {pit.design_depth_m} m",
                          field="excavation_depth_m")
    if Stage.objects.filter(pit=pit, started_on=started_on).exists():
        raise DomainError(f"{started_on} 已有工况记录", field="started_on")
    _audited_save(actor, stage, None, pit.project)
    if base_slab and (pit.base_slab_on is None or started_on < pit.base_slab_on):
        Pit.objects.filter(pk=pit.pk).update(base_slab_on=started_on)
        pit.base_slab_on = started_on
    return stage


@transaction.atomic
def register_point(pit: Pit, *, code: str, item: str, actor=None, **fields) -> Point:
    if actor is not None:
        permissions.require_edit(actor, pit.project)
    point = Point(pit=pit, code=(code or "").strip(), item=item, **fields)
    if Point.objects.filter(pit=pit, code=point.code).exists():
        raise DomainError(f"测点编号 {point.code} 已存在", field="code")
    if measure_of(item) == Measure.FORCE and point.design_value is None and item in Item.values:
        raise DomainError(f"{Item(item).label}测点须填写设计值（按设计值百分比预警）",
                          field="design_value")
    _audited_save(actor, point, None, pit.project)
    return point


@transaction.atomic
def register_points(pit: Pit, specs: Sequence[dict], *, actor=None) -> list[Point]:
    """Several points at once (a monitoring plan's point table), all or nothing, with the
    same checks as `register_point` (codes unique in the pit, design values of forces)."""
    if actor is not None:
        permissions.require_edit(actor, pit.project)
    points, seen = [], set(Point.objects.filter(pit=pit).values_list("code", flat=True))
    for spec in specs:
        spec = dict(spec)
        point = Point(pit=pit, code=(spec.pop("code", "") or "").strip(), item=spec.pop("item"),
                      **spec)
        if point.code in seen:
            raise DomainError(f"测点编号 {point.code} 已存在", field="code")
        seen.add(point.code)
        if (measure_of(point.item) == Measure.FORCE and point.design_value is None
                and point.item in Item.values):
            raise DomainError(f"{Item(point.item).label}测点须填写设计值（按设计值百分比预警）",
                              field="design_value")
        point.full_clean(validate_unique=False, validate_constraints=False)
        points.append(point)
    Point.objects.bulk_create(points)
    if actor is not None:
        for point in points:
            audit.record(actor, point, AuditAction.CREATE,
                         audit.diff(None, audit.snapshot(point)), project=pit.project)
    return points


# ---------------------------------------------------------------- surveys in


@dataclass
class PitSurvey:
    """One pit's survey in a `record_surveys` call (a tuple (pit, rows[, raw[, filename]])
    is taken too). `now`: when the platform received it, if not the call's `now` (a replay
    of surveys received at different times: the simulator's seed)."""

    pit: Pit
    rows: Sequence[SurveyRow] = ()
    raw: Sequence[RawProfile] = ()
    filename: str = ""
    now: datetime.datetime | None = None


def record_survey(pit: Pit, rows: Sequence[SurveyRow], *, source: str = Source.API, actor=None,
                  filename: str = "", now: datetime.datetime | None = None,
                  raw: Sequence[RawProfile] = ()) -> Upload:
    """Store a survey, all or nothing, then assess the pit. Refused with every error at once
    (SurveyRejected): an unknown point, a value that is not a number or is not finite, a unit
    other than the item's, a time in the future or before the point's baseline was measured,
    the same point and time twice, a time already stored with another value, a jump no
    instrument could make (faster than `impossible_rate_factor` × its rate 预警值). A row
    already stored with the same value is acknowledged and ignored (a re-sent upload).

    `raw` inclinometer surveys (A0/A180 readings) are converted against the hole's baseline
    profile first (`_convert_raw`); the upload's `baseline_pending` ({code: (have, need)})
    names the holes whose baseline is still being measured.

    One pit's case of `record_surveys`."""
    [(_, outcome)] = record_surveys([PitSurvey(pit, rows, raw, filename)], source=source,
                                    actor=actor, now=now)
    if isinstance(outcome, SurveyRejected):
        raise outcome
    return outcome


def record_surveys(batches: Iterable[PitSurvey | tuple], *, source: str = Source.API,
                   actor=None, now: datetime.datetime | None = None,
                   ) -> list[tuple[Pit, Upload | SurveyRejected]]:
    """Many pits' surveys at once (an automated platform pushing all its pits, the MQTT job
    draining its messages, the simulator): each pit's survey all or nothing with the checks
    of `record_survey`, validated in memory from a few queries for all pits, the readings in
    one bulk insert, the stored pits assessed together (as `assess_pits` does).

    The stored readings the checks and the assessment need are read once, before the
    insert (`_history`: per point, everything from its pit's earliest new time on and the
    last few before it); the assessment's series are those with the new rows merged in.
    The points are assessed before the insert (`_find`), so that each point's latest
    reading goes in with its cumulative and rate; the points whose level, reasons or
    baseline changed and the pits' colours are written after it (`_save_findings`).

    Returns, in the order given, (pit, its Upload) or (pit, its SurveyRejected) — a refused
    pit stores nothing, the others are stored. An unknown source, a pit given twice, or an
    actor without the right to upload to one of the pits refuses the whole call (DomainError
    / Forbidden, nothing stored)."""
    now = now or timezone.now()
    batches = [b if isinstance(b, PitSurvey) else PitSurvey(*b) for b in batches]
    if actor is not None:
        checked = set()
        for b in batches:
            if b.pit.project_id not in checked:
                permissions.require_upload(actor, b.pit.project)
                checked.add(b.pit.project_id)
    if source not in Source.values:
        raise DomainError(f"未知的数据来源“{source}”", field="source")
    if len({b.pit.pk for b in batches}) != len(batches):
        raise DomainError("同一基坑在一次提交中出现多次", field="pit")
    # what the checks read, and the assessment after the insert (`assess_pits`' `fresh`)
    fresh = Pit.objects.select_related("project").in_bulk([b.pit.pk for b in batches])
    points_of: dict[int, dict[str, _PointRow]] = defaultdict(dict)
    for point in _active_points(fresh):
        points_of[point.pit_id][point.code] = point
    alarms = _alarms_by_grade(selectors.alarm_values())
    params = selectors.params()
    works: list[_Work] = []
    outcomes: dict[int, Upload | SurveyRejected] = {}
    for b in batches:
        if not b.rows and not b.raw:
            outcomes[b.pit.pk] = SurveyRejected([("", "没有任何数据行")])
            continue
        works.append(_validate(b, fresh[b.pit.pk], points_of[b.pit.pk], b.now or now))
    keep = _keep(params)
    history = _history({w.pit.pk: w.first for w in works if w.first is not None}, keep)
    stored = _stored_values(works, history)
    for w in works:
        for single in w.singles:
            row, point, value, _ = single
            old = stored.get((point.pk, row.measured_at))
            if old is None:
                w.new_singles.append(single)
            elif old == value:
                w.dupes += 1
            else:
                w.errors.append((row.where, f"测点 {point.code} 在"
                                            f" {timezone.localtime(row.measured_at):%Y-%m-%d %H:%M}"
                                            f" 已有观测值 {old}，与本次 {value} 不同"))
    series = _check_series([r for w in works for r in w.new_singles], alarms, history,
                           params.baseline_surveys)
    ok = []
    for w in works:
        for point in dict.fromkeys(point for _, point, _, _ in w.new_singles):
            w.errors += series.get(point.pk, [])
        if w.errors:
            outcomes[w.pit.pk] = SurveyRejected(w.errors)
        else:
            ok.append(w)
    _prepare(ok, stored, source=source, actor=actor)
    # the assessment of the pits with new readings, before the insert: each point's latest
    # reading goes in with its findings (`Reading.cumulative`, `.rate`)
    assessed = [w for w in ok if w.readings]
    points = [p for w in assessed for p in w.points.values()]
    found = _find(points, _Series(assessed, history, keep), params, alarms,
                  {w.pit.pk: fresh[w.pit.pk] for w in assessed}, new=_new_values(assessed))
    written = _store(ok, points, source=source, actor=actor) if ok else set()
    n = params.baseline_surveys
    for w in ok:
        w.upload.baseline_pending = {
            code: (len(doc["surveys"]), n) for code, doc in
            ((p.code, w.baselines[p.pk]) for p in w.points.values() if p.pk in w.baselines)
            if doc.get("mean") is None}
        outcomes[w.pit.pk] = w.upload
    if assessed:
        now_of = {w.pit.pk: w.now for w in assessed}
        proposals = _save_findings({w.pit.pk: fresh[w.pit.pk] for w in assessed}, points,
                                   found, now_of, written)
        _proposed([w.pit for w in assessed], proposals, now_of)
    return [(b.pit, outcomes[b.pit.pk]) for b in batches]


@dataclass
class _Work:
    """One pit's survey while `record_surveys` checks and stores it."""

    pit: Pit
    now: datetime.datetime
    fresh: Pit
    points: dict
    filename: str
    errors: list
    singles: list  # (row, point, value, None)
    profiles: dict  # {(point, time): [(depth, value), …]}
    received: dict
    baselines: dict
    dupes: int
    first: datetime.datetime | None = None  # the earliest time its checked rows bring
    new_singles: list = field(default_factory=list)  # (row, point, value, None) not yet stored
    new_profiles: list = field(default_factory=list)  # (point, time, [(depth, value), …])
    readings: list = field(default_factory=list)  # (point id, time, value, late), by `_store`
    upload: Upload | None = None


@dataclass(eq=False, slots=True)
class _PointRow:
    """An active point as the survey path reads it (`_active_points`): the columns the
    checks and the assessment use, converted as the ORM converts them, without building a
    `Point` (which costs more than checking its reading). `stored` is what the last
    assessment wrote on the point (FINDING_FIELDS as the database gives them, compared by
    `_kept`); level … reasons are what this assessment finds (cumulative, rate and the
    latest time go on the point's latest reading)."""

    pk: int
    pit_id: int
    code: str
    item: str
    measure: str
    unit: str
    tube_depth_m: Decimal | None
    design_value: Decimal | None
    alarm_cumulative: Decimal | None
    alarm_rate: Decimal | None
    baseline: Decimal | None
    baseline_profile: dict | None
    stored: tuple
    pit: Pit | None = None
    level: str = ""
    cumulative: Decimal | None = None
    rate: Decimal | None = None
    last_measured_at: datetime.datetime | None = None
    reasons: list = field(default_factory=list)

    def get_item_display(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)


ITEM_LABELS = dict(Item.choices)
POINT_COLUMNS = ("id", "pit_id", "code", "item", "tube_depth_m", "design_value",
                 "alarm_cumulative", "alarm_rate", "baseline", "baseline_profile")


def _active_points(pits: dict[int, Pit]) -> list[_PointRow]:
    """The active points of `pits` ({id: pit}), each with its pit set, in pit, item, code
    order (Point's ordering): one query per `CHUNK` pits, its columns converted as the ORM
    would (`_reader`)."""
    out = []
    ids = sorted(pits)
    pg = connection.vendor == "postgresql"
    r_tube, r_design, r_cum, r_rate, _, r_profile = (
        _reader(Point, name) for name in POINT_COLUMNS[4:])
    r_base = _decimal_from_float(Point, "baseline")
    kinds = {item: (measure_of(item), unit_of(item)) for item in Item.values}
    table = Point._meta.db_table
    qn = connection.ops.quote_name
    columns = ", ".join(f"{qn(c)}::float8" if c in FLOAT_READ and pg else qn(c)
                        for c in POINT_COLUMNS + FINDING_FIELDS)
    with connection.cursor() as cursor:
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            cursor.execute(f"SELECT {columns} FROM {table} WHERE active AND pit_id IN"
                           f" ({', '.join(['%s'] * len(chunk))}) ORDER BY pit_id, item, code",
                           chunk)
            for row in cursor.fetchall():
                pk, pit_id, code, item, tube, design, cum, rate, base, profile = row[:10]
                measure, unit = kinds.get(item) or (measure_of(item), unit_of(item))
                out.append(_PointRow(
                    pk, pit_id, code, item, measure, unit,
                    tube if tube is None or r_tube is _same else r_tube(tube),
                    design if design is None or r_design is _same else r_design(design),
                    cum if cum is None or r_cum is _same else r_cum(cum),
                    rate if rate is None or r_rate is _same else r_rate(rate),
                    None if base is None else r_base(base),
                    profile if profile is None else r_profile(profile),
                    row[10:], pits[pit_id]))
    return out


def _reader(model, name):
    """A column's value as a raw cursor gives it → as the ORM gives it (the backend's and
    the field's converters, as the SQL compiler applies them); `_same` when there are
    none."""
    key = (connection.vendor, model, name)
    read = _READERS.get(key)
    if read is None:
        col = model._meta.get_field(name).get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)

        def read(value):
            for converter in converters:
                value = converter(value, col, connection)
            return value

        _READERS[key] = read = read if converters else _same
    return read


def _same(value):
    return value


_READERS: dict = {}


#: Point's decimals `_active_points` reads as floats (float8 on PostgreSQL: psycopg builds a
#: float faster than a Decimal), made the ORM's Decimal by `_decimal_from_float`
FLOAT_READ = frozenset({"baseline"})


def _decimal_from_float(model, name):
    """A decimal column read as a float → the ORM's Decimal: SQLite's converter (15
    significant digits, then the field's places and digits), which gives back a
    PostgreSQL numeric of at most 15 digits exactly too."""
    key = ("float", model, name)
    read = _READERS.get(key)
    if read is None:
        field_ = model._meta.get_field(name)
        places = Decimal(1).scaleb(-field_.decimal_places)
        context = decimal.Context(prec=field_.max_digits)

        def read(value):
            return _FROM_FLOAT(value).quantize(places, context=context)

        _READERS[key] = read
    return read


def _alarms_by_grade(rows) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for row in rows:
        out[row.grade].append(row)
    return out


def _validate(b: PitSurvey, fresh: Pit, points: dict[str, _PointRow], now) -> _Work:
    """The checks of one pit's survey that need nothing stored but its points."""
    errors: list[tuple[str, str]] = []
    rows = list(b.rows)
    direct = {id(row) for row in rows}
    converted, baselines, raw_dupes = (_convert_raw(b.raw, points, errors, now) if b.raw
                                       else ([], {}, 0))
    rows += converted
    clean: list[tuple[SurveyRow, _PointRow, Decimal, Decimal | None]] = []
    seen: set[tuple] = set()
    latest = now + CLOCK_SKEW
    for row in rows:
        point = points.get((row.point or "").strip())
        if point is None:
            errors.append((row.where, f"测点“{row.point}”不存在或已停用（本基坑无此测点）"))
            continue
        value = _decimal(row.value)
        if value is None:
            errors.append((row.where, f"测点 {point.code} 的观测值“{row.value}”不是有效数字"))
            continue
        if row.unit and row.unit.strip() != point.unit:
            errors.append((row.where, f"测点 {point.code}（{point.get_item_display()}）的单位应为"
                                      f" {point.unit}，而不是 {row.unit.strip()}"))
            continue
        at = row.measured_at
        if at is None or at.utcoffset() is None:
            errors.append((row.where, f"测点 {point.code} 的观测时间缺失或无时区"))
            continue
        if at > latest:
            errors.append((row.where, f"测点 {point.code} 的观测时间"
                                      f" {timezone.localtime(at):%Y-%m-%d %H:%M} 晚于当前时间"))
            continue
        depth = None
        if row.depth_m not in (None, ""):
            if point.item != Item.DEEP_HORIZONTAL:
                errors.append((row.where, f"测点 {point.code} 不是测斜孔，不能填写深度"))
                continue
            if id(row) in direct and point.baseline_profile is not None:
                errors.append((row.where, f"测斜孔 {point.code} 按 A0/A180 读数上传（由平台换算"
                                          "位移），请继续上传读数，不要混用累计位移"))
                continue
            depth = _decimal(row.depth_m)
            if depth is None or depth < 0 or (point.tube_depth_m and depth > point.tube_depth_m):
                errors.append((row.where, f"测斜孔 {point.code} 的深度“{row.depth_m}”无效"
                                          f"（0 ~ {point.tube_depth_m or '管深'} m）"))
                continue
        key = (point.code, at, depth)
        if key in seen:
            errors.append((row.where, f"测点 {point.code} 在"
                                      f" {timezone.localtime(at):%Y-%m-%d %H:%M}"
                                      f"{f' 深度 {depth} m' if depth is not None else ''} 重复出现"))
            continue
        seen.add(key)
        clean.append((row, point, value, depth))
    profiles, singles = _split_profiles(clean, errors)
    received = {(point, row.measured_at): row.received_at for row, point, _, depth in clean
                if depth is not None and row.received_at is not None}
    times = [row.measured_at for row, _, _, _ in singles] + [at for _, at in profiles]
    return _Work(pit=b.pit, now=now, fresh=fresh, points=points, filename=b.filename,
                 errors=errors,
                 singles=singles, profiles=profiles, received=received, baselines=baselines,
                 dupes=raw_dupes, first=min(times, default=None))


def _prepare(works: list[_Work], stored: dict, *, source, actor) -> None:
    """The checked surveys' uploads (not saved yet) and new readings (`_Work.readings`)."""
    upload_within = datetime.timedelta(hours=selectors.parameter("upload_within_hours", 24))
    for w in works:
        w.upload = Upload(
            pit=w.pit, source=source, uploaded_by=actor if actor is not None else None,
            enterprise_id=w.fresh.monitoring_company_id if actor is not None else None,
            filename=w.filename[:200], received_at=w.now)
        mine = [(point.pk, row.measured_at, value,
                 (row.received_at or w.now) - row.measured_at > upload_within)
                for row, point, value, _ in w.new_singles]
        w.new_profiles = [(point, at, depths) for (point, at), depths in w.profiles.items()
                          if (point.pk, at) not in stored]
        w.dupes += len(w.profiles) - len(w.new_profiles)
        peaks = [(point.pk, at, max((v for _, v in depths), key=abs),
                  w.received.get((point, at), w.now) - at > upload_within)
                 for point, at, depths in w.new_profiles]
        w.readings = mine + peaks
        times = [r[1] for r in w.readings]
        w.upload.readings = len(w.readings)
        w.upload.duplicates = w.dupes
        w.upload.late = sum(r[3] for r in w.readings)
        w.upload.first_measured_at = min(times, default=None)
        w.upload.last_measured_at = max(times, default=None)


def _store(works: list[_Work], points: list[_PointRow], *, source, actor) -> set[int]:
    """The checked surveys (`_prepare`d): an upload each, all their readings in one insert
    (`_insert_readings`), each point's latest reading with the findings `_find` gave the
    point (`points`). Returns the ids of the points whose latest reading went in so."""
    found = {p.pk: p for p in points}
    written = set()
    rows = []
    with transaction.atomic():
        Upload.objects.bulk_create([w.upload for w in works])
        for w in works:
            upload = w.upload.pk
            for pk, at, value, late in w.readings:
                point = found.get(pk)
                if point is not None and at == point.last_measured_at:
                    rows.append((pk, at, value, upload, late, point.cumulative, point.rate))
                    written.add(pk)
                else:
                    rows.append((pk, at, value, upload, late, None, None))
        _insert_readings(rows)
        profile_rows = [ProfileReading(point_id=point.pk, measured_at=at, depth_m=d,
                                       displacement_mm=v)
                        for w in works for point, at, depths in w.new_profiles for d, v in depths]
        ProfileReading.objects.bulk_create(profile_rows, batch_size=2000)
        for w in works:
            by_pk = {p.pk: p for p in w.points.values()} if w.baselines else {}
            for point_id, doc in w.baselines.items():
                Point.objects.filter(pk=point_id).update(baseline_profile=doc)
                by_pk[point_id].baseline_profile = doc
            if actor is not None:
                audit.record(actor, w.upload, AuditAction.CREATE,
                             {"readings": w.upload.readings, "source": source,
                              "filename": w.filename}, project=w.pit.project)
    return written


def _insert_readings(rows: list[tuple]) -> None:
    """Reading rows (point id, measured_at, value, upload id, late, cumulative, rate) in one
    statement: a prepared INSERT run for every row on SQLite, an INSERT … SELECT FROM
    unnest(arrays) on PostgreSQL — the values as `bulk_create` would send them, without
    building a model instance per row (which costs more than the insert)."""
    if not rows:
        return
    meta = Reading._meta
    qn = connection.ops.quote_name
    names = ("point", "measured_at", "value", "upload", "late", "cumulative", "rate")
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(qn(f.column) for f in fields)
    table = qn(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            adapt = _Memo(connection.ops.adapt_datetimefield_value)  # a survey shares its time
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(pk, adapt(at), *rest) for pk, at, *rest in rows])
            return
        types = [f.rel_db_type(connection) if f.is_relation else f.db_type(connection)
                 for f in fields]
        types = [t.split("(")[0] for t in types]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})",
                       [_array_literal(column) if t in _LITERAL_TYPES else list(column)
                        for column, t in zip(zip(*rows, strict=True), types, strict=True)])


def _convert_raw(raw, points, errors, now) -> tuple[list[SurveyRow], dict, int]:
    """Raw inclinometer surveys as displacement rows, the holes' new baseline documents, and
    how many surveys were re-sent baseline surveys (duplicates).

    A hole uploaded as A0/A180 keeps its baseline in `Point.baseline_profile`:
    {"surveys": [{"at", "received_at", "depths", "positions"}, …], "mean": [...] | None,
    "depths": [...] | None}. Its first `baseline_surveys` surveys (by time) are only kept
    there, as position profiles (mm, from the fixed bottom up), until the last of them
    arrives; then the baseline is their mean and all of them are stored as displacements
    (position − baseline, which for the baseline surveys is their scatter around it), with
    the time each first arrived (for "late"). Every later survey is stored as its
    displacement at once. A survey timed before the baseline was complete that is not one of
    its surveys is refused, as is a baseline survey re-sent with other readings."""
    n = selectors.params().baseline_surveys
    by_point: dict = defaultdict(list)
    for survey in raw:
        code = (survey.point or "").strip()
        point = points.get(code)
        if point is None:
            errors.append((survey.where, f"测点“{survey.point}”不存在或已停用（本基坑无此测点）"))
            continue
        if point.item != Item.DEEP_HORIZONTAL:
            errors.append((survey.where, f"测点 {code} 不是测斜孔，不能上传 A0/A180 读数"))
            continue
        at = survey.measured_at
        if at is None or timezone.is_naive(at):
            errors.append((survey.where, f"测斜孔 {code} 的观测时间缺失或无时区"))
            continue
        when = f"{timezone.localtime(at):%Y-%m-%d %H:%M}"
        try:
            position = inclinometer.position(survey.readings, k=survey.k, interval=survey.interval)
        except ValueError as exc:
            errors.append((survey.where, f"测斜孔 {code} {when}：{exc}"))
            continue
        if point.tube_depth_m is not None and position.depths[-1] > float(point.tube_depth_m):
            errors.append((survey.where, f"测斜孔 {code} {when}：深度 "
                                         f"{inclinometer.fmt_depth(position.depths[-1])} m 超过管深"
                                         f" {point.tube_depth_m} m"))
            continue
        by_point[point].append((survey, position))
    out: list[SurveyRow] = []
    docs: dict = {}
    dupes = 0
    for point, surveys in by_point.items():
        doc = point.baseline_profile
        if doc is None:
            if ProfileReading.objects.filter(point_id=point.pk).exists():
                errors.append((surveys[0][0].where,
                               f"测斜孔 {point.code} 已按累计位移上传，不能改为 A0/A180 读数"))
                continue
            doc = {"surveys": [], "mean": None, "depths": None}
        doc = {**doc, "surveys": list(doc["surveys"])}
        kept = {datetime.datetime.fromisoformat(s["at"]): s for s in doc["surveys"]}
        seen = set()
        for survey, position in sorted(surveys, key=lambda s: s[0].measured_at):
            at, where = survey.measured_at, survey.where
            when = f"{timezone.localtime(at):%Y-%m-%d %H:%M}"
            if at in seen:
                errors.append((where, f"测斜孔 {point.code} 在 {when} 重复出现"))
                continue
            seen.add(at)
            old = kept.get(at)
            if old is not None:
                if not _same_profile(old, position):
                    errors.append((where, f"测斜孔 {point.code} 在 {when} 的初始观测已有不同读数"))
                elif doc["mean"] is None:
                    dupes += 1
                else:  # a re-sent baseline survey: its stored displacement says "duplicate"
                    out += _displacement_rows(point, at, position, doc, where, errors)
                continue
            if doc["mean"] is None:
                entry = {"at": at.isoformat(), "received_at": now.isoformat(),
                         "depths": list(position.depths), "positions": list(position.values)}
                doc["surveys"].append(entry)
                kept[at] = entry
                if len(doc["surveys"]) >= n:
                    out += _complete_baseline(point, doc, n, where, errors)
                continue
            end = max(kept)
            if at < end:
                errors.append((where, f"测斜孔 {point.code} 的观测时间 {when} 早于其初始剖面测定完成"
                                      f"（{timezone.localtime(end):%Y-%m-%d %H:%M}）"))
                continue
            out += _displacement_rows(point, at, position, doc, where, errors)
        docs[point.pk] = doc
    return out, docs, dupes


def _same_profile(entry: dict, position: inclinometer.Profile) -> bool:
    return (len(entry["depths"]) == len(position.depths) and all(
        abs(a - b) < 1e-6 for a, b in zip(entry["depths"], position.depths, strict=True)) and all(
        abs(a - b) < 1e-6 for a, b in zip(entry["positions"], position.values, strict=True)))


def _complete_baseline(point, doc, n, where, errors) -> list[SurveyRow]:
    """The baseline from the first `n` surveys; their rows as displacements from it."""
    doc["surveys"].sort(key=lambda s: datetime.datetime.fromisoformat(s["at"]))
    first = [inclinometer.Profile(tuple(s["depths"]), tuple(s["positions"]))
             for s in doc["surveys"][:n]]
    try:
        mean = inclinometer.baseline(first, n)
    except ValueError as exc:
        errors.append((where, f"测斜孔 {point.code} 的初始剖面：{exc}"))
        return []
    doc["mean"], doc["depths"] = list(mean.values), list(mean.depths)
    out = []
    for entry, profile in zip(doc["surveys"], first, strict=False):
        at = datetime.datetime.fromisoformat(entry["at"])
        out += _displacement_rows(point, at, profile, doc, where, errors,
                                  received_at=datetime.datetime.fromisoformat(entry["received_at"]))
    return out


def _displacement_rows(point, at, position, doc, where, errors, *,
                       received_at=None) -> list[SurveyRow]:
    initial = inclinometer.Profile(tuple(doc["depths"]), tuple(doc["mean"]))
    try:
        moved = inclinometer.displacement(position, initial)
    except ValueError as exc:
        errors.append((where, f"测斜孔 {point.code} {timezone.localtime(at):%Y-%m-%d %H:%M}：{exc}"))
        return []
    return [SurveyRow(point=point.code, measured_at=at, value=f"{value:.3f}", depth_m=depth,
                      where=where, received_at=received_at)
            for depth, value in zip(moved.depths, moved.values, strict=True)]


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e9"):
        return None
    return number.quantize(Decimal("0.001"))


def _split_profiles(clean, errors):
    """Inclinometer rows (with a depth) grouped into profiles by (point, time); the others."""
    profiles: dict[tuple, list] = defaultdict(list)
    singles = []
    for row, point, value, depth in clean:
        if depth is None:
            if point.item == Item.DEEP_HORIZONTAL:
                errors.append((row.where, f"测斜孔 {point.code} 的数据须按深度逐行填写"))
                continue
            singles.append((row, point, value, depth))
        else:
            profiles[(point, row.measured_at)].append((depth, value))
    for (point, at), depths in profiles.items():
        if len(depths) < 2:
            errors.append(("", f"测斜孔 {point.code} 在 {timezone.localtime(at):%Y-%m-%d %H:%M}"
                               " 只有一个深度的数据，不成剖面"))
        depths.sort()
    return profiles, singles


def _keep(params) -> int:
    """How many of a point's last readings its assessment reads."""
    return max(params.consecutive + 1, 2)


class _History:
    """The stored readings of the points of some pits, as `_history` read them: one flat
    list of (measured_at, value) in point, time order, and each
    point's slice of it (one list, not a list per point: the survey path keeps 55,000
    points' readings in memory, and the garbage collector walks every container). Values
    are floats (SQLite's REAL; PostgreSQL's numeric read as float8)."""

    __slots__ = ("entries", "span")

    def __init__(self):
        self.entries: list[tuple] = []
        self.span: dict[int, tuple[int, int]] = {}

    def last(self, pk: int, n: int) -> list[tuple]:
        start, end = self.span.get(pk, (0, 0))
        return self.entries[max(start, end - n):end]

    def after(self, pk: int, at: datetime.datetime) -> list[tuple]:
        """The point's readings from `at` on, and the last one before it."""
        start, end = self.span.get(pk, (0, 0))
        if start == end:
            return []
        if self.entries[end - 1][0] < at:
            return self.entries[end - 1:end]
        i = bisect.bisect_left(self.entries, at, lo=start, hi=end, key=_time)
        return self.entries[max(i - 1, start):end]


def _time(entry):
    return entry[0]


def _history(firsts: dict[int, datetime.datetime | None], keep: int) -> _History:
    """The stored readings of every active point of the pits `firsts` names ({pit id: the
    earliest time its survey brings, or None}): every reading from that time on and the
    last `keep` before it (the last `keep` when None). Values as floats (`_stored_decimal`
    makes them what the ORM gives). One query per `CHUNK` pits, each
    point's readings found through the (point, measured_at) index whatever the length of
    its history."""
    out = _History()
    if not firsts:
        return out
    table, points = Reading._meta.db_table, Point._meta.db_table
    never = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)  # before it: everything
    ids = sorted(firsts)
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            times = [firsts[pk] or never for pk in chunk]
            if connection.vendor == "postgresql":
                # the value as a float8 (psycopg builds a float faster than a Decimal;
                # `_stored_decimal` gives back the stored numeric exactly), the time as
                # microseconds (`_raw_time`)
                cursor.execute(
                    f"SELECT p.id, {_raw_time('x.measured_at')}, x.value::float8"
                    f" FROM unnest(%s::bigint[], %s::timestamptz[]) AS f(pit_id, first)"
                    f" JOIN {points} p ON p.pit_id = f.pit_id AND p.active"
                    f" CROSS JOIN LATERAL ("
                    f"(SELECT measured_at, value FROM {table} WHERE point_id = p.id"
                    f" AND measured_at < f.first ORDER BY measured_at DESC LIMIT {int(keep)})"
                    f" UNION ALL (SELECT measured_at, value FROM {table} WHERE point_id = p.id"
                    f" AND measured_at >= f.first)) AS x"
                    f" ORDER BY p.id, x.measured_at", [chunk, times])
            else:
                adapt = connection.ops.adapt_datetimefield_value
                # the k-th last reading before the first time is the lower end of the
                # point's index range (SQLite evaluates it once per point); the time as
                # text (`_raw_time`)
                cursor.execute(
                    f"WITH f(pit_id, first) AS (VALUES"
                    f" {', '.join(['(%s, %s)'] * len(chunk))})"
                    f" SELECT p.id, {_raw_time('r.measured_at')}, r.value"
                    f" FROM f CROSS JOIN {points} p CROSS JOIN {table} r"
                    f" WHERE p.pit_id = f.pit_id AND p.active AND r.point_id = p.id"
                    f" AND r.measured_at >= COALESCE((SELECT measured_at FROM {table}"
                    f" WHERE point_id = p.id AND measured_at < f.first"
                    f" ORDER BY measured_at DESC LIMIT 1 OFFSET {int(keep) - 1}), '')"
                    f" ORDER BY p.id, r.measured_at",
                    [x for pk, at in zip(chunk, times, strict=True) for x in (pk, adapt(at))])
            rows += cursor.fetchall()
    aware = _AwareTimes()
    out.entries = [(aware[at], value) for _, at, value in rows]
    start = 0
    for pk, same in itertools.groupby(row[0] for row in rows):
        end = start + len(list(same))
        out.span[pk] = (start, end)
        start = end
    return out


class _AwareTimes(dict):
    """{a datetime column as a raw cursor gives it: its aware datetime}, each parsed once."""

    def __missing__(self, at):
        value = self[at] = _aware(at)
        return value


def _stored_decimal(value) -> Decimal:
    """A stored reading's value as `_history` read it (a float) → the Decimal the ORM
    gives: SQLite's converter (15 significant digits, then the field's places), which
    gives back PostgreSQL's numeric(12, 3) exactly too (at most 12 digits survive the
    float)."""
    return _FROM_FLOAT(value).quantize(_THOUSANDTHS, context=_VALUE_CONTEXT)


_FROM_FLOAT = decimal.Context(prec=15).create_decimal_from_float
_THOUSANDTHS = Decimal(1).scaleb(-Reading._meta.get_field("value").decimal_places)
_VALUE_CONTEXT = decimal.Context(prec=Reading._meta.get_field("value").max_digits)


def _stored_values(works, history: _History) -> dict:
    """What is already stored at the times these surveys bring: {(point id, time): value}
    for every stored reading of their points from their pit's earliest new time on (what
    `_history` read; the surveys' times are all among them or not stored)."""
    stored = {}
    entries, span = history.entries, history.span
    for w in works:
        if w.first is None:
            continue
        for point in w.points.values():
            start, end = span.get(point.pk, (0, 0))
            if start == end or entries[end - 1][0] < w.first:
                continue
            for at, value in history.after(point.pk, w.first):
                if at >= w.first:
                    stored[(point.pk, at)] = _stored_decimal(value)
    return stored


def _check_series(new_rows, alarms: dict[int, list], history: _History,
                  baseline_n: int) -> dict[int, list[tuple[str, str]]]:
    """Times before a point's baseline, and jumps no instrument makes, against what is
    stored (`history`, as `_history` read it) and within the surveys: {point id: its
    errors}. `alarms`: {grade: alarm rows}. `new_rows`: (row, point, value, _)."""
    errors: dict[int, list] = defaultdict(list)
    if not new_rows:
        return errors
    factor = selectors.parameter("impossible_rate_factor", 10)
    limits_of = _limits_memo(alarms)
    # each point's rows together, in time order (a point's times are unique)
    new_rows = sorted(new_rows, key=lambda r: (r[1].pk, r[0].measured_at))
    groups = []
    start = 0
    for i in range(1, len(new_rows) + 1):
        if i == len(new_rows) or new_rows[i][1] is not new_rows[start][1]:
            groups.append((start, i))
            start = i
    ended = _baselines_ended([(new_rows[a][1], new_rows[a][0].measured_at) for a, _ in groups],
                             history, baseline_n)
    deforming = (Measure.DEFORMATION, Measure.WATER)
    for a, b in groups:
        point = new_rows[a][1]
        rows = [(row.measured_at, value, row.where) for row, _, value, _ in new_rows[a:b]]
        baseline_end = ended.get(point.pk)
        if point.baseline is not None and baseline_end is not None:
            for at, _, where in rows:
                if at < baseline_end:
                    errors[point.pk].append((where, f"测点 {point.code} 的观测时间早于其初始值测定完成"
                                            f"（{timezone.localtime(baseline_end):%Y-%m-%d %H:%M}）"))
        if point.measure not in deforming:
            continue
        limits = limits_of(point)
        if not limits.rate:
            continue
        # the stored readings a jump check compares the new ones with: every one from the
        # point's earliest new time on, and the last one before it; marked None (a new
        # row's `where` may be empty)
        before = [(at, _stored_decimal(v), None) for at, v in history.after(point.pk, rows[0][0])]
        merged = before + rows
        if before and before[-1][0] > rows[0][0]:  # stored readings among the new ones
            merged.sort(key=_time)
        most = factor * limits.rate
        for (at0, v0, _), (at1, v1, where) in itertools.pairwise(merged):
            if where is None:
                continue
            days = max((at1 - at0).total_seconds() / 86400, 1 / 24)
            if abs(float(v1 - v0)) / days > most:
                errors[point.pk].append((where, f"测点 {point.code} 在"
                                         f" {timezone.localtime(at1):%Y-%m-%d %H:%M} 的变化"
                                         f" {float(v1 - v0):+.2f} {point.unit}（{days:.2f} 天）不可能："
                                         f"超过速率预警值的 {factor:g} 倍，请核对数据"))
    return errors


def _baselines_ended(firsts, history: _History, baseline_n: int) -> dict:
    """{point id: when its `baseline_n`-th stored reading was measured} for the points of
    the surveys ((point, its earliest new time) pairs) with a baseline and stored readings
    from that time on (late data; for the others every new row is after it): one query
    per `CHUNK` of them."""
    late = []
    for point, first in firsts:
        start, end = history.span.get(point.pk, (0, 0))
        if point.baseline is not None and end > start and history.entries[end - 1][0] >= first:
            late.append(point.pk)
    out = {}
    for i in range(0, len(late), CHUNK):
        readings = Reading.objects.filter(point=OuterRef("pk")).order_by("measured_at")
        out.update(Point.objects.filter(pk__in=late[i:i + CHUNK]).annotate(
            nth=Subquery(readings.values("measured_at")[baseline_n - 1:baseline_n]))
            .values_list("pk", "nth"))
    return out


class _Series:
    """The assessment's series of the stored surveys' points ({point id: its last `keep`
    readings as (measured_at, value as a float) in time order}, `get` as a dict's), made
    when asked from what `_history` read before the insert and the rows to insert."""

    def __init__(self, works: list[_Work], history: _History, keep: int):
        self.history, self.keep = history, keep
        new: dict[int, tuple] = {}
        for w in works:
            for pk, at, value, _ in w.readings:
                new[pk] = (*new.get(pk, ()), (at, float(value)))
        self.new = new

    def get(self, pk: int, default=None) -> list:
        mine = [(at, float(v)) for at, v in self.history.last(pk, self.keep)]
        if pk in self.new:
            mine = sorted(mine + list(self.new[pk]), key=_time)[-self.keep:]
        return mine or default


# ---------------------------------------------------------------- assessment


def _limits(point, rows):
    pit = point.pit
    return resolve_limits(measure=point.measure, item=point.item, grade=pit.safety_grade,
                          retaining=pit.retaining, depth_m=float(pit.design_depth_m), rows=rows,
                          design_cumulative=point.alarm_cumulative, design_rate=point.alarm_rate)


def _limits_memo(alarms: dict[int, list]):
    """`_limits` of a point, worked out once per kind of point (item, pit grade, retaining,
    depth, designer's values) for a batch. `alarms`: {grade: alarm rows}."""
    memo: dict[tuple, object] = {}

    def limits_of(point):
        pit = point.pit
        key = (point.item, pit.safety_grade, pit.retaining, pit.design_depth_m,
               point.alarm_cumulative, point.alarm_rate)
        if key not in memo:
            memo[key] = _limits(point, alarms.get(pit.safety_grade, []))
        return memo[key]

    return limits_of


def assess_pit(pit: Pit, *, now: datetime.datetime | None = None,
               alarm_rows=None, params=None) -> Proposal:
    """Assess every active point of the pit after new data, store each point's level and the
    pit's proposed colour, and raise (or recover) the pit's warning event."""
    return assess_pits([pit], now=now, alarm_rows=alarm_rows, params=params)[pit.pk]


def assess_pits(pits: Iterable[Pit], *, now: datetime.datetime | dict | None = None,
                alarm_rows=None, params=None) -> dict[int, Proposal]:
    """`assess_pit` for many pits in a few queries: the last readings of all their active
    points (`_history`, per `CHUNK` pits), baselines for the points still without one
    (`_find`), then (`_save_findings`) the points whose level, reasons or baseline changed
    and the pits' proposals in one prepared UPDATE each, the latest readings whose
    cumulative or rate changed, the colour changes in one insert, the open events
    refreshed together (`refresh_events`), `raise_event` only for a new colour's event,
    `recover_events` for the pits whose colour's event ended. Returns {pit id: proposal};
    the given pit objects get their proposed colour, reasons and assessed_at. `now` may be
    {pit id: time} (a replay)."""
    pits = list(pits)
    if not isinstance(now, dict):
        now = dict.fromkeys((p.pk for p in pits), now or timezone.now())
    params = params or selectors.params()
    alarms = _alarms_by_grade(alarm_rows if alarm_rows is not None else selectors.alarm_values())
    keep = _keep(params)
    with transaction.atomic():
        fresh = Pit.objects.select_related("project").in_bulk([p.pk for p in pits])
        points = _active_points(fresh)
        recent = _Series([], _history(dict.fromkeys(fresh), keep), keep)
        found = _find(points, recent, params, alarms, fresh)
        proposals = _save_findings(fresh, points, found, now)
    _proposed(pits, proposals, now)
    return proposals


def _proposed(pits: list[Pit], proposals: dict[int, Proposal], now: dict) -> None:
    for pit in pits:
        pit.proposed_colour, pit.proposed_reasons, pit.assessed_at = (
            proposals[pit.pk].colour, proposals[pit.pk].reasons, now[pit.pk])


def _find(points: list[_PointRow], recent: _Series, params, alarms: dict[int, list],
          fresh: dict[int, Pit], *, new: dict | None = None) -> dict[int, list]:
    """Assess the points (active points of the pits `fresh` names, as `_active_points`
    read them) in memory: each gets the baseline its first surveys give, if it had none
    (`_baselines`; `new`: {point id: [(time, value)]} not stored yet), and its finding
    (`_set_finding`). Returns {pit id: [(point code, finding)]} of the findings that make
    a colour. `recent`: their last readings (`_Series`)."""
    _baselines(points, params, new)
    slabs = {pk: (timezone.make_aware(datetime.datetime.combine(p.base_slab_on,
                                                                datetime.time()))
                  if p.base_slab_on is not None else None) for pk, p in fresh.items()}
    limits_of = _limits_memo(alarms)
    findings: dict[int, list[tuple[str, Finding]]] = {}
    for point in points:
        mine = recent.get(point.pk, [])
        finding = assess_point(mine, limits_of(point), params, baseline=_baseline(point),
                               design_value=point.design_value,
                               slab_cast_at=slabs[point.pit_id])
        _set_finding(point, finding, mine)
        if finding.level in SEVERE:  # only they make a colour (`propose`)
            findings.setdefault(point.pit_id, []).append((point.code, finding))
    return findings


def _new_values(works: list[_Work]) -> dict[int, list]:
    """{point id: [(time, value as the ORM gives it)]} of the surveys' new readings."""
    out: dict[int, list] = defaultdict(list)
    for w in works:
        for pk, at, value, _ in w.readings:
            out[pk].append((at, value))
    return out


def _save_findings(fresh: dict[int, Pit], points: list[_PointRow], found: dict[int, list],
                   now: dict, written: set[int] | frozenset = frozenset()) -> dict[int, Proposal]:
    """What `_find` found: the points whose level, reasons or baseline changed (one prepared
    UPDATE), the cumulative and rate of every point's latest reading where they changed
    (but for the points in `written`: their latest reading was inserted with them), and the
    pits' proposals (`_store_proposals`). Returns {pit id: proposal}."""
    with transaction.atomic():
        _update_rows(Point, [p for p in points if not _kept(p)], FINDING_FIELDS)
        _update_latest([p for p in points
                        if p.last_measured_at is not None and p.pk not in written])
        proposals = {pk: propose(found.get(pk, ())) for pk in fresh}
        _store_proposals(fresh, proposals, now)
    return proposals


def _update_latest(points: list[_PointRow]) -> None:
    """The points' findings (cumulative, rate) on their latest readings, where these carry
    others (late data between stored surveys, a baseline or design value that changed, a
    reading stored without an assessment): one query per `CHUNK` points for what the
    readings carry (`selectors.with_latest`), one prepared UPDATE for those that differ."""
    stale = []
    for i in range(0, len(points), CHUNK):
        chunk = points[i:i + CHUNK]
        carried = {pk: rest for pk, *rest in selectors.with_latest(
            Point.objects.filter(pk__in=[p.pk for p in chunk]).order_by())
            .values_list("pk", "last_measured_at", "cumulative", "rate")}
        stale += [p for p in chunk
                  if carried.get(p.pk) != [p.last_measured_at, p.cumulative, p.rate]]
    if not stale:
        return
    meta = Reading._meta
    qn = connection.ops.quote_name
    at = _Memo(connection.ops.adapt_datetimefield_value)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {qn(meta.db_table)} SET {qn('cumulative')} = %s, {qn('rate')} = %s"
            f" WHERE {qn(meta.get_field('point').column)} = %s AND {qn('measured_at')} = %s",
            [(p.cumulative, p.rate, p.pk, at(p.last_measured_at)) for p in stale])


#: the levels `propose` takes into a pit's colour and reasons (it skips the others)
SEVERE = frozenset(level for level, order in LEVEL_ORDER.items()
                   if order >= LEVEL_ORDER[Level.WARNING])


#: what the assessment keeps on the point (its cumulative, rate and latest time are its
#: latest reading's: `Reading.cumulative`, `selectors.with_latest`)
FINDING_FIELDS = ("level", "reasons", "baseline")
PROPOSAL_FIELDS = ("proposed_colour", "proposed_reasons", "assessed_at")
#: ids per IN list / pits per window query (SQLite's variable limit, PostgreSQL's plans)
CHUNK = 500


def _kept(point: _PointRow) -> bool:
    """Whether the point's level, reasons and baseline are what the last assessment stored.
    The baseline: `_baselines` sets only a missing one."""
    level, reasons, baseline = point.stored
    if level != point.level or (baseline is None and point.baseline is not None):
        return False
    if not point.reasons:  # most points: compare without reading the stored JSON
        return reasons in _NO_REASONS
    return reasons is not None and _reader(Point, "reasons")(reasons) == list(point.reasons)


#: an empty reasons list as a raw cursor gives it (text, or a list if the driver parses it)
_NO_REASONS = ("[]", [])


def _update_rows(model, objs: list, names: Sequence[str]) -> None:
    """The `names` fields of `objs`: one prepared UPDATE run for every row (`bulk_update`'s
    CASE expressions cost more than the assessment itself)."""
    if not objs:
        return
    fields = [model._meta.get_field(name) for name in names]
    table = connection.ops.quote_name(model._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    prepare = [_preparer(f) for f in fields]
    columns = [[prep(value) for value in map(operator.attrgetter(f.attname), objs)]
               for f, prep in zip(fields, prepare, strict=True)] + [[o.pk for o in objs]]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":  # SQLite runs a prepared statement fastest
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s",
                               list(zip(*columns, strict=True)))
            return
        # PostgreSQL: one statement joined to the values as arrays (executemany would pay a
        # round trip per row, a VALUES list a cast per value)
        qn = connection.ops.quote_name
        pk = model._meta.pk
        # JSON goes as text, parsed by the server (psycopg's Jsonb dumps each in Python)
        types = [f.db_type(connection).split("(")[0] for f in fields] + [
            pk.rel_db_type(connection)]
        names = ", ".join([qn(f.column) for f in fields] + ["id"])
        sets = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" + ("::jsonb" if t == "jsonb" else "")
                         for f, t in zip(fields, types, strict=False))
        arrays = ", ".join(f"%s::{'text' if t == 'jsonb' else t}[]" for t in types)
        cursor.execute(f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS v({names})"
                       f" WHERE t.id = v.id",
                       [_array_literal(c) if t in _LITERAL_TYPES else c
                        for c, t in zip(columns, types, strict=True)])


#: column types whose arrays `_update_rows` sends as one array literal (psycopg dumps an
#: array element by element, which cost more than the UPDATE itself)
_LITERAL_TYPES = frozenset({"numeric", "integer", "bigint", "timestamp with time zone",
                            "boolean"})


def _array_literal(values: Sequence) -> str | list:
    """Numbers, booleans or aware datetimes → a PostgreSQL array literal ("{1.5,NULL,…}"),
    cast by the statement; a list of them for anything else (psycopg dumps it)."""
    memo = {}
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif v is True or v is False:
            out.append("t" if v else "f")
        elif isinstance(v, datetime.datetime):
            text = memo.get(v)
            if text is None:
                if v.tzinfo is None:
                    return list(values)
                text = memo[v] = f'"{v.isoformat()}"'
            out.append(text)
        elif isinstance(v, int | Decimal) and not isinstance(v, bool):
            out.append(str(v))
        else:
            return list(values)
    return "{" + ",".join(out) + "}"


def _preparer(field):
    """A field's value as the database takes it, for values the services made themselves
    (Decimals, aware datetimes, text): the backend's adapter without the field's
    conversions (which `get_db_prep_save` would repeat on every row). A datetime is
    prepared once per distinct value (a survey's points share its time), an empty list
    once (most points have no reasons)."""
    ops = connection.ops
    if isinstance(field, models.DecimalField):
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    if isinstance(field, models.DateTimeField):
        return _Memo(ops.adapt_datetimefield_value)
    if isinstance(field, models.CharField):
        return lambda v: v
    if isinstance(field, models.JSONField):
        if connection.vendor == "postgresql":  # text, cast by `_update_rows`
            return lambda v: json.dumps(v, cls=field.encoder) if v else "[]"
        empty = field.get_db_prep_save([], connection)
        return lambda v: field.get_db_prep_save(v, connection) if v else empty
    return lambda v: field.get_db_prep_save(v, connection)


class _Memo(dict):
    """A one-argument function's results by argument (hashable arguments)."""

    def __init__(self, func):
        super().__init__()
        self.func = func

    def __call__(self, value):
        try:
            return self[value]
        except KeyError:
            result = self[value] = self.func(value)
            return result


def _aware(at) -> datetime.datetime:
    """A datetime column as a raw cursor gives it (`_raw_time`): microseconds since the
    epoch from PostgreSQL, UTC text from SQLite (or a datetime)."""
    if isinstance(at, int):
        return EPOCH + datetime.timedelta(microseconds=at)
    if isinstance(at, datetime.datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromisoformat(at).replace(tzinfo=datetime.UTC)


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _raw_time(column: str) -> str:
    """SQL reading a datetime column for `_aware`: as an exact count of microseconds on
    PostgreSQL (psycopg builds a timezone-aware datetime several times slower), as text on
    SQLite (its declared-type converter parses every value; `_aware` parses each distinct
    one once when memoized)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    return f"CAST({column} AS TEXT)"


def _first_readings(points: list[Point], n: int) -> dict[int, list]:
    """{point id: its first `n` readings as (measured_at, value) in time order}, one query
    per `CHUNK` points."""
    out: dict[int, list] = defaultdict(list)
    for i in range(0, len(points), CHUNK):
        rows = (Reading.objects.filter(point__in=[p.pk for p in points[i:i + CHUNK]])
                .annotate(rank=Window(RowNumber(), partition_by=[F("point_id")],
                                      order_by=F("measured_at").asc()))
                .filter(rank__lte=n).values_list("point_id", "measured_at", "value"))
        for point_id, at, value in rows:
            out[point_id].append((at, value))
    for series in out.values():
        series.sort(key=lambda r: r[0])
    return out


def _needs_baseline(point: Point) -> bool:
    return (point.item != Item.DEEP_HORIZONTAL and point.baseline is None
            and point.measure not in (Measure.FORCE, Measure.CRACK))


def _baselines(points: list[Point], params, new: dict | None = None) -> None:
    """Store the baseline (the mean of the first surveys) of the points that have their
    first surveys in and no baseline yet (saved with the points' findings). `new`: {point
    id: [(time, value)]} of readings not stored yet, counted among the first."""
    n = params.baseline_surveys
    wanted = [p for p in points if _needs_baseline(p)]
    first = _first_readings(wanted, n)
    for point in wanted:
        values = first.get(point.pk, [])
        if new and point.pk in new:
            values = sorted(values + new[point.pk], key=_time)[:n]
        values = [v for _, v in values]
        if len(values) >= n:
            point.baseline = sum(values) / len(values)


def _baseline(point: Point) -> float | None:
    """The point's baseline: stored once its first surveys are in (0 for an inclinometer,
    whose profiles are already relative to the baseline profile)."""
    if point.item == Item.DEEP_HORIZONTAL:
        return 0.0
    if point.measure in (Measure.FORCE, Measure.CRACK):
        return None
    return None if point.baseline is None else float(point.baseline)


def _set_finding(point: Point, finding: Finding, recent) -> None:
    def dec(value):
        return None if value is None or not math.isfinite(value) else Decimal(f"{value:.3f}")

    point.level = finding.level
    point.cumulative = dec(finding.cumulative)
    point.rate = dec(finding.rate)
    point.last_measured_at = recent[-1][0] if recent else None
    point.reasons = finding.reasons


def dedup_prefix(pit: Pit) -> str:
    return f"pits:{RULE}:{pit.pk}:"


def _store_proposals(pits: dict[int, Pit], proposals: dict[int, Proposal],
                     times: dict[int, datetime.datetime]) -> None:
    """The pits' proposed colours (one prepared UPDATE), a ColourChange for each that
    changed (one insert), and their warning events: the event of a colour that ended
    recovered, the open events of a colour that holds seen again, the others raised."""
    from smartsite.workorders.models import Event

    changes = []
    for pk, proposal in proposals.items():
        pit = pits[pk]
        if proposal.colour != pit.proposed_colour:
            changes.append(ColourChange(pit=pit, at=times[pk], colour=proposal.colour,
                                        proposed=True, reasons=proposal.reasons))
        pit.proposed_colour, pit.proposed_reasons, pit.assessed_at = (
            proposal.colour, proposal.reasons, times[pk])
    _update_rows(Pit, [pits[pk] for pk in proposals], PROPOSAL_FIELDS)
    ColourChange.objects.bulk_create(changes)
    keys = {pk: f"{dedup_prefix(pits[pk])}{p.colour}" for pk, p in proposals.items()
            if p.colour != Colour.GREEN}
    # The pits' other colours' events have ended (red → yellow, or any → green).
    ended: dict[datetime.datetime, set] = defaultdict(set)
    for key in (Event.objects.filter(scenario=SCENARIO, state__in=OPEN_EVENT_STATES,
                                     recovered_at__isnull=True,
                                     dedup_key__startswith=f"{SCENARIO}:{RULE}:")
                .values_list("dedup_key", flat=True)):
        pk = int(key.split(":")[2])
        if pk in proposals and key != keys.get(pk):
            ended[times[pk]].add(dedup_prefix(pits[pk]))
    for at, prefixes in ended.items():
        prefixes = sorted(prefixes)
        for i in range(0, len(prefixes), 100):
            orders.recover_events(scenario=SCENARIO, prefixes=prefixes[i:i + 100],
                                  keep=set(keys.values()), now=at)
    evidence = {pk: {"pit": pk, "colour": proposals[pk].colour,
                     "reasons": proposals[pk].reasons[:20]} for pk in keys}
    seen = orders.refresh_events({key: (times[pk], evidence[pk]) for pk, key in keys.items()})
    for pk, key in keys.items():
        if key in seen:
            continue
        pit, proposal = pits[pk], proposals[pk]
        red = proposal.colour == Colour.RED
        label = "红" if red else "黄"
        first = proposal.reasons[0] if proposal.reasons else {}
        orders.raise_event(
            scenario=SCENARIO, rule=RULE, project=pit.project,
            dedup_key=key,
            title=f"基坑{label}色预警（平台建议）：{pit.name}"
                  + (f" {first.get('point', '')} {first.get('text', '')}" if first else ""),
            severity="serious" if red else "warning", subject=pit.code,
            evidence=evidence[pk], now=times[pk])


# ---------------------------------------------------------------- judgement


@transaction.atomic
def judge_colour(pit: Pit, *, colour: str, opinion: str, actor,
                 now: datetime.datetime | None = None) -> ColourChange:
    """The design unit's judgement (研判) of the pit's colour, with its opinion. It sets the
    pit's colour and goes into the hash chain of the pit's open warning orders."""
    now = now or timezone.now()
    permissions.require_judge(actor, pit.project)
    if colour not in Colour.values:
        raise DomainError(f"未知的颜色“{colour}”", field="colour")
    opinion = (opinion or "").strip()
    if not opinion:
        raise DomainError("研判须填写意见", field="opinion")
    pit = Pit.objects.select_for_update().get(pk=pit.pk)
    change = ColourChange.objects.create(pit=pit, at=now, colour=colour, proposed=False,
                                         actor=actor, reasons=pit.proposed_reasons,
                                         opinion=opinion)
    before = audit.snapshot(pit)
    pit.colour = colour
    pit.save(update_fields=["colour", "updated"])
    audit.record(actor, pit, AuditAction.UPDATE, audit.diff(before, audit.snapshot(pit)),
                 project=pit.project)
    text = f"设计单位研判：{Colour(colour).label}。{opinion}"
    for order in open_orders(pit):
        orders.act(order, Action.COMMENT, actor, version=order.version, comment=text, now=now)
    return change


def open_orders(pit: Pit) -> list:
    from smartsite.workorders.models import WorkOrder

    return list(WorkOrder.objects.filter(events__dedup_key__startswith=dedup_prefix(pit),
                                         state__in=OPEN_ORDER_STATES).distinct())
