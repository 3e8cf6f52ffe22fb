"""Deep pits (基坑监测) in the simulated city: monitoring warnings on the projects with a
foundation pit and what people do about them, for the work-order history and the live
findings (`smartsite.simulator.orders`). The scenario's app does not exist yet ([7/10]); its
events stand for what its rules will raise (yellow and red, GB 50497-2019 items).

What the history shows (`workorders/fixtures/loop_policies.json`, pits/warning): the warning
waits for the 建设单位 to dispatch; overdue steps → medium loop (the 区监督站 dispatches);
the 监理 verifies; some are suspended while experts review the plan.
"""

from __future__ import annotations

from smartsite.core.choices import PartyRole
from smartsite.simulator.orders import Case, D, local
from smartsite.simulator.scenarios import DemoCase, Finding, Scenario, Story
from smartsite.workorders.choices import Action

__all__ = ["SCENARIO", "pit_warning"]

PIT_ITEMS = [("CX", "深层水平位移"), ("WY", "围护墙顶水平位移"), ("CJ", "周边地表沉降"),
             ("ZL", "支撑轴力"), ("SW", "坑外地下水位")]


TEXT = {
    "pit.dispatch": [
        "已通知施工、监理、监测单位，请施工单位立即加密监测并采取处置措施。",
        "建设单位已召集各方现场会商，派施工单位处置。",
    ],
    "pit.station_dispatch": ["建设单位逾期未响应，区监督站督办，请施工单位立即处置。"],
    "pit.dispose": [
        "已在{point}附近增设临时钢支撑，坑边卸载，监测频率加密至每日2次，变形趋于稳定。",
        "坑底垫层已及时浇筑，加快支撑施工，{point}变形速率已回落。",
        "已停止坑边堆载，对渗漏点注浆封堵，{point}数据趋稳。",
    ],
    "pit.dispose_again": ["已按专项方案增设一道支撑，{point}连续两天变形速率小于预警值。"],
    "pit.supervisor_pass": [
        "连续3天监测数据平稳，处置措施落实到位，核查通过。",
        "现场复核支撑已到位，{point}数据收敛，同意闭环。",
    ],
    "pit.supervisor_reject": ["{point}变形速率仍未收敛，请继续处置并提交专项方案。"],
    "pit.station_pass": ["经区监督站复核，处置措施有效，监测数据稳定，核查通过。"],
    "pit.suspend": ["基坑暂停开挖，待专家论证方案后再行处置，工单挂起。"],
}


def pit_warning(rng, project, at) -> dict:
    code, item = rng.choice(PIT_ITEMS)
    point = f"{code}-{rng.randint(1, 24):02d}"
    red = rng.random() < 0.2
    rate = rng.random() < 0.5
    value = round(rng.uniform(2.0, 6.0), 1) if rate else round(rng.uniform(25, 60), 1)
    colour = "red" if red else "yellow"
    return dict(scenario="pits", rule="warning", project=project,
                severity="serious" if red else "warning",
                dedup_key=f"pits:warning:{project.permit_no}:{point}:{local(at):%Y%m%d}",
                subject=point,
                title=f"基坑监测{'红' if red else '黄'}色预警：{point} {item}"
                      f"{'速率' if rate else '累计值'}超预警值",
                evidence={"point": point, "item": item, "value": value,
                          "unit": "mm/d" if rate else "mm", "colour": colour})



# ---------------------------------------------------------------- stories
# Deadlines are the policy's: 2 days to dispatch, 15 days to dispose, 2 days to verify.


def pit_story(c: Case):
    if not c.raise_event(pit_warning):
        return
    c.vars["point"] = c.event.subject
    if c.fate == "pending_dispatch":
        return
    if c.fate == "dispatch_overdue":
        yield 2 * D + c.wait(1, 10)  # the owner did not dispatch in 2 days: medium loop
        c.do(Action.DISPATCH, "pit.station_dispatch")
        yield c.wait(20, 100)
        c.do(Action.DISPOSE, "pit.dispose")
        yield c.wait(4, 30)
        c.do(Action.VERIFY_PASS, "pit.station_pass")
        return
    yield c.wait(2, 30)
    c.do(Action.DISPATCH, "pit.dispatch")
    if c.fate == "suspended":
        yield c.wait(20, 80)
        c.do(Action.SUSPEND, "pit.suspend")
        return
    yield c.before_now(4, 30) if c.fate == "awaiting_supervisor" else c.wait(20, 140)
    c.do(Action.DISPOSE, "pit.dispose")
    if c.fate == "awaiting_supervisor":
        return
    yield c.wait(4, 30)
    if c.fate == "redo_closed":
        c.do(Action.VERIFY_REJECT, "pit.supervisor_reject")
        yield c.wait(20, 72)
        c.do(Action.DISPOSE, "pit.dispose_again")
        yield c.wait(4, 30)
    c.do(Action.VERIFY_PASS, "pit.supervisor_pass")


SCENARIO = Scenario(
    code="pits",
    name="基坑监测",
    stories=(
        Story("pits", pit_story, weight=0.16,
              fates={"closed": 4, "redo_closed": 1.5, "dispatch_overdue": 1, "suspended": 0.4},
              parties=frozenset({PartyRole.OWNER, PartyRole.CONTRACTOR, PartyRole.SUPERVISOR}),
              needs_pit=True),
    ),
    demo_cases=(
        DemoCase("pm", "pits", "awaiting_supervisor", 6 * 24),  # chief: to verify
        DemoCase("pm", "pits", "closed", 13 * 24),
        DemoCase("any", "pits", "suspended", 9 * 24),
        DemoCase("any", "pits", "pending_dispatch", 20),
    ),
    findings=(Finding("pits", 0.15, pit_warning, needs_pit=True),),
    texts=TEXT,
)
