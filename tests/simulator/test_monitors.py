"""The simulated city's monitors: registered on its live sites, a day of believable readings
back-filled through the real ingest, and the means the pages show (SQLite or PostgreSQL,
whichever the pass runs on); the curves the devices keep following."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import random
from collections import Counter

import pytest
from django.db import transaction

from smartsite.core.choices import ProjectStatus
from smartsite.core.models import Project
from smartsite.dust import minutes
from smartsite.dust.models import (
    DustLimit,
    Monitor,
    MonitorStatus,
    PeriodMean,
    Reading,
)
from smartsite.dust.siting import required_monitors
from smartsite.simulator import city
from smartsite.simulator.dust import monitors as sim
from smartsite.simulator.dust import stories

pytestmark = pytest.mark.postgres

SEED = 20231001
NOW = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)  # 16:00 in Shanghai
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
DAY = datetime.timedelta(days=1)


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


@pytest.fixture(scope="module")
def seeded(registries, django_db_setup, django_db_blocker):
    """40 monitors of the demo city with the 24 hours before NOW; kept for this module."""
    with django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = sim.seed_monitors(seed=SEED, count=40, now=NOW)
        yield report
        transaction.set_rollback(True)


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


# -- a day of readings ----------------------------------------------------------------------


def _by_mn():
    return {m.mn: m for m in Monitor.objects.all()}


def test_every_monitor_has_a_reading_a_minute_for_the_last_24_hours(seeded, db):
    the_plan, _ = sim.load_profiles(SEED)
    counts = Counter(Reading.objects.filter(data_time__gte=NOW - DAY, data_time__lt=NOW)
                     .values_list("monitor__mn", flat=True))
    assert seeded.monitors == Monitor.objects.count() == 40 and seeded.readings == sum(counts.values())
    for mn, monitor in _by_mn().items():
        quiet = sim.OUTAGE_SILENT_MINUTES - 1 if mn == the_plan.outage else 0
        if mn in the_plan.dead:
            quiet = sim.dead_minutes(SEED, mn) - 1
        assert counts[mn] == 24 * 60 - quiet, mn
        assert len(minutes.minute_means([monitor.pk], NOW - DAY, NOW)) == counts[mn]
        if mn not in the_plan.dead:
            assert PeriodMean.objects.filter(monitor=monitor, period=3600).count() == 24


def test_the_list_shows_the_monitors_online_and_the_silent_one_offline(seeded, db):
    the_plan, _ = sim.load_profiles(SEED)
    recent = NOW - datetime.timedelta(minutes=10)  # MONITOR_OFFLINE_MINUTES
    online = set(MonitorStatus.objects.filter(last_seen__gte=recent)
                 .values_list("monitor__mn", flat=True))
    assert online == set(_by_mn()) - {the_plan.outage} - the_plan.dead
    status = MonitorStatus.objects.get(monitor__mn=the_plan.outage)
    assert NOW - status.last_seen > datetime.timedelta(minutes=30)
    assert set(status.values) >= {"pm10", "pm25", "tsp", "noise", "temperature", "humidity"}


def test_hourly_means_are_shanghai_in_late_november(seeded, db):
    hours = list(PeriodMean.objects.filter(period=3600, bucket__gte=NOW - DAY))
    pm10 = [h.mean("pm10") for h in hours]
    pm25 = [h.mean("pm25") for h in hours]
    temperature = [h.mean("temperature") for h in hours]
    humidity = [h.mean("humidity") for h in hours]
    assert 40 < sum(pm10) / len(pm10) < 80 and 20 < sum(pm25) / len(pm25) < 45
    assert all(p25 < p10 for p25, p10 in zip(pm25, pm10, strict=True))
    assert min(temperature) > 4 and max(temperature) < 20
    assert min(humidity) > 35 and max(humidity) < 98
    # mg/m³ monitors are stored in µg/m³ like the others
    mg = PeriodMean.objects.filter(period=86400, monitor__particulate_unit="mg")
    assert mg.exists() and all(30 < d.mean("pm10") < 100 for d in mg if d.n_pm10 > 600)


def _local_hour(bucket) -> int:
    return bucket.astimezone(SHANGHAI).hour


def test_noise_is_louder_by_day_than_at_night(seeded, db):
    the_plan, _ = sim.load_profiles(SEED)
    for monitor in Monitor.objects.exclude(mn__in=the_plan.dead):
        hours = {_local_hour(h.bucket): h.mean("noise")
                 for h in PeriodMean.objects.filter(monitor=monitor, period=3600)}
        day = [hours[h] for h in range(8, 17) if h != 12]
        night = [hours[h] for h in (23, 0, 1, 2, 3, 4, 5)]
        assert min(day) > max(night) + 5, monitor.mn


def test_a_handful_of_monitors_have_15_minute_pm10_means_above_the_limit(seeded, db):
    limit = DustLimit.in_force("pm10", on=NOW.date())
    above = Counter()
    for q in PeriodMean.objects.filter(period=limit.averaging_seconds, bucket__gte=NOW - DAY)\
            .select_related("monitor"):
        if q.mean("pm10") is not None and q.mean("pm10") > limit.limit:
            above[q.monitor.mn] += 1
    assert set(above) == set(seeded.exceed) and len(above) >= 1
    assert all(1 <= n <= 4 for n in above.values())


def test_some_values_carry_flags_other_than_n_and_stay_out_of_the_means(seeded, db):
    flagged = Reading.objects.exclude(flags="NNNNNNNNN")
    assert flagged.exists()
    assert {f for flags in flagged.values_list("flags", flat=True) for f in flags} - {"N"}
    reading = flagged.filter(flags__startswith="C").first()  # a nightly zero check
    [minute] = minutes.minute_means([reading.monitor_id], reading.data_time, reading.data_time,
                                    through=True)
    assert (minute.samples, minute.n_pm10, minute.n_noise) == (1, 0, int(reading.flags[3] == "N"))


def test_simulated_dust_findings_name_registered_monitors(seeded, db):
    registered = set(_by_mn())
    projects = {m.project for m in Monitor.objects.select_related("project")}
    for i, project in enumerate(sorted(projects, key=lambda p: p.permit_no)):
        rng = random.Random(i)
        assert stories.dust_exceedance(rng, project, NOW)["subject"] in registered
        assert stories.monitor_offline(rng, project, NOW)["subject"] in registered


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
