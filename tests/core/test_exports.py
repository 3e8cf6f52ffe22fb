"""The .xlsx export of any list (core.generic.export_xlsx): text that a spreadsheet would take
for a formula stays text; numbers, negative ones included, and dates stay typed."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from types import SimpleNamespace

from openpyxl import load_workbook

from smartsite.core.generic import Column, export_xlsx

TEXTS = ["=1+1", "+1", "-1", "@A1", "\t=1+1", "\r=1+1", "#REF!", '=HYPERLINK("http://x/","y")']


def test_formula_like_text_is_text_and_numbers_stay_numbers():
    rows = [SimpleNamespace(text=t, number=-n - 0.5, amount=Decimal(-n), day=datetime.date(2026, 1, 2))
            for n, t in enumerate(TEXTS)]
    columns = [Column("文本", "text"), Column("数值", "number"), Column("金额", "amount"),
               Column("日期", "day")]
    sheet = load_workbook(io.BytesIO(export_xlsx(rows, columns, "测试").content)).active
    body = list(sheet.iter_rows(min_row=2))
    assert [r[0].value for r in body] == TEXTS
    assert {r[0].data_type for r in body} == {"s"} and all(r[0].quotePrefix for r in body)
    assert [r[1].value for r in body] == [-n - 0.5 for n in range(len(TEXTS))]
    assert {r[1].data_type for r in body} == {"n"} and {r[2].data_type for r in body} == {"n"}
    assert body[3][2].value == -3 and body[0][3].is_date
