"""The demo city's dust registry and planted cases: positions inside the geofences, annual
inspections (a few expiring, expired or missing), linked sprays that follow the bursts (but
the planted failures), a few sites short of monitors, dead and tampering devices — and the
rules finding each of them in the seeded data, whatever the hour."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.db import transaction

from smartsite.core import geo
from smartsite.dust import rules
from smartsite.dust.models import Inspection, Monitor, MonitorStatus, SprayDevice, SprayReading
from smartsite.simulator import city
from smartsite.simulator.dust import monitors as sim
from smartsite.simulator.dust import registry as dust_registry
from smartsite.workorders.models import Event, WorkOrder

SEED = 20231001
NOW = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)  # 16:00 in Shanghai
HOURS = 9  # from 07:00: the day's planted bursts (09:00–16:00) are in the window
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo city with its monitors and the 9 hours before NOW, the rules not run yet."""
    with django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = sim.seed_monitors(seed=SEED, hours=HOURS, now=NOW, replay=False)
        yield report
        transaction.set_rollback(True)


def _plan():
    return sim.load_profiles(SEED)


def test_every_monitor_stands_inside_its_sites_geofence_where_its_location_says(seeded, db):
    monitors = list(Monitor.objects.select_related("project"))
    assert seeded.planted["positioned"] == len(monitors)
    for m in monitors:
        assert geo.metres_outside(m.project.geofence, m.longitude, m.latitude) == 0, m.mn
        m.full_clean()  # the registration form's checks pass too
    east = [m for m in monitors if m.location == "东侧围挡"]
    assert east and all(m.longitude > m.project.longitude for m in east)


def test_most_monitors_have_a_valid_annual_inspection_and_a_few_do_not(seeded, db):
    today = NOW.astimezone(SHANGHAI).date()
    latest = {i.monitor_id: i for i in Inspection.objects.filter(kind="annual")}
    monitors = list(Monitor.objects.all())
    left = Counter()
    for m in monitors:
        i = latest.get(m.pk)
        if i is None:
            left["none"] += 1
            continue
        i.full_clean()
        days = (i.expires_on - today).days
        left["expired" if days < 0 else "due" if days <= 30 else "valid"] += 1
        if days > 30:
            assert 60 < days <= 335
    assert left["valid"] > 0.9 * len(monitors)
    assert 3 <= left["none"] <= 10 and 4 <= left["expired"] <= 12 and 6 <= left["due"] <= 20
    assert seeded.planted["inspection_none"] == left["none"]


def test_most_monitors_have_a_linked_fog_cannon_and_every_bursting_one_does(seeded, db):
    the_plan, _ = _plan()
    sprays = Counter(SprayDevice.objects.values_list("monitor__mn", flat=True))
    assert len(sprays) > 0.8 * Monitor.objects.count()
    assert the_plan.exceed <= set(sprays) and 2 <= len(the_plan.spray_fails) < len(the_plan.exceed)
    assert set(SprayDevice.objects.values_list("sb_code", flat=True)) == {"SB1", "SB2"}


def test_sprays_start_within_minutes_of_a_burst_except_the_planted_failures(seeded, db):
    the_plan, profiles = _plan()
    day = datetime.datetime.combine(NOW.astimezone(SHANGHAI).date(), datetime.time(),
                                    SHANGHAI)
    for mn in the_plan.exceed:
        _monitor, p = profiles[mn]
        start = day + datetime.timedelta(minutes=p.burst_start)
        on = list(SprayReading.objects.filter(
            device__monitor__mn=mn, running=True, data_time__gte=start,
            data_time__lte=start + datetime.timedelta(minutes=p.burst_minutes))
            .values_list("data_time", flat=True))
        if mn in the_plan.spray_fails:
            assert not on
        else:
            assert on and min(on) - start <= datetime.timedelta(minutes=8), mn
            # and off again within a quarter of an hour after the burst
            assert SprayReading.objects.filter(
                device__monitor__mn=mn, running=False, data_time__gt=min(on),
                data_time__lte=start + datetime.timedelta(minutes=p.burst_minutes + 16)).exists()


def test_the_planted_devices_are_dead_flat_copied_and_outside(seeded, db):
    the_plan, _ = _plan()
    assert 2 <= len(the_plan.dead) <= 6 and the_plan.flat and the_plan.copier and the_plan.outside
    assert seeded.planted["tampering"] == 3
    source, copier = (Monitor.objects.get(mn=mn) for mn in (the_plan.copy_source, the_plan.copier))
    assert source.project_id != copier.project_id
    status = MonitorStatus.objects.get(monitor=Monitor.objects.get(mn=the_plan.outside))
    monitor = status.monitor
    assert geo.metres_outside(monitor.project.geofence, status.values["lng"],
                              status.values["lat"]) > 500
    dead = MonitorStatus.objects.filter(monitor__mn__in=the_plan.dead)
    assert all(NOW - s.last_data_time > datetime.timedelta(minutes=89) for s in dead)


def test_the_rules_find_every_planted_case_in_the_seeded_data(seeded, db):
    the_plan, _ = _plan()
    rules.run_due(NOW, force=True)
    events = Event.objects.filter(scenario="dust")
    kinds = Counter(events.values_list("rule", flat=True))
    assert {"offline", "missing_monitor", "inspection_expired", "inspection_due", "tamper",
            "spray_unlinked"} <= set(kinds)
    assert set(events.filter(rule="offline").values_list("subject", flat=True)) == the_plan.dead
    assert kinds["missing_monitor"] >= len(seeded.short)
    assert set(events.filter(rule="spray_unlinked").values_list("subject", flat=True)) \
        == the_plan.spray_fails
    patterns = Counter(e.evidence["pattern"] for e in events.filter(rule="tamper"))
    assert patterns == {"flat_line": 1, "cross_site": 2, "outside_site": 1}
    assert set(events.filter(rule="tamper").values_list("subject", flat=True)) == {
        the_plan.flat, the_plan.copier, the_plan.copy_source, the_plan.outside}
    # every kind with a policy has its order in the small loop; the warning has none
    orders = Counter(WorkOrder.objects.filter(scenario="dust").values_list("kind", "loop_level"))
    assert {kind for kind, level in orders if level == "small"} >= {
        "offline", "missing_monitor", "inspection_expired", "tamper", "spray_unlinked"}
    assert not WorkOrder.objects.filter(kind="inspection_due").exists()


def test_the_replayed_day_raises_each_bursts_exceedance_whatever_the_hour(seeded, db):
    the_plan, profiles = _plan()
    bursts = sorted({(p.burst_start, p.burst_minutes) for _m, p in profiles.values()
                     if p.burst_minutes})
    dust_registry.replay(NOW, HOURS, bursts)
    raised = set(Event.objects.filter(scenario="dust", rule="exceedance")
                 .values_list("subject", flat=True))
    # DB31/964: one quarter over the limit a day is allowed, two or more are an exceedance
    assert raised == {mn for mn in the_plan.exceed if profiles[mn][1].burst_minutes >= 30}
    assert raised and WorkOrder.objects.filter(kind="exceedance", loop_level="small").count() \
        == len(raised)
    # an hour after its burst ended, each has recovered (its order stays until it is closed)
    assert not Event.objects.filter(rule="exceedance", recovered_at__isnull=True).exclude(
        subject__in=[mn for mn in raised if profiles[mn][1].burst_start
                     + profiles[mn][1].burst_minutes > 15 * 60 - 60]).exists()
