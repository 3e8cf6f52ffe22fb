"""The attendance pages through the Django test client: each page shows the right data to
the right role, an object out of scope is a 404, forms refuse bad input with a Chinese
message and change nothing, and the decisions go through the services.

The world: project B (陆家嘴乙项目, 浦东新区) with 李四 its 项目经理 (Class I) and 王五 its 质量员
(Class II), the users of support.orders.Site (the 建设单位 owner_b, the 浦东 监督站), November
2026 closed up to the 24th, and the clock on the 25th at 14:30 (support.clock)."""

from __future__ import annotations

import json
import re

import pytest
from support.attendance_pages import build_case, build_month, d
from support.faces import photo
from support.keyposts import qualify
from support.orders import Site

from smartsite.attendance import services
from smartsite.attendance.choices import CaseStatus, Outcome
from smartsite.attendance.models import (
    AttendanceDay,
    CheckIn,
    Enrolment,
    Leave,
    ReviewCase,
    StandIn,
    Stoppage,
)
from smartsite.core.choices import QualificationKind

pytestmark = pytest.mark.django_db


def main(response) -> str:
    text = response.content.decode()
    return text[text.find("<main"):text.find("</main>")]


@pytest.fixture
def world(clock, cast, django_user_model):
    return {"site": Site(cast, django_user_model), "cast": cast, **build_month(cast)}


# ---------------------------------------------------------------- the project's board


def test_the_board_shows_holders_todays_entry_and_the_month_rates(world, login):
    cast = world["cast"]
    page = login(cast.contractor_b).get(f"/attendance/projects/{cast.project_b.pk}/")
    assert page.status_code == 200
    html = main(page)
    assert "李四" in html and "王五" in html and "项目经理" in html and "质量员" in html
    assert "08:05" in html  # today's entry
    # 李四: 2 valid of 23 construction days (the 1st is registration + 1 → counts), leave 1
    li = AttendanceDay.objects.filter(assignment=world["pm"])
    attended = li.filter(status__in=["valid", "stand_in"]).count()
    construction = li.exclude(status__in=["stoppage", "not_counted"]).count()
    assert (attended, construction) == (2, 24)
    assert "8.3%" in html  # 2/24
    assert "100%" in html  # 王五 and Class II
    assert f'href="/attendance/assignments/{world["pm"].pk}/leaves/add/"' in html
    assert "/decide/" not in html  # the contractor does not decide
    assert f'href="/attendance/people/{cast.person_b.pk}/"' in html


def test_the_project_page_links_to_the_board(world, login):
    cast = world["cast"]
    page = login(cast.contractor_b).get(f"/projects/{cast.project_b.pk}/")
    assert f'href="/attendance/projects/{cast.project_b.pk}/"' in page.content.decode()


def test_another_projects_board_is_404(world, login):
    cast = world["cast"]
    assert login(cast.contractor_b).get(
        f"/attendance/projects/{cast.project_a.pk}/").status_code == 404
    assert login(cast.contractor_a).get(
        f"/attendance/projects/{cast.project_b.pk}/").status_code == 404


# ---------------------------------------------------------------- requests and decisions


def test_the_contractor_files_a_leave_and_the_owner_approves_it_on_the_board(world, client,
                                                                                login):
    cast, site, pm = world["cast"], world["site"], world["pm"]
    url = f"/attendance/assignments/{pm.pk}/leaves/add/"
    assert login(cast.contractor_b).get(url).status_code == 200
    page = client.post(url, {"start_date": "2026-11-26", "end_date": "2026-11-26",
                             "reason": "外出参加培训"})
    assert page.status_code == 302
    leave = Leave.objects.get(start_date=d(26))
    assert leave.status == "requested" and leave.requested_by == cast.contractor_b

    board = login(site.owner).get(f"/attendance/projects/{cast.project_b.pk}/")
    assert f'action="/attendance/leaves/{leave.pk}/decide/"' in main(board)
    done = client.post(f"/attendance/leaves/{leave.pk}/decide/",
                       {"decision": "approve", "note": "同意"}, follow=True)
    leave.refresh_from_db()
    assert (leave.status, leave.decided_by, leave.note) == ("approved", site.owner, "同意")
    assert "已批准" in main(done)


