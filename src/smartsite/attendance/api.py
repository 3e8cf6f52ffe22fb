"""The attendance REST routes (mounted at /api/v1/): month rates per key post, leave and
stand-in requests with the 建设单位's decisions (services.py), and the consequences (后果)
with the district's decisions."""


import datetime
import re
from typing import Literal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from smartsite.attendance import permissions, rates, selectors, services
from smartsite.attendance.checkin_api import router as checkin_router
from smartsite.attendance.enrolment_api import router as enrolment_router
from smartsite.core.apikit import (
    READ_ERRORS,
    WRITE_ERRORS,
    Id,
    In,
    Invalid,
    Pagination,
    Text,
    pk_param,
)
from smartsite.core.bounds import MAX_ID
from smartsite.core.models import Person
from smartsite.core.scoping import scoped

__all__ = ["router"]

router = Router()
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthRateOut(Schema):
    assignment_id: int = Field(description="岗位任职编号")
    project_id: int
    project_name: str
    person_id: int
    person_name: str
    post: str = Field(description="岗位代码")
    post_name: str
    post_class: str = Field(description="类别：I（第一类）/ II（第二类）")
    month: str = Field(description="月份 YYYY-MM")
    construction_days: int = Field(description="已结算的施工天数")
    attended_days: int = Field(description="到岗天数（含顶岗）")
    leave_days: int
    short_days: int = Field(description="不足5小时的天数")
    absent_days: int
    stand_in_days: int
    rate: float | None = Field(description="到岗率（0–1）；无施工天数时为 null")
    meets: bool | None = Field(description="是否达到月度下限（80%）")


