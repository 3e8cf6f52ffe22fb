"""The three seed scenarios' loops end to end, on a fake clock: small closes; failed
verification goes medium; overdue goes medium/large. Plus the refusals: wrong state, wrong
party, stale version, missing comment or photo, bad attachment — nothing changed."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from support.orders import DUST_DATA_VALID, PNG, T0, D, H, act, history, photo

from smartsite.core import models as m
from smartsite.core.choices import AgencyKind, PartyRole
from smartsite.core.errors import Conflict, DomainError, Forbidden
from smartsite.workorders import courts, permissions, services
from smartsite.workorders.choices import Action, EventState, OrderState
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import LoopPolicy, Notification, OrderAction, WorkOrder

pytestmark = pytest.mark.postgres

# ---------------------------------------------------------------- dust


def test_dust_small_loop_closes_when_the_monitor_data_is_valid_again(site):
    order = site.order_of(site.event("dust", "exceedance"))
    assert order.state == OrderState.PENDING_DISPOSAL and order.loop_level == "small"
    assert order.court_enterprise == site.contractor and order.court_post.code == "project_manager"
    assert order.due_at == T0 + 24 * H
    assert Notification.objects.filter(user=site.pm, order=order).exists()

    act(order, Action.DISPOSE, site.pm, T0 + 2 * H, comment="已开启喷淋、覆盖裸土",
        files=[photo()])
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_VERIFICATION
    assert services.fire_due_timers(T0 + 2 * H) == 1  # the automatic check: not yet
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.PENDING_VERIFICATION

    DUST_DATA_VALID["value"] = True
    services.fire_due_timers(T0 + 3 * H)
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_level == "small"
    assert history(order)[-1] == ("verify_pass", "small")
    assert verify_chain(order) == []


def test_dust_unverified_goes_medium_then_rejected_goes_large_and_the_squad_closes_it(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="已整改", files=[photo()])
    # The data stays bad for the whole verification window: the worker escalates.
    services.fire_due_timers(T0 + 26 * H)
    order.refresh_from_db()
    assert (order.loop_level, order.state) == ("medium", OrderState.PENDING_DISPOSAL)
    assert order.court_enterprise == site.contractor  # the 整改单位 again, regulator watching

    act(order, Action.DISPOSE, site.pm, T0 + 27 * H, comment="再次整改", files=[photo()])
    order.refresh_from_db()
    assert order.court_agency.kind == AgencyKind.SUPERVISION_STATION
    act(order, Action.VERIFY_REJECT, site.station, T0 + 28 * H, comment="现场仍有扬尘")
    order.refresh_from_db()
    assert (order.loop_level, order.state) == ("large", OrderState.PENDING_DISPOSAL)
    assert order.court_agency == m.Agency.objects.get(region=site.cast.lujiazui)

    act(order, Action.DISPOSE, site.squad, T0 + 30 * H, comment="执法中队到场处置",
        files=[photo()])
    act(order, Action.VERIFY_PASS, site.squad, T0 + 31 * H, comment="已整改到位")
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_level == "large"
    assert [a for a, _ in history(order)] == [
        "create", "dispose", "escalate", "dispose", "verify_reject", "dispose", "verify_pass"]


def test_dust_disposal_overdue_escalates_once_and_stale_timers_do_nothing(site):
    order = site.order_of(site.event("dust", "exceedance"))
    assert services.fire_due_timers(T0 + 20 * H) == 1  # the 4-hours-before reminder
    assert Notification.objects.filter(user=site.pm, text__contains="到期").exists()
    services.fire_due_timers(T0 + 25 * H)
    order.refresh_from_db()
    assert order.loop_level == "medium"
    services.fire_due_timers(T0 + 50 * H)  # medium overdue → large
    services.fire_due_timers(T0 + 50 * H)  # again at the same time: nothing twice
    order.refresh_from_db()
    assert order.loop_level == "large"
    assert [a for a, _ in history(order)].count("escalate") == 2


def test_a_repeating_condition_updates_one_open_event(site):
    first = site.event("dust", "exceedance")
    again = site.event("dust", "exceedance", now=T0 + H)
    assert again.pk == first.pk and again.count == 2 and again.last_seen == T0 + H
    assert WorkOrder.objects.count() == 1
    first.refresh_from_db()
    assert first.state == EventState.DISPATCHED and first.order == WorkOrder.objects.get()


# ---------------------------------------------------------------- key-post attendance


def test_attendance_two_rejections_go_medium_and_medium_overdue_is_flagged(site):
    order = site.order_of(site.event("attendance", "absence"))
    assert order.court_enterprise == site.contractor
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="项目经理已到岗")
    act(order, Action.VERIFY_REJECT, site.chief, T0 + 2 * H, comment="考勤记录不足")
    order.refresh_from_db()
    assert (order.loop_level, order.rejections) == ("small", 1)
    act(order, Action.DISPOSE, site.pm, T0 + 3 * H, comment="补充说明")
    act(order, Action.VERIFY_REJECT, site.chief, T0 + 4 * H, comment="仍不符合")
    order.refresh_from_db()
    assert (order.loop_level, order.state) == ("medium", OrderState.PENDING_DISPOSAL)
    services.fire_due_timers(T0 + 4 * H + 3 * D + H)
    order.refresh_from_db()
    assert order.overdue and order.loop_level == "medium"  # no large loop for attendance
    assert Notification.objects.filter(order=order, text__contains="已逾期").exists()


# ---------------------------------------------------------------- deep pits


def test_pit_warning_is_dispatched_by_the_owner_disposed_and_verified_small(site):
    order = site.order_of(site.event("pits", "warning"))
    assert order.state == OrderState.PENDING_DISPATCH
    assert order.court_party_role == PartyRole.OWNER and order.due_at == T0 + 2 * D
    act(order, Action.DISPATCH, site.owner, T0 + D, comment="召集各方")
    order.refresh_from_db()
    assert order.due_at == T0 + D + 15 * D  # disposal: 15 days
    act(order, Action.DISPOSE, site.pm, T0 + 5 * D, comment="加设支撑")
    act(order, Action.VERIFY_PASS, site.chief, T0 + 6 * D, comment="整改确认")
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_level == "small"


def test_pit_warning_not_answered_in_two_days_goes_to_the_authority(site):
    order = site.order_of(site.event("pits", "warning"))
    services.fire_due_timers(T0 + 2 * D + H)
    order.refresh_from_db()
    assert order.loop_level == "medium" and order.state == OrderState.PENDING_DISPATCH
    assert order.court_agency.kind == AgencyKind.SUPERVISION_STATION
    act(order, Action.DISPATCH, site.station, T0 + 3 * D, comment="督促施工单位处置")
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_DISPOSAL and order.court_enterprise == site.contractor


# ---------------------------------------------------------------- refusals change nothing


def _snapshot(order):
    order.refresh_from_db()
    return (order.state, order.loop_level, order.version, order.actions.count())


@pytest.mark.parametrize(("who", "action", "kw", "error", "words"), [
    ("chief", Action.DISPOSE, {"comment": "x", "files": "photo"}, Forbidden, "办理"),
    ("pm", Action.VERIFY_PASS, {"comment": "x"}, DomainError, "待处置"),
    ("pm", Action.DISPOSE, {"files": "photo"}, DomainError, "意见"),
    ("pm", Action.DISPOSE, {"comment": "已整改"}, DomainError, "照片"),
    ("pm", Action.DISPOSE, {"comment": "已整改", "files": "text"}, DomainError, "不是"),
    ("pm", Action.CANCEL, {"comment": "不想做"}, Forbidden, "派单人"),
    ("squad", Action.SUSPEND, {"comment": "x"}, Forbidden, "监管部门"),
    ("station", Action.REASSIGN, {"comment": "x", "to_level": "huge"}, DomainError, "可选"),
    ("station", Action.SUSPEND, {}, DomainError, "意见"),
])
def test_refused_actions_change_nothing(site, who, action, kw, error, words):
    order = site.order_of(site.event("dust", "exceedance"))
    before = _snapshot(order)
    kw = dict(kw)
    if kw.get("files") == "photo":
        kw["files"] = [photo()]
    elif kw.get("files") == "text":
        kw["files"] = [SimpleUploadedFile("fake.jpg", b"not an image", content_type="image/jpeg")]
    with pytest.raises(error) as caught:
        act(order, action, getattr(site, who), T0 + H, **kw)
    assert words in caught.value.message
    assert _snapshot(order) == before


def test_a_stale_version_gets_a_conflict_and_nothing_changes(site):
    order = site.order_of(site.event("dust", "exceedance"))
    seen = order.version
    services.act(order, Action.COMMENT, site.station, version=seen, comment="请尽快处置", now=T0)
    before = _snapshot(order)
    with pytest.raises(Conflict) as caught:
        services.act(order, Action.DISPOSE, site.pm, version=seen, comment="已整改",
                     files=[photo()], now=T0 + H)
    assert "刷新" in caught.value.message
    assert _snapshot(order) == before


def test_suspend_and_resume_stop_and_restart_the_clock(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.SUSPEND, site.station, T0 + H, comment="暴雨停工")
    services.fire_due_timers(T0 + 30 * H)
    order.refresh_from_db()
    assert order.state == OrderState.SUSPENDED and order.loop_level == "small"
    act(order, Action.RESUME, site.station, T0 + 40 * H, comment="复工")
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_DISPOSAL and order.due_at == T0 + 64 * H


def test_only_the_issuer_cancels_a_hand_made_order(site):
    order = services.open_order(scenario="dust", kind="missing_monitor", project=site.project,
                                title="少装扬尘监测设备", actor=site.station, now=T0)
    with pytest.raises(Forbidden):
        act(order, Action.CANCEL, site.cast.city, T0 + H, comment="误派")
    act(order, Action.CANCEL, site.station, T0 + H, comment="误派")
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED and not order.timers.filter(
        fired_at__isnull=True, cancelled=False).exists()


def test_a_regulator_of_another_district_cannot_open_an_order(site):
    with pytest.raises(Forbidden):
        services.open_order(scenario="dust", kind="missing_monitor", project=site.project,
                            title="x", actor=site.cast.district, now=T0)


# ---------------------------------------------------------------- the hash chain


def test_editing_the_history_behind_the_applications_back_is_reported(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="已整改", files=[photo()])
    assert verify_chain(order) == []
    OrderAction.objects.filter(order=order, seq=2).update(comment="改过的意见")  # raw UPDATE
    problems = verify_chain(order)
    assert len(problems) == 1 and "第 2 条" in problems[0] and "改动" in problems[0]


def test_deleting_an_entry_breaks_the_chain(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.COMMENT, site.station, T0 + H, comment="一")
    act(order, Action.COMMENT, site.station, T0 + 2 * H, comment="二")
    OrderAction.objects.filter(order=order, seq=2).delete()
    assert any("第 3 条" in p and "上一条" in p for p in verify_chain(order))


def test_worker_started_after_downtime_processes_everything_due_exactly_once(site):
    orders = [site.order_of(site.event("dust", "exceedance", key=str(i))) for i in range(5)]
    now = T0 + 10 * D  # the worker was down for ten days
    while services.fire_due_timers(now, limit=3):
        pass
    for order in orders:
        order.refresh_from_db()
        assert order.loop_level == "large" and order.overdue
        # small→medium and medium→large, once each, though every deadline is long past
        assert [a for a, _ in history(order)].count("escalate") == 2


def test_attachments_are_stored_with_their_hash(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="已整改", files=[photo("现场.png")])
    attachment = order.actions.get(action=Action.DISPOSE).attachments.get()
    assert attachment.content_type == "image/png" and attachment.size == len(PNG)
    assert io.BytesIO(attachment.file.read()).getvalue() == PNG
    assert timezone.is_aware(order.actions.get(action=Action.DISPOSE).at)


def test_nobody_verifies_by_hand_where_the_policy_verifies_automatically(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="已覆盖", files=[photo()])
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_VERIFICATION
    assert Action.VERIFY_PASS not in permissions.allowed_actions(order, site.pm)
    with pytest.raises(Forbidden, match="系统自动核查"):
        act(order, Action.VERIFY_PASS, site.pm, T0 + 2 * H)
    with pytest.raises(Forbidden, match="系统自动核查"):
        act(order, Action.VERIFY_REJECT, site.station, T0 + 2 * H, comment="不行")
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_VERIFICATION and order.version == 2
    assert Notification.objects.filter(user=site.pm, text__contains="等待系统自动核查").exists()


def test_an_event_is_dispatched_once(site, cast):
    event = services.raise_event(scenario="dust", rule="spray_not_linked", project=site.project,
                                 dedup_key="dust:spray:x", title="喷淋未联动")
    services.ignore_event(event, actor=cast.city, reason="设备检修")
    with pytest.raises(DomainError, match="已忽略"):
        services.open_order(scenario="dust", kind="exceedance", project=site.project,
                            title="喷淋未联动", actor=cast.city, events=[event])
    assert not WorkOrder.objects.filter(project=site.project).exists()


def test_history_written_with_a_shanghai_clock_still_verifies(site):
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    order = site.order_of(site.event("dust", "exceedance", now=T0.astimezone(shanghai)))
    act(order, Action.COMMENT, site.pm, (T0 + H).astimezone(shanghai), comment="收到")
    assert verify_chain(WorkOrder.objects.get(pk=order.pk)) == []


def test_automatic_verification_gets_a_last_look_at_the_deadline(site):
    order = site.order_of(site.event("dust", "exceedance"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="已覆盖", files=[photo()])
    for hour in range(2, 25):
        services.fire_due_timers(T0 + hour * H)
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_VERIFICATION
    DUST_DATA_VALID["value"] = True  # 24 h of valid data, complete only at the deadline
    services.fire_due_timers(T0 + 25 * H)
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_level == "small"
    assert "时限届满时" in order.actions.order_by("-seq").first().comment


def test_without_the_scenarios_check_the_worker_does_not_poll(site):
    spec = {"levels": {"small": {"handler": {"party": "contractor"}, "verifier": "auto"},
                       "medium": {"handler": {"party": "contractor"},
                                  "verifier": {"agency": "supervision_station"}}},
            "deadlines": {"dispose": "P1D", "verify": "P1D"},
            "escalate": {"on_overdue": ["verify"]},
            "auto_verify": {"check": "nobody.installed_this", "every": "PT1H"}}
    LoopPolicy.objects.create(scenario="lab", kind="auto", kind_label="试验", source="测试",
                              spec=spec)
    order = site.order_of(site.event("lab", "auto"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="已整改")
    assert services.fire_due_timers(T0 + 2 * H) == 1
    assert services.fire_due_timers(T0 + 5 * H) == 0, "no hourly polls without a check"
    services.fire_due_timers(T0 + 26 * H)
    order.refresh_from_db()
    assert order.loop_level == "medium" and order.state == OrderState.PENDING_DISPOSAL


def test_a_finding_that_returns_after_closure_opens_a_new_order(site):
    order = site.order_of(site.event("attendance", "absence", key="pm-away"))
    act(order, Action.DISPOSE, site.pm, T0 + H, comment="项目经理已到岗", files=[photo()])
    order.refresh_from_db()
    verifier = site.chief if courts.in_court(site.chief, order) else site.station
    act(order, Action.VERIFY_PASS, verifier, T0 + 2 * H)
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED
    assert order.events.get().state == EventState.CLOSED
    again = site.event("attendance", "absence", key="pm-away", now=T0 + 3 * D)
    assert again.order_id not in (None, order.pk) and again.count == 1


def test_the_start_levels_notify_list_is_told_when_an_order_opens(site):
    """A policy's `notify` on its start level (data, no scenario named in the engine): the
    organisations are told when the order opens, the court only once; a party the project has
    not registered is skipped."""
    spec = {"levels": {"small": {"handler": {"party": "contractor", "post": "project_manager"},
                                 "verifier": {"party": "supervisor"},
                                 "notify": [{"party": "owner"}, {"party": "contractor"},
                                            {"party": "supervisor"}, {"party": "designer"},
                                            {"agency": "supervision_station"}]}},
            "deadlines": {"dispose": "P1D", "verify": "P1D"}}
    LoopPolicy.objects.create(scenario="lab", kind="pushed", kind_label="试验", source="测试",
                              spec=spec)
    order = site.order_of(site.event("lab", "pushed"))
    told = Notification.objects.filter(order=order)
    assert told.filter(user=site.owner, text__contains="已派发").count() == 1
    assert told.filter(user=site.chief, text__contains="已派发").count() == 1
    assert told.filter(user=site.station, text__contains="已派发").count() == 1
    assert told.filter(user=site.pm).count() == 1  # as the court: 待您处置
    # without a start-level list nobody else hears of it
    LoopPolicy.objects.create(scenario="lab", kind="quiet", kind_label="试验", source="测试",
                              spec={**spec, "levels": {"small": {
                                  k: v for k, v in spec["levels"]["small"].items()
                                  if k != "notify"}}})
    quiet = site.order_of(site.event("lab", "quiet", key="k2"))
    assert not Notification.objects.filter(order=quiet, text__contains="已派发").exists()
    assert not Notification.objects.filter(order=quiet, user__in=[site.owner, site.chief,
                                                                  site.station]).exists()
