"""Excel import over the API: `POST /api/v1/imports/{kind}` (multipart `file`).

Mounted in `smartsite.api` with `api.add_router("/imports/", exchange_router)`. The same
all-or-nothing import as the page: 200 `{"imported": n}`, or 422 with every error found.
"""

from __future__ import annotations

from django.http import Http404
from ninja import Field as F
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from smartsite.core.apikit import WRITE_ERRORS, ValidationOut
from smartsite.exchange import services, workbooks
from smartsite.exchange.importers import KINDS, SPECS, ImportFailed

__all__ = ["router"]

router = Router(tags=["imports"])

KIND_HELP = "导入类型：" + "、".join(f"{k}（{label}）" for k, label in KINDS)


class ImportedOut(Schema):
    imported: int = F(description="导入（或仅校验时：校验通过）的数据行数")
    dry_run: bool = F(False, description="是否只校验未导入")


class RowErrorOut(Schema):
    row: int | None = F(description="Excel 行号（如 3 表示第 3 行）；整个文件的问题为 null")
    column: str | None = F(description="列名（表头）；整行或整个文件的问题为 null")
    message: str = F(description="中文说明")


class ImportFailedOut(Schema):
    code: str = F(description="固定为 import")
    message: str = F(description="中文摘要")
    total: int = F(description="错误总数（errors 最多列出 5,000 条）")
    errors: list[RowErrorOut]


def _actor(request):
    return request.auth if getattr(request.auth, "is_authenticated", False) else request.user


def _spec(kind: str):
    if kind not in SPECS:
        raise Http404
    return SPECS[kind]


@router.post("/{kind}", response={200: ImportedOut, **WRITE_ERRORS,
                                  422: ImportFailedOut | ValidationOut},
             summary="导入 Excel（.xlsx）登记数据",
             description=f"{KIND_HELP}。先校验全部行，全部有效才导入（同一事务），否则 422 列出"
                         "每处错误（行、列、原因），不保存任何数据；请求本身有误（缺少 file、"
                         "dry_run 不是布尔值）时 422 为字段错误。`dry_run=true` 只校验。"
                         "模板：GET /api/v1/imports/{kind}/template。")
def import_xlsx(request, kind: str, file: File[UploadedFile], dry_run: bool = False):
    _spec(kind)
    try:
        count = services.import_workbook(kind, file, actor=_actor(request), dry_run=dry_run)
    except ImportFailed as exc:
        return Status(422, {"code": exc.code, "message": exc.message, "total": exc.total,
                     "errors": [e.as_dict() for e in exc.errors]})
    return Status(200, {"imported": count, "dry_run": dry_run})


@router.get("/{kind}/template", response={200: None, **WRITE_ERRORS},
            summary="下载导入模板（.xlsx）", description=KIND_HELP)
def import_template(request, kind: str):
    spec = _spec(kind)
    services.require_importer(_actor(request))
    return workbooks.xlsx_response(workbooks.template(kind, _actor(request)),
                                   f"{spec.label}导入模板.xlsx")
