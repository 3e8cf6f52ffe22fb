"""The monthly upload-compliance report (月报) that the platform's technical support sends the
authority: per monitoring company and project (pit), the surveys due by the frequency table,
the survey days received, the readings uploaded late (`Upload.late`) and the surveys missed
(`UploadGap`) in one calendar month, as rows, an Excel workbook (openpyxl) and a PDF
(WeasyPrint). Reads go through `scoped()`: a district sees its district's pits.

"Surveys due" counts survey rounds of the whole pit: for each day of the month (up to the
report's `now`) on which the frequency table asks for surveys (`schedule.interval_days` for
the pit's stage that day), 1 / the interval in days; summed and rounded up.
"""

from __future__ import annotations

import datetime
import io
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.utils import timezone

from smartsite.core.errors import BadRequest
from smartsite.pits import selectors
from smartsite.pits.models import Reading, Stage, Upload, UploadGap
from smartsite.pits.schedule import interval_days

__all__ = ["Report", "Row", "parse_month", "report", "to_pdf", "to_xlsx"]

COLUMNS = ("监测单位", "项目", "基坑", "区", "应测次数", "实测天数", "逾期上传读数", "漏测/迟报",
           "其中未补测")


@dataclass
class Row:
    company: str
    project: str
    pit: str
    district: str
    due: int
    surveyed: int
    late: int
    gaps: int
    open_gaps: int

    def cells(self) -> list:
        return [self.company, self.project, self.pit, self.district, self.due, self.surveyed,
                self.late, self.gaps, self.open_gaps]


@dataclass
class Report:
    month: datetime.date  # its first day
    generated_at: datetime.datetime
    rows: list[Row]

    @property
    def label(self) -> str:
        return f"{self.month.year} 年 {self.month.month} 月"

    @property
    def totals(self) -> list[int]:
        return [sum(getattr(r, f) for r in self.rows)
                for f in ("due", "surveyed", "late", "gaps", "open_gaps")]


def parse_month(raw: str | None, today: datetime.date) -> datetime.date:
    """`?month=YYYY-MM` → its first day; missing → this month; anything else → BadRequest."""
    if raw in (None, ""):
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in raw.split("-"))
        if len(raw) != 7 or not 2000 <= year <= 2100:
            raise ValueError
        return datetime.date(year, month, 1)
    except ValueError:
        raise BadRequest(f"月份“{raw[:20]}”无效，应为 YYYY-MM（如 2026-03）",
                         field="month") from None


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.datetime.combine(month, datetime.time(), tz)
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return start, datetime.datetime.combine(following, datetime.time(), tz)


def report(user, month: datetime.date, now: datetime.datetime | None = None) -> Report:
    now = now or timezone.now()
    start, end = month_bounds(month)
    pits = list(selectors.pits(user).select_related("monitoring_company")
                .order_by("monitoring_company__name", "project__name", "code"))
    ids = [p.pk for p in pits]
    frequencies = selectors.frequencies()
    stages: dict[int, list] = {}
    for stage in Stage.objects.filter(pit__in=ids).order_by("started_on"):
        stages.setdefault(stage.pit_id, []).append(stage)
    late = dict(Upload.objects.filter(pit__in=ids, received_at__gte=start, received_at__lt=end)
                .values("pit").annotate(n=Sum("late")).values_list("pit", "n"))
    surveyed = dict(Reading.objects.filter(point__pit__in=ids, measured_at__gte=start,
                                           measured_at__lt=end)
                    .annotate(day=TruncDate("measured_at")).values("point__pit")
                    .annotate(n=Count("day", distinct=True)).values_list("point__pit", "n"))
    gaps = {r["pit"]: r for r in UploadGap.objects.filter(pit__in=ids, due_at__gte=start,
                                                          due_at__lt=end)
            .values("pit").annotate(n=Count("pk"), open=Count("pk", filter=Q(filled_at__isnull=True)))}
    last_day = min((end - datetime.timedelta(days=1)).date(),
                   now.astimezone(start.tzinfo).date())
    rows = []
    for pit in pits:
        due = _due(pit, stages.get(pit.pk, []), month, last_day, frequencies)
        gap = gaps.get(pit.pk, {})
        row = Row(company=pit.monitoring_company.name if pit.monitoring_company else "（未登记）",
                  project=pit.project.name, pit=pit.name, district=pit.project.district.name,
                  due=due, surveyed=surveyed.get(pit.pk, 0), late=late.get(pit.pk) or 0,
                  gaps=gap.get("n", 0), open_gaps=gap.get("open", 0))
        if row.due or row.surveyed or row.late or row.gaps:
            rows.append(row)
    return Report(month, now, rows)


def _due(pit, stages, first: datetime.date, last: datetime.date, frequencies) -> int:
    total = 0.0
    day = first
    while stages and day <= last:
        stage = next((s for s in reversed(stages) if s.started_on <= day), None)
        if stage is not None:
            found = interval_days(grade=pit.safety_grade, design_depth_m=pit.design_depth_m,
                                  depth_m=stage.excavation_depth_m, slab_on=pit.base_slab_on,
                                  day=day, rows=frequencies)
            if found is not None:
                total += 1 / float(found[0])
        day += datetime.timedelta(days=1)
    return math.ceil(total - 1e-9)


# ---------------------------------------------------------------- files


def filename(rep: Report, ext: str) -> str:
    return f"基坑监测上传合规月报-{rep.month:%Y-%m}.{ext}"


def to_xlsx(rep: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from smartsite.core.spreadsheet import guard_workbook

    wb = Workbook()
    ws = wb.active
    ws.title = f"{rep.month:%Y-%m}"
    ws.append([f"基坑监测数据上传合规月报 · {rep.label}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"生成时间 {timezone.localtime(rep.generated_at):%Y-%m-%d %H:%M}"])
    ws.append(list(COLUMNS))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in rep.rows:
        ws.append(row.cells())
    ws.append(["合计", "", "", "", *rep.totals])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHI", (28, 24, 16, 10, 10, 10, 12, 10, 10), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"
    guard_workbook(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_pdf(rep: Report) -> bytes:
    from weasyprint import HTML

    html = render_to_string("pits/report_pdf.html", {"r": rep, "columns": COLUMNS})
    return HTML(string=html).write_pdf()
