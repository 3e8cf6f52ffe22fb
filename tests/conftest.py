"""Shared fixtures: the reference data and a small cast of users (style.md §5 "Tests").

The cast: a city regulator, a 静安区 district regulator, a 陆家嘴街道 squad officer (浦东新区),
contractor A (施工单位 of project A in 静安区), contractor B (施工单位 of project B in
陆家嘴街道, 浦东新区), a project manager of project A, and a user with no role.

Two passes (scripts/test): every test runs on SQLite; the tests marked `postgres` run again
on PostgreSQL. Mark a test module (`pytestmark`) or a test `postgres` when what it asserts
goes through code that differs by engine:

* a `connection.vendor` / `is_postgres()` branch (grep src for `vendor ==`, `is_postgres`):
  readings ingest (COPY on PostgreSQL), the means' bucket SQL, `monitor_in` (exceedance
  lists and dashboards), `batch.update_rows` (every timer batch), snapshot claims;
* raw SQL (`cursor.execute`), partitions and retention, `ON CONFLICT` upserts (status,
  connection history);
* row locks: `select_for_update(skip_locked=True)` (timers, outbox, snapshot requests) and
  anything with threads or two processes on one database (the gateway, MQTT, the worker);
* database constraints a test expects to reject a row (IntegrityError), and a test that
  skips itself unless `connection.vendor == "postgresql"`.

A test that only uses such code to build its fixture (a page test that seeds readings) is
not marked: the module that asserts the engine-dependent behaviour is. Browser tests run on
SQLite only. The suite runs in parallel (pytest-xdist, one test database per worker) and in
any order: no test may count on another having run before it.
"""

from __future__ import annotations

import datetime
import os
import random
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from support.clock import CLOCK_AT

from smartsite.core.validators import make_resident_id, make_uscc

PASSWORD = "Correct-Horse-9"

