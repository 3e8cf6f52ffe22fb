"""Survey files: the pit's template downloaded, filled in and uploaded again; CSV from Excel on
Chinese Windows (GBK); every bad file and every bad row refused with its row named and nothing
stored; raw inclinometer readings (A0/A180) turned into displacements against the baseline
profile of the first surveys, checked on a worked example."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from support.api import API, Api
from support.pits import SHANGHAI, T0, build_site, rows

from smartsite.pits import selectors, services, uploads
from smartsite.pits.models import Point, ProfileReading, Reading, Upload

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
NOW = T0 + 10 * DAY


@pytest.fixture
def site(clock, cast):
    clock.move_to(NOW)
    return build_site(cast)


@pytest.fixture
def monitor(client, site):
    client.force_login(site.monitor_user)
    return client


def upload_page(client, site, name, data):
    return client.post(reverse("pits:survey_upload", args=[site.pit.pk]),
                       {"file": SimpleUploadedFile(name, data)})


def errors_of(response) -> dict[str, str]:
    return dict(response.context["failure"].errors)


def test_the_template_downloaded_filled_in_and_uploaded_is_stored(monitor, site):
    response = monitor.get(reverse("pits:survey_template", args=[site.pit.pk]))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)
                                  if response.streaming else response.content))
    values = wb["观测数据"]
    assert [c.value for c in values[1]] == ["测点编号", "观测时间", "观测值", "单位"]
    listed = {row[0]: row[3] for row in values.iter_rows(min_row=2, values_only=True)}
    assert listed == {"WY-01": "mm", "DB-01": "mm", "ZL-01": "kN"}  # not the inclinometer
    assert "CX-01" in [r[0] for r in wb["测点清单"].iter_rows(min_row=2, values_only=True)]
    at = T0.replace(tzinfo=None)  # as Excel holds it: no zone, Shanghai time
    for row in values.iter_rows(min_row=2):
        row[1].value = at
        row[2].value = {"WY-01": 1.5, "DB-01": -0.8, "ZL-01": 2300}[row[0].value]
    profile = wb["测斜累计位移"]
    for depth, value in ((0.5, 4.0), (1.0, 3.5), (1.5, 1.0)):
        profile.append(["CX-01", "2026-03-02 09:00", depth, value])
    out = io.BytesIO()
    wb.save(out)
    response = upload_page(monitor, site, "JK-1.xlsx", out.getvalue())
    assert response.status_code == 302
    page = monitor.get(response["Location"]).content.decode()
    assert "新增 4 条，重复 0 条（已忽略），逾期 4 条" in page  # 8 days after the survey
    assert Reading.objects.get(point__code="WY-01").measured_at == T0
    assert float(Reading.objects.get(point__code="ZL-01").value) == 2300
    assert ProfileReading.objects.filter(point__code="CX-01").count() == 3
    again = upload_page(monitor, site, "JK-1.xlsx", out.getvalue())
    assert "新增 0 条，重复 4 条" in monitor.get(again["Location"]).content.decode()
    assert Reading.objects.count() == 4
    csv_template = monitor.get(reverse("pits:survey_template", args=[site.pit.pk]),
                               {"format": "csv", "kind": "raw"})
    text = csv_template.content.decode("utf-8-sig")
    assert text.splitlines()[:3] == ["仪器常数K,", "测读间距L(m),0.5", "测点编号,观测时间,深度(m),A0,A180"]


def test_a_gbk_csv_from_excel_on_windows_is_read(client, site):
    text = ("测点编号,观测时间,观测值,单位\r\n"
            "WY-01,2026/3/2 9:00,0.5,mm\r\n"
            "ＤＢ－01,2026/3/2 9:30:00,-1.25,\r\n"  # full-width, as a Chinese IME types it
            "WY-01,2026-03-03T09:00:00+08:00,0.7,mm\r\n")
    api = Api(client, site.monitor_user)
    response = client.post(f"{API}/pits/{site.pit.pk}/survey-files",
                           {"file": SimpleUploadedFile("监测.csv", text.encode("gbk"))},
                           headers=api.headers)
    assert response.status_code == 201, response.content
    assert response.json()["readings"] == 3
    settled = Reading.objects.get(point__code="DB-01")
    assert settled.measured_at == datetime.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)
    assert float(settled.value) == -1.25
    assert Upload.objects.get().source == "file"
    bom = ("\ufeff" + text).encode("utf-8")  # the same as "CSV UTF-8": all duplicates
    again = client.post(f"{API}/pits/{site.pit.pk}/survey-files",
                        {"file": SimpleUploadedFile("监测.csv", bom)}, headers=api.headers)
    assert again.json()["duplicates"] == 3
    bad = client.post(f"{API}/pits/{site.pit.pk}/survey-files", {"file": SimpleUploadedFile(
        "坏.csv", "测点编号,观测时间,观测值\nWY-01,2026/3/4,1\n".encode("gbk"))}, headers=api.headers)
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"where": "第 2 行", "message": "测点 WY-01 的观测时间“2026/3/4”"
                                     "缺少时刻（应写到分钟，如 2026/3/4 09:00）"}]


def test_every_bad_row_of_a_file_is_named_and_nothing_is_stored(monitor, site):
    services.record_survey(site.pit, rows("WY-01", [0.0, 0.1, 0.2]), now=NOW)  # baseline
    stored = Reading.objects.count()
    text = ("测点编号,观测时间,观测值,单位\n"
            "NOPE-9,2026-03-06 09:00,1.0,mm\n"  # 2: unknown point
            "DB-01,2026-03-06 09:00,1.0,mm\n"   # 3 and 4: the same time twice
            "DB-01,2026-03-06 09:00,1.1,mm\n"
            "WY-01,2026-03-06 09:00,200,mm\n"   # 5: 200 mm in a day
            "WY-01,2026-03-03 21:00,0.1,mm\n"   # 6: before the baseline was complete
            "ZL-01,2026-03-06 09:00,2100,kPa\n"  # 7: a strut force in kPa
            "DB-01,2026-03-07,1.0,mm\n"          # 8: no time of day
            "DB-01,明天上午,1.0,mm\n"            # 9: not a time
            "DB-01,2026-02-30 09:00,1.0,mm\n")   # 10: no such day
    response = upload_page(monitor, site, "bad.csv", text.encode())
    assert response.status_code == 422
    errors = errors_of(response)
    assert "缺少时刻" in errors["第 8 行"]
    assert "无法识别" in errors["第 9 行"]
    assert "不是有效的日期时间" in errors["第 10 行"]
    assert Reading.objects.count() == stored
    # the times fixed: now the data rows' own errors, all at once
    fixed = "\n".join(text.splitlines()[:7]) + "\n"
    response = upload_page(monitor, site, "bad.csv", fixed.encode())
    errors = errors_of(response)
    assert "NOPE-9" in errors["第 2 行"]
    assert "重复出现" in errors["第 4 行"]
    assert "不可能" in errors["第 5 行"]
    assert "早于其初始值测定完成" in errors["第 6 行"]
    assert "单位应为 kN" in errors["第 7 行"]
    assert "第 6 行" in response.content.decode()  # the table on the page
    assert Reading.objects.count() == stored and Upload.objects.count() == 1


@pytest.mark.parametrize(("name", "data", "message"), [
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "只接受 Excel（.xlsx）或 CSV"),
    ("empty.csv", b"", "上传的文件是空的"),
    ("blank.csv", b"  \r\n", "是空文件"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧版 Excel"),
    ("renamed.xlsx", b"PK\x03\x04 not really a zip", "不是有效的 Excel"),
    ("wrong.csv", "编号,时间,数值\nWY-01,2026-03-02 09:00,1\n".encode(), "没有找到可识别的表头"),
    ("nothing.csv", "测点编号,观测时间,观测值,单位\nWY-01,,,mm\n".encode(), "没有任何观测数据"),
    ("utf16.csv", "测点编号,观测时间,观测值".encode("utf-16"), "不是文本 CSV"),
])
def test_a_bad_file_gets_one_clear_message(monitor, site, name, data, message):
    response = upload_page(monitor, site, name, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Upload.objects.exists()


def test_a_file_over_20_mb_is_refused(site):
    with pytest.raises(services.SurveyRejected) as caught:
        uploads.parse("big.csv", b"x" * (uploads.MAX_BYTES + 1))
    assert "超过 20 MB" in caught.value.errors[0][1]


def test_only_the_monitoring_company_may_upload_a_file(client, site):
    client.force_login(site.designer_user)
    response = upload_page(client, site, "a.csv", "测点编号,观测时间,观测值\nWY-01,2026-03-02 09:00,1\n"
                           .encode())
    assert response.status_code == 403
    assert not Reading.objects.exists()


# ---------------------------------------------------------------- A0/A180

K, L = 20000, 0.5
DEPTHS = (0.5, 1.0, 1.5, 2.0)


def raw_csv(surveys) -> bytes:
    """surveys: (time, {depth: (A0, A180)}) — every depth not given reads (100, −100)."""
    lines = [f"仪器常数K,{K}", f"测读间距L(m),{L}", "测点编号,观测时间,深度(m),A0,A180"]
    for at, changed in surveys:
        for depth in DEPTHS:
            a0, a180 = changed.get(depth, (100, -100))
            lines.append(f"CX-01,{at:%Y-%m-%d %H:%M},{depth},{a0},{a180}")
    return ("\n".join(lines) + "\n").encode()


def profile(at) -> dict[float, float]:
    return {float(p.depth_m): float(p.displacement_mm)
            for p in ProfileReading.objects.filter(point__code="CX-01", measured_at=at)}


def test_raw_readings_become_displacements_from_the_baseline_profile(monitor, site):
    # Worked by hand, K = 20000, L = 0.5 m: an interval's deviation is
    # 1000 × 0.5 × (A0 − A180) / (2 × 20000) mm, i.e. (A0 − A180) / 80; (100, −100) → 2.5 mm.
    # The three baseline surveys differ only at 0.5 m: (108, −100) → 2.6, (92, −100) → 2.4,
    # (100, −100) → 2.5 mm; the baseline's interval there is their mean, 2.5 mm, and each
    # survey's displacement at 0.5 m is +0.1, −0.1 and 0 mm (nothing deeper moved).
    s1, s2, s3, s4 = (T0 + n * DAY for n in range(4))
    first = upload_page(monitor, site, "cx.csv", raw_csv([(s1, {0.5: (108, -100)}),
                                                          (s2, {0.5: (92, -100)})]))
    assert "测斜孔 CX-01 初始剖面已测 2/3 次" in monitor.get(first["Location"]).content.decode()
    assert not ProfileReading.objects.exists()  # positions are not displacements
    assert len(Point.objects.get(code="CX-01").baseline_profile["surveys"]) == 2
    upload_page(monitor, site, "cx.csv", raw_csv([(s3, {})]))
    assert profile(s1) == {0.5: 0.1, 1.0: 0.0, 1.5: 0.0, 2.0: 0.0}
    assert profile(s2)[0.5] == -0.1 and profile(s3)[0.5] == 0.0
    # Survey 4: at 1.5 m (140, −140) → 3.5 mm, 1.0 mm more than the baseline's 2.5, which
    # carries up to 1.0 and 0.5 m; at 0.5 m (180, −180) → 4.5 mm, 2.0 mm more: 3.0 mm there.
    response = upload_page(monitor, site, "cx.csv",
                           raw_csv([(s4, {1.5: (140, -140), 0.5: (180, -180)})]))
    assert response.status_code == 302
    assert profile(s4) == {0.5: 3.0, 1.0: 1.0, 1.5: 1.0, 2.0: 0.0}
    point = Point.objects.get(code="CX-01")
    assert float(point.readings.get(measured_at=s4).value) == 3.0
    assert float(selectors.with_latest(Point.objects.filter(pk=point.pk)).get().cumulative) == 3.0
    late = Upload.objects.order_by("pk")
    assert [u.readings for u in late] == [0, 3, 1]
    # re-sent: duplicates, nothing new; a survey timed inside the baseline period: refused
    again = upload_page(monitor, site, "cx.csv", raw_csv([(s2, {0.5: (92, -100)}), (s4, {
        1.5: (140, -140), 0.5: (180, -180)})]))
    assert "新增 0 条，重复 2 条" in monitor.get(again["Location"]).content.decode()
    inside = upload_page(monitor, site, "cx.csv", raw_csv([(s2 + HOUR, {})]))
    assert "早于其初始剖面测定完成" in inside.content.decode()
    # a displacement profile for a hole read raw is refused (the two have no common zero)
    mixed = upload_page(monitor, site, "cx.csv", "测点编号,观测时间,深度(m),累计位移(mm)\n"
                        "CX-01,2026-03-09 09:00,0.5,1\nCX-01,2026-03-09 09:00,1.0,1\n".encode())
    assert "不要混用累计位移" in mixed.content.decode()
    assert ProfileReading.objects.count() == 16


def test_raw_readings_need_k_and_regular_depths(monitor, site):
    data = raw_csv([(T0, {})]).replace(f"仪器常数K,{K}".encode(), b"")
    assert "仪器常数K" in upload_page(monitor, site, "cx.csv", data).content.decode()
    gap = b"\n".join(line for line in raw_csv([(T0, {})]).splitlines() if b",1.0," not in line)
    response = upload_page(monitor, site, "cx.csv", gap + b"\n")
    assert response.status_code == 422
    assert "间距为 1.0 m" in response.content.decode()
    assert Point.objects.get(code="CX-01").baseline_profile is None
