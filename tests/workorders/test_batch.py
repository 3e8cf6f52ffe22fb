"""The worker fires its due timers as a batch (`workorders/batch.py`): the same history,
timers, notifications and outbox rows as firing them one at a time, a fixed number of SQL
statements however many are due, and one failing timer still leaves the rest fired."""

from __future__ import annotations

import copy
import datetime
import json
import logging
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from support.orders import T0, D, H, act, photo

from smartsite.core import models as m
from smartsite.core.choices import PartyRole
from smartsite.exchange.models import OutboxMessage, Webhook
from smartsite.workorders import checks, services
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import (
    Event,
    LoopPolicy,
    Notification,
    OrderAction,
    Timer,
    WorkOrder,
)

pytestmark = pytest.mark.postgres

MIN = datetime.timedelta(minutes=1)

#: A policy verified automatically by `lab_check`.
LAB_SPEC = {"levels": {"small": {"handler": {"party": "contractor"}, "verifier": "auto"},
                       "medium": {"handler": {"party": "contractor"},
                                  "verifier": {"agency": "supervision_station"}},
                       "large": {"handler": {"agency": "enforcement_squad"},
                                 "verifier": {"agency": "enforcement_squad"}}},
            "deadlines": {"dispose": "P1D", "verify": "PT30H"},
            "remind_before": "PT6H",
            "escalate": {"on_overdue": ["dispose", "verify"]},
            "auto_verify": {"check": "lab.title_says_pass", "every": "PT1H"}}


def _title_says_pass(order, now):
    """Orders titled "…通过…" pass at once; "…迟到…" once the data has come in (28 h)."""
    return "通过" in order.title or ("迟到" in order.title and now >= T0 + 28 * H)


@pytest.fixture
def lab_check():
    checks.register("lab.title_says_pass")(_title_says_pass)
    yield
    checks.unregister("lab.title_says_pass")


@pytest.fixture
def city_with_listeners(site, cast, lab_check):
    """Both projects, users with e-mail addresses, two webhooks (the city's for everything,
    静安's for escalations and notices: it sees project A only) and the lab policy."""
    for user in (site.pm, site.station, site.chief, cast.district, cast.manager_a, cast.street):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    Webhook.objects.create(owner=cast.city, name="市平台", url="https://example.com/a",
                           secret="s1", events=["order.*"])
    Webhook.objects.create(owner=cast.district, name="静安", url="https://example.com/b",
                           secret="s2", events=["order.escalate", "order.remind",
                                                "order.overdue"])
    LoopPolicy.objects.create(scenario="lab", kind="auto", kind_label="试验", source="测试",
                              spec=LAB_SPEC)
    return site


def _open_city(site, cast):
    """Eight orders on each project over five policies; some disposed an hour later."""
    for project, pm in ((cast.project_a, cast.manager_a), (cast.project_b, site.pm)):
        def order(scenario, rule, key, title, project=project):
            event = services.raise_event(scenario=scenario, rule=rule, project=project,
                                         dedup_key=f"{scenario}:{rule}:{project.pk}:{key}",
                                         title=title, evidence={"pm10": 180}, now=T0)
            event.refresh_from_db()
            return WorkOrder.objects.get(pk=event.order_id)

        order("dust", "exceedance", "1", "扬尘超标")
        disposed = [order("dust", "exceedance", "2", "扬尘超标（已处置）"),
                    order("lab", "auto", "1", "试验 通过"),
                    order("lab", "auto", "2", "试验 不合格"),
                    order("lab", "auto", "3", "试验 数据迟到")]
        order("dust", "missing_monitor", "1", "不装少装")
        absent = order("attendance", "absence", "1", "项目经理不到岗")
        order("pits", "warning", "1", "基坑预警")
        for o in disposed:
            act(o, "dispose", pm, T0 + H, comment="已整改", files=[photo()])
        act(absent, "dispose", pm, T0 + H, comment="已到岗")


#: Worker passes over a month: polls, reminders, deadlines and, later, every level's.
PASSES = [T0 + 2 * H, T0 + 20 * H, T0 + 25 * H, T0 + 26 * H, T0 + 2 * D + H, T0 + 4 * D,
          T0 + 10 * D, T0 + 30 * D]


