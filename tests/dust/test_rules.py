"""The dust rules end to end: simulated monitors send real HJ 212 packets over TCP to a real
`smartsite gateway`, the rules run on a fake clock (a day two days back, so every packet is
in the past), events open orders, and the orders go round their loops — closed by what the
data proves, or escalated to the district station and the street's enforcement squad."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from support.gateway import Device, GatewayProcess, wait_for
from support.monitors import add_monitor
from support.orders import Site, act, photo

from smartsite.core.choices import AgencyKind
from smartsite.dust import rules
from smartsite.dust.models import (
    DeviceRejection,
    DustRule,
    Inspection,
    MonitorStatus,
    Reading,
    SprayDevice,
    SprayReading,
)
from smartsite.dust.partitions import ensure_partitions
from smartsite.hj212 import codec
from smartsite.workorders import services
from smartsite.workorders.choices import Action, EventState, OrderState
from smartsite.workorders.models import Event, Notification, WorkOrder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MIN = datetime.timedelta(minutes=1)
H = datetime.timedelta(hours=1)
#: Noon (Shanghai) two days ago: the fake clock. Data up to a day after it is still in the past.
T = (datetime.datetime.now(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
     - datetime.timedelta(days=2))


@pytest.fixture
def site(cast, django_user_model, reference):
    ensure_partitions(T.date() - datetime.timedelta(days=1), T.date() + datetime.timedelta(days=3))
    return Site(cast, django_user_model)


@pytest.fixture
def gateway(tmp_path, site):
    """Starts the gateway when called — after the test has registered its monitors."""
    process = GatewayProcess(tmp_path)

    def start():
        return process.start()

    yield start
    if process.proc is not None:
        process.stop()


def monitor(site, n: int, project=None, **extra):
    m = add_monitor(project or site.project, mn=f"31RULE{n:018d}", **extra)
    Inspection.objects.create(monitor=m, inspected_on=T.date() - datetime.timedelta(days=100),
                              expires_on=T.date() + datetime.timedelta(days=265),
                              body="上海市计量测试技术研究院", certificate_no=f"JJ{n:06d}")
    return m


def send(gw, m, start, values, *, step=MIN, **extra):
    """One packet per `step` from `start`, PM10 from `values`; waits for every ack."""
    device = Device(gw.port, m.mn)
    packets = [device.packet(start + i * step, pm10=v, **extra) for i, v in enumerate(values)]
    for i in range(0, len(packets), 200):
        device.send(*packets[i:i + 200])
    acks = device.read_acks(len(packets), timeout=60)
    device.close()
    assert len(acks) == len(packets), gateway.output()
    return acks


def run(now, *codes):
    """Run the named rules (all of them if none) at `now`."""
    rules.load_rules()
    if codes:
        DustRule.objects.exclude(code__in=codes).update(enabled=False)
        DustRule.objects.filter(code__in=codes).update(enabled=True)
    return rules.run_due(now, force=True)


def event(key_part):
    return Event.objects.get(dedup_key__contains=key_part, state__in=["new", "dispatched"])


# ---------------------------------------------------------------- exceedance and its loops


def test_an_exceeding_day_opens_an_order_and_24_hours_of_clean_data_close_it(
        site, gateway, login):
    m = monitor(site, 1)
    gw = gateway()
    # 10:30–11:30: two quarters far above 100 µg/m³, then two clean ones.
    send(gw, m, T - 90 * MIN, [180] * 30 + [60] * 30)
    run(T, "exceedance")
    e = event(f"exceedance:{m.mn}")
    assert e.severity == "serious" and e.evidence["count_today"] == 2
    assert [q[1] for q in e.evidence["quarters"]] == [180, 180]
    # DB31/964's PM10 value is not confirmed: the order's evidence says so beside the value.
    assert e.evidence["limit_status"] == "待核实"
    order = WorkOrder.objects.get(pk=e.order_id)
    client = login(site.pm)
    for url, shown in ((order.get_absolute_url(), "限值 100（待核实）"),
                       (f"/m/orders/{order.pk}/", "限值 100 µg/m³（待核实）")):
        html = client.get(url).content.decode()
        assert shown in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)), url
    assert (order.kind, order.loop_level, order.state) == ("exceedance", "small", "pending_disposal")
    assert order.court_post.code == "project_manager"

    run(T + MIN, "exceedance")  # the same condition: the same event, counted
    assert Event.objects.filter(dedup_key=e.dedup_key).count() == 1
    assert event(m.mn).count == 2

    act(order, Action.DISPOSE, site.pm, T + H, comment="已开启喷淋、覆盖裸土", files=[photo()])
    # The monitor sends 24 h of valid, clean data after the fix.
    send(gw, m, T + H, [55] * (24 * 60 + 5))
    services.fire_due_timers(T + 2 * H)  # the hourly check: not 24 h yet
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.PENDING_VERIFICATION
    services.fire_due_timers(T + 26 * H)
    order.refresh_from_db()
    assert (order.state, order.closed_level) == (OrderState.CLOSED, "small")
    last = order.actions.order_by("-seq").first()
    assert last.action == "verify_pass" and "dust.valid_data_24h" in last.comment


def test_one_exceeding_quarter_a_day_is_within_the_standard(site, gateway):
    m = monitor(site, 2)
    gw = gateway()
    send(gw, m, T - 60 * MIN, [190] * 15 + [50] * 45)
    run(T, "exceedance")
    assert not Event.objects.filter(dedup_key__contains="exceedance").exists()


def test_data_still_dirty_goes_medium_then_large_to_the_street_squad(site, gateway):
    m = monitor(site, 3)
    gw = gateway()
    send(gw, m, T - 45 * MIN, [200] * 45)
    run(T, "exceedance")
    order = WorkOrder.objects.get(pk=event(m.mn).order_id)
    act(order, Action.DISPOSE, site.pm, T + H, comment="已整改", files=[photo()])
    send(gw, m, T + H, [150] * 60, step=24 * MIN)  # sparse and still over the limit
    services.fire_due_timers(T + 26 * H)
    order.refresh_from_db()
    assert (order.loop_level, order.state) == ("medium", OrderState.PENDING_DISPOSAL)
    escalation = order.actions.order_by("-seq").first()
    assert "核查不通过，重新整改" in escalation.comment
    # The disposal opinion cites the regulation, and the site's supervising department is told.
    assert "处置意见：依据《上海市大气污染防治条例》第五十五条第二款" in escalation.comment
    told = Notification.objects.filter(order=order, user=site.station).first()
    assert told is not None and "处置意见" in told.text and "中闭环" in told.text

    act(order, Action.DISPOSE, site.pm, T + 27 * H, comment="再次整改", files=[photo()])
    order.refresh_from_db()
    assert order.court_agency.kind == AgencyKind.SUPERVISION_STATION
    act(order, Action.VERIFY_REJECT, site.station, T + 28 * H, comment="现场裸土未覆盖")
    order.refresh_from_db()
    assert order.loop_level == "large"
    assert order.court_agency.kind == AgencyKind.ENFORCEMENT_SQUAD
    assert order.court_agency.region == site.project.street  # 陆家嘴街道's own squad
    assert Notification.objects.filter(order=order, user=site.pm, text__contains="大闭环").exists()


def test_noise_above_the_day_limit_opens_an_order_and_recovers(site, gateway):
    loud, quiet = monitor(site, 16), monitor(site, 17)
    gw = gateway()
    send(gw, loud, T - 15 * MIN, [50] * 15, LA={"Rtd": 78.0, "Flag": "N"})
    send(gw, quiet, T - 15 * MIN, [50] * 15, LA={"Rtd": 64.0, "Flag": "N"})
    run(T, "noise")
    e = event(f"noise:{loud.mn}")
    assert e.evidence["period"] == "昼间" and e.evidence["limit"] == 70 and e.evidence["leq"] == 78
    assert WorkOrder.objects.get(pk=e.order_id).kind == "noise"
    assert not Event.objects.filter(dedup_key=f"dust:noise:{quiet.mn}").exists()
    send(gw, loud, T, [50] * 15, LA={"Rtd": 62.0, "Flag": "N"})
    run(T + 15 * MIN, "noise")
    e.refresh_from_db()
    assert e.recovered_at is not None


def test_at_night_the_lower_limit_applies(site, gateway):
    m = monitor(site, 18)
    gw = gateway()
    night = T + 11 * H  # 23:00 Shanghai
    send(gw, m, night - 15 * MIN, [50] * 15, LA={"Rtd": 60.0, "Flag": "N"})
    run(night, "noise")
    e = event(f"noise:{m.mn}")
    assert (e.evidence["period"], e.evidence["limit"], e.evidence["leq"]) == ("夜间", 55, 60)
    assert e.title.startswith("夜间噪声超标")
    assert e.evidence["standard"] == "GB 12523-2025" and "criterion" not in e.evidence


def test_a_night_maximum_alone_is_flagged_with_its_unconfirmed_basis(site, gateway):
    # Leq within 55 dB(A) but one reading 16 dB(A) above it: only GB 12523-2011 4.2's
    # night-maximum rule (not confirmed for the 2025 edition) finds this, and says so.
    m = monitor(site, 19)
    gw = gateway()
    night = T + 11 * H
    step = datetime.timedelta(seconds=15)
    send(gw, m, night - 15 * MIN, [50] * 59, step=step, LA={"Rtd": 30.0, "Flag": "N"})
    send(gw, m, night - step, [50], step=step, LA={"Rtd": 71.0, "Flag": "N"})
    run(night, "noise")
    e = event(f"noise:{m.mn}")
    assert e.evidence["leq"] <= 55 and e.evidence["max"] == 71
    assert e.title.startswith("夜间最大声级超标（依据待核实）")
    assert e.evidence["standard"] == "GB 12523-2025"
    assert "GB 12523-2025 是否保留待核实" in e.evidence["criterion"]


def day_upload(gw, m, day: datetime.datetime, day_leq: float, night_leq: float) -> None:
    """The device's own day figures (HJ 212-2017 表 C.28: CN 2031, -DayData / -NightData)."""
    device = Device(gw.port, m.mn)
    device.send(codec.data_packet(mn=m.mn, pw=device.pw, cn="2031", st="23",
                                  data_time=day.replace(tzinfo=None),
                                  values={"Ldn": {"Data": 64.0}, "Ld": {"DayData": day_leq},
                                          "Ln": {"NightData": night_leq}}))
    assert len(device.read_acks(1)) == 1
    device.close()


