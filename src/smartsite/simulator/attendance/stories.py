"""Key-post attendance in the two weeks of work-order history (`smartsite.simulator.orders`):
absence findings and what people do about them.

The seed (`seed.py`) makes the scenario's real events — closed days judged by its rules — but
they are raised at `now` and have no handling yet. These stories give the order machinery two
weeks of handled absence orders of the same kind (rule `absence`, the Class I policy) on the
people the city put on key posts (`staff`); their events are made here (`attendance_absence`),
not derived from closed days.

What the history shows (`attendance/fixtures/loop_policies.json`, attendance/absence): the
总监理工程师 verifies; two rejections → medium loop (the 区监督站); some orders are suspended
(a stand-in approved by the 建设单位) and resumed. Absences are found when the day's
attendance closes.
"""

from __future__ import annotations

from smartsite.core.choices import PartyRole
from smartsite.core.models import PostAssignment
from smartsite.simulator import names
from smartsite.simulator.orders import Case, D, local
from smartsite.simulator.scenarios import DemoCase, Finding, Story
from smartsite.workorders.choices import Action

__all__ = ["DEMO_CASES", "FINDINGS", "STORIES", "TEXT", "attendance_absence"]

#: Class I posts only: the story's small loop is the Class I policy's (the 总监 verifies); a
#: Class II absence is verified automatically from the data (attendance/fixtures).
KEY_POSTS = ["project_manager", "project_manager", "safety_officer", "safety_officer",
             "project_manager"]


TEXT = {
    "att.dispose": [
        "{name}因参加公司安全例会外出半天，已补办请假手续，现已到岗。",
        "{name}已返回工地履职，后续每日按时人脸考勤。",
        "考勤设备故障导致漏打卡，已联系厂家修复，并补交{name}到岗说明。",
    ],
    "att.dispose_again": [
        "已补交建设单位批准的请假审批单和代岗安排，{name}本周起驻场。",
        "公司已书面承诺{name}不再兼任其他项目，附考勤明细。",
    ],
    "att.chief_pass": [
        "经核对考勤记录和现场签到，{name}已正常到岗，核查通过。",
        "请假手续齐全，已安排代岗人员，核查通过。",
    ],
    "att.chief_reject": [
        "考勤记录显示仍有缺勤，请假未经建设单位批准，请重新整改。",
        "说明材料不充分，未见代岗安排，核查不通过。",
    ],
    "att.station_pass": ["区监督站约谈项目负责人后，{name}已连续到岗，核查通过。"],
    "att.suspend": ["{name}因病住院，建设单位已批准由项目技术负责人临时代岗，挂起待其返岗后复核。"],
    "att.resume": ["{name}已返岗，恢复办理。"],
}


def _holder(project, post_code: str):
    """The current holder (Person) of `post_code` on `project`, or None."""
    row = (PostAssignment.objects.filter(project=project, post__code=post_code,
                                         end_date__isnull=True)
           .select_related("person", "post").order_by("start_date", "pk").first())
    return row


def attendance_absence(rng, project, at) -> dict:
    """An event shaped as the Class I 考勤不足 rule raises it (attendance/detectors.py), with
    a key of its own per day (the story needs a fresh event each time)."""
    post_code = rng.choice(KEY_POSTS)
    row = _holder(project, post_code) or _holder(project, "project_manager")
    name = row.person.name if row else names.person_name(rng)
    post = row.post.name if row else "项目经理"
    subject = row.person.resident_id if row else name
    present = rng.randint(6, 14)
    construction = present + rng.randint(4, 9)
    month = local(at).strftime("%Y-%m")
    rate = present / construction
    return dict(scenario="attendance", rule="absence", project=project, severity="warning",
                dedup_key=f"attendance:absence:{project.permit_no}:{subject}:{local(at):%Y%m%d}",
                subject=name,
                title=f"关键岗位考勤不足：{post}{name} {local(at):%Y年%m月}到岗率 {rate:.0%}"
                      f"（{present}/{construction} 天，不足 80%）",
                evidence={"assignment": row.pk if row else None,
                          "person_id": row.person_id if row else None, "person": name,
                          "post": row.post.code if row else "project_manager",
                          "post_class": "I", "month": month,
                          "construction_days": construction, "attended_days": present,
                          "rate": round(rate, 4), "min_rate": 0.8})



# ---------------------------------------------------------------- stories
# Deadlines are the policy's: 3 days to dispose, 2 days to verify.


def attendance_story(c: Case):
    if not c.raise_event(attendance_absence):
        return
    c.vars["name"] = c.event.evidence.get("person", "")
    if c.fate in ("dispose_overdue", "medium_overdue"):
        yield 3 * D + c.wait(1, 20)  # no reply in 3 days: the worker escalates to medium
        if c.fate == "medium_overdue":
            return  # and flags it overdue 3 days later (no large loop for attendance)
        c.do(Action.DISPOSE, "att.dispose_again")
        yield c.wait(4, 40)
        c.do(Action.VERIFY_PASS, "att.station_pass")
        return
    if c.fate in ("suspended", "suspended_resumed"):
        yield c.wait(4, 30)
        c.do(Action.SUSPEND, "att.suspend")
        if c.fate == "suspended":
            return
        yield c.wait(48, 120)
        c.do(Action.RESUME, "att.resume")
    yield c.before_now(4, 30) if c.fate == "awaiting_chief" else c.wait(2, 30)
    c.do(Action.DISPOSE, "att.dispose")
    if c.fate == "awaiting_chief":
        return
    yield c.wait(2, 30)
    if c.fate in ("small_closed", "suspended_resumed"):
        c.do(Action.VERIFY_PASS, "att.chief_pass")
        return
    c.do(Action.VERIFY_REJECT, "att.chief_reject")
    yield c.wait(4, 40)
    c.do(Action.DISPOSE, "att.dispose_again")
    yield c.wait(2, 30)
    if c.fate == "redo_closed":
        c.do(Action.VERIFY_PASS, "att.chief_pass")
        return
    c.do(Action.VERIFY_REJECT, "att.chief_reject")  # the second rejection: medium loop
    yield c.wait(4, 40)
    c.do(Action.DISPOSE, "att.dispose_again")
    yield c.wait(4, 30)
    c.do(Action.VERIFY_PASS, "att.station_pass")


STORIES = (
    Story("attendance", attendance_story, weight=0.26,
          fates={"small_closed": 5, "redo_closed": 2, "medium_closed": 1.2,
                 "dispose_overdue": 1, "medium_overdue": 0.3, "suspended_resumed": 0.4,
                 "suspended": 0.2},
          parties=frozenset({PartyRole.CONTRACTOR, PartyRole.SUPERVISOR}), at_hour=18),
)
DEMO_CASES = (
    DemoCase("pm", "attendance", "awaiting_chief", 46),  # chief: to verify
    DemoCase("district", "attendance", "medium_closed", 12 * 24),
    DemoCase("any", "attendance", "small_closed", 12 * 24),
)
FINDINGS = (Finding("attendance", 0.1, attendance_absence),)