def test_a_rejection_without_a_note_is_refused_and_changes_nothing(world, client, login):
    site, pm = world["site"], world["pm"]
    leave = services.request_leave(None, pm, start_date=d(27), end_date=d(27), reason="事假")
    login(site.owner)
    done = client.post(f"/attendance/leaves/{leave.pk}/decide/", {"decision": "reject"},
                       follow=True)
    assert "驳回须填写审批意见" in main(done)
    assert Leave.objects.get(pk=leave.pk).status == "requested"
    done = client.post(f"/attendance/leaves/{leave.pk}/decide/", {"decision": "maybe"},
                       follow=True)
    assert "请选择批准或驳回" in main(done)
    assert Leave.objects.get(pk=leave.pk).status == "requested"


def test_the_contractor_cannot_decide_and_others_do_not_see_the_request(world, client, login):
    cast, pm = world["cast"], world["pm"]
    leave = services.request_leave(None, pm, start_date=d(27), end_date=d(27), reason="事假")
    assert login(cast.contractor_b).post(f"/attendance/leaves/{leave.pk}/decide/",
                                         {"decision": "approve"}).status_code == 403
    assert login(cast.contractor_a).post(f"/attendance/leaves/{leave.pk}/decide/",
                                         {"decision": "approve"}).status_code == 404
    assert Leave.objects.get(pk=leave.pk).status == "requested"


@pytest.mark.parametrize(("data", "message"), [
    ({"start_date": "2026-11-27", "end_date": "2026-11-26", "reason": "x"},
     "结束日期不能早于开始日期"),
    ({"start_date": "2026-11-27", "end_date": "2026-11-27", "reason": ""}, "请填写请假事由"),
    ({"start_date": "11/27", "end_date": "2026-11-27", "reason": "x"}, "日期格式应为 年-月-日"),
    # 20 % of November's 30 construction days is 6; one is approved already
    ({"start_date": "2026-11-20", "end_date": "2026-11-25", "reason": "长假"}, "超出上限"),
])
def test_a_bad_leave_request_is_refused_with_a_message(world, client, login, data, message):
    login(world["cast"].contractor_b)
    page = client.post(f"/attendance/assignments/{world['pm'].pk}/leaves/add/", data)
    assert page.status_code == 422
    assert message in main(page)
    assert Leave.objects.count() == 1


def test_a_stand_in_needs_a_known_person_with_the_same_certificate(world, client, login):
    cast, pm = world["cast"], world["pm"]
    login(cast.contractor_b)
    url = f"/attendance/assignments/{pm.pk}/stand-ins/add/"
    base = {"start_date": "2026-11-27", "end_date": "2026-11-27", "reason": "出差"}
    page = client.post(url, {**base, "resident_id": "110101199003070000"})
    assert page.status_code == 422 and "人员库中没有该身份证号的人员" in main(page)
    page = client.post(url, {**base, "resident_id": world["wang"].resident_id})
    assert page.status_code == 422 and "须持有与在岗人员同类" in main(page)
    assert not StandIn.objects.exists()
    qualify(world["wang"], QualificationKind.CONSTRUCTOR_1)
    assert client.post(url, {**base, "resident_id": world["wang"].resident_id}).status_code == 302
    assert StandIn.objects.get().person == world["wang"]


def test_the_owner_cannot_file_a_leave_for_the_contractors_post(world, login):
    page = login(world["site"].owner).post(
        f"/attendance/assignments/{world['pm'].pk}/leaves/add/",
        {"start_date": "2026-11-27", "end_date": "2026-11-27", "reason": "x"})
    assert page.status_code == 403
    assert Leave.objects.count() == 1


def test_a_stoppage_is_filed_by_the_contractor_and_approved_by_the_district(world, client,
                                                                             login):
    cast, site = world["cast"], world["site"]
    project = cast.project_b
    login(cast.contractor_b)
    page = client.post(f"/attendance/projects/{project.pk}/stoppages/add/",
                       {"start_date": "2026-11-23", "end_date": "2026-11-24", "reason": ""})
    assert page.status_code == 422 and "请填写停工原因" in main(page)
    page = client.post(f"/attendance/projects/{project.pk}/stoppages/add/",
                       {"start_date": "2026-11-23", "end_date": "2026-11-22", "reason": "x"})
    assert page.status_code == 422 and "复工日期不能早于停工日期" in main(page)
    assert not Stoppage.objects.exists()
    assert client.post(f"/attendance/projects/{project.pk}/stoppages/add/",
                       {"start_date": "2026-11-23", "end_date": "2026-11-24",
                        "reason": "区域停电检修"}).status_code == 302
    stoppage = Stoppage.objects.get()
    assert client.post(f"/attendance/stoppages/{stoppage.pk}/decide/",
                       {"decision": "approve"}).status_code == 403
    assert login(cast.street).post(f"/attendance/stoppages/{stoppage.pk}/decide/",
                                   {"decision": "approve"}).status_code == 403
    login(site.station)
    board = client.get(f"/attendance/projects/{project.pk}/")
    assert f'action="/attendance/stoppages/{stoppage.pk}/decide/"' in main(board)
    client.post(f"/attendance/stoppages/{stoppage.pk}/decide/", {"decision": "approve"})
    assert Stoppage.objects.get().status == "approved"
    assert AttendanceDay.objects.get(assignment=world["qi"], date=d(23)).status == "stoppage"