def test_a_reported_night_leq_above_the_night_limit_raises_noise_until_a_quiet_day(site, gateway):
    loud, quiet = monitor(site, 19), monitor(site, 20)
    gw = gateway()
    yesterday = (T - 24 * H).replace(hour=0)
    day_upload(gw, loud, yesterday, 66.0, 57.3)  # night above 55
    day_upload(gw, quiet, yesterday, 69.5, 54.0)
    run(T, "noise")
    e = event(f"noise:day:{loud.mn}")
    assert (e.evidence["night_leq"], e.evidence["day_leq"], e.evidence["night_limit"]) == (
        57.3, 66.0, 55)
    assert e.title.startswith("夜间等效声级超标") and e.evidence["day"] == yesterday.date().isoformat()
    assert not Event.objects.filter(dedup_key__contains=quiet.mn).exists()
    day_upload(gw, loud, yesterday + 24 * H, 64.0, 52.0)  # the next day within both limits
    run(T + 24 * H, "noise")
    e.refresh_from_db()
    assert e.recovered_at is not None


# ---------------------------------------------------------------- devices and registry


def test_offline_monitor_raises_and_recovers_when_data_comes_back(site, gateway):
    m = monitor(site, 4)
    gw = gateway()
    send(gw, m, T - 3 * H, [50] * 5)
    wait_for(lambda: MonitorStatus.objects.filter(monitor=m, last_data_time__isnull=False).exists())
    run(T, "offline")
    e = event(f"offline:{m.mn}")
    assert e.order_id and e.evidence["threshold"] == 60
    send(gw, m, T - 2 * MIN, [50, 51])
    wait_for(lambda: MonitorStatus.objects.filter(monitor=m, last_data_time__gte=T - MIN).exists())
    run(T + MIN, "offline")
    e.refresh_from_db()
    assert e.recovered_at is not None and e.state == EventState.DISPATCHED  # its order goes on