# Property tests judge behaviour, not the machine's speed: on a loaded 2-core machine (two
# passes, two workers each) drawing from a large table once took 3.6 s and Hypothesis failed
# the test for being slow. No deadline and no speed health check; the examples are the same.
hypothesis_settings.register_profile(
    "smartsite", deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
hypothesis_settings.load_profile("smartsite")


@dataclass
class Cast:
    city: object
    district: object  # 静安区 regulator
    street: object  # 陆家嘴街道 squad officer (浦东新区)
    contractor_a: object
    contractor_b: object
    manager_a: object  # project role on A (施工单位, 项目经理)
    nobody: object
    project_a: object
    project_b: object
    enterprise_a: object
    enterprise_b: object
    owner: object
    person_a: object
    person_b: object
    jingan: object
    pudong: object
    lujiazui: object

    def users(self):
        return {"city": self.city, "district": self.district, "street": self.street,
                "contractor_a": self.contractor_a, "contractor_b": self.contractor_b,
                "manager_a": self.manager_a, "nobody": self.nobody}


def pytest_configure(config):
    """Each xdist worker keeps its uploads and mail under a directory of its own (the
    databases are separate, so two workers may well number a photo or a camera alike)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        from django.conf import settings

        settings.DATA_DIR = settings.DATA_DIR / worker
        settings.MEDIA_ROOT = settings.DATA_DIR / "media"
        settings.EMAIL_FILE_PATH = settings.DATA_DIR / "mail"


@pytest.fixture(scope="session", autouse=True)
def _session_tmp(tmp_path_factory):
    """`support.video.ffmpeg_pids` counts only this session's (this worker's) ffmpeg."""
    from support import video

    video.SESSION_TMP = str(tmp_path_factory.getbasetemp())


@pytest.fixture
def password() -> str:
    """The password of every user in the cast."""
    return PASSWORD


# On SQLite the workers of a run share one migrated database: the first to get here migrates its
# own and leaves a copy (with the reference data) in the run's directory; the others start from
# that copy (~8 s of CPU each: migrations render ~200 model states). PostgreSQL migrates each.
_sqlite_template: dict = {"lock": None, "path": None, "copied": False}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the test database is a file, not memory, so that processes the tests start
    (the HJ 212 gateway, the worker) can share it as they share PostgreSQL's test database."""
    import fcntl
    import shutil

    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":  # one file per xdist worker
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        path = tmp_path_factory.mktemp(f"db-{worker}") / "test.sqlite3"
        db.setdefault("TEST", {})["NAME"] = str(path)
        if worker == "main":
            return
        shared = tmp_path_factory.getbasetemp().parent / "migrated-db"
        shared.mkdir(exist_ok=True)
        lock = open(shared / "lock", "w")  # noqa: SIM115 - held until django_db_setup
        fcntl.flock(lock, fcntl.LOCK_EX)
        template = shared / "test.sqlite3"
        if template.exists():
            shutil.copyfile(template, path)
            _sqlite_template["copied"] = True
            lock.close()
        else:  # migrated by this worker, then copied in django_db_setup (lock held till then)
            _sqlite_template.update(lock=lock, path=template)


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_modify_db_settings):
    """Keep (use as it is) a test database copied from the run's migrated one."""
    return _sqlite_template["copied"] or request.config.getvalue("reuse_db")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference data once per test database; tests roll back on top of it, and a
    transactional test empties only what it wrote (`support.reset`: the reference rows stay,
    unless the test changed them — then everything is flushed and loaded again)."""
    from support import reset

    from smartsite.core import reference

    def load():
        reference.load_all()
        reset.baseline()

    with django_db_blocker.unblock():
        if _sqlite_template["copied"]:
            reset.baseline()  # the copy holds the reference data
        else:
            load()
        if _sqlite_template["lock"] is not None:
            import sqlite3

            from django.db import connection

            connection.ensure_connection()
            with sqlite3.connect(_sqlite_template["path"]) as copy:
                connection.connection.backup(copy)
            _sqlite_template["lock"].close()
            _sqlite_template["lock"] = None
    reset.install(on_full_flush=load)


_DB_FIXTURES = {"db", "django_db_setup", "transactional_db", "live_server",
                "django_db_reset_sequences", "django_db_serialized_rollback"}


def _db_use(item) -> bool:
    """Whether a collected test uses the test database."""
    names = set(getattr(item, "fixturenames", ()))
    return bool(item.get_closest_marker("django_db")) or bool(names & _DB_FIXTURES)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, tests that never touch the test database (commands run as processes on
    databases of their own, the codec) are left out: they would run exactly as in the SQLite
    pass. (The order modules reach the xdist workers in is xdist's: most tests first. Longest
    first, from a file of measured durations, was tried: 333 s against 324 s, within noise.)"""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        same = [item for item in items if not _db_use(item)]
        if same:
            config.hook.pytest_deselected(items=same)
            items[:] = [item for item in items if _db_use(item)]


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory):
    """The README's first command once per run: `smartsite demo` on an empty data directory
    (migrations, the demo city, its monitors, 14 days of orders: ~1 min of CPU), checked while
    it runs and stopped with Ctrl-C (`support.processes.first_demo`). Returns its data
    directory — the seeded demo city for the tests that need one but not its making — and what
    the run showed (tests/test_cli.py asserts it). The xdist workers of a run share it: the
    first to ask makes it under a lock, the others wait for it and read it. A test gets its own
    copy of the directory from `seeded_data_dir`."""
    import fcntl
    import json

    from support.processes import first_demo

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's directory, shared by its workers
    where = base / "seeded-demo"
    where.mkdir(exist_ok=True)
    data, made = where / "data", where / "result.json"
    with open(where / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            made.write_text(json.dumps(first_demo(data)))
    return data, json.loads(made.read_text())


@pytest.fixture
def seeded_data_dir(seeded_demo, tmp_path):
    """A copy of the seeded demo data directory (`seeded_demo`) for one test to change."""
    import shutil

    target = tmp_path / "seeded-data"
    shutil.copytree(seeded_demo[0], target)
    return target


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; the cast has seven.
    `test_passwords_are_stored_with_the_production_hasher` checks the real setting."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def _worker_without_dust_rules(settings):
    """`smartsite worker` run inside a test fires timers and delivers the outbox only: the
    dust rules would find every test project without monitors (不装少装). tests/dust runs the
    rules itself; a test of the worker running them sets WORKER_JOBS back. The pit MQTT
    job is left out too (tests/pits/test_mqtt.py drains its own topics), and so are the
    attendance rules (they would find the test projects' Class I posts unfilled; tests/attendance
    runs them itself)."""
    settings.WORKER_JOBS = "*,-dust.rules,-pits.mqtt_surveys,-attendance.rules"


@pytest.fixture
def clock():
    """An injected clock for tests whose pages or services read the clock themselves: the
    process clock (`time.time`, `datetime.now`, `timezone.now`, in every thread, so the live
    server's too) starts at `CLOCK_AT` and runs on from there. A test asks for it before the
    fixtures that build its data around "now", and what it asserts holds at any hour of the
    real day. `clock.move_to(instant)` sets another instant. Processes a test starts (the
    gateway, ffmpeg) and the browser keep the real clock: build their data around an instant
    of the test's own instead."""
    import time_machine

    with time_machine.travel(CLOCK_AT, tick=True) as traveller:
        yield traveller


@pytest.fixture
def reference(db):
    """The reference data: loaded once per test database (`django_db_setup`) and kept by
    every test (transactional ones too: `support.reset`). Asking for it documents that a test
    reads it."""


def _user(username, **extra):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, password=PASSWORD, **extra)
    return user


