"""Survey files: the template a monitoring company downloads per pit, and the parser that turns
a filled-in .xlsx or .csv into the rows `services.record_survey` stores (all or nothing).

Formats — each a header row, matched by text (order-free, full-width characters and spaces
ignored, extra columns ignored):

* 观测数据 — one value per row: 测点编号, 观测时间, 观测值, 单位 (单位 may be left empty;
  given, it must be the point's: mm, kN or kPa);
* 测斜累计位移 — an inclinometer survey as a depth profile, one depth per row: 测点编号,
  观测时间, 深度(m), 累计位移(mm) — the displacement relative to the hole's initial profile,
  cumulated from the fixed bottom up, as the company computed it;
* 测斜读数A0A180 — the probe's raw readings: 测点编号, 观测时间, 深度(m), A0, A180, with the
  instrument constant K and the reading interval L (m) on rows above the header
  ("仪器常数K", value; "测读间距L(m)", value) — once per sheet or CSV file. The platform
  converts them (`pits.inclinometer`): per interval 1000·L·(A0 − A180)/(2K) mm, summed from
  the bottom up into the tube's position.

How raw readings become displacements (the baseline): a hole's displacement is its position
minus its initial profile, the mean of its first N surveys (Parameter `baseline_surveys`,
GB 50497-2019 §6.1). Raw positions depend on how the tube was installed (tens of mm of tilt),
so they cannot be stored where displacements go. The first N raw surveys of a hole are kept
as position profiles on the point (`Point.baseline_profile`) and nothing is assessed; when
the N-th arrives the initial profile is their mean, and all N are stored as displacement
profiles (their scatter around the mean) with the time each first arrived (so "late" is
judged by when it really came). Every later survey is stored as its displacement at once. A
survey timed before the baseline was complete is refused, and so is a hole switching between
raw readings and company-computed displacements (the two would not share a zero). A re-sent
file is idempotent in both phases. The upload's result names holes whose baseline is still
being measured ("初始剖面 1/3").

Reading the file: .xlsx (openpyxl, through `exchange.importers.open_workbook`, which refuses
old .xls, encrypted, .ods and zip bombs) or .csv in UTF-8 (with or without BOM) or GBK/GB18030
(Excel on Chinese Windows saves "CSV" so); at most 20 MB. Times: an Excel date-time cell, or
text such as 2026-03-02 09:00, 2026/3/2 9:00:00 or ISO 8601 with an offset; without an
offset a time is Shanghai time (Asia/Shanghai). A time without the hour is refused (a survey
has a time of day). Rows left blank, and template rows with only the point and unit filled,
are skipped. Every error names its row ("“观测数据”第 5 行" in a workbook, "第 5 行" in a CSV).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from smartsite.core.spreadsheet import guard_workbook
from smartsite.pits import permissions, services
from smartsite.pits.choices import Item
from smartsite.pits.services import RawProfile, SurveyRejected, SurveyRow

__all__ = ["MAX_BYTES", "Parsed", "outcome_text", "parse", "store_file", "template_csv",
           "template_xlsx"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
HEADER_SCAN_ROWS = 10

VALUES, PROFILE, RAW = "values", "profile", "raw"
SHEETS = {VALUES: "观测数据", PROFILE: "测斜累计位移", RAW: "测斜读数A0A180"}
HEADERS = {
    VALUES: ("测点编号", "观测时间", "观测值", "单位"),
    PROFILE: ("测点编号", "观测时间", "深度(m)", "累计位移(mm)"),
    RAW: ("测点编号", "观测时间", "深度(m)", "A0", "A180"),
}
# field of each header; "单位" is optional
FIELDS = {"测点编号": "point", "观测时间": "at", "观测值": "value", "单位": "unit",
          "深度(m)": "depth", "深度": "depth", "累计位移(mm)": "value", "累计位移": "value",
          "A0": "a0", "A180": "a180"}
REQUIRED = {VALUES: {"point", "at", "value"}, PROFILE: {"point", "at", "depth", "value"},
            RAW: {"point", "at", "depth", "a0", "a180"}}
PARAMS = {"仪器常数k": "k", "k": "k", "测读间距l(m)": "interval", "测读间距l": "interval",
          "l(m)": "interval", "l": "interval"}
K_LABEL, L_LABEL = "仪器常数K", "测读间距L(m)"

EXPECTED = "；".join(f"{SHEETS[k]}：{'、'.join(HEADERS[k])}" for k in (VALUES, PROFILE, RAW))


def _key(text) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


_FIELD_KEYS = {_key(h): f for h, f in FIELDS.items()}


# ---------------------------------------------------------------- template


def _points(pit):
    from smartsite.pits.models import Point

    return list(Point.objects.filter(pit=pit, active=True).order_by("item", "code"))


def template_xlsx(pit) -> bytes:
    """The pit's upload template: one sheet per format (the value sheet lists every active
    point that is not an inclinometer, ready for a time and a value), and the point list."""
    points = _points(pit)
    wb = Workbook()
    bold = Font(bold=True)
    ws = wb.active
    ws.title = SHEETS[VALUES]
    ws.append(list(HEADERS[VALUES]))
    for p in points:
        if p.item != Item.DEEP_HORIZONTAL:
            ws.append([p.code, None, None, p.unit])
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].number_format = "yyyy-mm-dd hh:mm"
    profile = wb.create_sheet(SHEETS[PROFILE])
    profile.append(list(HEADERS[PROFILE]))
    raw = wb.create_sheet(SHEETS[RAW])
    raw.append([K_LABEL, None, "测斜仪仪器常数（读数单位/单位正弦），见仪器说明书"])
    raw.append([L_LABEL, 0.5, "测读间距（m），通常 0.5"])
    raw.append([])
    raw.append(list(HEADERS[RAW]))
    listing = wb.create_sheet("测点清单")
    listing.append(["测点编号", "监测项目", "单位", "自动化监测", "测斜管深度(m)"])
    for p in points:
        listing.append([p.code, p.get_item_display(), p.unit, "是" if p.automated else "否",
                        float(p.tube_depth_m) if p.tube_depth_m is not None else None])
    notes = wb.create_sheet("填写说明")
    for line in (
        f"基坑：{pit.project.name} {pit.name}（编号 {pit.code}）",
        "观测时间写到分钟，如 2026-03-02 09:00；未注明时区的按北京时间。",
        "“观测数据”：每行一个测点一次观测；测斜孔不填在此表。单位可留空，填写时须与测点一致。",
        "“测斜累计位移”：每行一个深度，累计位移（mm）相对初始剖面、自孔底向上累计。",
        "“测斜读数A0A180”：测斜仪原始读数，须填写仪器常数 K 和测读间距 L；"
        "平台按 1000·L·(A0−A180)/(2K) 换算并自孔底累计，前几次观测的平均为初始剖面。",
        "整份文件校验：任何一行有错，全部不保存，并逐行列出错误；重复上传同一数据不会重复计入。",
    ):
        notes.append([line])
    for sheet in (ws, profile, raw, listing):
        for cell in sheet[4 if sheet is raw else 1]:
            cell.font = bold
        sheet.column_dimensions["A"].width = 16
        sheet.column_dimensions["B"].width = 20
    notes.column_dimensions["A"].width = 100
    guard_workbook(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_csv(pit, kind: str = VALUES) -> bytes:
    """One format as CSV (UTF-8 with BOM, so Excel shows the Chinese headers)."""
    if kind not in HEADERS:
        raise ValueError(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if kind == RAW:
        writer.writerow([K_LABEL, ""])
        writer.writerow([L_LABEL, "0.5"])
    writer.writerow(HEADERS[kind])
    if kind == VALUES:
        for p in _points(pit):
            if p.item != Item.DEEP_HORIZONTAL:
                writer.writerow([p.code, "", "", p.unit])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---------------------------------------------------------------- storing


def store_file(pit, upload, *, actor, source="file"):
    """Parse an uploaded file and store it through `record_survey` (SurveyRejected on any
    error); the API's multipart route calls this too."""
    if actor is not None:
        permissions.require_upload(actor, pit.project)
    data = upload.read(MAX_BYTES + 1)
    parsed = parse(upload.name or "", data)
    return services.record_survey(pit, parsed.rows, raw=parsed.raw, source=source, actor=actor,
                                  filename=upload.name or "")


