"""The simulated city's key-post attendance: people enrolled through the real face model, the
history since the first of last month, leave/stand-ins/stoppage through the services, the days
closed and the rules run — so the month shows a spread of rates with people below 80 %, the
impostors are caught by the model (one waiting in the review queue, one confirmed and turned
into an order), the expired registration, the person on two projects and the GPS spoofer raise
their real events, the demo's key-post login can check in with the photo a tester holds up,
the same seed gives the same month, and the order chains are intact."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from smartsite.attendance import checkin, selectors
from smartsite.attendance.choices import CaseStatus, DayStatus, Outcome
from smartsite.attendance.models import AttendanceDay, CheckIn, Enrolment, ReviewCase
from smartsite.core.models import Person
from smartsite.simulator import city
from smartsite.simulator.attendance import live, photos
from smartsite.simulator.attendance.seed import position, seed_attendance
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import Event, WorkOrder

SEED = 20231001
NOW = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai
LAST_MONTH = datetime.date(2026, 10, 1)


def _digest():
    days = sorted(AttendanceDay.objects.values_list(
        "person__resident_id", "project__permit_no", "date", "status", "hours"))
    checkins = sorted(CheckIn.objects.values_list(
        "person__resident_id", "project__permit_no", "at", "direction", "outcome", "lng_raw"))
    events = sorted(Event.objects.filter(scenario="attendance").values_list("dedup_key",
                                                                            "title"))
    return days, checkins, events


@pytest.fixture(scope="module")
def first_run(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        seed_attendance(seed=SEED, scale="demo", now=NOW)
        digest = _digest()
        transaction.set_rollback(True)
    return digest


@pytest.fixture(scope="module")
def seeded(first_run, django_db_setup, django_db_blocker):
    """The demo city with its attendance up to NOW, kept for this module."""
    with django_db_blocker.unblock(), transaction.atomic():
        city.build_city(seed=SEED, scale="demo")
        report = seed_attendance(seed=SEED, scale="demo", now=NOW)
        yield report
        transaction.set_rollback(True)


def _rates() -> dict[int, float]:
    return {aid: float(t.rate) for aid, t in selectors.month_tallies(LAST_MONTH).items()
            if t.rate is not None}


def test_everyone_simulated_is_enrolled_and_checked_by_the_identity_source(seeded, db):
    assert seeded.people == seeded.enrolled >= 20
    assert seeded.projects >= 3
    enrolments = Enrolment.objects.filter(active=True)
    assert enrolments.count() == seeded.people
    assert set(enrolments.values_list("identity_result", flat=True)) == {"matched",
                                                                          "unavailable"}
    demo = Person.objects.get(resident_id=seeded.planted["demo_login"][0])
    team = enrolments.filter(person__assignments__project__in=demo.assignments.values("project"))
    assert set(team.values_list("identity_result", flat=True)) == {"matched"}
    assert len(set(enrolments.values_list("photo_sha256", flat=True))) == seeded.people


def test_last_month_has_a_spread_of_rates_with_people_below_80_percent(seeded, db):
    rates = _rates()
    assert len(rates) >= seeded.people
    below = [r for r in rates.values() if r < 0.8]
    assert 2 <= len(below) <= len(rates) // 2
    assert sum(r >= 0.9 for r in rates.values()) >= len(rates) // 2
    statuses = set(AttendanceDay.objects.filter(date__lt=NOW.date())
                   .values_list("status", flat=True))
    assert {DayStatus.VALID, DayStatus.SHORT, DayStatus.ABSENT, DayStatus.LEAVE,
            DayStatus.STAND_IN, DayStatus.STOPPAGE} <= statuses
    for resident_id in seeded.planted["below_rate"]:
        person = Person.objects.get(resident_id=resident_id)
        mine = [r for aid, r in rates.items()
                if AttendanceDay.objects.filter(assignment=aid, person=person).exists()]
        assert mine and min(mine) < 0.8


def test_below_80_percent_last_month_raises_absence_orders_of_both_classes(seeded, db):
    for rule in ("absence", "absence_ii"):
        events = Event.objects.filter(scenario="attendance", rule=rule)
        assert events.exists(), rule
        assert all(e.order_id for e in events)
        assert all(e.evidence["month"] == "2026-10" and e.evidence["rate"] < 0.8 for e in events)


def test_an_impostor_is_caught_by_the_face_model_and_waits_in_the_review_queue(seeded, db):
    confirmed, waiting = seeded.planted["impersonated"]
    open_case = ReviewCase.objects.get(checkin__person__resident_id=waiting,
                                       signal="face_mismatch")
    assert open_case.status == CaseStatus.OPEN
    assert open_case.checkin.outcome == Outcome.REJECTED
    assert open_case.checkin.face_distance > 0.6
    case = ReviewCase.objects.get(checkin__person__resident_id=confirmed, signal="face_mismatch")
    assert case.status == CaseStatus.CONFIRMED
    event = Event.objects.get(scenario="attendance", rule="impersonation")
    assert event.evidence["case"] == case.pk and event.order_id


def test_the_registry_rules_raise_expired_registration_and_two_projects(seeded, db):
    assert Event.objects.filter(rule="qualification_expired", evidence__post="project_manager",
                                order__isnull=False).exists()
    dasher = seeded.planted["multiple_posts"][0]
    person = Person.objects.get(resident_id=dasher)
    assert Event.objects.filter(rule="multiple_posts", evidence__person_id=person.pk).count() == 2
    travel = ReviewCase.objects.get(checkin__person=person, signal="impossible_travel")
    assert travel.evidence["speed_kmh"] > 120


def test_the_gps_spoofer_is_flagged_for_fixes_with_no_jitter(seeded, db):
    spoofer = seeded.planted["spoofer"][0]
    case = ReviewCase.objects.filter(checkin__person__resident_id=spoofer, signal="no_jitter")
    assert case.exists()
    others = ReviewCase.objects.filter(signal="no_jitter").exclude(
        checkin__person__resident_id=spoofer)
    assert not others.exists()
    assert not ReviewCase.objects.filter(signal="same_photo").exists()


def test_todays_morning_check_ins_went_through_the_real_service(seeded, db):
    today = CheckIn.objects.filter(at__gte=NOW - datetime.timedelta(hours=3), at__lte=NOW)
    assert today.count() >= seeded.people // 2
    assert today.exclude(photo="").count() == today.count()
    accepted = today.filter(outcome=Outcome.ACCEPTED)
    assert accepted.count() >= today.count() // 2
    assert all(c.face_distance < 0.5 for c in accepted)
    # the others hold no valid certificate (the registry's people without one cannot clock in)
    for c in today.exclude(outcome=Outcome.ACCEPTED).exclude(
            person__resident_id__in=seeded.planted["spoofer"]):
        assert [r["code"] for r in c.reasons] == ["no_qualification"], c.reasons
        assert not CheckIn.objects.filter(person=c.person, outcome=Outcome.ACCEPTED,
                                          stand_in=None).exists()


def test_the_demo_key_post_login_checks_in_holding_up_obama2(seeded, db):
    resident_id = seeded.planted["demo_login"][0]
    user = get_user_model().objects.get(username=resident_id)
    assert user.email.endswith("@demo.invalid") and user.has_usable_password()
    person = checkin.person_of(user)
    project = person.assignments.filter(post__code="project_manager").first().project
    g_lng, g_lat, _, _ = position(__import__("random").Random(1), project)
    result = checkin.check_in(
        user=user, project=project, photo=(photos.FACES / "obama2.jpg").read_bytes(),
        payload={"client_id": "demo-login-test-1", "direction": "exit", "lng": g_lng,
                 "lat": g_lat, "datum": "gcj02", "accuracy_m": 12},
        at=NOW + datetime.timedelta(hours=8))
    assert result.checkin.outcome == Outcome.ACCEPTED, result.checkin.reasons


def test_live_rounds_plan_entries_in_the_morning_and_exits_in_the_evening(seeded, db):
    morning = live.due(NOW + datetime.timedelta(minutes=50))  # 10:50: too late for entries
    assert all(d == "exit" for _a, d in morning)
    evening = live.due(NOW + datetime.timedelta(hours=9))  # 19:00
    assert evening and {d for _a, d in evening} == {"exit"}
    assert live.check_ins(__import__("random").Random(1), NOW, url="") == 0  # no web: nothing


def test_the_same_seed_gives_the_same_month(seeded, first_run, db):
    assert _digest() == first_run


def test_every_attendance_order_has_an_intact_chain(seeded, db):
    orders = WorkOrder.objects.filter(scenario="attendance")
    assert orders.count() >= 10
    for order in orders:
        assert verify_chain(order) == [], order.number

