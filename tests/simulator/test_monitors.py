"""The simulated city's monitors: registered on its live sites, the same seed giving the same
registry and readings, and the curves the devices keep following. The day of readings the
demo back-fills through the real ingest: test_monitor_readings.py (both engines)."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from collections import Counter

import pytest
from django.db import transaction

from smartsite.core.choices import ProjectStatus
from smartsite.core.models import Project
from smartsite.dust.models import (
    Monitor,
    MonitorStatus,
    Reading,
)
from smartsite.dust.siting import required_monitors
from smartsite.simulator import city
from smartsite.simulator.dust import monitors as sim

SEED = 20231001
NOW = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)  # 16:00 in Shanghai
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def registry_digest() -> str:
    """Monitors, their readings and status by natural keys (no pks, no timestamps of writing)."""
    h = hashlib.sha256()
    for m in Monitor.objects.select_related("project").order_by("mn"):
        h.update(json.dumps([m.mn, m.password, m.project.permit_no, m.location, m.vendor,
                             m.particulate_unit, str(m.installed_on), m.active]).encode())
    for r in Reading.objects.select_related("monitor").order_by("monitor__mn", "data_time"):
        h.update(f"{r.monitor.mn}{r.data_time:%Y%m%d%H%M}{r.pm10}{r.noise}{r.flags}".encode())
    for s in MonitorStatus.objects.select_related("monitor").order_by("monitor__mn"):
        h.update(f"{s.monitor.mn}{s.last_seen}{s.values}".encode())
    return h.hexdigest()


def _throwaway_registry():
    """The demo city of SEED with its 270 monitors and an hour of readings: facts and digest,
    rolled back."""
    with transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = sim.seed_monitors(seed=SEED, scale="demo", hours=1, now=NOW)
        monitors = list(Monitor.objects.select_related("project").order_by("mn"))
        facts = dict(report=report, digest=registry_digest(), monitors=[
            (m.mn, m.password, m.project.permit_no, m.project.status, m.particulate_unit,
             m.vendor, m.location, m.active,
             [sim.monitor_mn(m.project, i) for i in range(3)]) for m in monitors],
            readings=Counter(Reading.objects.values_list("monitor__mn", flat=True)),
            need={p.permit_no: required_monitors(p) for p in Project.objects.filter(
                status=ProjectStatus.ACTIVE)})
        transaction.set_rollback(True)
    return facts


@pytest.fixture(scope="module")
def registries(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return _throwaway_registry(), _throwaway_registry()


# -- registration ---------------------------------------------------------------------------


def test_each_active_site_gets_the_monitors_its_area_needs_but_a_few_left_with_one(registries, db):
    first, _ = registries
    monitors, need = first["monitors"], first["need"]
    assert first["report"].monitors == len(monitors) > 300
    assert {m[3] for m in monitors} == {ProjectStatus.ACTIVE}
    per_project = Counter(permit for _, _, permit, *_ in monitors)
    short = {permit for permit, n in per_project.items() if n < need[permit]}
    assert short == set(first["report"].short) and 2 <= len(short) <= 10
    assert all(per_project[permit] == 1 for permit in short)
    assert any(need[permit] == 3 for permit in short)  # a large site with only one
    assert set(per_project) == set(need)
    for mn, _pw, permit, *_rest, candidates in monitors:
        # the first two are the MNs the simulated dust findings use for the project
        assert mn in candidates or per_project[permit] == 3


def test_monitors_have_six_digit_passwords_units_vendors_and_a_few_are_stopped(registries, db):
    first, _ = registries
    monitors = first["monitors"]
    assert all(len(pw) == 6 and pw.isdigit() for _, pw, *_ in monitors)
    assert len({pw for _, pw, *_ in monitors}) > 250
    units = Counter(m[4] for m in monitors)
    assert 0 < units["mg"] < units["ug"]
    assert len({m[5] for m in monitors}) >= 4 and all(m[5] and m[6] for m in monitors)
    stopped = [m for m in monitors if not m[7]]
    assert 1 <= len(stopped) <= 5
    # a stopped monitor sent nothing in the last hour, nor did the dead ones (silent for 1.5
    # hours or more); every other one a reading a minute but the one whose link is down
    # (quiet for the last 35 minutes)
    readings = first["readings"]
    dead = first["report"].planted["dead"]
    assert all(readings[m[0]] == 0 for m in stopped) and 2 <= dead <= 6
    assert Counter(readings[m[0]] for m in monitors if m[7]) == {
        60: len(monitors) - len(stopped) - 1 - dead, 60 - sim.OUTAGE_SILENT_MINUTES + 1: 1,
        0: dead}


def test_the_same_seed_gives_the_same_monitors_and_readings(registries, db):
    first, second = registries
    assert first["digest"] == second["digest"]
    assert first["report"].exceed == second["report"].exceed


# -- the curves ------------------------------------------------------------------------------


def test_a_planted_burst_puts_the_same_quarters_above_the_limit_every_day():
    the_plan = sim.Plan(exceed=frozenset({"31X"}))
    p = sim.profile(SEED, "31X", the_plan=the_plan, limit=100.0)
    day = int(datetime.datetime(2026, 11, 24, tzinfo=SHANGHAI).timestamp())

    def quarters(start):
        out = []
        for q in range(96):
            values = [sim.sample(p, start + q * 900 + 60 * i)[0][1] for i in range(15)]
            out.append(sum(values) / 15 > 100.0)
        return out

    first, second = quarters(day), quarters(day + 86400)
    assert first == second and sum(first) == p.burst_minutes // 15 >= 1


def test_a_device_in_mg_sends_three_decimals_that_store_like_the_others():
    ug = sim.profile(SEED, "31Y")
    mg = sim.profile(SEED, "31Y", unit="mg")
    t = int(NOW.timestamp())
    (v_ug, _), (v_mg, _) = sim.sample(ug, t), sim.sample(mg, t)
    whole, _, decimals = repr(v_mg[1]).partition(".")
    assert whole == "0" and 1 <= len(decimals) <= 3  # e.g. 0.062
    assert sim.stored(mg, v_mg)[1] == pytest.approx(v_ug[1], abs=0.6)


def test_the_back_fill_draws_bit_for_bit_what_the_live_device_sends():
    """`samples` (the back-fill's arrays) against `sample` (the device's minute by minute):
    planted bursts, the flat-line sensor, a copier, mg units, zero checks, flaky noise."""
    mns = [f"31Z{k:03d}" for k in range(80)]
    the_plan = sim.Plan(exceed=frozenset(mns[:4]), flat=mns[4])
    profiles = [sim.profile(SEED, mn, unit="mg" if k % 3 == 0 else "ug", the_plan=the_plan,
                            limit=100.0) for k, mn in enumerate(mns)]
    profiles.append(dataclasses.replace(profiles[3], twin=profiles[5]))  # mg relaying µg/m³
    assert {p.zero_check >= 0 for p in profiles} == {True, False}
    assert any(p.flaky_noise for p in profiles) and any(p.burst_minutes for p in profiles)
    first = int(NOW.timestamp()) // 60 * 60 - 86400
    for p in profiles:
        for as_stored in (False, True):
            values, flags = sim.samples(p, first, 1440, as_stored=as_stored)
            want = [sim.sample(p, first + 60 * i) for i in range(1440)]
            if as_stored:
                want = [(sim.stored(p, v), f) for v, f in want]
            assert repr(list(zip(values, flags, strict=True))) == repr(want), p.mn
