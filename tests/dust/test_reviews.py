"""Monthly O&M statistics (运维月报) from the minute means `ingest.ingest` stored and the
maintenance records, pushed to the contractor's project manager, reviewed (审核/驳回), and the
regulator's list of projects that leave their months unreviewed."""

from __future__ import annotations

import datetime
import re

import pytest
from support.monitors import SHANGHAI, row
from support.upkeep import make_upkeep

from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import AuditEntry
from smartsite.dust import ingest, services
from smartsite.dust.models import Monitor, MonthlyReview
from smartsite.dust.partitions import ensure_partitions
from smartsite.workorders.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

OCTOBER = datetime.date(2026, 10, 1)
MIN = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
OCT_START = datetime.datetime(2026, 10, 1, tzinfo=SHANGHAI)
NOV_1 = datetime.datetime(2026, 11, 1, 0, 5, tzinfo=SHANGHAI)
OCT_MINUTES = 31 * 24 * 60


def at(day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 10, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def upkeep(cast):
    ensure_partitions(datetime.date(2026, 9, 29), datetime.date(2026, 11, 27))
    kit = make_upkeep(cast)
    # Both registered before October (created is set by the database on insert).
    Monitor.objects.filter(pk__in=[kit.a1.pk, kit.b1.pk]).update(
        created=datetime.datetime(2026, 9, 20, tzinfo=SHANGHAI))
    kit.a1.refresh_from_db()
    kit.b1.refresh_from_db()
    return kit


def feed(monitor, start: datetime.datetime, minutes: int, flag: str = "N"):
    """`minutes` packets a minute apart, as the gateway would store them."""
    result = ingest.ingest([row(monitor, start + i * MIN, flag=flag, now=start + minutes * MIN)
                              for i in range(minutes)])
    assert result.stored == minutes


def october(upkeep, cast):
    """A1: 120 minutes of valid data and 30 flagged invalid (D), two faults (one repaired by
    a repair record 4 h later, one ended itself after 2 h), one open fault, two visits."""
    feed(upkeep.a1, at(10, 8), 120)
    feed(upkeep.a1, at(10, 12), 30, flag="D")
    add = lambda kind, start, end=None: services.record_maintenance(  # noqa: E731
        upkeep.a1, actor=upkeep.maint_a, kind=kind, started_at=start, ended_at=end,
        description=f"{kind} 记录")
    add("fault", at(3, 10))
    add("repair", at(3, 13), at(3, 14))
    add("fault", at(12, 9), at(12, 11))
    add("fault", at(30, 22))
    add("visit", at(5, 9), at(5, 10))
    add("visit", at(20, 9), at(20, 10))
    add("visit", datetime.datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))  # November: not counted


def test_statistics_come_from_the_stored_minutes_and_the_records(upkeep, cast):
    october(upkeep, cast)
    result = services.generate_monthly_reviews(OCTOBER, NOV_1)
    assert (result.created, result.refreshed, result.kept) == (2, 0, 0)
    stats = MonthlyReview.objects.get(project=cast.project_a, month=OCTOBER).stats
    (a1,) = stats["monitors"]
    assert a1["expected_minutes"] == OCT_MINUTES
    assert (a1["data_minutes"], a1["valid_minutes"]) == (150, 120)
    assert a1["uptime"] == round(150 / OCT_MINUTES, 4)
    assert a1["completeness"] == round(120 / OCT_MINUTES, 4)
    assert (a1["faults"], a1["repaired"], a1["open_faults"]) == (3, 2, 1)
    assert a1["mttr_hours"] == 3.0  # (4 h + 2 h) / 2
    assert (a1["visits"], a1["repairs"]) == (2, 1)
    assert stats["total"]["uptime"] == a1["uptime"]
    b = MonthlyReview.objects.get(project=cast.project_b, month=OCTOBER).stats
    assert b["total"]["uptime"] == 0 and b["total"]["faults"] == 0


