"""Surveys in through the one write path: all or nothing with every error named, a re-sent
survey ignored, and each new reading assessed at once into the pit's proposed colour, its
warning event and its order."""

from __future__ import annotations

import datetime

import pytest
from support.api import Api
from support.pits import T0, build_site, rows

from smartsite.core.errors import Forbidden
from smartsite.pits import selectors, services
from smartsite.pits.models import Point, Reading, Upload
from smartsite.workorders.models import Event

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
NOW = T0 + 10 * DAY


@pytest.fixture
def site(cast):
    return build_site(cast)


def record(site, data, **kw):
    return services.record_survey(site.pit, data, actor=site.monitor_user, now=kw.pop("now", NOW),
                                  **kw)


def test_a_survey_is_stored_and_a_resent_one_adds_nothing(site):
    data = rows("WY-01", [0.0, 0.4, 0.2, 1.1])
    first = record(site, data)
    again = record(site, data)
    assert (first.readings, first.duplicates) == (4, 0)
    assert (again.readings, again.duplicates) == (0, 4)
    assert Reading.objects.filter(point__code="WY-01").count() == 4
    point = selectors.with_latest(Point.objects.filter(code="WY-01")).get()
    assert float(point.baseline) == pytest.approx(0.2)  # the mean of the first three
    assert float(point.cumulative) == pytest.approx(0.9)


@pytest.mark.postgres  # the readings' insert and the latest reading's update are raw SQL
def test_a_late_survey_between_the_last_two_changes_the_rate_the_api_gives(client, site):
    record(site, rows("WY-01", [0.0, 0.0, 0.0, 1.0, 3.0]))
    api = Api(client, site.monitor_user)

    def wy01():
        response = api.call("get", f"/pits/{site.pit.pk}")
        return next(p for p in response.json()["points"] if p["code"] == "WY-01")

    before = wy01()
    assert (before["cumulative"], before["rate"]) == (3.0, 2.0)  # 2 mm on the last day
    # measured half a day before the last survey, sent late: the last change is 0.5 mm in 12 h
    record(site, [services.SurveyRow("WY-01", T0 + 3.5 * DAY, 2.5)])
    after = wy01()
    assert (after["cumulative"], after["rate"]) == (3.0, 1.0)
    assert after["last_measured_at"] == before["last_measured_at"]


def test_every_bad_row_is_named_and_nothing_is_stored(site):
    bad = [
        *rows("WY-01", [0.0, 0.1]),
        *rows("NOPE-9", [1.0]),
        services.SurveyRow("DB-01", T0, "abc", where="第 5 行"),
        services.SurveyRow("DB-01", T0 + DAY, "1.0", unit="m", where="第 6 行"),
        services.SurveyRow("DB-01", NOW + 2 * DAY, "1.0", where="第 7 行"),
        services.SurveyRow("WY-01", T0, "0.0", where="第 8 行"),  # the same point and time twice
        services.SurveyRow("CX-01", T0, "3.0", where="第 9 行"),  # an inclinometer needs depths
    ]
    with pytest.raises(services.SurveyRejected) as caught:
        record(site, bad)
    messages = dict(caught.value.errors)
    assert "NOPE-9" in messages["第 2 行"]
    assert "不是有效数字" in messages["第 5 行"]
    assert "单位应为 mm" in messages["第 6 行"]
    assert "晚于当前时间" in messages["第 7 行"]
    assert "重复出现" in messages["第 8 行"]
    assert "按深度逐行填写" in messages["第 9 行"]
    assert not Reading.objects.exists() and not Upload.objects.exists()


def test_a_stored_time_with_another_value_and_an_impossible_jump_are_refused(site):
    record(site, rows("WY-01", [0.0, 0.1, 0.2]))
    with pytest.raises(services.SurveyRejected) as caught:
        record(site, [services.SurveyRow("WY-01", T0, "5.0", where="第 2 行"),
                      services.SurveyRow("WY-01", T0 + 3 * DAY, "200", where="第 3 行")])
    messages = dict(caught.value.errors)
    assert "已有观测值" in messages["第 2 行"]
    assert "不可能" in messages["第 3 行"]
    assert Reading.objects.count() == 3