def test_the_whole_city_going_silent_is_an_outage_not_thousands_of_orders(site):
    from django.utils import timezone

    from smartsite.dust.ingest import save_status
    from smartsite.hj212.handlers import StatusUpdate

    fleet = [monitor(site, 100 + i) for i in range(20)]
    later = timezone.now() + 2 * H
    save_status([StatusUpdate(m.pk, last_seen=later, last_data_time=later) for m in fleet[1:]])
    run(later + MIN, "offline")  # one of twenty silent: that site's problem
    assert Event.objects.filter(dedup_key__startswith="dust:offline:").count() == 1
    run(later + 3 * H, "offline")  # all twenty silent for hours: the platform lost them
    assert Event.objects.filter(dedup_key__startswith="dust:offline:").count() == 1
    assert event(f"offline:{fleet[0].mn}").recovered_at is None  # nor a false recovery


def test_a_city_of_findings_is_opened_a_few_at_a_time(site):
    rules.load_rules()
    DustRule.objects.filter(code="missing_monitor").update(params={"max_new": 1})
    run(T, "missing_monitor")  # both projects lack monitors; the older finding first
    assert Event.objects.filter(dedup_key__startswith="dust:missing:").count() == 1
    run(T + H, "missing_monitor")
    missing = Event.objects.filter(dedup_key__startswith="dust:missing:")
    assert missing.count() == 2 and sorted(e.count for e in missing) == [1, 2]
    assert WorkOrder.objects.filter(kind="missing_monitor").count() == 2