# ---------------------------------------------------------------- the person's month


def test_the_calendar_marks_each_day_and_the_rates(world, client, login):
    cast, pm = world["cast"], world["pm"]
    CheckIn.objects.filter(person=cast.person_b, at__date=d(3)).update(
        outcome=Outcome.REVIEW, reasons=[{"code": "accuracy", "message": "定位精度 150 m，超过 100 m"}])
    page = login(cast.contractor_b).get(f"/attendance/people/{cast.person_b.pk}/?month=2026-11")
    assert page.status_code == 200
    html = main(page)
    statuses = {day: status for status, day in re.findall(
        r'data-status="(\w+)" data-day="(2026-11-\d\d)"', html)}
    assert statuses["2026-11-02"] == "valid"
    assert statuses["2026-11-05"] == "leave"
    assert statuses["2026-11-06"] == "valid"  # exactly 5 hours
    assert statuses["2026-11-04"] == "absent"
    assert statuses["2026-11-03"] == "short" and "不足5小时" in html
    assert "2026-11-25" not in statuses  # today is not closed
    assert "8.3%" in html and "4.2%" in html  # 2/24 attended, 1/24 on leave
    assert "定位精度 150 m，超过 100 m" in html and "待复核" in html
    assert "08:05" in html  # today's check-in is listed
    assert "/photo/" not in html  # photos are for regulators
    assert pm.project.name in html


def test_a_person_out_of_scope_is_404_and_a_bad_month_is_this_month(world, login):
    cast = world["cast"]
    assert login(cast.contractor_a).get(
        f"/attendance/people/{cast.person_b.pk}/").status_code == 404
    page = login(cast.contractor_b).get(f"/attendance/people/{cast.person_b.pk}/?month=x-13")
    assert page.status_code == 200 and "2026 年 11 月" in main(page)


# ---------------------------------------------------------------- rankings


def test_rankings_rank_projects_districts_and_classes_in_scope(world, login):
    cast = world["cast"]
    page = login(cast.city).get("/attendance/?month=2026-11")
    html = main(page)
    assert page.status_code == 200
    assert "陆家嘴乙项目" in html and "静安甲项目" in html
    assert "浦东新区" in html and "静安区" in html
    assert "乙建工有限公司" in html and "甲建设集团有限公司" in html
    trend = json.loads(re.search(r'id="trend-data" type="application/json">(.*?)</script>',
                                 page.content.decode()).group(1))
    assert trend["months"] == ["2026-11"] and trend["line"] == 80.0
    assert trend["series"]["II"] == [100.0]
    # B first (陆家嘴乙 26/48), A last (张三 never came)
    assert html.index("陆家嘴乙项目") < html.index("静安甲项目")

    mine = main(login(cast.contractor_b).get("/attendance/?month=2026-11"))
    assert "陆家嘴乙项目" in mine and "静安甲项目" not in mine and "静安区" not in mine


# ---------------------------------------------------------------- the review queue


