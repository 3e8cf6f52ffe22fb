"""The pit REST routes (mounted at /api/v1/): pits with their colours and points, and survey
uploads from automated systems and monitoring companies (the same `services.record_survey`
as the file upload and MQTT: all or nothing, every error listed, a re-sent survey ignored)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.shortcuts import get_object_or_404
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from smartsite.core.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    Id,
    In,
    Pagination,
    Text,
    pk_param,
    visible_project,
    writing,
)
from smartsite.pits import permissions, selectors, services, uploads
from smartsite.pits.choices import Item, Retaining, Source, Support
from smartsite.pits.models import Pit, Point, Stage

__all__ = ["router"]

router = Router()


class PitOut(Schema):
    id: int
    code: str = Field(description="基坑编号")
    name: str = Field(description="名称")
    project_id: int = Field(description="项目")
    safety_grade: int = Field(description="安全等级（1–3）")
    design_depth_m: float = Field(description="设计开挖深度 H（m）")
    colour: str = Field(description="确认颜色（green / yellow / red）")
    proposed_colour: str = Field(description="平台建议颜色")
    proposed_reasons: list[dict] = Field(description="建议依据")
    assessed_at: datetime.datetime | None = Field(description="最近评估时间")


class PointOut(Schema):
    id: int
    code: str = Field(description="测点编号")
    item: str = Field(description="监测项目")
    unit: str = Field(description="单位")
    level: str = Field(description="状态：normal / watch / warning / over")
    cumulative: float | None = Field(description="累计变化（mm；内力为设计值的 %）")
    rate: float | None = Field(description="变化速率（/d）")
    last_measured_at: datetime.datetime | None = Field(description="最近观测")


class PitDetailOut(PitOut):
    points: list[PointOut]


class SurveyRowIn(In):
    point: str = Field(min_length=1, max_length=30, description="测点编号")
    measured_at: datetime.datetime = Field(description="观测时间（ISO 8601，须带时区）")
    value: float = Field(allow_inf_nan=False, description="观测值（测斜孔为该深度的累计位移 mm）")
    unit: str = Field("", max_length=10, description="单位（可省略；给出时须与测点一致）")
    depth_m: float | None = Field(None, ge=0, le=200, allow_inf_nan=False,
                                  description="深度（m，仅测斜孔）")


class SurveyIn(In):
    rows: list[SurveyRowIn] = Field(min_length=1, max_length=20_000, description="观测数据")


class UploadOut(Schema):
    id: int
    readings: int = Field(description="新增读数")
    duplicates: int = Field(description="已存在的重复读数（已忽略）")
    late: int = Field(description="逾期上传的读数")
    proposed_colour: str = Field(description="评估后的平台建议颜色")


class RowErrorOut(Schema):
    where: str = Field(description="位置：rows[3]、第 5 行、“观测数据”第 5 行；空 = 整批/整个文件")
    message: str = Field(description="中文说明")


class SurveyRejectedOut(ErrorOut):
    errors: list[RowErrorOut] = Field(description="每一处错误（有错则整批不保存）")


SURVEY_ERRORS = {**WRITE_ERRORS, 400: SurveyRejectedOut}


def _stored(pit, store) -> Status:
    try:
        upload = store()
    except services.SurveyRejected as exc:
        return Status(400, exc.as_dict())
    pit.refresh_from_db(fields=["proposed_colour"])
    return Status(201, {"id": upload.pk, "readings": upload.readings,
                        "duplicates": upload.duplicates, "late": upload.late,
                        "proposed_colour": pit.proposed_colour})


def _pit_out(pit) -> dict:
    return {**{f: getattr(pit, f) for f in ("id", "code", "name", "project_id", "safety_grade",
                                            "colour", "proposed_colour", "proposed_reasons",
                                            "assessed_at")},
            "design_depth_m": float(pit.design_depth_m)}


@router.get("/pits", response={200: list[PitOut], **READ_ERRORS}, tags=["pits"],
            summary="基坑列表")
@paginate(Pagination)
def list_pits(request):
    return [_pit_out(p) for p in selectors.pits(request.auth).order_by("pk")]


@router.get("/pits/{pk}", response={200: PitDetailOut, **READ_ERRORS}, tags=["pits"],
            summary="基坑及其测点")
def get_pit(request, pk: int = pk_param()):
    pit = get_object_or_404(selectors.pits(request.auth), pk=pk)
    points = [{"id": p.pk, "code": p.code, "item": p.item, "unit": p.unit, "level": p.level,
               "cumulative": p.cumulative, "rate": p.rate,
               "last_measured_at": p.last_measured_at}
              for p in selectors.points(request.auth, pit)]
    return {**_pit_out(pit), "points": points}


@router.post("/pits/{pk}/surveys", response={201: UploadOut, **SURVEY_ERRORS}, tags=["pits"],
             summary="上传监测数据（项目的监测单位；整批校验，有错则全部不保存）")
def post_survey(request, payload: SurveyIn, pk: int = pk_param()):
    pit = get_object_or_404(selectors.pits(request.auth), pk=pk)
    permissions.require_upload(request.auth, pit.project)
    rows = [services.SurveyRow(point=r.point, measured_at=r.measured_at, value=r.value,
                               unit=r.unit, depth_m=r.depth_m, where=f"rows[{i}]")
            for i, r in enumerate(payload.rows)]
    return _stored(pit, lambda: services.record_survey(pit, rows, source=Source.API,
                                                       actor=request.auth))


@router.post("/pits/{pk}/survey-files", response={201: UploadOut, **SURVEY_ERRORS}, tags=["pits"],
             summary="上传监测数据文件（.xlsx / .csv，格式同页面模板；整份校验，有错则全部不保存）",
             description="multipart 字段 `file`：基坑的监测数据模板（GET /pits/{pk}/survey-template"
                         " 页面下载）填好后的 .xlsx，或其中一种格式的 .csv（UTF-8 或 GBK）。"
                         "400 的 `errors` 逐行列出错误（where 为“第 N 行”）。")
def post_survey_file(request, file: File[UploadedFile], pk: int = pk_param()):
    pit = get_object_or_404(selectors.pits(request.auth), pk=pk)
    return _stored(pit, lambda: uploads.store_file(pit, file, actor=request.auth,
                                                   source=Source.FILE))


# ================================================================ registry (登记)


class PitIn(In):
    project: Id = Field(description="项目编号")
    code: Text = Field(min_length=1, max_length=30, description="基坑编号（项目内唯一）")
    name: Text = Field(min_length=1, max_length=100, description="名称")
    safety_grade: int = Field(ge=1, le=3, description="安全等级（1–3）")
    environment_grade: int = Field(ge=1, le=3, description="环境保护等级（1–3）")
    design_depth_m: float = Field(ge=0.5, le=80, allow_inf_nan=False,
                                  description="设计开挖深度 H（m）")
    retaining: Text = Field(max_length=30, description="围护结构：" + "、".join(Retaining.values))
    support: Text = Field(max_length=30, description="支撑形式：" + "、".join(Support.values))
    outline: list[list[float]] = Field(default_factory=list, max_length=500,
                                       description="平面轮廓 [[x, y], …]（米）")


class StageIn(In):
    name: Text = Field(min_length=1, max_length=100, description="工况")
    started_on: datetime.date = Field(description="开始日期")
    excavation_depth_m: float = Field(ge=0, le=80, allow_inf_nan=False,
                                      description="当前开挖深度（m，不超过 H）")
    base_slab: bool = Field(False, description="底板已浇筑")


class StageOut(Schema):
    id: int
    name: str
    started_on: datetime.date
    excavation_depth_m: float
    base_slab: bool


class PointIn(In):
    code: Text = Field(min_length=1, max_length=30, description="测点编号（基坑内唯一）")
    item: Text = Field(max_length=30, description="监测项目：" + "、".join(Item.values))
    x_m: float = Field(0, ge=-10_000, le=10_000, allow_inf_nan=False, description="平面 x（m）")
    y_m: float = Field(0, ge=-10_000, le=10_000, allow_inf_nan=False, description="平面 y（m）")
    instrument: Text = Field("", max_length=100, description="仪器")
    automated: bool = Field(False, description="自动化监测")
    tube_depth_m: float | None = Field(None, gt=0, le=200, allow_inf_nan=False,
                                       description="测斜管深度（m）")
    design_value: float | None = Field(None, gt=0, le=1e8, allow_inf_nan=False,
                                       description="设计值（kN/kPa，内力、压力类必填）")
    alarm_cumulative: float | None = Field(None, gt=0, le=1e6, allow_inf_nan=False,
                                           description="设计预警值：累计（mm 或 %设计值）")
    alarm_rate: float | None = Field(None, gt=0, le=1e5, allow_inf_nan=False,
                                     description="设计预警值：速率（mm/d）")


def _decimals(data: dict, *names: str) -> dict:
    return {k: (Decimal(str(v)) if k in names and v is not None else v) for k, v in data.items()}


@router.post("/pits", response={201: PitOut, **WRITE_ERRORS}, tags=["pits"],
             summary="登记基坑（市、区监管部门和项目的建设、施工、监测单位）")
def create_pit(request, payload: PitIn):
    data = payload.model_dump()
    project = visible_project(request.auth, data.pop("project"))
    permissions.require_edit(request.auth, project)
    with writing(Pit):
        pit = services.register_pit(project=project, actor=request.auth,
                                    **_decimals(data, "design_depth_m"))
    return Status(201, _pit_out(pit))


@router.post("/pits/{pk}/stages", response={201: StageOut, **WRITE_ERRORS}, tags=["pits"],
             summary="登记工况（开挖深度、底板浇筑）")
def create_stage(request, payload: StageIn, pk: int = pk_param()):
    pit = get_object_or_404(selectors.pits(request.auth), pk=pk)
    permissions.require_edit(request.auth, pit.project)
    with writing(Stage):
        stage = services.add_stage(pit, actor=request.auth,
                                   **_decimals(payload.model_dump(), "excavation_depth_m"))
    return Status(201, {"id": stage.pk, "name": stage.name, "started_on": stage.started_on,
                        "excavation_depth_m": float(stage.excavation_depth_m),
                        "base_slab": stage.base_slab})


@router.post("/pits/{pk}/points", response={201: PointOut, **WRITE_ERRORS}, tags=["pits"],
             summary="登记测点")
def create_point(request, payload: PointIn, pk: int = pk_param()):
    pit = get_object_or_404(selectors.pits(request.auth), pk=pk)
    permissions.require_edit(request.auth, pit.project)
    data = _decimals(payload.model_dump(), "tube_depth_m", "design_value", "alarm_cumulative",
                     "alarm_rate")
    with writing(Point):
        point = services.register_point(pit, actor=request.auth, **data)
    return Status(201, {"id": point.pk, "code": point.code, "item": point.item,
                        "unit": point.unit, "level": point.level, "cumulative": None,
                        "rate": None, "last_measured_at": None})
