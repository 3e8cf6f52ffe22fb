"""The .xlsx files the import hands out: a template per kind, and the error report."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from smartsite.core import models as m
from smartsite.core.choices import RegionLevel
from smartsite.core.generic import XLSX, _quote
from smartsite.core.spreadsheet import guard_workbook, text_row
from smartsite.exchange.importers import MAX_ERRORS, SheetSpec, max_rows, spec_for

__all__ = ["error_report", "template", "xlsx_response"]

HEADER_FONT = Font(bold=True, color="FFFFFF")
REQUIRED_FILL = PatternFill("solid", fgColor="1D4ED8")  # blue: required
OPTIONAL_FILL = PatternFill("solid", fgColor="6B7280")  # grey: may be left empty
EXAMPLE_FONT = Font(italic=True, color="6B7280")
WRAP = Alignment(wrap_text=True, vertical="top")
#: Excel limits a data-validation list typed inline to 255 characters.
INLINE_LIST_LIMIT = 255


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _save(wb: Workbook) -> bytes:
    if not wb.write_only:
        guard_workbook(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class _Lists:
    """Long drop-down lists, one column each on a hidden sheet (Excel caps inline lists)."""

    def __init__(self, wb: Workbook):
        self.wb, self.sheet, self.used = wb, None, 0

    def formula(self, title: str, options: list[str]) -> str:
        inline = ",".join(options)
        if len(inline) + 2 <= INLINE_LIST_LIMIT and not any("," in o for o in options):
            return f'"{inline}"'
        if self.sheet is None:
            self.sheet = self.wb.create_sheet("选项")
            self.sheet.sheet_state = "hidden"
        self.used += 1
        self.sheet.cell(1, self.used, title)
        for row, option in enumerate(options, start=2):
            self.sheet.cell(row, self.used, option)
        letter = get_column_letter(self.used)
        return f"'选项'!${letter}$2:${letter}${len(options) + 1}"


def _drop_down(ws, formula: str, cell_range: str, what: str) -> None:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True,
                        showErrorMessage=True, errorTitle="无效的值",
                        error=f"请从下拉列表中选择{what}")
    dv.add(cell_range)
    ws.add_data_validation(dv)


def template(kind: str, actor) -> bytes:
    """The import template of `kind`: header row with notes, one valid example row,
    drop-downs for choice columns, frozen header, and a 填写说明 sheet."""
    spec = spec_for(kind)
    wb = Workbook()
    ws = wb.active
    ws.title = spec.label
    lists = _Lists(wb)
    last = max_rows() + 1
    example = spec.builder.example(actor)
    for i, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(1, i, column.header)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if column.required else OPTIONAL_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        comment = Comment(column.note(), "smartsite")
        comment.width, comment.height = 300, 160
        cell.comment = comment
        ws.column_dimensions[letter].width = column.width
        if column.type in ("code", "phone", "text", "geojson"):
            ws.column_dimensions[letter].number_format = "@"
        elif column.type == "date":
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
        value = example.get(column.key)
        value = "" if value is None else value
        if isinstance(value, Decimal):
            value = float(value)
        sample = ws.cell(2, i, value)
        sample.font = EXAMPLE_FONT
        if isinstance(value, datetime.date):
            sample.number_format = "yyyy-mm-dd"
        elif column.type in ("code", "phone", "text"):
            sample.number_format = "@"
        options = [label for _, label in column.options()]
        if options:
            _drop_down(ws, lists.formula(column.header, options), f"{letter}2:{letter}{last}",
                       column.header)
    if kind == "projects":
        _streets_sheet(wb, ws, spec, last)
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 24
    _instructions(wb, spec)
    return _save(wb)


def _streets_sheet(wb, ws, spec: SheetSpec, last: int) -> None:
    """A visible 街镇 sheet (所属区 → 所属街镇) and a drop-down on the 所属街镇 column."""
    sheet = wb.create_sheet("街镇")
    sheet.append(["所属区", "所属街镇"])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL
    streets = (m.Region.objects.filter(level=RegionLevel.STREET)
               .select_related("parent").order_by("parent__code", "code"))
    count = 0
    for street in streets:
        sheet.append([street.parent.name if street.parent else "", street.name])
        count += 1
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 22
    sheet.freeze_panes = "A2"
    if count:
        index = [c.key for c in spec.columns].index("street") + 1
        letter = get_column_letter(index)
        _drop_down(ws, f"'街镇'!$B$2:$B${count + 1}", f"{letter}2:{letter}{last}",
                   "所属街镇（见“街镇”工作表）")


def _instructions(wb, spec: SheetSpec) -> None:
    sheet = wb.create_sheet("填写说明")
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 80
    lines = [
        f"{spec.label}导入模板 · 智慧工地监管平台",
        f"1. 在“{spec.label}”工作表填写数据：第 1 行为表头（请勿修改列名，列的顺序可调整，"
        "多余的列会被忽略），第 2 行为示例，导入前请删除或改为真实数据。",
        "2. 蓝色表头为必填列，灰色表头为选填列；把鼠标停在表头上可查看格式和可选值。",
        "3. 日期填 YYYY-MM-DD 或 YYYY/MM/DD；身份证号、信用代码等长号码请用“文本”格式，"
        "以免 Excel 把末几位变成 0。",
        f"4. 每个文件最多 {max_rows():,} 行。上传后先校验全部行：只要有一处错误就不会导入任何数据，"
        "页面会列出每处错误的行号、列名和原因（也可下载错误报告）。",
    ]
    for line in lines:
        sheet.append([line])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(["列名", "是否必填", "格式与说明"])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL
    for column in spec.columns:
        note = column.note().split("\n")
        need = note[0]
        details = "；".join(note[1:])
        if column.type == "choice":
            labels = [label for _, label in column.options()]
            if labels and "可选值" not in details:
                details += "；可选值：" + "、".join(labels)
        sheet.append([column.header, need, details])
        sheet.cell(sheet.max_row, 3).alignment = WRAP


def error_report(errors: list[dict], *, kind: str = "", filename: str = "",
                 total: int | None = None) -> bytes:
    """The rows of an import error table (行, 列, 错误) as an .xlsx."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误报告")
    ws.column_dimensions["A"].width = 8
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 90
    ws.freeze_panes = "A2"
    ws.append(["行", "列", "错误"])
    for error in errors:
        ws.append(text_row(ws, [error.get("row") or "", error.get("column") or "",
                                error["message"]]))
    total = total if total is not None else len(errors)
    if total > len(errors):
        ws.append(["", "", f"另有 {total - len(errors)} 处错误未列出（只保留前 {MAX_ERRORS:,} 处）"])
    info = wb.create_sheet("说明")
    label = spec_for(kind).label if kind else ""
    info.append(["导入类型", label])
    info.append(text_row(info, ["文件", filename]))
    info.append(["错误数", total])
    info.append(["生成时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    return _save(wb)
