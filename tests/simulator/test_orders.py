"""Two weeks of simulated work-order history: made through the real services on a fake clock,
so every chain verifies, every demo login whose organisation a policy can hold the ball has
work in its court, the picture is varied and the same seed gives the same orders (the worker
that starts right after seeding: test_orders_worker.py). Plus the live findings of the
running demo. The commands an operator runs (`smartsite seed`, ...) are in test_seed_command.py."""

from __future__ import annotations

import datetime
import random
import re
import struct
import zlib

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings

from smartsite.core.choices import RoleKind
from smartsite.core.models import ProjectParty
from smartsite.simulator import city, orders
from smartsite.workorders import checks, selectors
from smartsite.workorders.choices import Action, LoopLevel, OrderState
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import (
    Event,
    LoopPolicy,
    OrderAction,
    OrderAttachment,
    Timer,
    WorkOrder,
)

SEED = 20231001
NOW = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai
HUMAN_STEPS = {Action.DISPATCH, Action.DISPOSE, Action.VERIFY_PASS, Action.VERIFY_REJECT}
CJK = re.compile(r"[\u4e00-\u9fff]")


def orders_digest() -> list[tuple]:
    """Every order and its history by natural values. Numbers are compared as their date and
    their rank, since PostgreSQL sequences do not roll back with a transaction."""
    rows = list(WorkOrder.objects.order_by("pk").select_related("project"))
    first = rows[0].pk if rows else 0
    out = []
    for o in rows:
        day, pk = o.number.rsplit("-", 1)
        history = [(a.action, a.actor_name, a.at.isoformat(), a.comment, a.to_state, a.loop_level)
                   for a in o.actions.order_by("seq")]
        out.append((day, int(pk) - first, o.title, o.scenario, o.kind, o.project.permit_no,
                    o.state, o.loop_level, o.closed_level, o.overdue, o.rejections, history))
    return out


def _build(seed: int) -> orders.HistoryReport:
    city.build_city(seed=seed, scale="demo")
    return orders.simulate_history(seed=seed, now=NOW)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield


@pytest.fixture(scope="module")
def first_run(django_db_setup, django_db_blocker, media):
    """A throw-away build of SEED (rolled back), to compare with the kept one."""
    with django_db_blocker.unblock(), transaction.atomic():
        report = _build(SEED)
        digest = orders_digest()
        transaction.set_rollback(True)
    return report, digest


@pytest.fixture(scope="module")
def history(first_run, django_db_setup, django_db_blocker, media):
    """The demo city of SEED with its history, kept for this module; rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build(SEED)
        transaction.set_rollback(True)


def _user(username):
    return get_user_model().objects.get(username=username)


# -- the history is real ---------------------------------------------------------------------


def test_every_order_history_is_an_unbroken_hash_chain(history, db):
    assert WorkOrder.objects.count() == history.orders >= 40
    for order in WorkOrder.objects.all():
        assert verify_chain(order) == [], order.number
    assert history.skipped == []  # every planned step was still allowed when its time came


def test_people_act_only_when_the_ball_is_in_their_court(history, db):
    """Each human step's actor belongs to the court the previous entry handed the order to."""
    checked = 0
    for entry in (OrderAction.objects.filter(action__in=HUMAN_STEPS)
                  .select_related("actor").order_by("order", "seq")):
        before = OrderAction.objects.get(order=entry.order_id, seq=entry.seq - 1)
        roles = entry.actor.roles.select_related("agency", "enterprise")
        organisations = {str(r.agency or r.enterprise) for r in roles}
        assert any(before.court == name or before.court.startswith(f"{name} · ")
                   for name in organisations), (entry.order.number, entry.action, before.court)
        checked += 1
    assert checked >= 100


def test_escalations_come_only_from_deadlines_the_worker_saw_pass(history, db):
    escalations = OrderAction.objects.filter(action=Action.ESCALATE)
    assert escalations.count() >= 5
    assert not escalations.exclude(actor=None).exists()  # the system, never a person
    for entry in escalations:
        fired = Timer.objects.filter(order=entry.order_id, kind="deadline", fired_at=entry.at)
        assert fired.filter(outcome__startswith="逾期升级").exists(), entry.order.number
    assert not Timer.objects.filter(outcome__startswith="失败").exists()


