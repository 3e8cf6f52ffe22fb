"""Excel (.xlsx) import of 报建 data: one declarative spec per sheet kind.

Reading and checking only — nothing here writes. `exchange.services.import_workbook` calls
`validate()` and, only when it found no error at all, saves the planned objects in one
transaction through `core.services`.

The flow for one upload:

1. `open_workbook` refuses what is not a real .xlsx (old .xls, encrypted, .ods, renamed
   files, zip bombs) with one clear message;
2. `read_table` finds the header row, matches columns by header text (order-free, extra
   columns ignored; missing required columns → one error naming them) and reads the data
   rows (at most `IMPORT_MAX_ROWS`);
3. each cell is parsed by its column's type (typed or text dates and numbers, Chinese labels
   for choices);
4. the kind's builder resolves references, checks duplicates inside the file and against
   the database, checks the actor's permission per row, builds model instances and runs
   `full_clean()` on each.

Every problem becomes a `RowError(row, column, message)`: the row number as Excel shows it,
the column header, a Chinese message. Any error at all → `ImportFailed`, nothing is saved.
"""

from __future__ import annotations

import datetime
import io
import random
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone, translation

from smartsite.core import models as m
from smartsite.core import permissions, validators
from smartsite.core.choices import (
    PartyRole,
    ProjectKind,
    ProjectStatus,
    QualificationKind,
    RegionLevel,
)
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.scoping import grant_for, scoped

__all__ = [
    "KINDS",
    "SPECS",
    "Column",
    "ImportFailed",
    "Plan",
    "RowError",
    "SheetSpec",
    "max_rows",
    "open_workbook",
    "validate",
]

#: How many rows from the top are searched for the header row (a title row may come first).
HEADER_SCAN_ROWS = 10
#: Columns read per row; headers further right are ignored.
MAX_COLUMNS = 200
#: Errors kept for the report; the rest are only counted.
MAX_ERRORS = 5_000
#: An .xlsx is a zip, judged by its directory before anything is unpacked. The largest real
#: import — IMPORT_MAX_ROWS (20,000) rows of the widest kind with every optional column
#: filled, a GeoJSON fence on every row, written by openpyxl with inline strings — unpacks to
#: 24 MB (Excel's shared strings make it smaller). 32 MB leaves a third on top and bounds
#: what one upload can make a worker parse (a 163 KB file that unpacked to 68 MB used to hold
#: a worker 25 s and 370 MB before it was refused).
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
#: Shared strings are read into memory whole when the workbook opens: 20,000 rows of distinct
#: names and addresses take ~4 MB.
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
#: A workbook has a dozen parts (sheets, styles, theme, properties); thousands is not a workbook.
MAX_ARCHIVE_ENTRIES = 500
#: Cells a sheet may declare (its <dimension>, checked before a row is read): the largest
#: import is 20,010 rows × 13–20 columns ≈ 400,000 cells; five times that leaves room for
#: columns of the user's own, which are ignored.
MAX_CELLS = 2_000_000
TOO_BIG = ("文件解压后过大（超过 {limit} MB），无法导入；正常的导入文件远小于此，"
           "请删除多余的工作表、图片和空行，或拆分为多个文件")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and password-protected .xlsx
NOT_XLSX = "文件不是有效的 Excel（.xlsx）文件，请在 Excel 或 WPS 中另存为“Excel 工作簿（.xlsx）”后重新上传"


def max_rows() -> int:
    return settings.IMPORT_MAX_ROWS


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class RowError:
    """One problem: Excel row number (None: the whole file), column header, Chinese message."""

    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}

    def sort_key(self, order: dict[str, int]) -> tuple:
        return (self.row or 0, order.get(self.column or "", -1))


class ImportFailed(DomainError):
    """The upload was refused; `errors` lists every problem found (up to MAX_ERRORS)."""

    code, status = "import", 422

    def __init__(self, errors: list[RowError], *, total: int | None = None,
                 message: str | None = None):
        self.errors = errors
        self.total = total if total is not None else len(errors)
        if message is None:
            message = (errors[0].message if len(errors) == 1 and errors[0].row is None else
                       f"发现 {self.total} 处错误，未导入任何数据；请按错误报告修改后重新上传")
        super().__init__(message)

    @classmethod
    def file(cls, message: str) -> ImportFailed:
        """A problem with the file as a whole (not a real .xlsx, too many rows, …)."""
        return cls([RowError(None, None, message)])

    def as_dict(self) -> dict:
        return {**super().as_dict(), "total": self.total,
                "errors": [e.as_dict() for e in self.errors]}


# --------------------------------------------------------------------------- cells


class CellError(ValueError):
    """A cell whose value cannot be read as its column's type."""


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


def _text(value: Any) -> str:
    """A cell as stripped text: integral floats lose their ".0", dates become YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime):
        value = value.date() if value.time() == datetime.time() else value
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).translate(_INVISIBLE).replace("\u00a0", " ").strip()


def _narrow(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII (ＡＢ１２－ → AB12-)."""
    return unicodedata.normalize("NFKC", text)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not _text(value))


def parse_text(column: Column, value: Any) -> str:
    return _text(value)


def parse_code(column: Column, value: Any) -> str:
    """An identifier (报建编号, 身份证号, 信用代码, 证书编号): upper-case, no spaces.

    Long numbers typed as numbers have already lost their last digits in Excel (it keeps 15
    significant digits), so they are refused rather than silently mangled.
    """
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and ((isinstance(value, float) and not value.is_integer()) or abs(value) >= 10**15):
        raise CellError("该单元格是数字格式，长号码会丢失末几位；请把该列设为“文本”格式后重新填写")
    return re.sub(r"\s+", "", _narrow(_text(value))).upper()


_DATE_TEXT = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")