@pytest.fixture
def case(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return build_case(world["cast"], world["pm"])


def test_the_district_sees_the_case_with_both_photos_and_both_sites(world, case, client,
                                                                     login):
    station = world["site"].station
    page = login(station).get("/attendance/reviews/")
    html = main(page)
    assert page.status_code == 200
    assert "不可能的移动速度" in html and "李四" in html and "3.5 km" in html
    checkin_photo = f"/attendance/checkins/{case.checkin_id}/photo/"
    enrolled = Enrolment.objects.get(person=case.checkin.person)
    assert checkin_photo in html and f"/attendance/enrolments/{enrolled.pk}/photo/" in html
    # the other site is 静安甲项目, which the 浦东 station cannot see
    assert "在您无权查看的项目上" in html and "静安甲项目" not in html
    assert client.get(checkin_photo).getvalue() == photo("obama2.jpg")
    assert f'action="/attendance/reviews/{case.pk}/decide/"' in html

    city = main(login(world["cast"].city).get("/attendance/reviews/"))
    assert "静安甲项目" in city and "08:59" in city


def test_photos_and_the_queue_are_for_regulators_only(world, case, login):
    cast = world["cast"]
    contractor = login(cast.contractor_b)
    assert contractor.get("/attendance/reviews/").status_code == 403
    assert contractor.get(f"/attendance/checkins/{case.checkin_id}/photo/").status_code == 403
    jingan = login(cast.district)
    assert jingan.get(f"/attendance/checkins/{case.checkin_id}/photo/").status_code == 404
    assert "李四" not in main(jingan.get("/attendance/reviews/"))


def test_confirming_needs_a_note_then_the_checkin_stops_counting(world, case, client, login):
    login(world["site"].station)
    url = f"/attendance/reviews/{case.pk}/decide/"
    page = client.post(url, {"decision": "confirm"}, follow=True)
    assert "确认作假须填写复核意见" in main(page)
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    page = client.post(url, {"decision": "confirm", "note": "本人当时在静安工地"}, follow=True)
    assert "已确认作假" in main(page)
    case.refresh_from_db()
    assert case.status == CaseStatus.CONFIRMED and case.note == "本人当时在静安工地"
    assert CheckIn.objects.get(pk=case.checkin_id).outcome == Outcome.REJECTED
    assert login(world["cast"].street).post(url, {"decision": "dismiss"}).status_code == 403


def test_dismissing_accepts_the_checkin(world, case, client, login):
    login(world["site"].station)
    client.post(f"/attendance/reviews/{case.pk}/decide/", {"decision": "dismiss"})
    assert ReviewCase.objects.get(pk=case.pk).status == CaseStatus.DISMISSED
    assert CheckIn.objects.get(pk=case.checkin_id).outcome == Outcome.ACCEPTED
    decided = main(client.get("/attendance/reviews/?status=dismissed"))
    assert "李四" in decided and "/decide/" not in decided


# ---------------------------------------------------------------- enrolment


def test_the_station_lists_who_to_enrol_and_enrols_on_the_page(world, client, login,
                                                                settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    settings.IDENTITY_URL = ""
    cast, station = world["cast"], world["site"].station
    Enrolment.objects.all().delete()  # a station that has enrolled nobody yet
    login(station)
    listing = main(client.get("/attendance/enrolments/"))
    assert "李四" in listing and "王五" in listing and "张三" not in listing
    assert '<b>2</b><span>未录入' in listing
    url = f"/attendance/people/{cast.person_b.pk}/enrol/"
    assert f'href="{url}"' in listing
    page = client.post(url, {"photo": SimpleUploadedFile("x.jpg", b"not an image",
                                                         content_type="image/jpeg")})
    assert page.status_code == 400 and "不是可识别的图片" in main(page)
    assert not Enrolment.objects.exists()
    page = client.post(url, {"photo": SimpleUploadedFile(
        "li.jpg", photo("obama.jpg"), content_type="image/jpeg")}, follow=True)
    assert "未配置公安人脸库接口" in main(page)
    row = Enrolment.objects.get()
    assert row.active and row.enrolled_by == station
    assert client.get(f"/attendance/enrolments/{row.pk}/photo/").getvalue() == photo("obama.jpg")
    assert '<b>1</b><span>未录入' in main(client.get("/attendance/enrolments/"))


def test_enrolment_is_for_the_persons_district_and_the_city(world, login):
    cast = world["cast"]
    url = f"/attendance/people/{cast.person_b.pk}/enrol/"
    assert login(cast.contractor_b).get(url).status_code == 403
    assert login(cast.contractor_b).get("/attendance/enrolments/").status_code == 403
    assert login(cast.district).get(url).status_code == 404  # 静安 does not see 李四
    assert login(cast.city).get(url).status_code == 200


def test_the_dashboard_lists_what_waits_for_the_users_decision(world, login):
    cast, site, pm = world["cast"], world["site"], world["pm"]
    services.request_leave(None, pm, start_date=d(27), end_date=d(27), reason="事假")
    services.file_stoppage(None, cast.project_b, start_date=d(28), reason="区域停电检修")
    owner = main(login(site.owner).get("/attendance/"))
    assert 'id="pending"' in owner
    assert f'href="/attendance/projects/{cast.project_b.pk}/#requests"' in owner
    station = main(login(site.station).get("/attendance/"))
    assert 'id="pending"' in station and "陆家嘴乙项目" in station
    assert 'id="pending"' not in main(login(cast.contractor_b).get("/attendance/"))
    assert 'id="pending"' not in main(login(cast.district).get("/attendance/"))  # 静安
