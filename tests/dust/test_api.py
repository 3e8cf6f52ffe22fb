"""The monitor API at /api/v1/monitors: scope, the list's filters, a monitor with its live
state, its means per period (noise as energy means), and the 404/422 answers."""

from __future__ import annotations

import datetime
import math

import pytest
from django.utils import timezone
from support.monitors import SHANGHAI, add_monitor, row

from smartsite.core import services as core_services
from smartsite.dust import ingest
from smartsite.dust.partitions import ensure_partitions
from smartsite.hj212.handlers import StatusUpdate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

API = "/api/v1"
MIN = datetime.timedelta(minutes=1)
START = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)


class Api:
    def __init__(self, client, user):
        _, key = core_services.issue_token(user, actor=user, name="pytest")
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def get(self, path, params=None):
        return self.client.get(API + path, params or {}, headers=self.headers)

    def mns(self, params=None):
        response = self.get("/monitors", {**(params or {}), "page_size": 500})
        assert response.status_code == 200, response.content
        return sorted(m["mn"] for m in response.json()["items"])


@pytest.fixture
def api_as(client):
    return lambda user: Api(client, user)


@pytest.fixture
def monitors(cast):
    ensure_partitions(START.date() - datetime.timedelta(days=1),
                      timezone.localdate() + datetime.timedelta(days=1))
    a1 = add_monitor(cast.project_a, mn="31JA00000000000000000A01", location="东门")
    a2 = add_monitor(cast.project_a, mn="31JA00000000000000000A02")
    b1 = add_monitor(cast.project_b, mn="31PD00000000000000000B01")
    now = timezone.now()
    ingest.save_status([StatusUpdate(
        monitor_id=a1.pk, last_seen=now - MIN, last_data_time=now - 2 * MIN,
        values={"pm10": 86.5, "pm25": 41.0, "noise": 63.4, "wind_dir": 135.0},
        flags={"pm10": "N", "pm25": "D", "noise": "N", "wind_dir": "N"},
        peer="10.8.0.17:50211", connected_since=now - 3 * MIN, packets=3)])
    ingest.save_status([StatusUpdate(monitor_id=a2.pk, last_seen=now - 3 * 3600 * MIN,
                                                last_data_time=None, connected=False)])
    return a1, a2, b1


def test_the_list_is_scoped_and_filtered_like_the_page(monitors, api_as, cast):
    a1, a2, b1 = monitors
    assert api_as(cast.district).mns() == [a1.mn, a2.mn]
    assert api_as(cast.street).mns() == [b1.mn]
    city = api_as(cast.city)
    assert city.mns() == [a1.mn, a2.mn, b1.mn]
    assert city.mns({"connectivity": "online"}) == [a1.mn]
    assert city.mns({"connectivity": "offline"}) == [a2.mn]
    assert city.mns({"connectivity": "never"}) == [b1.mn]
    assert city.mns({"district": cast.pudong.pk}) == [b1.mn]
    assert city.mns({"street": cast.lujiazui.pk}) == [b1.mn]
    assert city.mns({"project": cast.project_a.pk}) == [a1.mn, a2.mn]
    assert city.mns({"q": "静安甲"}) == [a1.mn, a2.mn]
    item = next(i for i in city.get("/monitors").json()["items"] if i["mn"] == a1.mn)
    assert item["connectivity"] == "online" and item["connectivity_display"] == "在线"
    assert item["latest"] == {"pm10": 86.5, "pm25": 41.0, "noise": 63.4}
    assert item["district"]["name"] == "静安区" and item["project"]["id"] == cast.project_a.pk
    assert "password" not in item