def parse_date(column: Column, value: Any) -> datetime.date:
    hint = "应为 YYYY-MM-DD 或 YYYY/MM/DD（如 2025-03-01），或 Excel 日期格式"
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(f"“{_text(value)}”不是日期，{hint}")
    else:
        text = _narrow(_text(value))
        match = _DATE_TEXT.fullmatch(text)
        try:
            if not match:
                raise ValueError(text)
            day = datetime.date(*(int(g) for g in match.groups()))
        except ValueError:
            raise CellError(f"“{text}”不是有效日期，{hint}") from None
    if not 1900 <= day.year <= 2100:
        raise CellError(f"日期“{day.isoformat()}”超出合理范围（1900—2100 年）")
    return day


def parse_decimal(column: Column, value: Any) -> Decimal:
    text = _text(value)
    if isinstance(value, bool):
        raise CellError(f"“{text}”不是数字")
    try:
        number = Decimal(str(value)) if isinstance(value, int | float) else \
            Decimal(re.sub(r"[\s,，]", "", _narrow(text)))
    except InvalidOperation:
        raise CellError(f"“{text}”不是有效数字") from None
    if not number.is_finite():
        raise CellError(f"“{text}”不是有效数字")
    return number


def parse_choice(column: Column, value: Any) -> str:
    text = _narrow(_text(value)).replace(" ", "")
    options = column.options()
    by_label = {_narrow(label).replace(" ", ""): v for v, label in options}
    if text in by_label:
        return by_label[text]
    if text.lower() in {v.lower() for v, _ in options}:
        return next(v for v, _ in options if v.lower() == text.lower())
    allowed = "、".join(label for _, label in options)
    raise CellError(f"“{_text(value)}”不是有效的{column.header}，应为：{allowed}")


_YES = {"是", "Y", "YES", "TRUE", "1", "有", "√"}
_NO = {"否", "N", "NO", "FALSE", "0", "无", "×"}