def _month(value: str | None) -> datetime.date:
    if not value:
        return timezone.localdate().replace(day=1)
    m = MONTH.match(value)
    try:
        if not m:
            raise ValueError
        return datetime.date(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise Invalid({"month": [f"“{value[:20]}”不是有效的月份，应为 YYYY-MM，如 2026-11"]},
                      labels={"month": "月份"}) from None


@router.get("/attendance/months", response={200: list[MonthRateOut], **READ_ERRORS},
            tags=["attendance"], summary="关键岗位月度到岗率（已结算的施工日）")
@paginate(Pagination)
def month_rates(request,
                month: str | None = Query(None, max_length=20,
                                          description="月份 YYYY-MM，默认本月"),
                project: int | None = Query(None, ge=1, le=MAX_ID, description="项目编号"),
                person: int | None = Query(None, ge=1, le=MAX_ID, description="人员编号")):
    month = _month(month)
    first, last = rates.month_bounds(month)
    days = selectors.days(request.auth).filter(date__gte=first, date__lte=last)
    if project:
        days = days.filter(project=project)
    if person:
        days = days.filter(person=person)
    by: dict[int, list[str]] = {}
    for aid, status in days.values_list("assignment", "status"):
        by.setdefault(aid, []).append(status)
    min_rate = selectors.param("min_monthly_rate")
    out = []
    for a in selectors.assignments(request.auth).filter(pk__in=list(by)).order_by("pk"):
        t = rates.tally(by[a.pk])
        out.append({
            "assignment_id": a.pk, "project_id": a.project_id, "project_name": a.project.name,
            "person_id": a.person_id, "person_name": a.person.name, "post": a.post.code,
            "post_name": a.post.name, "post_class": a.post.key_post.post_class,
            "month": f"{month:%Y-%m}", "construction_days": t.construction,
            "attended_days": t.attended, "leave_days": t.leave, "short_days": t.short,
            "absent_days": t.absent, "stand_in_days": t.stand_in,
            "rate": None if t.rate is None else round(float(t.rate), 4),
            "meets": t.meets(min_rate)})
    return out


# ---------------------------------------------------------------- leave and stand-ins


class LeaveIn(In):
    assignment: Id = Field(description="关键岗位任职编号")
    start_date: datetime.date = Field(description="开始日期")
    end_date: datetime.date = Field(description="结束日期（含）")
    reason: Text = Field(min_length=1, max_length=200, description="事由")


class StandInIn(In):
    assignment: Id = Field(description="被顶岗的关键岗位任职编号")
    person: Id = Field(description="顶岗人员编号（须持有同类有效资格证书）")
    start_date: datetime.date = Field(description="开始日期")
    end_date: datetime.date = Field(description="结束日期（含）")
    reason: Text = Field("", max_length=200, description="事由")


class DecisionIn(In):
    approve: bool = Field(description="true 批准，false 驳回")
    note: Text = Field("", max_length=200, description="审批意见（驳回必填）")


class RequestOut(Schema):
    id: int
    assignment_id: int
    person_id: int | None = Field(None, description="顶岗人员（仅顶岗）")
    start_date: datetime.date
    end_date: datetime.date
    reason: str
    status: str = Field(description="requested 待审批 / approved 已批准 / rejected 已驳回")
    decided_at: datetime.datetime | None
    note: str


def _out(obj) -> dict:
    return {"id": obj.pk, "assignment_id": obj.assignment_id,
            "person_id": getattr(obj, "person_id", None), "start_date": obj.start_date,
            "end_date": obj.end_date, "reason": obj.reason, "status": obj.status,
            "decided_at": obj.decided_at, "note": obj.note}


def _assignment(user, pk: int):
    """The key-post assignment a body names, if the user sees it (else the same 422), and
    the user may request for it (else 403) — before anything else in the body is read."""
    a = selectors.assignments(user).filter(pk=pk).first()
    if a is None:
        raise Invalid({"assignment": [f"未找到编号为 {pk} 的关键岗位任职"]},
                      labels={"assignment": "任职"})
    permissions.require_request(user, a.project, a.post.party_role)
    return a


def _check_order(start, end):
    if end < start:
        raise Invalid({"end_date": ["结束日期不能早于开始日期"]}, labels={"end_date": "结束日期"})


@router.post("/attendance/leaves", response={201: RequestOut, **WRITE_ERRORS},
             tags=["attendance"], summary="申请请假（岗位所属单位；每月不超过施工天数的 20%）")
def post_leave(request, payload: LeaveIn):
    a = _assignment(request.auth, payload.assignment)
    _check_order(payload.start_date, payload.end_date)
    leave = services.request_leave(request.auth, a, start_date=payload.start_date,
                                   end_date=payload.end_date, reason=payload.reason)
    return Status(201, _out(leave))


@router.post("/attendance/leaves/{pk}/decision", response={200: RequestOut, **WRITE_ERRORS},
             tags=["attendance"], summary="审批请假（项目的建设单位）")
def decide_leave(request, payload: DecisionIn, pk: int = pk_param()):
    leave = get_object_or_404(selectors.leaves(request.auth), pk=pk)
    leave = services.decide_leave(request.auth, leave, approve=payload.approve,
                                  note=payload.note)
    return _out(leave)


@router.post("/attendance/stand-ins", response={201: RequestOut, **WRITE_ERRORS},
             tags=["attendance"], summary="申请顶岗（顶岗人员须持有与在岗人员同类的有效资格证书）")
def post_stand_in(request, payload: StandInIn):
    a = _assignment(request.auth, payload.assignment)
    person = scoped(request.auth, Person.objects.all()).filter(pk=payload.person).first()
    if person is None:
        raise Invalid({"person": [f"未找到编号为 {payload.person} 的人员"]},
                      labels={"person": "顶岗人员"})
    _check_order(payload.start_date, payload.end_date)
    stand_in = services.request_stand_in(request.auth, a, person=person,
                                         start_date=payload.start_date,
                                         end_date=payload.end_date, reason=payload.reason)
    return Status(201, _out(stand_in))


@router.post("/attendance/stand-ins/{pk}/decision", response={200: RequestOut, **WRITE_ERRORS},
             tags=["attendance"], summary="审批顶岗（项目的建设单位）")
def decide_stand_in(request, payload: DecisionIn, pk: int = pk_param()):
    stand_in = get_object_or_404(selectors.stand_ins(request.auth), pk=pk)
    stand_in = services.decide_stand_in(request.auth, stand_in, approve=payload.approve,
                                        note=payload.note)
    return _out(stand_in)


# ---------------------------------------------------------------- consequences (后果)


class SanctionOut(Schema):
    id: int
    kind: str = Field(description="penalty_absence 不到岗履职处罚建议 / rating_fail 季度安全标准化"
                                  "考评不合格 / no_awards 年度不得评优评先")
    kind_label: str
    project_id: int
    project_name: str
    enterprise_id: int
    enterprise_name: str
    person_id: int | None
    person_name: str | None
    post_class: str = Field(description="I / II；no_awards 为空")
    period: str = Field(description="月 2026-11 / 季度 2026Q4 / 年 2026")
    reason: str
    evidence: dict = Field(description="所依据的月度认定（verdicts）与工单（orders）")
    citation: str
    state: str = Field(description="proposed 待确认 / confirmed 已确认 / withdrawn 已撤销")
    proposed_at: datetime.datetime
    decided_at: datetime.datetime | None
    note: str


class SanctionDecisionIn(In):
    decision: Literal["confirm", "withdraw"] = Field(description="confirm 确认 / withdraw 撤销")
    note: Text = Field("", max_length=200, description="意见（撤销必填）")


def _sanction_out(s) -> dict:
    return {"id": s.pk, "kind": s.kind, "kind_label": s.get_kind_display(),
            "project_id": s.project_id, "project_name": s.project.name,
            "enterprise_id": s.enterprise_id, "enterprise_name": s.enterprise.name,
            "person_id": s.person_id, "person_name": s.person.name if s.person_id else None,
            "post_class": s.post_class, "period": s.period, "reason": s.reason,
            "evidence": s.evidence,
            "citation": s.consequence.citation if s.consequence_id else "",
            "state": s.state, "proposed_at": s.proposed_at, "decided_at": s.decided_at,
            "note": s.note}


@router.get("/attendance/sanctions", response={200: list[SanctionOut], **READ_ERRORS},
            tags=["attendance"], summary="处理与后果：不到岗履职处罚建议、季度考评不合格、年度不得评优评先")
@paginate(Pagination)
def list_sanctions(request,
                   state: Literal["proposed", "confirmed", "withdrawn"] | None = Query(
                       None, description="状态"),
                   kind: Literal["penalty_absence", "rating_fail", "no_awards"] | None = Query(
                       None, description="后果类型"),
                   project: int | None = Query(None, ge=1, le=MAX_ID, description="项目编号"),
                   enterprise: int | None = Query(None, ge=1, le=MAX_ID, description="企业编号"),
                   period: str | None = Query(None, max_length=10,
                                              description="期间：2026-11 / 2026Q4 / 2026")):
    qs = selectors.sanctions(request.auth).order_by("-proposed_at", "-pk")
    for field, value in (("state", state), ("kind", kind), ("project", project),
                         ("enterprise", enterprise), ("period", period)):
        if value:
            qs = qs.filter(**{field: value})
    return [_sanction_out(s) for s in qs]


@router.post("/attendance/sanctions/{pk}/decision", response={200: SanctionOut, **WRITE_ERRORS},
             tags=["attendance"], summary="确认或撤销后果建议（项目所在区的监管部门）")
def decide_sanction(request, payload: SanctionDecisionIn, pk: int = pk_param()):
    sanction = get_object_or_404(selectors.sanctions(request.auth), pk=pk)
    sanction = services.decide_sanction(request.auth, sanction,
                                        confirm=payload.decision == "confirm", note=payload.note)
    return _sanction_out(selectors.sanctions(request.auth).get(pk=sanction.pk))


# The phone check-in (checkin_api.py) and enrolment (enrolment_api.py): routers of their own.
router.add_router("", checkin_router)
router.add_router("", enrolment_router)