def test_a_bad_filter_is_a_422_with_its_message(monitors, api_as, cast):
    response = api_as(cast.city).get("/monitors", {"connectivity": "sometimes"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation" and "connectivity" in body["errors"]
    # A project outside the caller's scope is not a choice either.
    response = api_as(cast.district).get("/monitors", {"project": cast.project_b.pk})
    assert response.status_code == 422 and "project" in response.json()["errors"]


def test_a_monitor_comes_with_its_status_and_flags(monitors, api_as, cast):
    a1 = monitors[0]
    response = api_as(cast.district).get(f"/monitors/{a1.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"]["peer"] == "10.8.0.17:50211" and body["status"]["connected"] is True
    values = {v["column"]: (v["value"], v["flag"], v["flag_label"]) for v in body["status"]["values"]}
    assert values["pm25"] == (41.0, "D", "故障") and values["pm10"] == (86.5, "N", "正常")
    assert body["status"]["last_seen"].endswith("+08:00")
    assert api_as(cast.district).get(f"/monitors/{monitors[2].pk}").json()["code"] == "not_found"


def test_out_of_scope_and_absent_monitors_are_the_same_404(monitors, api_as, cast):
    client = api_as(cast.contractor_b)
    for path in (f"/monitors/{monitors[0].pk}", f"/monitors/{monitors[0].pk}/means",
                 "/monitors/999999", "/monitors/999999/means"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["message"] == "未找到该对象"


def test_means_per_period_with_noise_as_energy_means(monitors, api_as, cast):
    a1 = monitors[0]
    rows = []
    for i in range(30):  # 09:00–09:29, two packets a minute
        for k, noise in enumerate((50.0, 70.0)):
            at = START + i * MIN + k * datetime.timedelta(seconds=30)
            rows.append(row(a1, at, now=START + 3600 * MIN, pm10=100 + i, pm25=40, noise=noise))
    ingest.ingest(rows)
    ingest.roll_up_all()  # hour and day means, as the gateway's next flush
    client = api_as(cast.district)
    since, until = START.isoformat(), (START + 30 * MIN).isoformat()

    minute = client.get(f"/monitors/{a1.pk}/means", {"period": 60, "since": since,
                                                     "until": until}).json()
    assert minute["period_display"] == "分钟" and len(minute["items"]) == 30
    first = minute["items"][0]
    assert first["bucket"] == "2026-11-24T09:00:00+08:00" and first["samples"] == 2
    assert first["mean"]["pm10"] == 100 and first["n"]["pm10"] == 2
    energy = 10 * math.log10((10**5 + 10**7) / 2)
    assert first["mean"]["noise"] == pytest.approx(energy, abs=1e-3) and first["max"]["noise"] == 70
    assert {m["column"]: m["energy_mean"] for m in minute["metrics"]}["noise"] is True

    quarters = client.get(f"/monitors/{a1.pk}/means", {"period": "900", "since": since,
                                                       "until": until}).json()["items"]
    assert [q["bucket"][11:16] for q in quarters] == ["09:00", "09:15"]
    assert quarters[0]["mean"]["pm10"] == pytest.approx(sum(100 + i for i in range(15)) / 15)
    assert quarters[1]["samples"] == 30

    # A naive time is Shanghai time; the hour and the day hold all 60 readings.
    hour = client.get(f"/monitors/{a1.pk}/means", {"period": 3600, "since": "2026-11-24T09:00:00",
                                                   "until": "2026-11-24T10:00:00"}).json()
    assert [h["samples"] for h in hour["items"]] == [60]
    day = client.get(f"/monitors/{a1.pk}/means", {"period": 86400, "since": "2026-11-24T00:00:00",
                                                  "until": "2026-11-25T00:00:00"}).json()
    assert day["items"][0]["bucket"] == "2026-11-24T00:00:00+08:00"
    assert day["items"][0]["mean"]["noise"] == pytest.approx(energy, abs=1e-3)


@pytest.mark.parametrize("params, field", [
    ({"period": 61}, "period"),
    ({"period": "hour"}, "period"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-11-24T10:00:00+08:00", "until": "2026-11-24T09:00:00+08:00"}, "until"),
    ({"period": 60, "since": "2025-01-01T00:00:00+08:00", "until": "2026-01-01T00:00:00+08:00"},
     "until"),
])
def test_bad_means_parameters_are_a_422_naming_the_problem(monitors, api_as, cast, params, field):
    response = api_as(cast.district).get(f"/monitors/{monitors[0].pk}/means", params)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation" and field in body["errors"], body


@pytest.mark.parametrize("params, field", [
    ({"since": "0001-01-01T00:00:00", "until": "0001-01-01T08:00:00"}, "since"),
    ({"since": "0001-01-01T00:00:00+14:00", "until": "0001-01-02T00:00:00+14:00"}, "since"),
    ({"until": "0001-01-01T08:00:00"}, "until"),
    ({"since": "9999-12-30T00:00:00Z", "until": "9999-12-31T23:59:59Z"}, "since"),
    ({"period": 86400, "since": "9999-12-31T00:00:00-12:00", "until": "9999-12-31T23:59:59-12:00"},
     "until"),
    ({"since": "1999-12-31T23:00:00", "until": "2000-01-01T01:00:00"}, "since"),
])
def test_means_for_extreme_dates_are_a_422_naming_the_supported_years(monitors, api_as, cast,
                                                                       params, field):
    response = api_as(cast.district).get(f"/monitors/{monitors[0].pk}/means", params)
    assert response.status_code == 422, response.content
    messages = response.json()["errors"][field]
    assert messages[0].startswith("时间应在 2000-01-01 至 2099-12-31 之间，实为“"), messages
    first_hour = api_as(cast.district).get(f"/monitors/{monitors[0].pk}/means", {
        "since": "2000-01-01T00:00:00", "until": "2000-01-01T01:00:00"})
    assert first_hour.status_code == 200 and first_hour.json()["since"] == "2000-01-01T00:00:00+08:00"


def test_the_api_needs_a_key_or_a_session(monitors, client):
    response = client.get(API + "/monitors")
    assert response.status_code == 401
