"""A day of believable readings from 40 monitors of the simulated city, back-filled through the
real ingest, and the means the pages show — on SQLite and on PostgreSQL (the ingest copies
rows and the means' bucket SQL differ by engine). Registration: test_monitors.py."""

from __future__ import annotations

import datetime
import random
from collections import Counter

import pytest
from django.db import transaction

from smartsite.dust import minutes
from smartsite.dust.models import (
    DustLimit,
    Monitor,
    MonitorStatus,
    PeriodMean,
    Reading,
)
from smartsite.simulator import city
from smartsite.simulator.dust import monitors as sim
from smartsite.simulator.dust import stories

pytestmark = pytest.mark.postgres

SEED = 20231001
NOW = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)  # 16:00 in Shanghai
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """40 monitors of the demo city with the 24 hours before NOW; kept for this module."""
    with django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = sim.seed_monitors(seed=SEED, count=40, now=NOW)
        yield report
        transaction.set_rollback(True)


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


