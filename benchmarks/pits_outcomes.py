"""Every outcome of a randomized deep-pit scenario as JSON, to compare two versions of the
survey path (issue #14's speed work was checked this way: old and new code gave identical
files on SQLite and PostgreSQL).

14 pits × 16 rounds of surveys through `record_surveys` and `record_survey`: unknown and
inactive points, bad values and units, future and naive times, duplicates, re-sent and
conflicting rows, impossible jumps, late rows between stored surveys, rows before the
baseline, inclinometer profiles (one-depth ones too) and raw A0/A180 surveys (re-sent
baseline surveys), a base slab, per-pit receive times, a pit given twice. Dumps each call's
outcome (the upload's counts or the errors, in order) and the final readings, profiles,
points' findings, pits' proposals, colour history and events.

    git archive <old commit> src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src .venv/bin/python benchmarks/pits_outcomes.py /tmp/old.json 1
    .venv/bin/python benchmarks/pits_outcomes.py /tmp/new.json 1
    cmp /tmp/old.json /tmp/new.json

(a fresh data directory each run, or a fresh PostgreSQL database via SMARTSITE_DATABASE_URL;
the second argument is the seed.)
"""

import datetime
import json
import os
import random
import sys
import tempfile

os.environ.setdefault("SMARTSITE_DATA_DIR", tempfile.mkdtemp(prefix="pits-diff-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "smartsite.settings"
import django

django.setup()
from django.core.management import call_command  # noqa: E402

call_command("migrate", interactive=False, verbosity=0)
from smartsite.core import reference  # noqa: E402
from smartsite.core.errors import DomainError  # noqa: E402
from smartsite.core.models import Project  # noqa: E402
from smartsite.pits import selectors, services  # noqa: E402
from smartsite.pits.models import ColourChange, Pit, Point, ProfileReading, Reading, Upload  # noqa: E402
from smartsite.simulator import city  # noqa: E402
from smartsite.workorders.models import Event  # noqa: E402

reference.load_all()
city.build_city(seed=3, scale="demo")
out_path = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rng = random.Random(seed)
SH = datetime.timezone(datetime.timedelta(hours=8))
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=SH)
DAY = datetime.timedelta(days=1)
projects = list(Project.objects.order_by("pk")[:6])
RET = ["diaphragm_wall", "bored_pile", "smw", "soil_nail", "sheet_pile"]
POINTS = [("WY-01", "wall_top_horizontal", {}), ("WY-02", "wall_top_horizontal", {}),
          ("WC-01", "wall_top_vertical", {}), ("DB-01", "ground_settlement", {}),
          ("SW-01", "groundwater", {}), ("ZL-01", "strut_force", {"design_value": 5000}),
          ("ZL-02", "anchor_force", {"design_value": 800, "alarm_cumulative": 60}),
          ("LF-01", "crack_width", {}),
          ("JC-01", "building_settlement", {"alarm_cumulative": 10, "alarm_rate": 1}),
          ("LZ-01", "column_vertical", {}), ("HT-01", "heave", {}),
          ("CX-01", "deep_horizontal", {"tube_depth_m": 10}),
          ("CX-02", "deep_horizontal", {"tube_depth_m": 10}),
          ("OFF-1", "wall_top_horizontal", {"active": False})]
NPITS = 14
pits = []
for i in range(NPITS):
    pit = services.register_pit(
        project=projects[i % len(projects)], code=f"DIFF-{i}", name=f"差分{i}",
        safety_grade=1 + i % 3, environment_grade=2, design_depth_m=8 + (i * 7) % 18,
        retaining=RET[i % len(RET)], support="concrete_strut",
        outline=[[0, 0], [80, 0], [80, 50], [0, 50]])
    for code, item, extra in POINTS:
        services.register_point(pit, code=code, item=item, x_m=rng.uniform(0, 80),
                                y_m=rng.uniform(0, 50), **extra)
    pits.append(pit)
trend = {(i, c): rng.choice([0.05, 0.3, 0.8, 1.5, 2.5, -1.2, 4.0]) * rng.choice([0.05, 0.15, 0.3, 1])
         for i in range(NPITS) for c, _, _ in POINTS}
depths = [0.5 * k for k in range(1, 13)]  # 0.5 .. 6.0
history: dict = {}  # (pit index, code) -> [(at, value)] sent so far (what the scenario sent)


def value_of(i, code, item, k, at):
    if item in ("strut_force",):
        return round(2000 + 150 * trend[(i, code)] * k + rng.gauss(0, 15), 1)
    if item == "anchor_force":
        return round(300 + 25 * trend[(i, code)] * k + rng.gauss(0, 5), 1)
    if item == "crack_width":
        return round(0.1 + 0.15 * abs(trend[(i, code)]) * k, 2)
    return round(trend[(i, code)] * k + rng.gauss(0, 0.3), 2)


def survey(i, k, at, now):
    rows, raw = [], []
    n = 2
    dirty = rng.random() < 0.35
    p = 1.0 if dirty else 0.0
    for code, item, extra in POINTS:
        where = f"第 {n} 行"
        if extra.get("active") is False:
            continue
        if code == "CX-01" and i % 2 == 0:
            if rng.random() < 0.05 * p:  # a one-depth profile
                rows.append(services.SurveyRow(code, at, 1.0, depth_m=0.5, where=where))
                continue
            for d in depths:
                rows.append(services.SurveyRow(code, at, round(trend[(i, code)] * k * d / 6
                                                                 + rng.gauss(0, 0.2), 2),
                                               depth_m=d, where=f"第 {n} 行"))
                n += 1
            continue
        if code == "CX-01":
            continue
        if code == "CX-02":
            if i % 3 == 0:
                tilt = trend[(i, code)] * k
                raw.append(services.RawProfile(code, at, tuple(
                    (d, round(100 + tilt * d + rng.gauss(0, 0.5), 1),
                     round(-100 - tilt * d + rng.gauss(0, 0.5), 1)) for d in depths),
                    k=20000, interval=0.5, where=f"{code}@{k}"))
                if rng.random() < 0.05 and history.get((i, "raw")):  # re-send an older one
                    raw.append(history[(i, "raw")][rng.randrange(len(history[(i, "raw")]))])
                history.setdefault((i, "raw"), []).append(raw[0])
            continue
        v = value_of(i, code, item, k, at)
        r = rng.random() / p if p else 1.0
        unit = ""
        if r < 0.02:
            unit = "cm"
        elif r < 0.04:
            v = rng.choice(["abc", "nan", "", None, "1e12", True])
        elif r < 0.06:
            v = v + 500 if isinstance(v, float) else v
        elif r < 0.08:
            unit = "kN" if item in ("strut_force", "anchor_force") else "mm"
        t = at
        r2 = rng.random() / p if p else 1.0
        if r2 < 0.02:
            t = now + datetime.timedelta(hours=2)
        elif r2 < 0.03:
            t = at.replace(tzinfo=None)
        rows.append(services.SurveyRow(code, t, v, unit=unit, where=where))
        if rng.random() < 0.02 * p:  # the same point and time twice
            rows.append(services.SurveyRow(code, t, v, where=where + "b"))
        if rng.random() < 0.03 * p:  # a depth on a point that is not an inclinometer
            rows.append(services.SurveyRow(code, t + datetime.timedelta(minutes=5), 0.1,
                                           depth_m=1, where=where + "d"))
        history.setdefault((i, code), []).append((t, v))
        n += 1
    # perturbations against what was sent before
    if rng.random() < 0.08 * p:
        rows.append(services.SurveyRow("NOPE-1", at, 1.0, where="x"))
    if rng.random() < 0.06 * p:
        rows.append(services.SurveyRow("OFF-1", at, 1.0, where="off"))
    for code, _item, _ in POINTS:
        past = [(t, v) for t, v in history.get((i, code), [])[:-1]
                if isinstance(t, datetime.datetime) and t.tzinfo is not None]
        if not past:
            continue
        r = rng.random() / (p or 0.4)
        if r < 0.05:  # re-sent (same value)
            t, v = rng.choice(past)
            rows.append(services.SurveyRow(code, t, v, where="resend"))
        elif r < 0.08:  # a stored time with another value
            t, v = rng.choice(past)
            if isinstance(v, float):
                rows.append(services.SurveyRow(code, t, v + 0.37, where="conflict"))
        elif r < 0.14:  # late data between earlier surveys
            t, v = rng.choice(past)
            if isinstance(v, float):
                rows.append(services.SurveyRow(code, t + datetime.timedelta(hours=12),
                                               v + rng.choice([0.1, 0.5, 80.0]), where="late"))
        elif r < 0.16:  # before the baseline
            rows.append(services.SurveyRow(code, T0 - datetime.timedelta(hours=5), 0.0,
                                           where="early"))
    rng.shuffle(rows)
    return rows, raw


def describe(outcome):
    if isinstance(outcome, services.SurveyRejected):
        return ["rejected", outcome.errors, str(outcome)]
    u = outcome
    return ["upload", u.readings, u.duplicates, u.late, iso(u.first_measured_at),
            iso(u.last_measured_at), sorted((k, list(v)) for k, v in
                                            (getattr(u, "baseline_pending", {}) or {}).items()),
            u.source, u.filename, iso(u.received_at)]


def iso(at):
    return None if at is None else at.astimezone(datetime.UTC).isoformat()


log = []
for k in range(16):
    at = T0 + k * DAY + datetime.timedelta(minutes=rng.choice([0, 0, 30]))
    now = at + datetime.timedelta(hours=rng.choice([1, 2, 30]))
    if k == 8:
        for i in range(0, NPITS, 3):
            services.add_stage(pits[i], name="底板", started_on=(at - DAY).date(),
                               excavation_depth_m=pits[i].design_depth_m, base_slab=True)
    chosen = [i for i in range(NPITS) if rng.random() < 0.85]
    batch = []
    for i in chosen:
        rows, raw = survey(i, k, at + datetime.timedelta(minutes=i), now)
        if rng.random() < 0.03:
            rows, raw = [], []
        own = now + datetime.timedelta(minutes=rng.choice([0, 3])) if rng.random() < 0.3 else None
        batch.append(services.PitSurvey(pits[i], rows, raw, filename=f"f{k}-{i}.csv", now=own))
    mode = rng.random()
    try:
        if mode < 0.3:  # pit by pit
            for b in batch:
                try:
                    u = services.record_survey(b.pit, b.rows, raw=b.raw, filename=b.filename,
                                               now=b.now or now, source="file")
                    log.append([k, b.pit.code, describe(u)])
                except services.SurveyRejected as exc:
                    log.append([k, b.pit.code, describe(exc)])
        else:
            if mode > 0.95 and batch:
                batch.append(batch[0])
            for pit, outcome in services.record_surveys(batch, source="mqtt", now=now):
                log.append([k, pit.code, describe(outcome)])
    except DomainError as exc:
        log.append([k, "call", str(exc)])
    if k % 5 == 4:  # an assessment on its own
        services.assess_pit(pits[k % NPITS], now=now)

mine = Pit.objects.filter(code__startswith="DIFF-")
state = {"log": log, "pits": [], "readings": [], "profiles": [], "points": [], "events": [],
         "uploads": [], "changes": []}
for pit in mine.order_by("code"):
    state["pits"].append([pit.code, pit.colour, pit.proposed_colour, pit.proposed_reasons,
                          iso(pit.assessed_at), str(pit.base_slab_on)])
for p in selectors.with_latest(Point.objects.filter(pit__in=mine)).order_by("pit__code", "code"):
    state["points"].append([p.pit.code, p.code, p.level, str(p.cumulative), str(p.rate),
                            iso(p.last_measured_at), p.reasons, str(p.baseline),
                            p.baseline_profile])
for r in Reading.objects.filter(point__pit__in=mine).order_by("point__pit__code", "point__code",
                                                               "measured_at"):
    state["readings"].append([r.point.pit.code, r.point.code, iso(r.measured_at), str(r.value),
                              r.late, iso(r.upload.received_at)])
for r in ProfileReading.objects.filter(point__pit__in=mine).order_by(
        "point__pit__code", "point__code", "measured_at", "depth_m"):
    state["profiles"].append([r.point.pit.code, r.point.code, iso(r.measured_at), str(r.depth_m),
                              str(r.displacement_mm)])
for u in Upload.objects.filter(pit__in=mine).order_by("pit__code", "received_at", "filename"):
    state["uploads"].append([u.pit.code, u.source, u.filename, iso(u.received_at), u.readings,
                             u.duplicates, u.late, iso(u.first_measured_at),
                             iso(u.last_measured_at)])
for c in ColourChange.objects.filter(pit__in=mine).order_by("pit__code", "at", "colour"):
    state["changes"].append([c.pit.code, iso(c.at), c.colour, c.proposed, c.reasons])
for e in Event.objects.filter(scenario="pits").order_by("dedup_key"):
    pit = Pit.objects.get(pk=int(e.dedup_key.split(":")[2]))
    if not pit.code.startswith("DIFF-"):
        continue
    state["events"].append([pit.code, e.dedup_key.rsplit(":", 1)[1], e.state, e.severity, e.count,
                            iso(e.first_seen), iso(e.last_seen), iso(e.recovered_at), e.title,
                            {**e.evidence, "pit": None}, e.order is not None])
with open(out_path, "w") as f:
    json.dump(state, f, ensure_ascii=False, indent=0, default=str)
summary = {k: len(v) for k, v in state.items()}
kinds = {}
for entry in log:
    kinds[entry[2][0] if isinstance(entry[2], list) else "call"] = kinds.get(
        entry[2][0] if isinstance(entry[2], list) else "call", 0) + 1
print(summary, kinds, {c: sum(1 for p in state["pits"] if p[2] == c)
                       for c in ("green", "yellow", "red")})
