"""Excel import and export: every row checked first, all or nothing, errors by row and column.

Each test builds a real .xlsx with openpyxl, uploads it through the page (or the API) as a
cast user, and checks the exact (row, column, message) and that nothing was saved.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import random
import subprocess
import sys
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve
from openpyxl import Workbook, load_workbook

from smartsite.core import models as m
from smartsite.core import services as core_services
from smartsite.core.choices import AuditAction, PartyRole
from smartsite.core.validators import (
    make_resident_id,
    make_uscc,
    resident_id_check_digit,
    uscc_check_char,
)
from smartsite.exchange import importers
from smartsite.exchange import services as exchange_services
from smartsite.exchange.importers import SPECS, ImportFailed, RowError

PROJECT_HEADERS = [c.header for c in SPECS["projects"].columns]
MODELS = (m.Project, m.ProjectParty, m.Enterprise, m.Person, m.Qualification,
          m.PostAssignment, m.AuditEntry)


# ------------------------------------------------------------------ helpers


def xlsx(rows: list[dict], *, headers: list[str] | None = None, title: str = "项目",
         above: list[list] = ()) -> bytes:
    """A real .xlsx: optional rows above the header, the header, then one row per dict."""
    headers = headers or list(rows[0])
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for line in above:
        ws.append(line)
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def project_row(cast, n: int = 1, **changes) -> dict:
    row = {
        "报建编号": f"2025TEST{n:04d}", "项目名称": f"测试项目{n}", "项目地址": "静安区某路 1 号",
        "工程类型": "房屋建筑", "所属区": "静安区", "所属街镇": cast.project_a.street.name,
        "占地面积（m²）": 1000 + n, "合同价（万元）": "1,234.5",
        "开工日期": datetime.datetime(2025, 3, 1), "计划竣工日期": "2026/06/30",
        "状态": "在建", "含基坑工程": "否", "电子围栏（GeoJSON）": None,
    }
    row.update(changes)
    return row


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def post_import(client, content: bytes, kind: str = "projects", name: str = "导入.xlsx",
                **extra):
    return client.post("/import/", {"kind": kind, "file": SimpleUploadedFile(name, content),
                                    **extra})


def errors_of(response) -> list[RowError]:
    assert response.status_code == 422, response.content.decode()[:500]
    return response.context["failure"].errors


def only_error(response) -> RowError:
    errors = errors_of(response)
    assert len(errors) == 1, errors
    return errors[0]


def wrong_last_char(code: str, alphabet: str = "0123456789") -> str:
    return code[:-1] + next(ch for ch in alphabet if ch != code[-1])


# ------------------------------------------------------------------ a valid file


def test_valid_projects_file_imports_every_row_with_audit(cast, login):
    client = login(cast.city)
    before = counts()
    rows = [project_row(cast, 1), project_row(cast, 2, **{"开工日期": "2025-04-01",
                                                          "含基坑工程": "是", "状态": "停工"}),
            project_row(cast, 3, **{"所属区": "浦东", "所属街镇": "陆家嘴街道",
                                    "工程类型": "市政", "计划竣工日期": None})]
    response = post_import(client, xlsx(rows))
    assert response.status_code == 302
    assert "已导入 3 行项目数据" in client.get(response["Location"]).content.decode()
    assert counts()["Project"] == before["Project"] + 3
    first = m.Project.objects.get(permit_no="2025TEST0001")
    assert first.start_date == datetime.date(2025, 3, 1)
    assert first.finish_date == datetime.date(2026, 6, 30)
    assert str(first.contract_value) == "1234.50"
    assert first.site_area_m2 == 1001
    second = m.Project.objects.get(permit_no="2025TEST0002")
    assert (second.start_date, second.has_pit, second.status) == \
        (datetime.date(2025, 4, 1), True, "suspended")
    third = m.Project.objects.get(permit_no="2025TEST0003")
    assert (third.district, third.street, third.kind) == (cast.pudong, cast.lujiazui, "municipal")
    entries = m.AuditEntry.objects.filter(action=AuditAction.IMPORT, model="core.project")
    assert entries.count() == 3
    assert {e.actor for e in entries} == {cast.city}
    assert entries.get(project=first).changes["permit_no"] == [None, "2025TEST0001"]


def test_columns_match_by_header_in_any_order_below_a_title_row(cast, login):
    headers = [*reversed(PROJECT_HEADERS), "备注"]
    content = xlsx([project_row(cast, 1, 备注="多余的列被忽略")], headers=headers,
                   above=[["静安区 2025 年报建项目"], []])
    response = post_import(login(cast.city), content)
    assert response.status_code == 302
    assert m.Project.objects.filter(permit_no="2025TEST0001").exists()


def test_dry_run_checks_without_saving(cast, login):
    before = counts()
    response = post_import(login(cast.city), xlsx([project_row(cast)]), dry_run="on")
    assert response.status_code == 302
    assert counts() == before


# ------------------------------------------------------------------ bad input: nothing saved


def test_missing_columns_give_one_error_naming_them(cast, login):
    headers = [h for h in PROJECT_HEADERS if h not in ("项目名称", "开工日期")]
    before = counts()
    error = only_error(post_import(login(cast.city), xlsx([project_row(cast)], headers=headers)))
    assert error.row == 1
    assert error.message.startswith("缺少必填列：项目名称、开工日期。")
    assert counts() == before


def test_wrong_date_is_reported_at_its_row_and_column(cast, login):
    before = counts()
    rows = [project_row(cast, 1), project_row(cast, 2, 开工日期="2025-13-01")]
    response = post_import(login(cast.city), xlsx(rows))
    error = only_error(response)
    assert (error.row, error.column) == (3, "开工日期")
    assert error.message.startswith("“2025-13-01”不是有效日期，应为 YYYY-MM-DD 或 YYYY/MM/DD")
    assert "2025-13-01" in response.content.decode()
    assert counts() == before  # the valid first row was not saved either


def test_every_error_of_every_row_is_reported(cast, login):
    rows = [project_row(cast, 1, 工程类型="住宅", 含基坑工程="也许"),
            project_row(cast, 2, **{"项目名称": None, "合同价（万元）": "很多"}),
            project_row(cast, 3, 计划竣工日期="2024-01-01")]
    errors = errors_of(post_import(login(cast.city), xlsx(rows)))
    assert [(e.row, e.column) for e in errors] == [
        (2, "工程类型"), (2, "含基坑工程"), (3, "项目名称"), (3, "合同价（万元）"),
        (4, "计划竣工日期")]
    assert errors[0].message == "“住宅”不是有效的工程类型，应为：房屋建筑、市政"
    assert errors[1].message == "“也许”无效，应为“是”或“否”"
    assert errors[2].message == "“项目名称”不能为空"
    assert errors[3].message == "“很多”不是有效数字"
    assert errors[4].message == "计划竣工日期不能早于开工日期"


def test_duplicate_permit_number_inside_the_file(cast, login):
    before = counts()
    rows = [project_row(cast, 1), project_row(cast, 2), project_row(cast, 1, 项目名称="又一个")]
    error = only_error(post_import(login(cast.city), xlsx(rows)))
    assert (error.row, error.column) == (4, "报建编号")
    assert error.message == "报建编号“2025TEST0001”与第 2 行重复"
    assert counts() == before


def test_duplicate_permit_number_against_the_database(cast, login):
    before = counts()
    rows = [project_row(cast, 1, 报建编号=cast.project_a.permit_no)]
    error = only_error(post_import(login(cast.city), xlsx(rows)))
    assert (error.row, error.column) == (2, "报建编号")
    assert error.message == f"报建编号“{cast.project_a.permit_no}”已存在，不能重复导入"
    assert counts() == before


def test_unknown_street_or_street_of_another_district(cast, login):
    rows = [project_row(cast, 1, 所属街镇="陆家嘴街道"), project_row(cast, 2, 所属街镇="不存在街道")]
    errors = errors_of(post_import(login(cast.city), xlsx(rows)))
    assert [(e.row, e.column) for e in errors] == [(2, "所属街镇"), (3, "所属街镇")]
    assert errors[0].message == "街镇“陆家嘴街道”属于浦东新区，不属于“静安区”"
    assert errors[1].message.startswith("在静安区未找到街镇“不存在街道”")


@pytest.mark.parametrize("content, expected", [
    ("报建编号,项目名称\n2025TEST0001,测试\n".encode("gbk"), "文件不是有效的 Excel（.xlsx）文件"),
    (b"PK\x03\x04 this is not really a zip", "文件不是有效的 Excel（.xlsx）文件"),
    ("zip-not-workbook", "文件不是有效的 Excel（.xlsx）文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "旧版 Excel（.xls）"),
    (b"", "上传的文件是空的"),
], ids=["csv", "broken-zip", "docx-like-zip", "old-xls", "empty"])
def test_a_file_that_is_not_xlsx_gets_a_clear_message(cast, login, content, expected):
    if content == "zip-not-workbook":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("word/document.xml", "<w:document/>")
        content = buf.getvalue()
    before = counts()
    response = post_import(login(cast.city), content, name="报建.xlsx")
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert counts() == before


def test_50_mb_upload_is_refused_with_413_before_reading(cast, login, settings):
    client = login(cast.city)
    before = counts()
    big = b"PK\x03\x04" + b"\x00" * (50 * 1024 * 1024)
    response = post_import(client, big, name="大文件.xlsx")
    assert response.status_code == 413
    text = response.content.decode()
    assert "上传内容过大" in text
    assert f"上限为 {settings.MAX_UPLOAD_BYTES // 1048576} MB" in text
    api = client.post("/api/v1/imports/projects",
                      {"file": SimpleUploadedFile("大文件.xlsx", big)})
    assert api.status_code == 413
    assert api.json()["code"] == "too_large"
    assert counts() == before


def _cell(ref: str, value) -> str:
    from xml.sax.saxutils import escape

    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _sheet_xml(cast, *, dimension: str | None, blank_rows: int = 0, tail: str = "") -> str:
    """A projects sheet written by hand: header, one valid row, then `blank_rows` rows that
    hold only an empty styled cell (as Excel writes formatted but empty rows), then `tail`."""
    from openpyxl.utils import get_column_letter

    row = project_row(cast, 1, 开工日期="2025/03/01")
    header = "".join(_cell(f"{get_column_letter(i)}1", h) for i, h in enumerate(PROJECT_HEADERS, 1))
    data = "".join(_cell(f"{get_column_letter(i)}2", row[h]) for i, h in
                   enumerate(PROJECT_HEADERS, 1) if row[h] is not None)
    blanks = "".join(f'<row r="{n}"><c r="A{n}" s="0"/></row>' for n in range(3, 3 + blank_rows))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
            '"http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'{dim}<sheetData><row r="1">{header}</row><row r="2">{data}</row>{blanks}'
            + tail)


def rebuilt(parts: dict[str, str | bytes]) -> bytes:
    """A real openpyxl workbook with some of its parts replaced or added (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx([], headers=PROJECT_HEADERS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in source.infolist():
            if info.filename not in parts:
                archive.writestr(info.filename, source.read(info.filename))
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("part, size", [("xl/worksheets/sheet1.xml", 40),
                                        ("xl/sharedStrings.xml", 20)])
def test_an_archive_that_unpacks_far_beyond_a_real_import_is_refused_before_parsing(
        cast, login, part, size):
    """A small file that unpacks to tens of MB. The padded part is not even well-formed XML:
    had it been parsed, the message would say the file is not a valid workbook."""
    padding = "<!--" + "a" * (size * 1024 * 1024)
    if part == "xl/sharedStrings.xml":
        parts = {part: padding, "xl/worksheets/sheet1.xml":
                 _sheet_xml(cast, dimension="A1:M2") + "</sheetData></worksheet>"}
    else:
        parts = {part: _sheet_xml(cast, dimension="A1:M2", tail=padding)}
    content = rebuilt(parts)
    assert len(content) < 200 * 1024  # small on disk
    before = counts()
    response = post_import(login(cast.city), content)
    error = only_error(response)
    assert error.message.startswith("文件解压后过大（超过 32 MB），无法导入")
    assert counts() == before


@pytest.mark.parametrize("dimension, expected", [
    ("A1:M50002", "工作表有 50,002 行（含空行），超过 40,010 行的上限；每个文件最多 20,000 行数据"),
    (None, "工作表有 40,011 行（含空行），超过 40,010 行的上限；每个文件最多 20,000 行数据"),
    ("A1:XFD200", "工作表声明了 200 行 × 16,384 列，超过 2,000,000 个单元格的上限"),
], ids=["declared-rows", "streamed-rows", "declared-cells"])
def test_a_sheet_of_blank_rows_or_cells_beyond_a_real_import_is_refused(cast, login, dimension,
                                                                       expected):
    """One real row and 50,000 formatted blank rows (1 MB unpacked): blank rows were skipped
    without a bound, so the whole sheet was read and the one row imported."""
    content = rebuilt({"xl/worksheets/sheet1.xml": _sheet_xml(
        cast, dimension=dimension, blank_rows=50_000) + "</sheetData></worksheet>"})
    before = counts()
    error = only_error(post_import(login(cast.city), content))
    assert error.message.startswith(expected), error.message
    assert counts() == before


def test_the_hand_written_sheet_imports_when_it_is_of_a_real_size(cast, login):
    """The same sheet with a few blank rows is an ordinary import (the refusals above are
    about size, not the way the sheet is written)."""
    content = rebuilt({"xl/worksheets/sheet1.xml": _sheet_xml(
        cast, dimension="A1:M12", blank_rows=10) + "</sheetData></worksheet>"})
    assert post_import(login(cast.city), content).status_code == 302
    assert m.Project.objects.filter(permit_no="2025TEST0001").exists()


def test_too_many_rows_is_refused(cast, login, settings):
    settings.IMPORT_MAX_ROWS = 2
    rows = [project_row(cast, n) for n in range(1, 4)]
    error = only_error(post_import(login(cast.city), xlsx(rows)))
    assert error.row is None
    assert error.message == "数据超过 2 行的上限（第 4 行起），请拆分为多个文件分别导入"
    assert not m.Project.objects.filter(permit_no__startswith="2025TEST").exists()


def test_the_row_limit_is_a_production_setting(tmp_path):
    """The test above sets IMPORT_MAX_ROWS; production must have it too, from the environment
    (it was read with a default only, so no deployment could change it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSITE_")}
    env.update(SMARTSITE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="smartsite.settings")
    script = "from django.conf import settings as s; print(s.IMPORT_MAX_ROWS)"
    run = [sys.executable, "-c", script]
    assert subprocess.run(run, env=env, capture_output=True, text=True,
                          timeout=60).stdout.split() == ["20000"]
    env["SMARTSITE_IMPORT_MAX_ROWS"] = "500"
    assert subprocess.run(run, env=env, capture_output=True, text=True,
                          timeout=60).stdout.split() == ["500"]


def test_empty_sheet_and_header_only_sheet(cast, login):
    client = login(cast.city)
    empty = io.BytesIO()
    Workbook().save(empty)
    assert "是空的" in only_error(post_import(client, empty.getvalue())).message
    header_only = xlsx([], headers=PROJECT_HEADERS)
    assert only_error(post_import(client, header_only)).message == \
        "工作表“项目”只有表头，没有数据行"


def test_district_user_cannot_import_a_project_of_another_district(cast, login):
    before = counts()
    rows = [project_row(cast, 1),
            project_row(cast, 2, 所属区="浦东新区", 所属街镇="陆家嘴街道")]
    error = only_error(post_import(login(cast.district), xlsx(rows)))
    assert (error.row, error.column) == (3, "所属区")
    assert error.message == "只能维护本区的项目（所属区为“浦东新区”）"
    assert counts() == before


def test_district_user_imports_its_own_district(cast, login):
    response = post_import(login(cast.district), xlsx([project_row(cast, 1)]))
    assert response.status_code == 302
    entry = m.AuditEntry.objects.get(action=AuditAction.IMPORT, model="core.project")
    assert entry.actor == cast.district


@pytest.mark.parametrize("who", ["street", "contractor_a", "manager_a", "nobody"])
def test_only_registry_editors_may_import(cast, login, who):
    client = login(cast.users()[who])
    assert client.get("/import/").status_code == 403
    assert client.get("/import/template/projects.xlsx").status_code == 403
    response = post_import(client, xlsx([project_row(cast)]))
    assert response.status_code == 403
    assert "只有市、区监管人员可以导入登记数据" in response.content.decode()
    assert not m.Project.objects.filter(permit_no="2025TEST0001").exists()


def test_import_page_renders_for_editors_with_nav_entry(cast, login):
    page = login(cast.district).get("/import/").content.decode()
    assert 'href="/import/"' in page and "导入登记数据" in page
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page
    assert "/import/template/people.xlsx" in page


def test_error_report_downloads_as_xlsx(cast, login):
    client = login(cast.city)
    rows = [project_row(cast, 1), project_row(cast, 1)]
    errors_of(post_import(client, xlsx(rows), name="我的项目.xlsx"))
    response = client.get("/import/report.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert list(ws.iter_rows(values_only=True)) == [
        ("行", "列", "错误"), (3, "报建编号", "报建编号“2025TEST0001”与第 2 行重复")]


def test_error_report_keeps_a_formula_like_file_name_as_text(cast, login):
    client = login(cast.city)
    rows = [project_row(cast, 1), project_row(cast, 1)]
    errors_of(post_import(client, xlsx(rows), name="=1+2 项目.xlsx"))
    info = load_workbook(io.BytesIO(client.get("/import/report.xlsx").content))["说明"]
    cell = info["B2"]
    assert (info["A2"].value, cell.value, cell.data_type) == ("文件", "=1+2 项目.xlsx", "s")


# ------------------------------------------------------------------ check digits


def test_wrong_resident_id_check_digit_reports_the_expected_digit(cast, login):
    good = make_resident_id(random.Random(3))
    wrong = wrong_last_char(good)
    rows = [{"身份证号": wrong, "姓名": "王五", "手机号": "13800138000",
             "所在单位信用代码": cast.enterprise_a.uscc}]
    before = counts()
    error = only_error(post_import(login(cast.city), xlsx(rows, title="人员"), kind="people"))
    assert (error.row, error.column) == (2, "身份证号")
    assert error.message == \
        f"公民身份号码校验码错误：应为 {resident_id_check_digit(good[:17])}，实为 {wrong[-1]}"
    assert counts() == before


def test_resident_id_with_a_never_assigned_region_is_refused(cast, login):
    # Check digit right, birth place 319999 not in GB/T 2260.
    first17 = "31999919900101123"
    rows = [{"身份证号": first17 + resident_id_check_digit(first17), "姓名": "王五",
             "手机号": "13800138000", "所在单位信用代码": cast.enterprise_a.uscc}]
    before = counts()
    error = only_error(post_import(login(cast.city), xlsx(rows, title="人员"), kind="people"))
    assert (error.row, error.column) == (2, "身份证号")
    assert error.message == \
        "公民身份号码前 6 位（出生地行政区划代码）“319999”不是 GB/T 2260 中的行政区划代码"
    assert counts() == before


def test_resident_id_typed_as_a_number_is_refused(cast, login):
    rows = [{"身份证号": 310104199001011234, "姓名": "王五", "手机号": None,
             "所在单位信用代码": None}]
    error = only_error(post_import(login(cast.city), xlsx(rows, title="人员"), kind="people"))
    assert error.column == "身份证号"
    assert "请把该列设为“文本”格式" in error.message


def test_wrong_uscc_check_character_reports_the_expected_one(cast, login):
    good = make_uscc(random.Random(5))
    wrong = wrong_last_char(good, "0123456789ABCDEFGHJKLMNPQRTUWXY")
    rows = [{"报建编号": cast.project_a.permit_no, "参建角色": "设计单位",
             "统一社会信用代码": wrong, "企业名称": "错码设计院"}]
    before = counts()
    error = only_error(post_import(login(cast.city), xlsx(rows, title="参建单位"),
                                   kind="parties"))
    assert (error.row, error.column) == (2, "统一社会信用代码")
    assert error.message == \
        f"统一社会信用代码校验位错误：应为 {uscc_check_char(good[:17])}，实为 {wrong[-1]}"
    assert counts() == before


# ------------------------------------------------------------------ geofence (core.geo)


SQUARE = [[0, 0], [0.004, 0], [0.004, 0.004], [0, 0.004], [0, 0]]


def polygon_at(lon: float, lat: float) -> str:
    return json.dumps({"type": "Polygon",
                       "coordinates": [[[lon + x, lat + y] for x, y in SQUARE]]})


def test_geofence_inside_the_district_is_saved(cast, login):
    response = post_import(login(cast.city), xlsx([project_row(
        cast, 1, **{"电子围栏（GeoJSON）": polygon_at(121.448, 31.229)})]))  # 静安寺
    assert response.status_code == 302
    project = m.Project.objects.get(permit_no="2025TEST0001")
    assert project.longitude == pytest.approx(121.45, abs=0.01)


@pytest.mark.parametrize("fence, expected", [
    ("{not json", "电子围栏不是合法的 GeoJSON：JSON 解析失败"),
    (polygon_at(116.39, 39.90), "电子围栏超出上海市范围"),  # 北京
    (json.dumps({"type": "Polygon", "coordinates": [[[121.44, 31.22], [121.45, 31.23],
                                                      [121.44, 31.23], [121.45, 31.22],
                                                      [121.44, 31.22]]]}),
     "电子围栏不是有效的多边形：Self-intersection"),  # a bow-tie
], ids=["not-json", "beijing", "self-intersecting"])
def test_invalid_or_out_of_shanghai_geofence_is_refused(cast, login, fence, expected):
    before = counts()
    rows = [project_row(cast, 1), project_row(cast, 2, **{"电子围栏（GeoJSON）": fence})]
    error = only_error(post_import(login(cast.city), xlsx(rows)))
    assert (error.row, error.column) == (3, "电子围栏（GeoJSON）")
    assert error.message.startswith(expected)
    assert counts() == before


def test_geofence_in_another_district_is_refused(cast, login):
    rows = [project_row(cast, 1, **{"电子围栏（GeoJSON）": polygon_at(121.50, 31.235)})]  # 陆家嘴
    error = only_error(post_import(login(cast.city), xlsx(rows)))
    assert (error.row, error.column) == (2, "电子围栏（GeoJSON）")
    assert "浦东新区" in error.message


# ------------------------------------------------------------------ parties, people, posts


def test_parties_create_new_enterprises_and_check_known_names(cast, login):
    client = login(cast.city)
    new_code = make_uscc(random.Random(11))
    rows = [
        {"报建编号": cast.project_a.permit_no, "参建角色": "设计单位",
         "统一社会信用代码": new_code, "企业名称": "戊设计研究院有限公司"},
        {"报建编号": cast.project_b.permit_no, "参建角色": "设计单位",
         "统一社会信用代码": new_code.lower(), "企业名称": "戊设计研究院有限公司"},
        {"报建编号": cast.project_b.permit_no, "参建角色": "勘察单位",
         "统一社会信用代码": cast.owner.uscc, "企业名称": cast.owner.name},
    ]
    response = post_import(client, xlsx(rows, title="参建单位"), kind="parties")
    assert response.status_code == 302
    designer = m.Enterprise.objects.get(uscc=new_code)
    assert cast.project_a.party(PartyRole.DESIGNER) == designer
    assert cast.project_b.party(PartyRole.DESIGNER) == designer
    assert cast.project_b.party(PartyRole.SURVEYOR) == cast.owner
    assert m.AuditEntry.objects.filter(action=AuditAction.IMPORT,
                                       model="core.projectparty").count() == 3


def test_parties_refuse_wrong_names_taken_roles_and_unknown_projects(cast, login):
    before = counts()
    rows = [
        {"报建编号": cast.project_a.permit_no, "参建角色": "设计单位",
         "统一社会信用代码": cast.owner.uscc, "企业名称": "别的名字有限公司"},
        {"报建编号": cast.project_a.permit_no, "参建角色": "施工单位",
         "统一社会信用代码": cast.enterprise_b.uscc, "企业名称": cast.enterprise_b.name},
        {"报建编号": "NO-SUCH", "参建角色": "设计单位",
         "统一社会信用代码": cast.owner.uscc, "企业名称": cast.owner.name},
        {"报建编号": cast.project_a.permit_no, "参建角色": "监测单位",
         "统一社会信用代码": cast.owner.uscc, "企业名称": cast.owner.name},
    ]
    errors = errors_of(post_import(login(cast.city), xlsx(rows, title="参建单位"),
                                   kind="parties"))
    assert [(e.row, e.column, e.message) for e in errors] == [
        (2, "企业名称", f"与已登记的企业名称“{cast.owner.name}”不一致（统一社会信用代码 "
                        f"{cast.owner.uscc}）"),
        (3, "参建角色", f"项目“{cast.project_a.permit_no}”已登记施工单位“{cast.enterprise_a}”，"
                        "不能重复导入"),
        (4, "报建编号", "未找到报建编号为“NO-SUCH”的项目"),
        (5, "参建角色", "该项目未登记基坑工程，不能设置监测单位"),
    ]
    assert counts() == before


def test_district_user_cannot_see_or_import_parties_of_another_district(cast, login):
    rows = [{"报建编号": cast.project_b.permit_no, "参建角色": "设计单位",
             "统一社会信用代码": cast.owner.uscc, "企业名称": cast.owner.name}]
    error = only_error(post_import(login(cast.district), xlsx(rows, title="参建单位"),
                                   kind="parties"))
    # Out of scope reads exactly like absent: no hint that the project exists.
    assert error.message == f"未找到报建编号为“{cast.project_b.permit_no}”的项目"


def person_row(rng_seed: int, **changes) -> dict:
    row = {"身份证号": make_resident_id(random.Random(rng_seed)), "姓名": "王五",
           "手机号": 13800138000, "所在单位信用代码": None, "证书类别": None, "证书编号": None,
           "发证机关": None, "发证日期": None, "有效期至": None}
    row.update(changes)
    return row


CERT = {"证书类别": "一级注册建造师", "证书编号": "沪1312020000001",
        "发证机关": "住房和城乡建设部", "发证日期": "2020/01/15", "有效期至": "2027-01-14"}


def test_people_with_several_certificates_on_several_rows(cast, login):
    rid = make_resident_id(random.Random(21))
    rows = [person_row(21, 所在单位信用代码=cast.enterprise_a.uscc, **CERT),
            person_row(21, **{**CERT, "证书类别": "安全生产考核合格证书（B 证）",
                              "证书编号": "沪建安B（2021）0001"}),
            person_row(22, 姓名="赵六")]
    response = post_import(login(cast.city), xlsx(rows, title="人员"), kind="people")
    assert response.status_code == 302
    person = m.Person.objects.get(resident_id=rid)
    assert (person.name, person.phone, person.employer) == ("王五", "13800138000",
                                                            cast.enterprise_a)
    assert sorted(person.qualifications.values_list("kind", flat=True)) == \
        ["constructor_1", "safety_b"]
    assert person.qualifications.get(kind="constructor_1").expires_on == \
        datetime.date(2027, 1, 14)
    assert m.Person.objects.filter(name="赵六").exists()


def test_duplicate_resident_id_inside_the_file_and_against_the_database(cast, login):
    before = counts()
    rows = [person_row(31), person_row(31, 姓名="王五"),
            {**person_row(0), "身份证号": cast.person_a.resident_id, "姓名": "张三"}]
    errors = errors_of(post_import(login(cast.city), xlsx(rows, title="人员"), kind="people"))
    assert [(e.row, e.column) for e in errors] == [(3, "身份证号"), (4, "身份证号")]
    assert errors[0].message.startswith("身份证号与第 2 行重复")
    assert errors[1].message == "该身份证号的人员已登记，不能重复导入"
    assert cast.person_a.resident_id not in errors[1].message
    assert counts() == before


def test_people_refuse_unknown_employer_bad_phone_and_half_a_certificate(cast, login):
    unknown = make_uscc(random.Random(41))
    rows = [person_row(41, 所在单位信用代码=unknown, 手机号="12345"),
            person_row(42, 证书类别="一级注册建造师")]
    errors = errors_of(post_import(login(cast.city), xlsx(rows, title="人员"), kind="people"))
    assert [(e.row, e.column) for e in errors] == [
        (2, "手机号"), (2, "所在单位信用代码"), (3, "证书编号"), (3, "发证机关")]
    assert errors[0].message == "“12345”不是有效的手机号（应为 1 开头的 11 位数字）"
    assert errors[1].message.startswith(f"未找到统一社会信用代码为“{unknown}”的企业")
    assert errors[2].message == "填写证书时“证书编号”不能为空"


def test_assignments_import_and_their_errors(cast, login):
    client = login(cast.district)
    ok = {"报建编号": cast.project_a.permit_no, "身份证号": cast.person_b.resident_id,
          "岗位": "专职安全生产管理人员", "任职开始": "2025-03-01", "任职结束": None}
    response = post_import(client, xlsx([ok], title="岗位任职"), kind="assignments")
    assert response.status_code == 302
    assert cast.project_a.assignments.filter(person=cast.person_b).exists()
    rows = [
        ok,  # now already registered
        {**ok, "岗位": "打杂"},
        {**ok, "身份证号": make_resident_id(random.Random(51))},
        {**ok, "报建编号": cast.project_b.permit_no},
        {**ok, "任职开始": "2025-05-01", "任职结束": "2025-04-01"},
    ]
    before = counts()
    errors = errors_of(post_import(client, xlsx(rows, title="岗位任职"), kind="assignments"))
    assert [(e.row, e.column) for e in errors] == [
        (2, None), (3, "岗位"), (4, "身份证号"), (5, "报建编号"), (6, "任职结束")]
    assert errors[0].message.startswith("该任职（同一项目、人员、岗位和任职开始日期）已登记")
    assert errors[1].message.startswith("“打杂”不是有效的岗位，应为：项目经理、项目技术负责人、")
    assert errors[2].message.endswith("的人员，请先导入人员")
    assert errors[4].message == "任职结束日期不能早于开始日期"
    assert counts() == before


# ------------------------------------------------------------------ templates


@pytest.mark.parametrize("kind", list(SPECS))
def test_template_opens_and_its_example_row_validates(cast, login, kind):
    response = login(cast.city).get(f"/import/template/{kind}.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    spec = SPECS[kind]
    ws = wb[spec.label]
    assert wb.worksheets[0] is ws
    assert [c.value for c in ws[1]] == [c.header for c in spec.columns]
    assert ws.freeze_panes == "A2"
    assert all(c.comment and c.comment.text for c in ws[1])
    choice_columns = [c for c in spec.columns if c.type == "choice"]
    assert len(ws.data_validations.dataValidation) >= len(choice_columns)
    assert "填写说明" in wb.sheetnames
    plan = importers.validate(kind, io.BytesIO(response.content), actor=cast.city)
    assert plan.rows == 1


def test_projects_template_example_imports_for_a_district_user(cast, login):
    client = login(cast.district)
    content = client.get("/import/template/projects.xlsx").content
    response = post_import(client, content)
    assert response.status_code == 302
    project = m.Project.objects.get(name="某住宅小区新建工程（示例）")
    assert project.district == cast.jingan


def test_unknown_template_kind_is_404(cast, login):
    assert login(cast.city).get("/import/template/dust.xlsx").status_code == 404


# ------------------------------------------------------------------ export (scoping)


def test_project_export_of_a_district_user_holds_only_its_district(cast, login):
    other = m.Project.objects.create(
        permit_no="2301PD0099", name="浦东另一个项目", address="x", kind="building",
        district=cast.pudong, street=cast.lujiazui)
    response = login(cast.district).get("/projects/?export=xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0]
                .iter_rows(values_only=True))
    assert rows[0][:2] == ("报建编号", "项目名称")
    permits = {r[0] for r in rows[1:]}
    assert permits == {cast.project_a.permit_no}
    assert {cast.project_b.permit_no, other.permit_no}.isdisjoint(permits)


# ------------------------------------------------------------------ API


@pytest.fixture
def api(cast, client):
    """A client with an API token of the city user, through the production URL conf."""
    _, key = core_services.issue_token(cast.city, actor=cast.city, name="导入测试")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def test_the_import_api_is_mounted_in_production(cast, api):
    """`/api/v1/imports/…` answered 404 in production: only this file's own URL conf mounted
    the router. The OpenAPI document lists it, and the routes resolve."""
    from django.conf import settings

    assert settings.ROOT_URLCONF == "smartsite.urls"
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/imports/{kind}", "/api/v1/imports/{kind}/template"} <= set(paths)
    assert resolve("/api/v1/imports/projects").url_name == "import_xlsx"


def test_api_imports_a_valid_file(cast, api):
    response = api.post("/api/v1/imports/projects",
                        {"file": SimpleUploadedFile("p.xlsx", xlsx([project_row(cast, 1),
                                                                    project_row(cast, 2)]))})
    assert response.status_code == 200, response.content
    assert response.json() == {"imported": 2, "dry_run": False}
    assert m.Project.objects.filter(permit_no__startswith="2025TEST").count() == 2


def test_api_returns_422_with_every_row_error(cast, api):
    before = counts()
    rows = [project_row(cast, 1, 开工日期="2025/02/30"), project_row(cast, 1)]
    response = api.post("/api/v1/imports/projects",
                        {"file": SimpleUploadedFile("p.xlsx", xlsx(rows))})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "import"
    assert body["message"] == "发现 2 处错误，未导入任何数据；请按错误报告修改后重新上传"
    assert body["errors"] == [
        {"row": 2, "column": "开工日期",
         "message": "“2025/02/30”不是有效日期，应为 YYYY-MM-DD 或 YYYY/MM/DD（如 2025-03-01），"
                    "或 Excel 日期格式"},
        {"row": 3, "column": "报建编号", "message": "报建编号“2025TEST0001”与第 2 行重复"},
    ]
    assert counts() == before


def test_api_refuses_non_xlsx_unknown_kind_and_non_editors(cast, api):
    response = api.post("/api/v1/imports/projects",
                        {"file": SimpleUploadedFile("p.xlsx", b"not a workbook")})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": None, "column": None, "message": importers.NOT_XLSX}]
    assert api.post("/api/v1/imports/dust", {"file": SimpleUploadedFile(
        "p.xlsx", b"x")}).status_code == 404
    _, key = core_services.issue_token(cast.contractor_a, actor=cast.contractor_a, name="t")
    response = api.post("/api/v1/imports/projects",
                        {"file": SimpleUploadedFile("p.xlsx", xlsx([project_row(cast)]))},
                        HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 403
    assert response.json()["message"] == "只有市、区监管人员可以导入登记数据"


def test_api_template_download(cast, api):
    response = api.get("/api/v1/imports/people/template")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).worksheets[0].title == "人员"


# ------------------------------------------------------------------ the service directly


def test_service_raises_import_failed_and_saves_nothing(cast):
    before = counts()
    with pytest.raises(ImportFailed) as exc:
        exchange_services.import_workbook(
            "projects", io.BytesIO(xlsx([project_row(cast, 1, 工程类型=None)])),
            actor=cast.city)
    assert exc.value.errors == [RowError(2, "工程类型", "“工程类型”不能为空")]
    assert counts() == before