def parse_bool(column: Column, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _narrow(_text(value)).upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError(f"“{_text(value)}”无效，应为“是”或“否”")


def parse_geojson(column: Column, value: Any) -> str:
    """GeoJSON stays text here: `Project.clean` (core.geo) parses and checks it."""
    return _text(value)


def parse_phone(column: Column, value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = re.sub(r"[\s-]", "", _narrow(_text(value)))
    if text.startswith("+86"):
        text = text[3:]
    if not re.fullmatch(r"1[3-9]\d{9}", text):
        raise CellError(f"“{_text(value)}”不是有效的手机号（应为 1 开头的 11 位数字）")
    return text


PARSERS: dict[str, Callable[[Column, Any], Any]] = {
    "text": parse_text, "code": parse_code, "date": parse_date, "decimal": parse_decimal,
    "choice": parse_choice, "bool": parse_bool, "geojson": parse_geojson,
    "phone": parse_phone,
}

#: How each type is explained in the template's header notes.
FORMATS = {
    "text": "文本",
    "code": "文本（请保持“文本”单元格格式，勿用数字格式）",
    "date": "日期：YYYY-MM-DD 或 YYYY/MM/DD，也可用 Excel 日期格式",
    "decimal": "数字",
    "choice": "从下拉列表中选择",
    "bool": "填“是”或“否”",
    "geojson": "GeoJSON 文本（Polygon 或 MultiPolygon，WGS-84 经纬度）",
    "phone": "1 开头的 11 位手机号",
}


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Column:
    """One column of a sheet kind, matched by its header text."""

    header: str
    key: str
    type: str = "text"
    required: bool = False  # the cell must not be empty
    optional: bool = False  # the column itself may be left out of the file
    aliases: tuple[str, ...] = ()
    choices: Callable[[], list[tuple[str, str]]] | None = None  # (value, label) pairs
    help: str = ""
    width: int = 16

    def options(self) -> list[tuple[str, str]]:
        return list(self.choices()) if self.choices else []

    def parse(self, value: Any) -> Any:
        return PARSERS[self.type](self, value)

    def note(self) -> str:
        """The explanation shown on the template's header cell."""
        lines = ["必填" if self.required else ("选填（可不填，整列也可删除）" if self.optional
                                               else "选填（可留空）"),
                 FORMATS[self.type]]
        if self.choices and self.type == "choice":
            labels = [label for _, label in self.options()]
            if len("、".join(labels)) <= 120:
                lines.append("可选值：" + "、".join(labels))
        if self.help:
            lines.append(self.help)
        return "\n".join(lines)


def _choices(cls) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(c.value, c.label) for c in cls]


def _post_choices() -> list[tuple[str, str]]:
    return [(p.name, p.name) for p in m.Post.objects.order_by("party_role", "pk")]


@dataclass(frozen=True)
class SheetSpec:
    """A kind of import: its sheet name, its columns, and the builder that checks rows."""

    kind: str
    label: str
    columns: tuple[Column, ...]
    builder: type[Builder]
    description: str = ""

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def order(self) -> dict[str, int]:
        return {c.header: i for i, c in enumerate(self.columns)}


# --------------------------------------------------------------------------- reading


@dataclass
class Row:
    """One data row: parsed values by column key, and which keys already have an error."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    log: ErrorLog | None = None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return default if value in (None, "") else value

    def error(self, key: str | None, message: str) -> None:
        if key:
            self.failed.add(key)
        self.log.add(self.number, key, message)

    @property
    def ok(self) -> bool:
        return not self.failed


class ErrorLog:
    """Collects RowErrors (keeping at most MAX_ERRORS) for one sheet spec."""

    def __init__(self, spec: SheetSpec):
        self.spec = spec
        self.headers = {c.key: c.header for c in spec.columns}
        self.errors: list[RowError] = []
        self.total = 0

    def add(self, row: int | None, key: str | None, message: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, self.headers.get(key, key) if key else None,
                                        message))

    def __bool__(self) -> bool:
        return self.total > 0

    def failure(self) -> ImportFailed:
        order = self.spec.order
        return ImportFailed(sorted(self.errors, key=lambda e: e.sort_key(order)),
                            total=self.total)


def open_workbook(upload):
    """Open an uploaded file as an openpyxl read-only workbook, or raise ImportFailed."""
    from openpyxl import load_workbook

    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not head:
        raise ImportFailed.file("上传的文件是空的")
    if head.startswith(OLE_MAGIC):
        content = upload.read()
        upload.seek(0)
        if "EncryptedPackage".encode("utf-16-le") in content:
            raise ImportFailed.file("文件已设置密码，无法读取；请取消密码保护后另存为 .xlsx 再上传")
        raise ImportFailed.file("这是旧版 Excel（.xls）文件，请在 Excel 或 WPS 中“另存为”"
                                "Excel 工作簿（.xlsx）后重新上传")
    if not zipfile.is_zipfile(upload):
        raise ImportFailed.file(NOT_XLSX)
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and b"opendocument" in archive.read("mimetype"):
                raise ImportFailed.file("这是 OpenDocument（.ods）表格，请另存为 Excel 工作簿（.xlsx）"
                                        "后重新上传")
            _check_archive(archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFailed.file(NOT_XLSX) from None
    upload.seek(0)
    try:
        return load_workbook(upload, read_only=True, data_only=True)
    except Exception:  # openpyxl raises KeyError, InvalidFileException, XML errors, …
        raise ImportFailed.file(NOT_XLSX) from None


def _check_archive(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse, from the zip directory alone, an archive that would unpack to more than a real
    import needs. (zipfile never inflates an entry past the size its directory declares.)"""
    if len(infos) > MAX_ARCHIVE_ENTRIES:
        raise ImportFailed.file(f"文件包含 {len(infos):,} 个部件，不是正常的 Excel 工作簿，无法导入")
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise ImportFailed.file(TOO_BIG.format(limit=MAX_UNPACKED_BYTES // 1048576))
    for info in infos:
        if info.filename.lower().endswith("sharedstrings.xml") and \
                info.file_size > MAX_SHARED_STRINGS_BYTES:
            raise ImportFailed.file(TOO_BIG.format(limit=MAX_UNPACKED_BYTES // 1048576))


def max_scanned_rows() -> int:
    """Rows read from a sheet, blank ones included (blank rows are skipped, not counted as
    data, so they need a bound of their own): the data rows allowed, the header area, and as
    many blank rows again."""
    return 2 * max_rows() + HEADER_SCAN_ROWS


def _too_many_rows(rows: int) -> ImportFailed:
    limit = max_scanned_rows()
    return ImportFailed.file(f"工作表有 {rows:,} 行（含空行），超过 {limit:,} 行的上限；"
                             f"每个文件最多 {max_rows():,} 行数据，请删除多余的空行或拆分为多个文件")


def _check_dimension(sheet) -> None:
    """The sheet's own <dimension> (when it has one), before any row is read."""
    try:
        rows, columns = sheet.max_row or 0, sheet.max_column or 0
    except Exception:  # a malformed dimension: the rows are still counted while streaming
        return
    if rows > max_scanned_rows():
        raise _too_many_rows(rows)
    if rows * columns > MAX_CELLS:
        raise ImportFailed.file(f"工作表声明了 {rows:,} 行 × {columns:,} 列，超过 {MAX_CELLS:,} 个"
                                "单元格的上限；请删除多余的行和列，或拆分为多个文件")


def _header_key(text: Any) -> str:
    """A header for matching: NFKC, no spaces or required-markers (*), lower-case."""
    return re.sub(r"[\s*＊]+", "", _narrow(_text(text))).lower()


def _base_key(key: str) -> str | None:
    """A header without its trailing “(…)”, e.g. 合同价(万元) → 合同价."""
    base = re.sub(r"\(.*\)$", "", key)
    return base if base != key else None


def _header_lookup(spec: SheetSpec) -> dict[str, Column]:
    lookup = {}
    for col in spec.columns:
        for name in (col.header, *col.aliases):
            key = _header_key(name)
            lookup[key] = col
            # A file's header may leave the unit out (合同价), but a different unit in
            # parentheses (合同价(元)) must not match: it would scale every value.
            base = _base_key(key)
            if base:
                lookup.setdefault(base, col)
    return lookup


@dataclass
class Table:
    sheet: str
    header_row: int
    columns: list[tuple[int, Column]]  # 0-based position in the row, column spec
    rows: list[tuple[int, tuple]]  # Excel row number, raw values (aligned with columns)


def read_table(workbook, spec: SheetSpec) -> Table:
    """Find the header row and read the data rows of the kind's sheet, or raise ImportFailed."""
    if not workbook.worksheets:
        raise ImportFailed.file("工作簿中没有工作表")
    names = [_header_key(n) for n in workbook.sheetnames]
    sheet = (workbook.worksheets[names.index(_header_key(spec.label))]
             if _header_key(spec.label) in names else workbook.worksheets[0])
    lookup = _header_lookup(spec)
    _check_dimension(sheet)
    try:
        top = list(sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, max_col=MAX_COLUMNS,
                                   values_only=True))
        if all(all(is_blank(v) for v in row) for row in top):
            raise ImportFailed.file(f"工作表“{sheet.title}”是空的：第 1 行应为表头，"
                                    "第 2 行起为数据（可先下载导入模板）")
        scores = [sum(1 for v in row if _header_key(v) in lookup) for row in top]
        best = max(scores)
        header_index = scores.index(best) if best else 0
        header_row = header_index + 1
        header = top[header_index]
        columns, seen, problems = [], {}, []
        for pos, value in enumerate(header):
            col = lookup.get(_header_key(value)) if not is_blank(value) else None
            if col is None:
                continue
            if col.key in seen:
                problems.append(f"表头“{col.header}”出现了两次（第 {_letter(seen[col.key])} 列和"
                                f"第 {_letter(pos)} 列），请删除其中一列")
                continue
            seen[col.key] = pos
            columns.append((pos, col))
        missing = [c.header for c in spec.columns if not c.optional and c.key not in seen]
        if missing:
            problems.insert(0, f"缺少必填列：{'、'.join(missing)}。表头应在第 {header_row} 行，"
                               f"列名须与导入模板一致（列的顺序不限）")
        if problems:
            raise ImportFailed([RowError(header_row, None, p) for p in problems])
        last = max(pos for pos, _ in columns) + 1
        rows, limit, scan_limit = [], max_rows(), max_scanned_rows()
        for offset, raw in enumerate(sheet.iter_rows(min_row=header_row + 1, max_col=last,
                                                     values_only=True)):
            if header_row + offset >= scan_limit:
                raise _too_many_rows(header_row + offset + 1)
            values = tuple(raw[pos] if pos < len(raw) else None for pos, _ in columns)
            if all(is_blank(v) for v in values):
                continue
            number = header_row + 1 + offset
            if len(rows) >= limit:
                raise ImportFailed.file(f"数据超过 {limit:,} 行的上限（第 {number} 行起），"
                                        "请拆分为多个文件分别导入")
            rows.append((number, values))
    except ImportFailed:
        raise
    except Exception:  # a damaged sheet only shows up while streaming its XML
        raise ImportFailed.file(NOT_XLSX) from None
    if not rows:
        raise ImportFailed.file(f"工作表“{sheet.title}”只有表头，没有数据行")
    return Table(sheet.title, header_row, columns, rows)


def _letter(pos: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(pos + 1)


# --------------------------------------------------------------------------- builders


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing(qs, field_name: str, values: Iterable) -> set:
    """Which of `values` already exist as `field_name` in `qs` (chunked IN queries)."""
    values = sorted({v for v in values if v})
    found = set()
    for chunk in _chunks(values):
        found.update(qs.filter(**{f"{field_name}__in": chunk}).values_list(field_name, flat=True))
    return found


def _same_name(a: str, b: str) -> bool:
    """Enterprise names compare equal across full-/half-width brackets and spaces."""
    def norm(s):
        return re.sub(r"\s+", "", _narrow(s))

    return norm(a) == norm(b)


def _by_prefix(table: dict[str, Any], text: str):
    """Exact name, else the one name starting with `text` (浦东 → 浦东新区)."""
    text = re.sub(r"\s+", "", text)
    if text in table:
        return table[text]
    hits = [v for k, v in table.items() if len(text) >= 2 and k.startswith(text)]
    return hits[0] if len(hits) == 1 else None


class Builder:
    """Checks the rows of one kind and plans the objects to save (in saving order)."""

    #: model field → column key, for mapping full_clean() errors back to columns
    fields: dict[str, str] = {}

    def __init__(self, actor, spec: SheetSpec):
        self.actor = actor
        self.spec = spec
        self.grant = grant_for(actor)

    def prefetch(self, rows: list[Row]) -> None:
        """Load everything the rows refer to with a few queries."""

    def build(self, row: Row) -> None:
        raise NotImplementedError

    def objects(self) -> list[Model]:
        raise NotImplementedError

    @classmethod
    def example(cls, actor) -> dict[str, Any]:
        """A valid example row for the template (key → value)."""
        raise NotImplementedError

    def check(self, row: Row, instance: Model, fields: dict[str, str] | None = None,
              exclude: Iterable[str] = ()) -> bool:
        """full_clean() `instance`; report its errors under the row's columns.

        Fields whose cells already failed are left out (one message per cell is enough),
        and so are the foreign keys the builder resolved itself. Uniqueness is checked by
        the builders (inside the file and against the database) with clearer messages.
        """
        fields = fields if fields is not None else self.fields
        skip = set(exclude) | {f for f, key in fields.items() if key in row.failed}
        try:
            instance.full_clean(exclude=sorted(skip), validate_unique=False,
                                validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                key = fields.get(name)
                for message in messages:
                    row.error(key, message)
            return False
        return True

    def require_edit(self, row: Row, instance: Model, key: str, context: str = "") -> bool:
        try:
            permissions.require_edit(self.actor, instance)
        except Forbidden as exc:
            row.error(key, exc.message + context)
            return False
        return True

    def visible_projects(self, rows: list[Row]) -> dict[str, m.Project]:
        """Projects named in the rows that the actor can see, by 报建编号."""
        permits = sorted({r.get("permit_no") for r in rows if r.get("permit_no")})
        found = {}
        for chunk in _chunks(permits):
            qs = scoped(self.actor, m.Project.objects.filter(permit_no__in=chunk))
            found.update({p.permit_no: p for p in qs.select_related("district")})
        return found

    def project(self, row: Row, projects: dict[str, m.Project]) -> m.Project | None:
        permit = row.get("permit_no")
        if not permit:
            return None
        project = projects.get(permit)
        if project is None:  # absent or out of scope: the same answer (never a hint)
            row.error("permit_no", f"未找到报建编号为“{permit}”的项目")
        return project


def _check_id(row: Row, key: str, check: Callable[[str], str]) -> str | None:
    """Run a check-digit validator on a code cell; report its message on failure."""
    value = row.get(key)
    if not value:
        return None
    try:
        return check(value)
    except ValidationError as exc:
        row.error(key, "；".join(exc.messages))
        return None


def _unused(make: Callable[[random.Random], str], taken: Callable[[str], bool]) -> str:
    rng = random.Random(20_250_301)
    while True:
        value = make(rng)
        if not taken(value):
            return value


# ------------------------------------------------------------------ projects


class ProjectBuilder(Builder):
    fields = {"permit_no": "permit_no", "name": "name", "address": "address", "kind": "kind",
              "district": "district", "street": "street", "site_area_m2": "site_area_m2",
              "contract_value": "contract_value", "start_date": "start_date",
              "finish_date": "finish_date", "status": "status", "has_pit": "has_pit",
              "geofence": "geofence"}

    def prefetch(self, rows):
        regions = m.Region.objects.filter(level__in=[RegionLevel.DISTRICT, RegionLevel.STREET])
        self.districts: dict[str, m.Region] = {}
        self.streets: dict[int, dict[str, m.Region]] = defaultdict(dict)
        self.street_names: dict[str, list[m.Region]] = defaultdict(list)
        for region in regions.order_by("code"):
            if region.level == RegionLevel.DISTRICT:
                self.districts[region.name] = region
        by_pk = {d.pk: d for d in self.districts.values()}
        for region in regions.filter(level=RegionLevel.STREET).order_by("code"):
            region.parent = by_pk.get(region.parent_id)  # no query per row in clean()
            self.streets[region.parent_id][region.name] = region
            self.street_names[region.name].append(region)
        self.taken = _existing(m.Project.objects, "permit_no", (r.get("permit_no") for r in rows))
        self.seen: dict[str, int] = {}
        self.projects: list[m.Project] = []

    def district(self, row: Row) -> m.Region | None:
        text = row.get("district")
        if not text:
            return None
        district = _by_prefix(self.districts, text)
        if district is None:
            row.error("district", f"未找到上海市的区“{text}”，应为："
                                  + "、".join(self.districts))
        return district

    def street(self, row: Row, district: m.Region | None) -> m.Region | None:
        text = row.get("street")
        if not text or district is None:
            return None
        street = _by_prefix(self.streets[district.pk], text)
        if street is None:
            elsewhere = self.street_names.get(text)
            if elsewhere:
                row.error("street", f"街镇“{text}”属于{elsewhere[0].parent}，不属于“{district}”")
            else:
                row.error("street", f"在{district}未找到街镇“{text}”（可选值见模板的“街镇”工作表）")
        return street

    def build(self, row):
        permit = row.get("permit_no")
        if permit:
            if permit in self.seen:
                row.error("permit_no", f"报建编号“{permit}”与第 {self.seen[permit]} 行重复")
            else:
                self.seen[permit] = row.number
                if permit in self.taken:
                    row.error("permit_no", f"报建编号“{permit}”已存在，不能重复导入")
        district = self.district(row)
        street = self.street(row, district)
        project = m.Project(
            permit_no=permit or "", name=row.get("name", ""), address=row.get("address", ""),
            kind=row.get("kind", ""), district=district, street=street,
            site_area_m2=row.get("site_area_m2"), contract_value=row.get("contract_value"),
            start_date=row.get("start_date"), finish_date=row.get("finish_date"),
            status=row.get("status", ProjectStatus.ACTIVE), has_pit=row.get("has_pit", False),
            geofence=row.get("geofence"),
        )
        if district is not None:
            self.require_edit(row, project, "district", f"（所属区为“{district}”）")
        exclude = [f for f in ("district", "street") if getattr(project, f"{f}_id")]
        self.check(row, project, exclude=exclude)
        self.projects.append(project)

    def objects(self):
        return self.projects

    @classmethod
    def example(cls, actor):
        grant = grant_for(actor)
        districts = m.Region.objects.filter(level=RegionLevel.DISTRICT)
        district = (districts.filter(pk__in=grant.district_ids).first()
                    or districts.filter(name="静安区").first() or districts.first())
        street = m.Region.objects.filter(parent=district).order_by("code").first() \
            if district else None
        year = timezone.localdate().year
        permit = _unused(lambda rng: f"{year}SL{rng.randrange(10_000):04d}",
                         lambda v: m.Project.objects.filter(permit_no=v).exists())
        return {
            "permit_no": permit, "name": "某住宅小区新建工程（示例）",
            "address": f"{district.name if district else ''}某路 100 号",
            "kind": ProjectKind.BUILDING.label,
            "district": district.name if district else "", "street": street.name if street else "",
            "site_area_m2": 12500.5, "contract_value": 38600,
            "start_date": datetime.date(year, 3, 1), "finish_date": datetime.date(year + 2, 6, 30),
            "status": ProjectStatus.ACTIVE.label, "has_pit": "是", "geofence": "",
        }


# ------------------------------------------------------------------ parties


class PartyBuilder(Builder):
    fields = {"project": "permit_no", "role": "role", "enterprise": "uscc"}
    enterprise_fields = {"uscc": "uscc", "name": "enterprise_name"}

    def prefetch(self, rows):
        self.projects = self.visible_projects(rows)
        self.current: dict[tuple[int, str], m.ProjectParty] = {}
        for chunk in _chunks([p.pk for p in self.projects.values()]):
            for party in (m.ProjectParty.objects.filter(project__in=chunk)
                          .select_related("enterprise")):
                self.current[(party.project_id, party.role)] = party
        codes = {r.get("uscc") for r in rows if r.get("uscc")}
        self.known: dict[str, m.Enterprise] = {}
        for chunk in _chunks(sorted(codes)):
            self.known.update({e.uscc: e for e in m.Enterprise.objects.filter(uscc__in=chunk)})
        self.new: dict[str, tuple[m.Enterprise, int]] = {}
        self.seen: dict[tuple[str, str], int] = {}
        self.enterprises: list[m.Enterprise] = []
        self.parties: list[m.ProjectParty] = []

    def enterprise(self, row: Row) -> m.Enterprise | None:
        uscc = _check_id(row, "uscc", validators.validate_uscc)
        name = row.get("enterprise_name")
        if not uscc or not name:
            return None
        if uscc in self.known:
            enterprise = self.known[uscc]
            if not _same_name(name, enterprise.name):
                row.error("enterprise_name",
                          f"与已登记的企业名称“{enterprise.name}”不一致（统一社会信用代码 {uscc}）")
            return enterprise
        if uscc in self.new:
            enterprise, first = self.new[uscc]
            if not _same_name(name, enterprise.name):
                row.error("enterprise_name",
                          f"与第 {first} 行同一统一社会信用代码的企业名称“{enterprise.name}”不一致")
            return enterprise
        enterprise = m.Enterprise(uscc=uscc, name=name)
        if self.check(row, enterprise, self.enterprise_fields):
            self.new[uscc] = (enterprise, row.number)
            self.enterprises.append(enterprise)
        return enterprise

    def build(self, row):
        project = self.project(row, self.projects)
        role = row.get("role")
        enterprise = self.enterprise(row)
        if project is None or not role:
            return
        label = PartyRole(role).label
        key = (project.permit_no, role)
        if key in self.seen:
            row.error("role", f"与第 {self.seen[key]} 行重复：一个项目只能有一个{label}")
            return
        self.seen[key] = row.number
        current = self.current.get((project.pk, role))
        if current is not None:
            row.error("role", f"项目“{project.permit_no}”已登记{label}“{current.enterprise}”，"
                              "不能重复导入")
            return
        party = m.ProjectParty(project=project, role=role, enterprise=enterprise)
        if not self.require_edit(row, party, "permit_no", f"（项目所属区为“{project.district}”）"):
            return
        self.check(row, party, exclude=["project", "enterprise"])
        if enterprise is not None:
            self.parties.append(party)

    def objects(self):
        return [*self.enterprises, *self.parties]

    @classmethod
    def example(cls, actor):
        project, role = None, PartyRole.CONTRACTOR
        for candidate in scoped(actor, m.Project.objects.all()).order_by("-pk")[:50]:
            taken = set(candidate.parties.values_list("role", flat=True))
            missing = [r for r in PartyRole if r not in taken
                       and (r != PartyRole.MONITOR or candidate.has_pit)]
            if missing:
                project, role = candidate, missing[0]
                break
        uscc = _unused(validators.make_uscc,
                       lambda v: m.Enterprise.objects.filter(uscc=v).exists())
        return {"permit_no": project.permit_no if project else "2025SL0001",
                "role": PartyRole(role).label, "uscc": uscc,
                "enterprise_name": "上海某某建设工程有限公司（示例）"}


# ------------------------------------------------------------------ people


QUALIFICATION_KEYS = ("q_kind", "q_number", "q_issuer", "q_issued_on", "q_expires_on")


class PersonBuilder(Builder):
    fields = {"resident_id": "resident_id", "name": "name", "phone": "phone",
              "employer": "employer"}
    qualification_fields = {"kind": "q_kind", "number": "q_number", "issuer": "q_issuer",
                            "issued_on": "q_issued_on", "expires_on": "q_expires_on",
                            "person": "resident_id"}

    def prefetch(self, rows):
        self.taken = _existing(m.Person.objects, "resident_id",
                               (r.get("resident_id") for r in rows))
        codes = {r.get("employer") for r in rows if r.get("employer")}
        self.employers: dict[str, m.Enterprise] = {}
        for chunk in _chunks(sorted(codes)):
            self.employers.update({e.uscc: e for e in
                                   m.Enterprise.objects.filter(uscc__in=chunk)})
        numbers = {r.get("q_number") for r in rows if r.get("q_number")}
        self.certificates: set[tuple[str, str]] = set()
        for chunk in _chunks(sorted(numbers)):
            self.certificates.update(m.Qualification.objects.filter(number__in=chunk)
                                     .values_list("kind", "number"))
        self.seen: dict[str, tuple[m.Person, Row]] = {}
        self.seen_certificates: dict[tuple[str, str], int] = {}
        self.people: list[m.Person] = []
        self.qualifications: list[m.Qualification] = []

    def employer(self, row: Row) -> m.Enterprise | None:
        uscc = _check_id(row, "employer", validators.validate_uscc)
        if uscc and uscc not in self.employers:
            row.error("employer", f"未找到统一社会信用代码为“{uscc}”的企业，请先登记该企业"
                                  "（可用“参建单位”导入创建）")
        return self.employers.get(uscc) if uscc else None

    def person(self, row: Row, resident_id: str | None, has_certificate: bool):
        """The row's person: new, or the one of an earlier row (one more certificate)."""
        if resident_id in self.seen:
            person, first = self.seen[resident_id]
            if not has_certificate:
                row.error("resident_id", f"身份证号与第 {first.number} 行重复（同一人的多个证书"
                                         "可分行填写，但每行都须填写证书）")
            elif row.get("name") and row.get("name") != person.name:
                row.error("name", f"身份证号与第 {first.number} 行相同，但姓名不同"
                                  f"（“{person.name}”）")
            elif any(row.get(k) and row.get(k) != first.get(k) for k in ("phone", "employer")):
                row.error("resident_id", f"身份证号与第 {first.number} 行相同，"
                                         "但手机号或所在单位不同")
            return person
        employer = self.employer(row)
        person = m.Person(resident_id=resident_id or "", name=row.get("name", ""),
                          phone=row.get("phone", ""), employer=employer)
        if resident_id:
            self.seen[resident_id] = (person, row)
            if resident_id in self.taken:
                row.error("resident_id", "该身份证号的人员已登记，不能重复导入")
                return person
        self.require_edit(row, person, "resident_id")
        self.check(row, person, exclude=["employer"] if employer else [])
        self.people.append(person)
        return person

    def qualification(self, row: Row, person: m.Person) -> None:
        for key in ("q_kind", "q_number", "q_issuer"):
            if not row.get(key) and key not in row.failed:
                row.error(key, f"填写证书时“{self.spec.column(key).header}”不能为空")
        kind, number = row.get("q_kind"), row.get("q_number")
        if kind and number:
            label = f"{QualificationKind(kind).label} {number}"
            if (kind, number) in self.seen_certificates:
                row.error("q_number", f"证书“{label}”与第 {self.seen_certificates[(kind, number)]}"
                                      " 行重复")
            elif (kind, number) in self.certificates:
                row.error("q_number", f"证书“{label}”已登记，不能重复导入")
            self.seen_certificates.setdefault((kind, number), row.number)
        qualification = m.Qualification(
            person=person, kind=kind or "", number=number or "", issuer=row.get("q_issuer", ""),
            issued_on=row.get("q_issued_on"), expires_on=row.get("q_expires_on"))
        self.check(row, qualification, self.qualification_fields, exclude=["person"])
        self.qualifications.append(qualification)

    def build(self, row):
        resident_id = _check_id(row, "resident_id", validators.validate_resident_id)
        has_certificate = any(row.get(k) for k in QUALIFICATION_KEYS) or \
            any(k in row.failed for k in QUALIFICATION_KEYS)
        person = self.person(row, resident_id, has_certificate)
        if has_certificate:
            self.qualification(row, person)

    def objects(self):
        return [*self.people, *self.qualifications]

    @classmethod
    def example(cls, actor):
        today = timezone.localdate()
        resident_id = _unused(validators.make_resident_id,
                              lambda v: m.Person.objects.filter(resident_id=v).exists())
        employer = scoped(actor, m.Enterprise.objects.order_by("pk")).first()
        number = _unused(lambda rng: f"沪1312{rng.randrange(10**8):08d}",
                         lambda v: m.Qualification.objects.filter(number=v).exists())
        return {"resident_id": resident_id, "name": "张三", "phone": "13800138000",
                "employer": employer.uscc if employer else "",
                "q_kind": QualificationKind.CONSTRUCTOR_1.label, "q_number": number,
                "q_issuer": "中华人民共和国住房和城乡建设部",
                "q_issued_on": today.replace(year=today.year - 3, month=1, day=15),
                "q_expires_on": today.replace(year=today.year + 2, month=1, day=14)}


# ------------------------------------------------------------------ post assignments


class AssignmentBuilder(Builder):
    fields = {"project": "permit_no", "person": "resident_id", "post": "post",
              "start_date": "start_date", "end_date": "end_date"}

    def prefetch(self, rows):
        self.projects = self.visible_projects(rows)
        ids = sorted({r.get("resident_id") for r in rows if r.get("resident_id")})
        self.people: dict[str, m.Person] = {}
        for chunk in _chunks(ids):
            self.people.update({p.resident_id: p for p in
                                m.Person.objects.filter(resident_id__in=chunk)})
        self.posts = {p.name: p for p in m.Post.objects.all()}
        self.current: set[tuple] = set()
        for chunk in _chunks([p.pk for p in self.projects.values()]):
            self.current.update(m.PostAssignment.objects.filter(project__in=chunk).values_list(
                "project_id", "person_id", "post_id", "start_date"))
        self.seen: dict[tuple, int] = {}
        self.assignments: list[m.PostAssignment] = []

    def build(self, row):
        project = self.project(row, self.projects)
        resident_id = _check_id(row, "resident_id", validators.validate_resident_id)
        person = self.people.get(resident_id) if resident_id else None
        if resident_id and person is None:
            row.error("resident_id", f"未找到身份证号为 {validators.mask_resident_id(resident_id)} "
                                     "的人员，请先导入人员")
        post = self.posts.get(row.get("post"))  # the column's drop-down already checked it
        start = row.get("start_date")
        if project and person and post and start:
            key = (project.pk, person.pk, post.pk, start)
            if key in self.seen:
                row.error(None, f"与第 {self.seen[key]} 行重复（同一项目、人员、岗位和任职开始日期）")
            elif key in self.current:
                row.error(None, "该任职（同一项目、人员、岗位和任职开始日期）已登记，不能重复导入")
            self.seen.setdefault(key, row.number)
        if project is None or person is None or post is None:
            return
        assignment = m.PostAssignment(project=project, person=person, post=post,
                                      start_date=start, end_date=row.get("end_date"))
        if self.require_edit(row, assignment, "permit_no",
                             f"（项目所属区为“{project.district}”）"):
            self.check(row, assignment, exclude=["project", "person", "post"])
            self.assignments.append(assignment)

    def objects(self):
        return self.assignments

    @classmethod
    def example(cls, actor):
        project = scoped(actor, m.Project.objects.order_by("-pk")).first()
        person = scoped(actor, m.Person.objects.order_by("pk")).first()
        post = m.Post.objects.filter(code="project_manager").first() or m.Post.objects.first()
        return {"permit_no": project.permit_no if project else "2025SL0001",
                "resident_id": person.resident_id if person else
                validators.make_resident_id(random.Random(1)),
                "post": post.name if post else "项目经理",
                "start_date": timezone.localdate(), "end_date": ""}


# --------------------------------------------------------------------------- the specs

_REQ = {"required": True}
_WIDE = {"width": 28}

SPECS: dict[str, SheetSpec] = {
    "projects": SheetSpec(
        "projects", "项目",
        (
            Column("报建编号", "permit_no", "code", **_REQ, help="唯一；已存在的报建编号不能重复导入"),
            Column("项目名称", "name", **_REQ, **_WIDE),
            Column("项目地址", "address", **_REQ, **_WIDE),
            Column("工程类型", "kind", "choice", **_REQ, choices=_choices(ProjectKind)),
            Column("所属区", "district", **_REQ, help="上海市的区，如 静安区、浦东新区",
                   choices=lambda: [(r.name, r.name) for r in
                                    m.Region.objects.filter(level=RegionLevel.DISTRICT)]),
            Column("所属街镇", "street", **_REQ, help="须属于所属区；可选值见“街镇”工作表"),
            Column("占地面积（m²）", "site_area_m2", "decimal", help="平方米，大于 0"),
            Column("合同价（万元）", "contract_value", "decimal", help="万元，不小于 0"),
            Column("开工日期", "start_date", "date"),
            Column("计划竣工日期", "finish_date", "date", help="不早于开工日期"),
            Column("状态", "status", "choice", choices=_choices(ProjectStatus),
                   help="留空为“在建”"),
            Column("含基坑工程", "has_pit", "bool", help="留空为“否”"),
            Column("电子围栏（GeoJSON）", "geofence", "geojson", optional=True, width=40,
                   aliases=("电子围栏（GeoJSON，WGS-84）",),
                   help='须在上海市及所属区内，如 {"type":"Polygon","coordinates":[[[121.45,31.23],'
                        '[121.46,31.23],[121.46,31.24],[121.45,31.23]]]}'),
        ),
        ProjectBuilder,
        "报建编号、名称、地址、工程类型、所属区和街镇、面积、合同价、工期、状态、基坑、电子围栏",
    ),
    "parties": SheetSpec(
        "parties", "参建单位",
        (
            Column("报建编号", "permit_no", "code", **_REQ, help="须为已登记的项目"),
            Column("参建角色", "role", "choice", **_REQ, choices=_choices(PartyRole),
                   help="监测单位仅限含基坑工程的项目"),
            Column("统一社会信用代码", "uscc", "code", **_REQ, width=22,
                   help="18 位，按 GB 32100 校验；新企业将自动登记"),
            Column("企业名称", "enterprise_name", **_REQ, **_WIDE,
                   help="已登记的企业须与登记名称一致"),
        ),
        PartyBuilder,
        "项目的建设、勘察、设计、施工、监理、监测单位；新企业自动登记",
    ),
    "people": SheetSpec(
        "people", "人员",
        (
            Column("身份证号", "resident_id", "code", **_REQ, width=22,
                   aliases=("居民身份证号", "公民身份号码", "身份证号码"),
                   help="18 位，按 GB 11643 校验；同一人的多个证书可分行填写"),
            Column("姓名", "name", **_REQ),
            Column("手机号", "phone", "phone"),
            Column("所在单位信用代码", "employer", "code", width=22,
                   aliases=("所在单位统一社会信用代码",), help="须为已登记的企业"),
            Column("证书类别", "q_kind", "choice", optional=True, width=24,
                   choices=_choices(QualificationKind), help="不登记证书时证书各列留空"),
            Column("证书编号", "q_number", "code", optional=True, width=20),
            Column("发证机关", "q_issuer", optional=True, **_WIDE),
            Column("发证日期", "q_issued_on", "date", optional=True),
            Column("有效期至", "q_expires_on", "date", optional=True),
        ),
        PersonBuilder,
        "身份证号、姓名、手机号、所在单位，每行可附一个资格证书",
    ),
    "assignments": SheetSpec(
        "assignments", "岗位任职",
        (
            Column("报建编号", "permit_no", "code", **_REQ, help="须为已登记的项目"),
            Column("身份证号", "resident_id", "code", **_REQ, width=22,
                   aliases=("居民身份证号", "公民身份号码", "身份证号码"), help="须为已登记的人员"),
            Column("岗位", "post", "choice", **_REQ, width=22, choices=_post_choices),
            Column("任职开始", "start_date", "date", **_REQ),
            Column("任职结束", "end_date", "date", help="在任可留空"),
        ),
        AssignmentBuilder,
        "项目关键岗位人员（项目经理、总监理工程师等）的任职",
    ),
}

KINDS = [(spec.kind, spec.label) for spec in SPECS.values()]


# --------------------------------------------------------------------------- entry point


@dataclass
class Plan:
    """What a valid upload will save: objects in saving order, and the data-row count."""

    kind: str
    objects: list[Model]
    rows: int


def spec_for(kind: str) -> SheetSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ImportFailed.file(f"不支持的导入类型“{kind}”，应为："
                                + "、".join(f"{k}（{label}）" for k, label in KINDS)) from None


def validate(kind: str, upload, *, actor) -> Plan:
    """Read and check every row of `upload`; return the plan or raise ImportFailed."""
    spec = spec_for(kind)
    with translation.override("zh-hans"):
        if isinstance(upload, bytes | bytearray):
            upload = io.BytesIO(upload)
        workbook = open_workbook(upload)
        try:
            table = read_table(workbook, spec)
        finally:
            workbook.close()
        log = ErrorLog(spec)
        rows = []
        for number, raw in table.rows:
            row = Row(number, log=log)
            for (_, column), value in zip(table.columns, raw, strict=True):
                if is_blank(value):
                    row.values[column.key] = None
                    if column.required:
                        row.error(column.key, f"“{column.header}”不能为空")
                    continue
                try:
                    row.values[column.key] = column.parse(value)
                except CellError as exc:
                    row.values[column.key] = None
                    row.error(column.key, str(exc))
            rows.append(row)
        builder = spec.builder(actor, spec)
        builder.prefetch(rows)
        for row in rows:
            builder.build(row)
        if log:
            raise log.failure()
        return Plan(kind, builder.objects(), len(rows))
