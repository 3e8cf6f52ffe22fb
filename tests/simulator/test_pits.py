"""The simulated city's pits: registered through the pit app's services on the demo city,
with their stages, points and a history of surveys up to `now`; the last surveys assessed
for real, so the planted pits are the yellow and red ones and the others green; the
fabricating company is flagged by the detectors and the honest pits are not; the drifting
pit turns yellow on its next live survey; the order history on top keeps its chains intact."""

from __future__ import annotations

import datetime
import random
from collections import Counter

import pytest
from django.db import transaction

from smartsite.pits import detectors
from smartsite.pits.models import Pit, Point, ProfileReading, Reading, Stage, Upload
from smartsite.simulator import city, orders
from smartsite.simulator.pits import live
from smartsite.simulator.pits.seed import seed_pits
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import Event, WorkOrder

SEED = 20231001
NOW = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo city with its pits and history up to NOW, kept for this module."""
    with django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = seed_pits(seed=SEED, scale="demo", now=NOW)
        yield report
        transaction.set_rollback(True)


def test_every_pit_has_stages_points_and_a_history_of_surveys(seeded, db):
    assert seeded.pits == Pit.objects.count() >= 30
    for pit in Pit.objects.all():
        assert 8 <= pit.design_depth_m <= 25
        assert pit.monitoring_company_id and pit.design_unit_id
        assert Stage.objects.filter(pit=pit).exists()
        items = set(Point.objects.filter(pit=pit).values_list("item", flat=True))
        assert {"wall_top_horizontal", "deep_horizontal", "strut_force"} <= items
    assert Reading.objects.count() == seeded.readings > 50_000
    assert ProfileReading.objects.exists()
    assert Upload.objects.filter(late__gt=0).exists()  # some companies upload late
    assert Upload.objects.filter(late=0).count() > Upload.objects.filter(late__gt=0).count()


def test_the_planted_pits_are_yellow_and_red_and_the_others_green(seeded, db):
    colours = Counter(Pit.objects.values_list("proposed_colour", flat=True))
    assert colours["red"] == 1
    assert colours["yellow"] == len(seeded.planted["yellow"]) >= 2
    assert colours["green"] >= seeded.pits * 0.8
    red = Pit.objects.get(proposed_colour="red")
    assert red.project.permit_no in seeded.planted["red"]
    assert Event.objects.filter(dedup_key=f"pits:warning:{red.pk}:red", order__isnull=False).exists()
    yellow = {p.project.permit_no for p in Pit.objects.filter(proposed_colour="yellow")}
    assert yellow == set(seeded.planted["yellow"])


def test_the_fabricator_is_flagged_and_honest_pits_are_not(seeded, db):
    found = detectors.findings(NOW)
    flagged = {Pit.objects.get(pk=pit_id).project.permit_no for pit_id, _ in found}
    assert flagged <= set(seeded.planted["fabricate"]) | set(seeded.planted["copy"])
    kinds = {f.kind for _, f in found}
    assert {"too_smooth", "repeated_value", "copied_survey", "duplicate_series"} <= kinds
    detectors.sync(NOW)
    detectors.sync(NOW)  # deduplicated: counted again, not raised twice
    events = Event.objects.filter(scenario="pits", rule="fabrication")
    assert events.count() == len(found) and not events.filter(order__isnull=False).exists()
    assert set(events.values_list("count", flat=True)) == {2}


def test_the_drifting_pit_turns_yellow_on_its_next_live_survey(seeded, db):
    drifter = Pit.objects.get(project__permit_no=seeded.planted["drift"][0])
    assert drifter.proposed_colour == "green"
    assert drifter not in [pit for pit, _, _ in live.due_pits(NOW)]
    later = NOW + datetime.timedelta(minutes=5)
    live.surveys(random.Random(1), later)
    drifter.refresh_from_db()
    assert drifter.proposed_colour == "yellow"


def test_the_order_history_on_top_keeps_every_chain_intact(seeded, db):
    orders.simulate_history(seed=SEED, now=NOW + datetime.timedelta(minutes=10), days=3)
    assert WorkOrder.objects.filter(scenario="pits").exists()
    for order in WorkOrder.objects.all():
        assert verify_chain(order) == [], order.number