def test_a_site_without_enough_monitors_gets_a_missing_monitor_order(site):
    run(T, "missing_monitor")
    e = Event.objects.get(dedup_key=f"dust:missing:{site.project.pk}")
    assert e.evidence == {"required": 1, "installed": 0, "site_area_m2": 0.0,
                          "rule": "missing_monitor"}
    assert WorkOrder.objects.get(pk=e.order_id).kind == "missing_monitor"
    monitor(site, 5)
    run(T + H, "missing_monitor")
    e.refresh_from_db()
    assert e.recovered_at is not None


def test_spray_that_does_not_start_after_an_exceedance(site, gateway):
    linked, lazy = monitor(site, 6), monitor(site, 7)
    for m in (linked, lazy):
        SprayDevice.objects.create(monitor=m, name="大门雾炮", sb_code="SB1")
    gw = gateway()
    for m in (linked, lazy):
        send(gw, m, T - 60 * MIN, [40] * 15 + [160] * 45)
    # Only the linked one reports its fog cannon running, 3 minutes into the exceedance.
    device = Device(gw.port, linked.mn)
    state = codec.data_packet(mn=linked.mn, pw=device.pw, cn="2021",
                              data_time=(T - 42 * MIN).astimezone(SHANGHAI).replace(tzinfo=None),
                              values={"SB1": {"RS": "1"}})
    device.send(state)
    assert [a.cn for a in device.read_acks(1)] == ["9014"]
    assert SprayReading.objects.filter(device__monitor=linked, running=True).count() == 1
    assert SprayDevice.objects.get(monitor=linked).running is True
    # A code the monitor has no spray for is refused with the reason.
    device.send(codec.data_packet(mn=linked.mn, pw=device.pw, cn="2021",
                                  data_time=(T - 40 * MIN).astimezone(SHANGHAI).replace(tzinfo=None),
                                  values={"SB9": {"RS": "1"}}))
    wait_for(lambda: DeviceRejection.objects.filter(mn=linked.mn, reason="bad_data").exists())
    assert "SB9" in DeviceRejection.objects.get(mn=linked.mn).detail
    device.close()

    run(T, "spray_unlinked")
    assert not Event.objects.filter(dedup_key=f"dust:spray:{linked.mn}").exists()
    e = event(f"spray:{lazy.mn}")
    assert e.evidence["within_minutes"] == 10 and e.evidence["sprays"] == ["大门雾炮（SB1）"]
    order = WorkOrder.objects.get(pk=e.order_id)
    assert order.kind == "spray_unlinked"