def _run(site, cast, *, batched: bool, limit: int):
    """Open the city's orders and run the worker over `PASSES`; return what it wrote,
    normalised (ids made positions), then roll it all back."""
    with transaction.atomic():
        _open_city(site, cast)
        counts = []
        for now in PASSES:
            while n := services.fire_due_timers(now, limit=limit, batched=batched):
                counts.append(n)
        result = _written()
        result["fired"] = counts
        transaction.set_rollback(True)
    return result


def _written() -> dict:
    orders = list(WorkOrder.objects.order_by("pk"))
    rank = {o.pk: i for i, o in enumerate(orders)}
    for o in orders:
        assert verify_chain(o) == [], o.number
    numbers = {o.number: f"#{rank[o.pk]}" for o in orders}
    entries = list(OrderAction.objects.order_by("pk"))
    entry_of = {e.pk: f"{rank[e.order_id]}.{e.seq}" for e in entries}
    notes = list(Notification.objects.order_by("pk"))
    note_of = {n.pk: str(i) for i, n in enumerate(notes)}
    events = {e.pk: i for i, e in enumerate(Event.objects.order_by("pk"))}

    def text(value: str) -> str:
        return re.sub(r"GD\d{8}-\d{7}", lambda found: numbers[found.group()], value)

    def key(value: str) -> str:
        value = re.sub(r"^order-action:(\d+)", lambda f: f"order-action:{entry_of[int(f[1])]}",
                       value)
        value = re.sub(r"^order-notice:(\d+)", lambda f: f"order-notice:{rank[int(f[1])]}", value)
        return re.sub(r"^notification:(\d+)", lambda f: f"notification:{note_of[int(f[1])]}",
                      value)

    def payload(value: dict) -> dict:
        value = json.loads(text(json.dumps(value, ensure_ascii=False)))
        if "order" in value:
            value["order"]["id"] = rank[value["order"]["id"]]
        if "action" in value:
            value["action"]["hash"] = len(value["action"]["hash"])
        return value

    order_fields = [f.attname for f in WorkOrder._meta.concrete_fields
                    if f.attname not in ("id", "number")]
    data = []
    for e in entries:
        extra = dict(e.data)
        if "events" in extra:
            extra["events"] = [events[pk] for pk in extra["events"]]
        data.append(extra)
    return {
        "orders": [[getattr(o, f) for f in order_fields] for o in orders],
        "actions": [(rank[e.order_id], e.seq, e.action, e.actor_id, e.actor_name, e.at,
                     e.comment, e.from_state, e.to_state, e.loop_level, e.court, d)
                    for e, d in zip(entries, data, strict=True)],
        "timers": [(rank[t.order_id], t.kind, t.step, t.due_at, t.fired_at, t.cancelled,
                    t.outcome) for t in Timer.objects.order_by("pk")],
        "notifications": [(rank[n.order_id], n.user_id, text(n.text), n.created, n.read_at)
                          for n in notes],
        "events": [(rank[e.order_id], e.state) for e in Event.objects.order_by("pk")],
        "outbox": [(o.channel, o.webhook_id, o.user_id, o.email, o.event, payload(o.payload),
                    key(o.key), o.created, o.next_attempt_at, o.state)
                   for o in OutboxMessage.objects.order_by("pk")],
    }


@pytest.mark.parametrize("limit", [500, 4])
def test_a_batch_writes_exactly_what_firing_one_at_a_time_writes(city_with_listeners, cast,
                                                                 caplog, limit):
    site = city_with_listeners
    caplog.set_level(logging.ERROR, logger="smartsite.workorders.timers")
    together = _run(site, cast, batched=True, limit=limit)
    assert not caplog.records, "the batch fell back to one at a time"
    one_by_one = _run(site, cast, batched=False, limit=limit)
    for part in ("orders", "actions", "timers", "notifications", "events", "outbox", "fired"):
        assert together[part] == one_by_one[part], part
    # The month covered what a batch must get right, so the comparison means something:
    actions = [a[2] for a in together["actions"]]
    outcomes = {t[6] for t in together["timers"]}
    assert actions.count("escalate") >= 14 and "verify_pass" in actions
    assert {"已提醒", "自动核查通过", "自动核查未通过，稍后再查", "已逾期（无更高层级）"} <= outcomes
    if limit > 100:  # everything due at once: a timer behind its order's step change
        assert "已过时（工单已进入下一环节）" in outcomes
    assert any(t[4] and t[5] for t in together["timers"]), "a fired timer its own escalation voided"
    assert {o[0] for o in together["outbox"]} == {"webhook", "email"}
    assert {o[4] for o in together["outbox"]} >= {"order.escalate", "order.remind",
                                                  "order.overdue", "notification"}
    assert ("closed" in {e[1] for e in together["events"]})