def test_dust_small_loop_waits_for_the_dust_scenarios_check_and_goes_medium(history, db):
    """The small loop of an exceedance is verified by the dust scenario's real check
    ("dust.valid_data_24h": a day of valid data after the order was opened). This city has
    no monitors seeded (the demo seeds a day of readings), so the check never passes on the
    history: nothing is closed in the small loop, every disposed order goes back, one level
    up, when the verification window runs out, and the medium loop closes them."""
    assert checks.get("dust.valid_data_24h") is not None
    dust = WorkOrder.objects.filter(scenario="dust", kind="exceedance")
    assert not dust.filter(closed_level=LoopLevel.SMALL).exists()
    sent_back = OrderAction.objects.filter(order__in=dust, action=Action.ESCALATE,
                                           comment__contains="自动核查在时限内未通过")
    assert sent_back.count() >= 5
    assert dust.filter(state=OrderState.CLOSED, closed_level=LoopLevel.MEDIUM).exists()


def test_actions_are_commented_in_chinese_and_disposals_carry_real_small_photos(history, db):
    for entry in OrderAction.objects.exclude(actor=None).exclude(action=Action.CREATE):
        assert CJK.search(entry.comment), (entry.order.number, entry.action, entry.comment)
    photos = OrderAttachment.objects.select_related("action__order__policy")
    assert photos.count() >= 20
    total = 0
    for photo in photos:
        with photo.file.open("rb") as f:
            data = f.read()
        width, height = _check_png(data)
        assert 32 <= width <= 200 and 32 <= height <= 200
        assert photo.size == len(data) and photo.content_type == "image/png"
        total += len(data)
    assert total < 300 * 1024  # a few hundred KB at most
    required = [a for a in OrderAction.objects.filter(action=Action.DISPOSE)
                .select_related("order__policy")
                if "photo" in a.order.policy.rules.requires.get("dispose", ())]
    assert required and all(a.attachments.exists() for a in required)


