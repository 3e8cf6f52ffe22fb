"""A pit from surveys through yellow and red to a closed order, on an injected clock, through
the API as the monitoring company sends them: the 建设单位 convenes and dispatches, the design
unit judges the colour (into the order's hash chain), the 施工单位 disposes, the 监理 verifies;
an undispatched warning goes to the district 监督站 after 2 days (the seed's 场景三)."""

from __future__ import annotations

import datetime

import pytest
from support.api import Api
from support.clock import CLOCK_AT
from support.orders import act
from support.pits import build_site

from smartsite.core.choices import AgencyKind
from smartsite.pits import services
from smartsite.pits.models import Pit
from smartsite.workorders import services as orders
from smartsite.workorders.choices import Action, OrderState
from smartsite.workorders.history import verify_chain
from smartsite.workorders.models import Event, OrderAction

pytestmark = pytest.mark.postgres  # timers, batches and the chain differ by engine
DAY = datetime.timedelta(days=1)
H = datetime.timedelta(hours=1)


@pytest.fixture
def site(clock, cast):
    return build_site(cast)


def survey(api, site, *values, start):
    rows = [{"point": "WY-01", "measured_at": (start + n * DAY).isoformat(), "value": v,
             "unit": "mm"} for n, v in enumerate(values)]
    response = api.call("post", f"/pits/{site.pit.pk}/surveys", {"rows": rows})
    assert response.status_code == 201, response.content
    return response.json()


def test_a_pit_goes_yellow_then_red_and_its_order_closes_in_the_small_loop(client, cast, site):
    api = Api(client, site.monitor_user)
    start = CLOCK_AT - 6 * DAY
    result = survey(api, site, 0.0, 0.1, -0.1, 6.0, start=start)  # 6 mm/d: the rate alarm
    assert (result["readings"], result["proposed_colour"]) == (4, "yellow")
    assert survey(api, site, 0.0, start=start)["duplicates"] == 1  # a re-send changes nothing

    yellow = Event.objects.get(scenario="pits")
    order = yellow.order
    assert order.state == OrderState.PENDING_DISPATCH and order.loop_level == "small"
    assert order.court_enterprise == site.pit.project.parties.get(role="owner").enterprise

    result = survey(api, site, 12.0, 21.0, start=start + 4 * DAY)  # 21 mm at 9 mm/d
    assert result["proposed_colour"] == "red"
    red = Event.objects.exclude(pk=yellow.pk).get(scenario="pits")
    assert red.severity == "serious"
    red_order = red.order

    change = services.judge_colour(site.pit, colour="red", actor=site.designer_user,
                                   opinion="墙顶位移累计与速率均超预警值，判定红色预警")
    assert Pit.objects.get().colour == "red" and not change.proposed
    noted = OrderAction.objects.filter(order=red_order, action="comment").get()
    assert "设计单位研判：红色" in noted.comment

    now = CLOCK_AT + H
    act(red_order, Action.DISPATCH, site.owner_user, now,
        comment="已召集设计、施工、监理、监测单位及外部专家现场论证，施工单位立即加撑")
    act(red_order, Action.DISPOSE, cast.contractor_a, now + H,
        comment="已增设临时钢支撑，坑边卸载，监测加密至每日两次")
    act(red_order, Action.VERIFY_PASS, site.supervisor_user, now + 2 * H,
        comment="现场复核支撑到位，数据趋稳，核查通过")
    red_order.refresh_from_db()
    assert red_order.state == OrderState.CLOSED and red_order.closed_level == "small"
    assert [a.action for a in red_order.actions.order_by("seq")] == [
        "create", "comment", "dispatch", "dispose", "verify_pass"]
    assert verify_chain(red_order) == []


def test_a_warning_nobody_dispatches_goes_to_the_district_station_after_two_days(client, site):
    api = Api(client, site.monitor_user)
    survey(api, site, 0.0, 0.0, 0.0, 6.0, start=CLOCK_AT - 4 * DAY)
    order = Event.objects.get(scenario="pits").order
    opened = order.opened_at
    orders.fire_due_timers(opened + 2 * DAY - H)  # the reminder a day before: still small
    order.refresh_from_db()
    assert order.loop_level == "small"
    orders.fire_due_timers(opened + 2 * DAY + H)
    order.refresh_from_db()
    assert order.loop_level == "medium" and order.state == OrderState.PENDING_DISPATCH
    assert order.court_agency.kind == AgencyKind.SUPERVISION_STATION
    assert order.court_agency.region == site.pit.project.district
    assert verify_chain(order) == []