def test_a_batch_costs_the_same_statements_for_five_escalations_or_twenty(site, cast):
    def statements(n, key):
        with transaction.atomic():
            for i in range(n):
                services.raise_event(scenario="attendance", rule="absence", project=site.project,
                                     dedup_key=f"absent:{key}:{i}", title=f"不到岗 {i}", now=T0)
            with CaptureQueriesContext(connection) as queries:
                fired = services.fire_due_timers(T0 + 4 * D)  # reminders and deadlines
            assert fired == 2 * n
            assert WorkOrder.objects.filter(loop_level="medium").count() == n
            transaction.set_rollback(True)
        return len(queries)

    assert statements(5, "a") == statements(20, "b") < 30


def test_a_failing_timer_is_retried_and_the_rest_of_its_batch_fires(site, cast, caplog):
    spec = {"levels": {"small": {"handler": {"party": "contractor"},
                                 "verifier": {"party": "supervisor"}},
                       "medium": {"handler": {"party": "monitor"},
                                  "verifier": {"agency": "supervision_station"}}},
            "deadlines": {"dispose": "P1D", "verify": "P1D"},
            "escalate": {"on_overdue": ["dispose"]}}
    LoopPolicy.objects.create(scenario="lab", kind="monitored", kind_label="监测", source="测试",
                              spec=spec)
    monitor = m.Enterprise.objects.create(uscc="91310000MA1FL8XQ3K", name="戊监测有限公司")
    m.ProjectParty.objects.create(project=cast.project_b, role=PartyRole.MONITOR,
                                  enterprise=monitor)

    def order(project, key):
        event = services.raise_event(scenario="lab", rule="monitored", project=project,
                                     dedup_key=f"lab:{key}", title="位移超限", now=T0)
        event.refresh_from_db()
        return WorkOrder.objects.get(pk=event.order_id)

    fine = [order(cast.project_b, "b1"), order(cast.project_b, "b2")]
    broken = order(cast.project_a, "a")  # project A has no 监测单位 to hand the order to
    fine.append(order(cast.project_b, "b3"))
    now = T0 + D + H
    caplog.set_level(logging.ERROR, logger="smartsite.workorders.timers")

    assert services.fire_due_timers(now) == 3
    assert "firing 4 timers together failed" in caplog.text
    for o in fine:
        o.refresh_from_db()
        assert (o.loop_level, o.court_enterprise) == ("medium", monitor)
        assert [a.action for a in o.actions.order_by("seq")] == ["create", "escalate"]
        assert verify_chain(o) == []
    timer = broken.timers.get(kind="deadline")
    assert timer.fired_at is None and timer.due_at == now + MIN
    assert timer.outcome.startswith("失败：") and "监测单位" in timer.outcome
    broken.refresh_from_db()
    assert broken.loop_level == "small" and broken.actions.count() == 1

    assert services.fire_due_timers(now + MIN) == 0  # still no 监测单位: a minute more
    m.ProjectParty.objects.create(project=cast.project_a, role=PartyRole.MONITOR,
                                  enterprise=monitor)
    assert services.fire_due_timers(now + 2 * MIN) == 1
    broken.refresh_from_db()
    assert broken.loop_level == "medium" and broken.court_enterprise == monitor
    assert verify_chain(broken) == []


def test_a_policy_version_is_parsed_once_and_a_row_rewritten_behind_its_back_read_again(db):
    policy = LoopPolicy.objects.get(scenario="dust", kind="exceedance", active=True)
    first, again = (LoopPolicy.objects.get(pk=policy.pk).rules for _ in range(2))
    assert first is again
    spec = copy.deepcopy(policy.spec)
    spec["deadlines"]["dispose"] = "PT2H"
    LoopPolicy.objects.filter(pk=policy.pk).update(spec=spec)
    assert LoopPolicy.objects.get(pk=policy.pk).rules.deadline("dispose") == 2 * H