def outcome_text(upload) -> str:
    text = (f"已保存：新增 {upload.readings} 条，重复 {upload.duplicates} 条（已忽略），"
            f"逾期 {upload.late} 条")
    pending = getattr(upload, "baseline_pending", {})
    if pending:
        text += "；" + "，".join(f"测斜孔 {code} 初始剖面已测 {have}/{need} 次"
                                for code, (have, need) in sorted(pending.items()))
    return text


# ---------------------------------------------------------------- parsing


@dataclass
class Parsed:
    rows: list[SurveyRow] = field(default_factory=list)
    raw: list[RawProfile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def parse(name: str, data: bytes) -> Parsed:
    """Rows and raw inclinometer surveys of an uploaded file; SurveyRejected for a file that
    cannot be read or has rows that cannot be (every such row named)."""
    name = name or "文件"
    if len(data) > MAX_BYTES:
        raise _file_error(f"文件“{name}”超过 {MAX_BYTES // 1024 // 1024} MB，请拆分后上传")
    if not data.strip():
        raise _file_error(f"文件“{name}”是空文件")
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    parsed = Parsed()
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        if suffix not in ("xlsx", "xls", "xlsm", ""):
            raise _file_error(f"只接受 Excel（.xlsx）或 CSV 文件，“{name}”不是")
        _parse_workbook(data, parsed)
    elif suffix in ("csv", "txt", ""):
        _parse_table(_csv_rows(data, name), None, parsed)
    else:
        raise _file_error(f"只接受 Excel（.xlsx）或 CSV（.csv）文件，“{name}”不是")
    if parsed.errors:
        raise SurveyRejected(parsed.errors)
    if not parsed.rows and not parsed.raw:
        raise _file_error("文件中没有任何观测数据（表头下没有填写观测时间和数值的行）")
    return parsed


def _file_error(message: str) -> SurveyRejected:
    return SurveyRejected([("", message)])


def _csv_rows(data: bytes, name: str) -> list[list]:
    if b"\x00" in data[:4096]:
        raise _file_error(f"“{name}”不是文本 CSV 文件（UTF-16 等编码请另存为“CSV UTF-8”）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly any byte string
        raise _file_error(f"“{name}”的编码无法识别，请另存为“CSV UTF-8”")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _file_error(f"CSV 格式错误：{exc}") from None


def _parse_workbook(data: bytes, parsed: Parsed) -> None:
    from smartsite.exchange.importers import ImportFailed, open_workbook

    try:
        wb = open_workbook(io.BytesIO(data))
    except ImportFailed as exc:
        raise _file_error(str(exc)) from None
    except zipfile.BadZipFile:
        raise _file_error("文件不是有效的 Excel（.xlsx）文件") from None
    found = False
    try:
        for sheet in wb.worksheets:
            rows = []
            for n, row in enumerate(sheet.iter_rows(values_only=True), 1):
                if n > MAX_ROWS:
                    raise _file_error(f"工作表“{sheet.title}”超过 {MAX_ROWS:,} 行，请拆分后上传")
                rows.append(list(row[:20]))
            found |= _parse_table(rows, sheet.title, parsed, quiet=True)
    finally:
        wb.close()
    if not found:
        raise _file_error(f"没有找到可识别的表头。应为 {EXPECTED}")


def _header(rows) -> tuple[int, str, dict[str, int], dict[str, object]] | None:
    """(index of the header row, format, field → column, parameters above it)."""
    params: dict[str, object] = {}
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        keys = [_key(c) for c in row]
        if keys and keys[0] in PARAMS and len(row) > 1:
            params[PARAMS[keys[0]]] = row[1]
            continue
        columns = {}
        for col, k in enumerate(keys):
            if k in _FIELD_KEYS and _FIELD_KEYS[k] not in columns:
                columns[_FIELD_KEYS[k]] = col
        for kind in (RAW, PROFILE, VALUES):
            need = REQUIRED[kind]
            if need <= set(columns) and (kind != VALUES or "depth" not in columns):
                return i, kind, columns, params
    return None


def _parse_table(rows: list[list], sheet: str | None, parsed: Parsed, *,
                 quiet: bool = False) -> bool:
    """Read one sheet (or CSV); False when it has no recognised header (quiet: a workbook's
    other sheets, e.g. the point list)."""
    if len(rows) > MAX_ROWS:
        raise _file_error(f"文件超过 {MAX_ROWS:,} 行，请拆分后上传")
    found = _header(rows)
    if found is None:
        if quiet:
            return False
        raise _file_error(f"没有找到可识别的表头（前 {HEADER_SCAN_ROWS} 行）。应为 {EXPECTED}")
    start, kind, columns, params = found

    def where(n: int) -> str:
        return f"“{sheet}”第 {n} 行" if sheet else f"第 {n} 行"

    def cell(row, name):
        col = columns.get(name)
        value = row[col] if col is not None and col < len(row) else None
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).strip()
        return None if value == "" else value

    raw: dict[tuple, list] = defaultdict(list)
    lines: dict[tuple, list[int]] = defaultdict(list)
    for n, row in enumerate(rows[start + 1:], start + 2):
        point, at = cell(row, "point"), cell(row, "at")
        data = [cell(row, f) for f in ("value", "depth", "a0", "a180") if f in columns]
        if at is None and all(v is None for v in data):
            continue  # blank, or a template row with only the point (and unit) filled
        if point is None:
            parsed.errors.append((where(n), "测点编号为空"))
            continue
        measured_at, problem = parse_time(at)
        if problem:
            parsed.errors.append((where(n), f"测点 {point} 的{problem}"))
            continue
        point = str(point)
        if kind == RAW:
            raw[(point, measured_at)].append((cell(row, "depth"), cell(row, "a0"), cell(row, "a180")))
            lines[(point, measured_at)].append(n)
            continue
        unit = cell(row, "unit")
        parsed.rows.append(SurveyRow(
            point=point, measured_at=measured_at, value=_blank_is_none(cell(row, "value")),
            unit=str(unit) if unit is not None else "", where=where(n),
            depth_m=cell(row, "depth") if kind == PROFILE else None))
    if raw:
        k, interval, problem = _raw_params(params)
        if problem:
            parsed.errors.append((f"“{sheet}”" if sheet else "", problem))
            return True
        for (point, at), readings in raw.items():
            first, last = min(lines[(point, at)]), max(lines[(point, at)])
            span = f"第 {first}–{last} 行" if last > first else f"第 {first} 行"
            parsed.raw.append(RawProfile(
                point=point, measured_at=at, readings=tuple(readings), k=k, interval=interval,
                where=f"“{sheet}”{span}" if sheet else span))
    return True


def _blank_is_none(value):
    return "" if value is None else value


def _raw_params(params) -> tuple[float, float, str]:
    def number(name):
        value = params.get(name)
        try:
            number = float(unicodedata.normalize("NFKC", str(value)).strip())
        except (TypeError, ValueError):
            return None
        return number if number > 0 and number == number and number != float("inf") else None

    k, interval = number("k"), number("interval")
    if k is None:
        return 0, 0, f"A0/A180 读数须在表头上方填写“{K_LABEL}”（正数，见仪器说明书）"
    if interval is None:
        return 0, 0, f"A0/A180 读数须在表头上方填写“{L_LABEL}”（正数，通常 0.5）"
    return k, interval, ""


_TIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?)?秒?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$")


def parse_time(value) -> tuple[datetime.datetime | None, str]:
    """(aware time, "") or (None, what is wrong): a date-time cell or text; naive times are
    Shanghai time."""
    if value is None:
        return None, "观测时间为空"
    if isinstance(value, datetime.datetime):
        at = value
    elif isinstance(value, datetime.date):
        return None, f"观测时间“{value}”缺少时刻（应写到分钟，如 {value} 09:00）"
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        match = _TIME.match(text)
        if not match:
            return None, f"观测时间“{text}”无法识别（应为 2026-03-02 09:00 的格式）"
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        if hour is None:
            return None, f"观测时间“{text}”缺少时刻（应写到分钟，如 {text} 09:00）"
        try:
            at = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute),
                                   int(second or 0), int((fraction or "0").ljust(6, "0")))
        except ValueError:
            return None, f"观测时间“{text}”不是有效的日期时间"
        if zone:
            offset = datetime.timedelta(0) if zone == "Z" else datetime.timedelta(
                hours=int(zone[1:3]), minutes=int(zone[-2:])) * (-1 if zone[0] == "-" else 1)
            at = at.replace(tzinfo=datetime.timezone(offset))
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    return at, ""