def test_an_impossible_jump_is_refused_from_a_source_that_names_no_row(site):
    # the simulator's and the benchmark's rows have no `where`: checked all the same
    record(site, rows("WY-01", [0.0, 0.1, 0.2]))
    with pytest.raises(services.SurveyRejected) as caught:
        services.record_survey(site.pit, [services.SurveyRow("WY-01", T0 + 3 * DAY, "200")],
                               now=NOW)
    [(where, message)] = caught.value.errors
    assert where == "" and "不可能" in message
    assert Reading.objects.count() == 3


def test_only_the_projects_monitoring_company_uploads(site, cast):
    for user in (cast.contractor_a, site.designer_user, cast.district):
        with pytest.raises(Forbidden):
            services.record_survey(site.pit, rows("WY-01", [0.0]), actor=user, now=NOW)
    assert not Reading.objects.exists()


def test_a_late_upload_is_counted(site):
    upload = record(site, rows("WY-01", [0.0, 0.1, 0.2]), now=T0 + 2 * DAY + datetime.timedelta(hours=1))
    # the first survey arrived 49 h after it was measured, the second 25 h: both late (> 24 h)
    assert upload.late == 2


def test_an_inclinometer_profile_is_stored_by_depth_and_assessed_on_its_largest_value(site):
    at = T0
    profile = [services.SurveyRow("CX-01", at, v, depth_m=d, where=f"第 {n} 行")
               for n, (d, v) in enumerate([(0.5, 12.0), (1.0, 18.5), (1.5, -3.0)], 2)]
    upload = record(site, profile)
    assert upload.readings == 1
    point = selectors.with_latest(Point.objects.filter(code="CX-01")).get()
    assert point.profile.count() == 3
    assert float(point.readings.get().value) == 18.5
    assert float(point.cumulative) == 18.5  # the profile is already relative to the baseline


def colour(site):
    return type(site.pit).objects.get().proposed_colour


def test_a_pit_drifts_to_yellow_then_red_and_its_warning_follows(site):
    # diaphragm wall, grade 1, H = 15 m: wall-top horizontal 预警值 = min(20 mm, 0.2 % × 15 m
    # = 30 mm) = 20 mm, rate 2 mm/d (GB 50497-2019 表8.0.4 row wth-pile-1, lower ends).
    record(site, rows("WY-01", [0.0, 0.0, 0.0]))
    assert colour(site) == "green" and not Event.objects.exists()
    record(site, rows("WY-01", [6.0], start=T0 + 3 * DAY))  # 6 mm/d: the rate alarm
    assert colour(site) == "yellow"
    yellow = Event.objects.get(scenario="pits")
    assert yellow.severity == "warning" and yellow.order is not None
    record(site, rows("WY-01", [12.0, 21.0], start=T0 + 4 * DAY))  # 21 mm at 9 mm/d: both
    assert colour(site) == "red"
    red = Event.objects.exclude(pk=yellow.pk).get(scenario="pits")
    assert red.severity == "serious"
    assert {r["code"] for r in type(site.pit).objects.get().proposed_reasons} >= {
        "cumulative", "rate", "both"}
    record(site, rows("WY-01", [21.5], start=T0 + 6 * DAY))  # it slows: yellow again
    assert colour(site) == "yellow"
    red.refresh_from_db()
    assert red.recovered_at is not None


def test_the_designers_values_replace_the_tables_and_a_quiet_pit_recovers(site):
    record(site, rows("WY-01", [0.0, 0.0, 0.0, 6.0]))
    assert colour(site) == "yellow"
    Point.objects.filter(code="WY-01").update(alarm_cumulative=50, alarm_rate=10)
    services.assess_pit(site.pit, now=NOW)
    assert colour(site) == "green"
    assert Event.objects.get(scenario="pits").recovered_at is not None