def test_a_monitor_registered_mid_month_counts_from_its_registration(upkeep, cast):
    Monitor.objects.filter(pk=upkeep.a1.pk).update(created=at(31, 0))
    feed(upkeep.a1, at(31, 0), 720)
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    total = MonthlyReview.objects.get(project=cast.project_a).stats["total"]
    assert (total["expected_minutes"], total["uptime"], total["completeness"]) == (1440, 0.5, 0.5)


def test_generation_is_idempotent_and_a_reviewed_month_is_kept(upkeep, cast):
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    notes = Notification.objects.filter(user=cast.manager_a)
    assert notes.count() == 1
    note = notes.get()
    assert note.order is None and "2026年10月" in note.text and "待审核" in note.text
    feed(upkeep.a1, at(15, 8), 60)  # late data arrive: the pending month is refreshed
    again = services.generate_monthly_reviews(OCTOBER, NOV_1 + HOUR)
    assert (again.created, again.refreshed, again.notified) == (0, 2, 0)
    review = MonthlyReview.objects.get(project=cast.project_a)
    assert review.stats["total"]["data_minutes"] == 60 and notes.count() == 1
    services.review_month(review, actor=cast.manager_a, approve=True)
    feed(upkeep.a1, at(16, 8), 60)
    third = services.generate_monthly_reviews(OCTOBER, NOV_1 + 2 * HOUR)
    assert third.kept == 1
    review.refresh_from_db()
    assert review.state == "approved" and review.stats["total"]["data_minutes"] == 60


def test_the_worker_chore_generates_last_month_once(upkeep, cast):
    assert services.monthly_chores(datetime.datetime(2026, 10, 31, 23, 0, tzinfo=SHANGHAI)) \
        .created == 2  # on 31 October "last month" is September: both monitors existed then
    first = services.monthly_chores(NOV_1)
    assert first.created == 2 and MonthlyReview.objects.filter(month=OCTOBER).count() == 2
    assert services.monthly_chores(NOV_1 + 5 * MIN) is None
    assert services.monthly_chores(NOV_1 + 26 * HOUR) is None  # the next day: nothing to do


def test_the_project_manager_opens_the_notification_and_approves(upkeep, cast, login):
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    client = login(cast.manager_a)
    note = Notification.objects.get(user=cast.manager_a)
    review = MonthlyReview.objects.get(project=cast.project_a)
    response = client.get(f"/notifications/{note.pk}/")
    assert response.status_code == 302 and response.url == f"/monitors/reviews/{review.pk}/"
    page = client.get(response.url)
    assert "项目经理审核" in page.content.decode()
    response = client.post(response.url, {"action": "approve", "comment": ""})
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.state, review.reviewer) == ("approved", cast.manager_a)
    assert AuditEntry.objects.filter(model="dust.monthlyreview", object_id=str(review.pk)).exists()
    again = client.post(f"/monitors/reviews/{review.pk}/", {"action": "reject", "comment": "x"})
    assert again.status_code == 422  # no form for a reviewed month: it cannot be reviewed again
    review.refresh_from_db()
    assert review.state == "approved"


def test_rejecting_needs_a_comment_and_tells_the_om_company(upkeep, cast, login):
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    review = MonthlyReview.objects.get(project=cast.project_a)
    client = login(cast.manager_a)
    response = client.post(f"/monitors/reviews/{review.pk}/", {"action": "reject", "comment": " "})
    assert response.status_code == 422 and "驳回运维月报须填写审核意见" in response.content.decode()
    review.refresh_from_db()
    assert review.state == "pending"
    client.post(f"/monitors/reviews/{review.pk}/", {"action": "reject", "comment": "故障记录不全"})
    review.refresh_from_db()
    assert (review.state, review.comment) == ("rejected", "故障记录不全")
    assert "故障记录不全" in Notification.objects.get(user=upkeep.maint_a).text
    services.resubmit_review(review, actor=upkeep.maint_a)
    review.refresh_from_db()
    assert review.state == "pending" and review.reviewer is None
    assert Notification.objects.filter(user=cast.manager_a).count() == 2


