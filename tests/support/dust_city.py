"""A small dust city for the dashboard tests (tests/dust/test_dashboard.py and the browser
tests): monitors with today's readings stored by `ingest.ingest`, live states, and dust
orders raised by `workorders.services.raise_event` under the dust loop policies, one of them
closed at the large loop by the street squad."""

from __future__ import annotations

import datetime

from django.utils import timezone

from smartsite.dust import ingest
from smartsite.dust.partitions import ensure_partitions
from smartsite.hj212.handlers import StatusUpdate
from smartsite.workorders import services as orders
from smartsite.workorders.choices import Action, LoopLevel, OrderState
from smartsite.workorders.models import WorkOrder
from support.monitors import SHANGHAI, add_monitor, row
from support.orders import Site, photo

MIN = datetime.timedelta(minutes=1)


def seen(monitor, at, **values):
    ingest.save_status([StatusUpdate(
        monitor_id=monitor.pk, last_seen=at, last_data_time=at - MIN, values=values,
        flags={k: "N" for k in values}, peer="10.8.0.17:50211", connected_since=at, packets=60)])


class City:
    """Project A (静安) with monitors A1 (dusty: 4 quarters over the limit after midnight,
    online) and A2 (clean, offline); project B (陆家嘴, 浦东) with B1 (1 quarter over — the
    one a day DB31/964 allows — online). Orders: on A an exceedance and an offline order at
    the small loop; on B an exceedance sent to the street squad and closed there (large
    loop) and a 喷雾未联动 order at the large loop, open."""

    def __init__(self, cast, django_user_model):
        self.now = now = timezone.now()
        self.today = timezone.localdate(now)
        midnight = datetime.datetime.combine(self.today, datetime.time(), SHANGHAI)
        ensure_partitions(self.today - datetime.timedelta(days=1),
                          self.today + datetime.timedelta(days=1))
        self.a1 = add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门",
                              longitude=121.4480, latitude=31.2290)
        self.a2 = add_monitor(cast.project_a, mn="31JA00000000000000000A02", location="西南角",
                              longitude=121.4470, latitude=31.2280)
        self.b1 = add_monitor(cast.project_b, mn="31PD00000000000000000B01", location="北门",
                              longitude=121.5050, latitude=31.2400)
        rows = []
        for i in range(60):  # 00:00–00:59 today (at most 59 min ahead of now: accepted)
            at = midnight + i * MIN
            rows.append(row(self.a1, at, now=now, pm10=150.0 + i % 3))
            rows.append(row(self.a2, at, now=now, pm10=50.0))
            rows.append(row(self.b1, at, now=now, pm10=130.0 if i < 15 else 60.0))
        ingest.ingest(rows)
        ingest.roll_up_all()  # hour and day means, as the gateway's next flush
        seen(self.a1, now - MIN, pm10=150.0, pm25=70.0, noise=61.0)
        seen(self.a2, now - datetime.timedelta(hours=2), pm10=50.0)
        seen(self.b1, now, pm10=40.0)

        self.site = site = Site(cast, django_user_model)
        raise_ = orders.raise_event
        hour = datetime.timedelta(hours=1)
        self.a_exceed = self._order(raise_(
            scenario="dust", rule="exceedance", project=cast.project_a,
            dedup_key=f"dust:exceedance:{self.a1.mn}", title="PM10超标：静安甲项目 设备 000A01",
            severity="serious", subject=self.a1.mn, now=now - 3 * hour,
            evidence={"mn": self.a1.mn, "limit": 100, "count_today": 4, "allowed_per_day": 1,
                      "quarters": [["00:00", 151.0], ["00:15", 151.0], ["00:30", 151.0],
                                   ["00:45", 151.0]], "rule": "exceedance"}))
        self.a_offline = self._order(raise_(
            scenario="dust", rule="offline", project=cast.project_a,
            dedup_key=f"dust:offline:{self.a2.mn}", title="监测设备离线：静安甲项目 设备 000A02",
            subject=self.a2.mn, now=now - 2 * hour,
            evidence={"mn": self.a2.mn, "minutes": 120, "threshold": 60, "rule": "offline"}))
        self.b_closed = self._order(raise_(
            scenario="dust", rule="exceedance", project=cast.project_b,
            dedup_key=f"dust:exceedance:{self.b1.mn}", title="PM10超标：陆家嘴乙项目 设备 000B01",
            subject=self.b1.mn, now=now - 5 * hour,
            evidence={"mn": self.b1.mn, "limit": 100, "count_today": 2,
                      "quarters": [["00:00", 130.0], ["00:15", 131.0]], "rule": "exceedance"}))
        self.b_spray = self._order(raise_(
            scenario="dust", rule="spray_unlinked", project=cast.project_b,
            dedup_key=f"dust:spray:{self.b1.mn}", title="超标后喷淋雾炮未联动开启：陆家嘴乙项目 设备 000B01",
            subject=self.b1.mn, now=now - 4 * hour,
            evidence={"mn": self.b1.mn, "exceedance_from": "00:00", "within_minutes": 10,
                      "sprays": "未登记联动的喷淋/雾炮", "rule": "spray_unlinked"}))
        for order in (self.b_closed, self.b_spray):
            self.act(order, Action.REASSIGN, site.station, to_level=LoopLevel.LARGE,
                     comment="项目经理逾期未处置，转街镇城管执法中队")
        squad = cast.street
        self.act(self.b_closed, Action.ACCEPT, squad)
        self.act(self.b_closed, Action.DISPOSE, squad, comment="责令覆盖裸土，开启雾炮",
                 files=[photo()])
        self.act(self.b_closed, Action.VERIFY_PASS, squad)
        self.b_closed.refresh_from_db()
        assert self.b_closed.state == OrderState.CLOSED
        assert self.b_closed.closed_level == LoopLevel.LARGE

    @staticmethod
    def _order(event) -> WorkOrder:
        event.refresh_from_db()
        assert event.order_id, f"no order for {event.rule}: is the dust loop policy loaded?"
        return WorkOrder.objects.get(pk=event.order_id)

    @staticmethod
    def act(order, action, user, **kw):
        order.refresh_from_db()
        return orders.act(order, action, user, version=order.version, **kw)