def test_inspection_expired_opens_an_order_and_due_soon_only_warns(site):
    expired, soon = monitor(site, 8), monitor(site, 9)
    Inspection.objects.filter(monitor=expired).update(expires_on=T.date() - datetime.timedelta(days=1))
    Inspection.objects.filter(monitor=soon).update(expires_on=T.date() + datetime.timedelta(days=12))
    run(T, "inspection")
    e = event(f"inspection:{expired.mn}")
    assert e.order_id and "过期" in e.evidence["reason"]
    warning = event(f"inspection_due:{soon.mn}")
    assert warning.order_id is None and warning.severity == "info"
    assert warning.evidence["days_left"] == 12
    # The new certificate is recorded: the automatic check passes and the event recovers.
    Inspection.objects.create(monitor=expired, inspected_on=T.date(),
                              expires_on=T.date() + datetime.timedelta(days=365),
                              body="上海市计量测试技术研究院", certificate_no="JJ-NEW")
    order = WorkOrder.objects.get(pk=e.order_id)
    act(order, Action.DISPOSE, site.pm, T + H, comment="已年检", files=[photo()])
    services.fire_due_timers(T + H)
    order.refresh_from_db()
    assert (order.state, order.closed_level) == (OrderState.CLOSED, "small")
    e.refresh_from_db()
    assert e.state == EventState.CLOSED  # closed with its order
    run(T + H, "inspection")
    assert not Event.objects.filter(dedup_key=e.dedup_key, state__in=["new", "dispatched"]).exists()

def test_the_automatic_check_judges_the_inspection_by_the_shanghai_date(site):
    """A certificate that expired yesterday (Shanghai) does not verify the order between
    00:00 and 08:00, when the UTC date is still yesterday."""
    from smartsite.workorders import checks

    m = monitor(site, 40)
    Inspection.objects.filter(monitor=m).update(expires_on=T.date() - datetime.timedelta(days=1))
    run(T, "inspection")
    order = WorkOrder.objects.get(pk=event(f"inspection:{m.mn}").order_id)
    Inspection.objects.filter(monitor=m).update(expires_on=T.date())  # valid through T's day
    check = checks.get("dust.inspection_recorded")
    assert check(order, T.astimezone(datetime.UTC)) is True
    after_midnight = (T.replace(hour=0, minute=30) + datetime.timedelta(days=1))
    assert check(order, after_midnight.astimezone(datetime.UTC)) is False



# ---------------------------------------------------------------- tampering


def test_a_flat_line_for_hours_is_flagged(site, gateway):
    flat, live = monitor(site, 10), monitor(site, 11)
    gw = gateway()
    send(gw, flat, T - 3 * H, [55.0] * 180)
    send(gw, live, T - 3 * H, [50 + i % 7 for i in range(180)])
    run(T, "flat_line")
    e = event(f"flat:{flat.mn}")
    assert e.rule == "tamper" and e.evidence["value"] == 55.0 and e.order_id
    assert not Event.objects.filter(dedup_key=f"dust:flat:{live.mn}").exists()


def test_identical_data_on_two_sites_is_flagged(site, gateway):
    here, there = monitor(site, 12), monitor(site, 13, project=site.cast.project_a)
    gw = gateway()
    series = [40 + (i * 7) % 23 for i in range(40)]
    send(gw, here, T - 40 * MIN, series)
    send(gw, there, T - 40 * MIN, series)
    run(T, "cross_site")
    assert event(f"copy:{here.mn}").evidence["same_as"] == [there.mn]
    assert event(f"copy:{there.mn}").evidence["same_as"] == [here.mn]