@pytest.mark.parametrize("who", ["contractor_a", "district", "city", "maint_a"])
def test_only_the_project_manager_reviews(upkeep, cast, who):
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    review = MonthlyReview.objects.get(project=cast.project_a)
    user = upkeep.maint_a if who == "maint_a" else getattr(cast, who)
    with pytest.raises(Forbidden, match="项目经理"):
        services.review_month(review, actor=user, approve=True)
    review.refresh_from_db()
    assert review.state == "pending"


def test_a_month_that_has_not_begun_is_refused(upkeep):
    with pytest.raises(DomainError, match="尚未开始"):
        services.generate_monthly_reviews(datetime.date(2026, 12, 1), NOV_1)


def test_the_district_sees_its_projects_that_never_review(upkeep, cast, login):
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    MonthlyReview.objects.update(generated_at=NOV_1 - 30 * 24 * HOUR)  # waiting a month
    page = re.sub(r"\s+", " ", login(cast.district).get("/monitors/reviews/lagging/?days=7")
                  .content.decode())
    assert cast.project_a.name in page and "从未审核" in page
    assert cast.project_b.name not in page  # 浦东: not this district's
    review = MonthlyReview.objects.get(project=cast.project_a)
    services.review_month(review, actor=cast.manager_a, approve=True)
    page = login(cast.district).get("/monitors/reviews/lagging/?days=7").content.decode()
    assert cast.project_a.name not in page
    assert login(cast.city).get("/monitors/reviews/lagging/?days=7").status_code == 200
    assert login(cast.contractor_a).get("/monitors/reviews/lagging/").status_code == 403
    assert login(cast.district).get("/monitors/reviews/lagging/?days=abc").status_code == 400


def test_the_project_summary_partial_shows_the_month(upkeep, cast):
    from django.template.loader import render_to_string

    from smartsite.dust.selectors import upkeep_summary

    october(upkeep, cast)
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    html = render_to_string("dust/partials/upkeep_summary.html",
                            upkeep_summary(cast.project_a, OCTOBER, NOV_1))
    html = re.sub(r"\s+", " ", html)
    assert "2026年10月" in html and "待审核" in html and "3 / 2" in html and "未修复 1" in html
    assert "无记录 1" in html  # A1 has no annual inspection


# ---------------------------------------------------------------- API


def headers(user):
    from smartsite.core import services as core_services

    _, key = core_services.issue_token(user, actor=user, name="pytest")
    return {"Authorization": f"Bearer {key}"}


def test_api_lists_and_reviews(upkeep, cast, client):
    services.generate_monthly_reviews(OCTOBER, NOV_1)
    listed = client.get("/api/v1/monthly-reviews", {"month": "2026-10"},
                        headers=headers(cast.district)).json()
    assert [(r["project"]["id"], r["state"]) for r in listed["items"]] == \
        [(cast.project_a.pk, "pending")]
    pk = listed["items"][0]["id"]
    url = f"/api/v1/monthly-reviews/{pk}/review"
    bad = client.post(url, {"action": "reject"}, content_type="application/json",
                      headers=headers(cast.manager_a))
    assert bad.status_code == 422 and "comment" in bad.json()["errors"]
    bad = client.post(url, {"action": "ok"}, content_type="application/json",
                      headers=headers(cast.manager_a))
    assert bad.status_code == 422 and "action" in bad.json()["errors"]
    assert client.post(url, {"action": "approve"}, content_type="application/json",
                       headers=headers(cast.contractor_a)).status_code == 403
    assert client.post(url, {"action": "approve"}, content_type="application/json",
                       headers=headers(cast.contractor_b)).status_code == 404
    done = client.post(url, {"action": "approve"}, content_type="application/json",
                       headers=headers(cast.manager_a))
    assert done.status_code == 200 and done.json()["state_display"] == "已审核"
    again = client.post(url, {"action": "approve"}, content_type="application/json",
                        headers=headers(cast.manager_a))
    assert again.status_code == 400 and again.json()["code"] == "review.done"
    assert client.get("/api/v1/monthly-reviews", {"month": "2026-13"},
                      headers=headers(cast.city)).status_code == 422
