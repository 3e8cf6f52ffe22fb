"""Key-post check-ins (issue 15): verified check-ins/s on 2 cores and their p95 latency, beside
the bare face-model call on the same photos in the same run; and geofence checks/s over 5,000
project polygons.

    .venv/bin/python benchmarks/attendance_checkin.py                  # SQLite, 2 processes
    .venv/bin/python benchmarks/attendance_checkin.py --checkins 100   # quick run
    SMARTSITE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smartsite_bench_att \\
        .venv/bin/python benchmarks/attendance_checkin.py              # on PostgreSQL

Setup (not timed): a fresh data directory, migrate, reference data, `--projects` projects in
Shanghai with a 200 m geofence each, one key-post person per project with a valid certificate
and an enrolled face (obama.jpg or biden.jpg from simulator/data/faces, the face-recognition
1.3.0 test photos), the dlib models loaded in each worker process.

Timed, in `--processes` worker processes (the machine has 2 cores), each taking every n-th item:

* bare model: `attendance.faces.encode` of each check-in photo (decode, 560 px, HOG
  without upsampling, 5 landmarks, the 128-d encoding) — the floor of a verified check-in;
* verified check-ins: `attendance.checkin.check_in` for the same photos — the payload, the
  post per 报建, GCJ-02 → WGS-84, the geofence, the model, the distance to the enrolment, the
  certificate, the spoofing signals, the row, the photo file — as the API calls it (the API
  adds only the multipart parsing). Photos are phone-like: obama2.jpg, obama3.jpg, biden.jpg,
  each with a few bytes appended so that no two are identical (live frames never are).

Then, in one process: `core.geo.metres_outside(fence, lng, lat)` for one point near each of 5,000
project polygons (the check-in's geofence test), and the same with shapely geometries prepared
once (what a cache of parsed fences would give).

Prints rates, p50/p95 latencies and the ratio verified/bare. No asserts.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import time
import uuid

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
AT = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)


def _setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "smartsite.settings"
    import django

    django.setup()


def _photo(name: str) -> bytes:
    from importlib import resources

    return resources.files("smartsite.simulator").joinpath("data", "faces", name).read_bytes()


def _build(projects: int, seed: int) -> list[dict]:
    """The world; returns one job description per project (its person and position)."""
    from django.core.management import call_command

    from smartsite.attendance import enrolment
    from smartsite.attendance.identity import NotConfigured
    from smartsite.core import gcj02, geo, reference
    from smartsite.core.choices import AgencyKind, ProjectKind, QualificationKind, RoleKind
    from smartsite.core.models import (
        Agency,
        Person,
        Post,
        PostAssignment,
        Project,
        Qualification,
        Region,
        Role,
    )
    from smartsite.core.validators import make_resident_id

    call_command("migrate", interactive=False, verbosity=0)
    reference.load_all()
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_user("bench-city")
    Role.objects.create(user=admin, kind=RoleKind.CITY,
                        agency=Agency.objects.get(kind=AgencyKind.CITY_COMMISSION))
    rng = random.Random(seed)
    districts = list(Region.objects.filter(level="district").order_by("code"))
    pm = Post.objects.get(code="project_manager")
    jobs = []
    for i in range(projects):
        district = districts[i % len(districts)]
        street = Region.objects.filter(parent=district).order_by("code").first()
        lng, lat = geo.random_point_in_district(district.name, rng, margin_m=300)
        project = Project.objects.create(
            permit_no=f"BENCH{i:05d}", name=f"压测项目{i}", address=f"{district.name}某路{i}号",
            kind=ProjectKind.BUILDING, district=district, street=street,
            start_date=datetime.date(2025, 1, 1), geofence=geo.square_geofence(lng, lat, 200))
        person = Person.objects.create(resident_id=make_resident_id(rng), name=f"人员{i}")
        PostAssignment.objects.create(project=project, person=person, post=pm,
                                      start_date=datetime.date(2025, 1, 1))
        Qualification.objects.create(person=person, kind=QualificationKind.CONSTRUCTOR_1,
                                     number=f"沪BENCH{i:06d}", issuer="住房和城乡建设部",
                                     expires_on=datetime.date(2030, 1, 1))
        who = "obama" if i % 3 else "biden"
        enrolment.enrol(person=person, photo=_photo(f"{who}.jpg") + f"#{i}".encode(),
                        actor=admin, source=NotConfigured())
        glng, glat = gcj02.wgs84_to_gcj02(lng, lat)
        jobs.append({"person": person.pk, "project": project.pk, "who": who,
                     "lng": glng, "lat": glat})
    return jobs


def _photos_for(jobs: list[dict], count: int) -> list[tuple[dict, bytes]]:
    photos = {"obama": [_photo("obama2.jpg"), _photo("obama3.jpg")], "biden": [_photo("biden.jpg")]}
    out = []
    for n in range(count):
        job = jobs[n % len(jobs)]
        choice = photos[job["who"]][n % len(photos[job["who"]])]
        out.append((job, choice + f"~{n}".encode()))
    return out


def _worker(kind: str, items, start_event, results) -> None:
    from django.db import connections

    connections.close_all()
    from smartsite.attendance import checkin, faces
    from smartsite.core.models import Person, Project

    faces.models_ready()  # warm up outside the timing
    limit = 5 * 1024 * 1024
    people = {p.pk: p for p in Person.objects.filter(pk__in={j["person"] for j, _ in items})}
    projects = {p.pk: p for p in Project.objects.filter(pk__in={j["project"] for j, _ in items})}
    rng = random.Random(len(items))
    start_event.wait()
    latencies, outcomes = [], {}
    began = time.perf_counter()
    for n, (job, data) in enumerate(items):
        t = time.perf_counter()
        if kind == "bare":
            faces.encode(data, max_bytes=limit)
        else:
            jitter = rng.uniform(-2e-5, 2e-5)
            result = checkin.check_in(
                person=people[job["person"]], project=projects[job["project"]],
                payload={"client_id": str(uuid.uuid4()), "direction": "entry",
                         "lng": job["lng"] + jitter, "lat": job["lat"] - jitter,
                         "datum": "gcj02", "accuracy_m": 15.0},
                photo=data, at=AT + datetime.timedelta(minutes=10 * n))
            key = str(result.checkin.outcome)
            outcomes[key] = outcomes.get(key, 0) + 1
        latencies.append(time.perf_counter() - t)
    results.put({"latencies": latencies, "seconds": time.perf_counter() - began,
                 "outcomes": outcomes})


def _run(kind: str, items, processes: int) -> dict:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(kind, items[i::processes], start, results))
               for i in range(processes)]
    for w in workers:
        w.start()
    time.sleep(3.0)  # every worker has loaded the models
    began = time.perf_counter()
    start.set()
    parts = [results.get() for _ in workers]
    wall = time.perf_counter() - began
    for w in workers:
        w.join()
    latencies = sorted(x for p in parts for x in p["latencies"])
    outcomes: dict[str, int] = {}
    for p in parts:
        for k, v in p["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    return {"rate": len(latencies) / wall, "wall": wall, "n": len(latencies),
            "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000, "outcomes": outcomes}


def _geofences(count: int, seed: int) -> None:
    import shapely
    from shapely.geometry import Point, shape

    from smartsite.core import geo

    rng = random.Random(seed)
    names = list(geo.district_shapes())
    fences, points = [], []
    for i in range(count):
        lng, lat = geo.random_point_in_district(names[i % len(names)], rng, margin_m=300)
        fences.append(geo.square_geofence(lng, lat, rng.uniform(80, 600)))
        points.append((lng + rng.uniform(-0.004, 0.004), lat + rng.uniform(-0.004, 0.004)))
    began = time.perf_counter()
    outside = sum(geo.metres_outside(f, *p) > 30 for f, p in zip(fences, points, strict=True))
    plain = time.perf_counter() - began
    prepared = [geo._metric(shape(f)) for f in fences]
    for g in prepared:
        shapely.prepare(g)
    to_metric = geo._to_metric()
    began = time.perf_counter()
    outside2 = 0
    for g, (lng, lat) in zip(prepared, points, strict=True):
        x, y = to_metric.transform(lng, lat)
        outside2 += g.distance(Point(x, y)) > 30
    cached = time.perf_counter() - began
    print(f"geofence checks over {count:,} project polygons (one point each, "
          f"{outside:,} outside 30 m):")
    print(f"  core.geo.metres_outside (GeoJSON parsed + projected per check): "
          f"{count / plain:,.0f} checks/s")
    print(f"  prepared metric polygons (parsed once, point projected per check): "
          f"{count / cached:,.0f} checks/s  ({outside2:,} outside)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkins", type=int, default=400)
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--fences", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("SMARTSITE_DATA_DIR", tempfile.mkdtemp(prefix="attendance-bench-"))
    _setup_django()
    from django.db import connection

    began = time.perf_counter()
    jobs = _build(args.projects, args.seed)
    items = _photos_for(jobs, args.checkins)
    print(f"setup: {args.projects} projects/people, {len(items)} photos, "
          f"{connection.vendor}, {time.perf_counter() - began:.1f} s; "
          f"{args.processes} processes on {os.cpu_count()} cores")
    bare = _run("bare", items, args.processes)
    verified = _run("checkin", items, args.processes)
    print(f"bare model (faces.encode): {bare['rate']:.1f} photos/s, "
          f"p50 {bare['p50']:.0f} ms, p95 {bare['p95']:.0f} ms ({bare['n']} photos)")
    print(f"verified check-ins (checkin.check_in): {verified['rate']:.1f} check-ins/s, "
          f"p50 {verified['p50']:.0f} ms, p95 {verified['p95']:.0f} ms "
          f"({verified['n']} check-ins: {verified['outcomes']})")
    print(f"ratio verified / bare: {verified['rate'] / bare['rate']:.2f}")
    _geofences(args.fences, args.seed)


if __name__ == "__main__":
    main()