def test_a_drop_to_clean_air_as_the_limit_is_reached_is_flagged(site, gateway):
    m = monitor(site, 14)
    gw = gateway()
    send(gw, m, T - 60 * MIN, ([70, 85, 98, 20, 22, 25] * 10))
    run(T, "drop_at_exceedance")
    e = event(f"drop:{m.mn}")
    assert e.evidence["count_today"] == 10 and e.evidence["drops"][0][1:] == [98, 20]


def test_a_monitor_reporting_a_position_outside_its_site_is_flagged(site, gateway):
    site.project.geofence = {"type": "Polygon", "coordinates": [[
        [121.500, 31.230], [121.503, 31.230], [121.503, 31.233], [121.500, 31.233],
        [121.500, 31.230]]]}
    site.project.save()
    m = monitor(site, 15)
    gw = gateway()
    away = {"Lng": {"Rtd": "121.52"}, "Lat": {"Rtd": "31.25"}}
    send(gw, m, T - 5 * MIN, [50] * 5, **away)
    wait_for(lambda: MonitorStatus.objects.filter(monitor=m, values__has_key="lng").exists())
    run(T, "outside_site")
    e = event(f"outside:{m.mn}")
    assert e.evidence["source"] == "设备上报" and e.evidence["metres_outside"] > 2000
    # Back on site: the event recovers.
    send(gw, m, T - MIN, [50], Lng={"Rtd": "121.501"}, Lat={"Rtd": "31.231"})
    wait_for(lambda: MonitorStatus.objects.filter(monitor=m, values__lng=121.501).exists())
    run(T + MIN, "outside_site")
    e.refresh_from_db()
    assert e.recovered_at is not None


# ---------------------------------------------------------------- bad input


def test_rule_parameters_are_checked(site):
    rules.load_rules()
    rule = DustRule.objects.get(code="offline")
    for bad, message in (({"minutes": "sixty"}, "应为数字"), ({"minutes": 1}, "之间"),
                         ({"nonsense": 1}, "没有参数")):
        rule.params = bad
        with pytest.raises(Exception) as caught:
            rule.full_clean()
        assert message in str(caught.value)
    assert DustRule.objects.get(code="offline").params == {}


def test_a_monitor_position_outside_its_site_is_refused(site):
    from django.core.exceptions import ValidationError

    site.project.geofence = {"type": "Polygon", "coordinates": [[
        [121.500, 31.230], [121.503, 31.230], [121.503, 31.233], [121.500, 31.233],
        [121.500, 31.230]]]}
    site.project.save()
    with pytest.raises(ValidationError) as caught:
        add_monitor(site.project, mn="31RULEOUTSIDE", longitude=121.52, latitude=31.25)
    assert "电子围栏外" in str(caught.value)
    add_monitor(site.project, mn="31RULEGATE", longitude=121.5001, latitude=31.2301)
    assert Reading.objects.count() == 0


def test_the_project_page_judges_the_day_as_the_rule_does(site, login, clock):
    """One exceedance in a complete quarter is allowed; a single dusty minute in the quarter
    still running is not judged yet — by the rule and by the page alike. (The injected clock
    has a complete quarter of today behind it at any real hour.)"""
    from django.utils import timezone
    from support.monitors import row

    from smartsite.dust.ingest import ingest

    m = monitor(site, 30)
    now = timezone.now()
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    day = quarter.date()
    ensure_partitions(day - datetime.timedelta(days=1), day + datetime.timedelta(days=1))
    rows = [row(m, quarter - 15 * MIN + i * MIN, pm10=180, now=now) for i in range(15)]
    rows.append(row(m, quarter, pm10=200, now=now))
    ingest(rows)
    run(now, "exceedance")
    assert not Event.objects.filter(dedup_key__startswith="dust:exceedance:").exists()
    page = login(site.cast.city).get(f"/monitors/projects/{site.project.pk}/").content.decode()
    assert "今日超标 1 个时段" in page and "不达标" not in page