@pytest.fixture
def cast(reference) -> Cast:
    return make_cast()


@pytest.fixture(scope="session")
def cast_maker():
    """The function behind `cast`, for a fixture of a wider scope that builds the cast once
    for many tests (it unblocks the database and rolls back itself; tests/test_matrix.py)."""
    return make_cast


def make_cast() -> Cast:
    from smartsite.core import models as m
    from smartsite.core.choices import AgencyKind, PartyRole, ProjectKind, RoleKind

    rng = random.Random(7)
    region = m.Region.objects.get
    jingan, pudong = region(name="静安区"), region(name="浦东新区")
    jingan_street = m.Region.objects.filter(parent=jingan).first()
    lujiazui = region(name="陆家嘴街道", parent=pudong)

    def enterprise(name):
        return m.Enterprise.objects.create(uscc=make_uscc(rng), name=name)

    ent_a, ent_b, owner = enterprise("甲建设集团有限公司"), enterprise("乙建工有限公司"), \
        enterprise("丙置业有限公司")
    sup = enterprise("丁监理咨询有限公司")
    project_a = m.Project.objects.create(
        permit_no="2301JA0001", name="静安甲项目", address="静安区某路1号",
        kind=ProjectKind.BUILDING, district=jingan, street=jingan_street,
        start_date=datetime.date(2025, 3, 1))
    project_b = m.Project.objects.create(
        permit_no="2301PD0002", name="陆家嘴乙项目", address="浦东新区某路2号",
        kind=ProjectKind.MUNICIPAL, district=pudong, street=lujiazui,
        start_date=datetime.date(2025, 5, 1))
    for project, contractor in ((project_a, ent_a), (project_b, ent_b)):
        m.ProjectParty.objects.create(project=project, role=PartyRole.CONTRACTOR,
                                      enterprise=contractor)
        m.ProjectParty.objects.create(project=project, role=PartyRole.OWNER, enterprise=owner)
        m.ProjectParty.objects.create(project=project, role=PartyRole.SUPERVISOR, enterprise=sup)
    pm = m.Post.objects.get(code="project_manager")
    person_a = m.Person.objects.create(resident_id=make_resident_id(rng), name="张三",
                                       employer=ent_a)
    person_b = m.Person.objects.create(resident_id=make_resident_id(rng), name="李四",
                                       employer=ent_b)
    m.PostAssignment.objects.create(project=project_a, person=person_a, post=pm,
                                    start_date=datetime.date(2025, 3, 1))
    m.PostAssignment.objects.create(project=project_b, person=person_b, post=pm,
                                    start_date=datetime.date(2025, 5, 1))

    def role(user, **spec):
        m.Role.objects.create(user=user, **spec)
        return user

    agency = m.Agency.objects.get
    return Cast(
        city=role(_user("city", first_name="市住建委"), kind=RoleKind.CITY,
                  agency=agency(kind=AgencyKind.CITY_COMMISSION)),
        district=role(_user("jingan"), kind=RoleKind.DISTRICT,
                      agency=agency(kind=AgencyKind.SUPERVISION_STATION, region=jingan)),
        street=role(_user("lujiazui"), kind=RoleKind.STREET,
                    agency=agency(kind=AgencyKind.ENFORCEMENT_SQUAD, region=lujiazui)),
        contractor_a=role(_user("contractor_a"), kind=RoleKind.ENTERPRISE, enterprise=ent_a),
        contractor_b=role(_user("contractor_b"), kind=RoleKind.ENTERPRISE, enterprise=ent_b),
        manager_a=role(_user("manager_a"), kind=RoleKind.PROJECT, project=project_a,
                       enterprise=ent_a, party_role=PartyRole.CONTRACTOR, post=pm),
        nobody=_user("nobody"),
        project_a=project_a, project_b=project_b, enterprise_a=ent_a, enterprise_b=ent_b,
        owner=owner, person_a=person_a, person_b=person_b,
        jingan=jingan, pudong=pudong, lujiazui=lujiazui,
    )


@pytest.fixture
def login(client):
    """Log `client` in as a user of the cast: `login(cast.district)`."""

    def _login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


def postgres_url() -> str:
    return os.environ.get("SMARTSITE_TEST_POSTGRES_URL",
                          "postgres://postgres@127.0.0.1:5432/smartsite")


def require_service(name: str, reason: str):
    """A missing service skips the test on a laptop and fails it in CI (CI=true)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database for a test that runs its own processes; dropped after."""
    psycopg = pytest.importorskip("psycopg")
    base = postgres_url().rsplit("/", 1)[0]
    name = f"smartsite_t{os.getpid()}_{random.randrange(10**6)}"
    try:
        admin = psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", str(exc).strip())
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