def _check_png(data: bytes) -> tuple[int, int]:
    """Parse a PNG: signature, chunk CRCs, IHDR (8-bit RGB) and the image data's size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    return width, height


# -- what the demo shows -------------------------------------------------------------------


def _courts_named_by_policies() -> set[str]:
    """Agency kinds and party roles that some active loop policy can hand the ball to."""
    named = set()
    for policy in LoopPolicy.objects.filter(active=True):
        for level in policy.rules.levels.values():
            for court in (level.handler, level.verifier, level.dispatcher):
                if court is not None:
                    named.add(court.agency or court.party)
    return named


def _can_hold_the_ball(user, named) -> bool:
    for role in user.roles.select_related("agency"):
        if role.agency_id and role.agency.kind in named:
            return True
        if role.kind == RoleKind.PROJECT and role.party_role in named:
            return True
        if role.kind == RoleKind.ENTERPRISE and ProjectParty.objects.filter(
                enterprise=role.enterprise_id, role__in=named).exists():
            return True
    return False


def test_each_demo_login_finds_work_in_its_court_where_a_policy_lets_it(history, db):
    named = _courts_named_by_policies()
    holders = []
    for _label, username in city.demo_logins():
        user = _user(username)
        if _can_hold_the_ball(user, named):
            holders.append(username)
            assert selectors.todo(user, now=NOW).exists(), username
        else:
            # No shipped policy hands this organisation the ball (市住建委, 区建管委, 监测单位):
            # it still sees its scope's orders.
            assert selectors.visible_orders(user).exists(), username
    assert {"jingan", "contractor", "pm", "chief"} <= set(holders)
    assert any(u.startswith("squad_") for u in holders)


def test_the_logins_find_the_work_their_role_is_for(history, db):
    def todo(username, **flt):
        return selectors.todo(_user(username), now=NOW).filter(**flt)

    assert todo("pm", scenario="dust", kind="exceedance", state=OrderState.PENDING_DISPOSAL,
                loop_level=LoopLevel.SMALL).exists()
    assert todo("chief", state=OrderState.PENDING_VERIFICATION, scenario="attendance").exists()
    assert todo("chief", state=OrderState.PENDING_VERIFICATION, scenario="pits").exists()
    assert todo("jingan", state=OrderState.PENDING_VERIFICATION).count() >= 2
    assert todo("jingan", overdue=True).exists()  # overdue first on the page
    squad = next(u for _, u in city.demo_logins() if u.startswith("squad_"))
    street = _user(squad).roles.get().agency.region
    large = todo(squad, loop_level=LoopLevel.LARGE, state=OrderState.PENDING_DISPOSAL)
    assert large.exists() and {o.project.street_id for o in large} == {street.pk}
    assert todo(squad, overdue=True).exists()
    # Warnings nobody has turned into an order yet, some of them in the demo logins' scope.
    assert selectors.open_events(_user("city")).exists()


def test_states_and_loop_levels_are_varied(history, db):
    states = set(WorkOrder.objects.values_list("state", flat=True))
    assert states == set(OrderState.values)
    assert set(WorkOrder.objects.values_list("loop_level", flat=True)) == set(LoopLevel.values)
    closed = WorkOrder.objects.filter(state=OrderState.CLOSED)
    assert set(closed.values_list("closed_level", flat=True)) == set(LoopLevel.values)
    open_late = WorkOrder.objects.filter(overdue=True).exclude(
        state__in=[OrderState.CLOSED, OrderState.CANCELLED])
    assert open_late.exists()
    assert set(WorkOrder.objects.values_list("scenario", "kind")) == {
        ("dust", "exceedance"), ("dust", "missing_monitor"), ("attendance", "absence"),
        ("pits", "warning")}
    owner_waits = WorkOrder.objects.filter(state=OrderState.PENDING_DISPATCH,
                                           loop_level=LoopLevel.SMALL, court_party_role="owner")
    assert owner_waits.exists()
    # 不装少装 verified by the district supervision station at the small loop
    assert WorkOrder.objects.filter(kind="missing_monitor", closed_level=LoopLevel.SMALL,
                                    state=OrderState.CLOSED).exists()
    # attendance rejected twice went to the medium loop
    assert WorkOrder.objects.filter(kind="absence", rejections__gte=2,
                                    loop_level=LoopLevel.MEDIUM).exists()
    assert WorkOrder.objects.filter(issuer__isnull=False, state=OrderState.CANCELLED).exists()
    assert Event.objects.filter(count__gt=1).exists()  # repeats counted, not re-ordered
    assert Event.objects.filter(state="ignored").exclude(ignore_reason="").exists()
    assert history.summary().startswith(f"{history.events} 个事件、{history.orders} 张工单")


def test_the_same_seed_gives_the_same_orders(history, first_run, db):
    report, digest = first_run
    assert orders_digest() == digest
    assert (report.by_state, report.by_level, report.closed_by_level) == (
        history.by_state, history.by_level, history.closed_by_level)


# -- live findings -------------------------------------------------------------------------


def test_live_findings_arrive_through_the_real_services(history, db):
    with transaction.atomic():
        before_events = Event.objects.count()
        last_order = WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first()
        rng = random.Random(5)
        raised = [orders.live_event(rng, now=NOW + datetime.timedelta(minutes=i))
                  for i in range(15)]
        assert all(e is not None for e in raised)
        assert Event.objects.count() > before_events
        new = WorkOrder.objects.filter(pk__gt=last_order)
        assert new.exists()
        for order in new:
            assert verify_chain(order) == []
            assert order.events.exists()
        transaction.set_rollback(True)


def test_run_live_stops_after_count(history, db):
    with transaction.atomic():
        assert orders.run_live(every=0, count=3, seed=1) == 3
        transaction.set_rollback(True)
