"""Pit warnings in the work-order history (`smartsite.simulator.orders`): what the pit
app's assessment raises (`pits.services.assess_pit`: dedup key `pits:warning:<pit id>:<colour>`,
the pit's code as subject, the colour and reasons as evidence) on the projects with a pit,
and what people do about them. The history is made up on a fake clock after the pits are
seeded (`seed.py`), so its warnings are not the pits' readings; they carry the real pit and
key format so that a later assessment of the pit recovers or repeats them. Where the seeded
pit already has that warning open, the story's event gets the day as a suffix (a separate
event of the same pit) rather than disappearing into the open one.

What the history shows (`pits/fixtures/loop_policies.json`, pits/warning): the warning
waits for the 建设单位 to dispatch; overdue steps → medium loop (the 区监督站 dispatches);
the 监理 verifies; some are suspended while experts review the plan.
"""

from __future__ import annotations

from smartsite.core.choices import PartyRole
from smartsite.pits.choices import ITEM_PREFIX, Item
from smartsite.pits.models import Pit
from smartsite.simulator.orders import Case, D, local
from smartsite.simulator.scenarios import DemoCase, Story
from smartsite.workorders.choices import OPEN_EVENT_STATES, Action
from smartsite.workorders.models import Event

__all__ = ["DEMO_CASES", "STORIES", "TEXT", "pit_warning"]

PIT_ITEMS = [Item.DEEP_HORIZONTAL, Item.WALL_TOP_HORIZONTAL, Item.GROUND_SETTLEMENT,
             Item.STRUT_FORCE, Item.GROUNDWATER]


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
    item = rng.choice(PIT_ITEMS)
    point = f"{ITEM_PREFIX[item]}-{rng.randint(1, 12):02d}"
    red = rng.random() < 0.2
    rate = item not in (Item.STRUT_FORCE,) and rng.random() < 0.5
    force = item == Item.STRUT_FORCE
    value = (round(rng.uniform(2.0, 6.0), 1) if rate else round(rng.uniform(72, 95), 1) if force
             else round(rng.uniform(25, 60), 1))
    unit = "mm/d" if rate else "%" if force else "mm"
    colour = "red" if red else "yellow"
    label = Item(item).label
    text = (f"变化速率 {value:.2f} mm/d 达到预警值" if rate else
            f"内力 {value:.2f} % 达到预警值" if force else f"累计变化 {value:.2f} mm 达到预警值")
    pit = Pit.objects.filter(project=project).order_by("pk").first()
    reasons = [{"point": point, "code": "rate" if rate else "force" if force else "cumulative",
                "level": "over" if red else "warning", "value": value, "text": text}]
    if pit is None:  # a city seeded without pits
        key, subject, evidence = (f"pits:warning:{project.permit_no}:{point}:{local(at):%Y%m%d}",
                                  point, {"point": point, "item": label, "value": value,
                                          "unit": unit, "colour": colour})
    else:
        key = f"pits:warning:{pit.pk}:{colour}"
        if Event.objects.filter(dedup_key=key, state__in=OPEN_EVENT_STATES).exists():
            key = f"{key}:{local(at):%Y%m%d}"
        subject = pit.code
        evidence = {"pit": pit.pk, "colour": colour, "reasons": reasons}
    return dict(scenario="pits", rule="warning", project=project,
                severity="serious" if red else "warning", dedup_key=key, subject=subject,
                title=f"基坑{'红' if red else '黄'}色预警（平台建议）："
                      f"{pit.name if pit else ''} {point} {label}{text}".replace("  ", " "),
                evidence=evidence)


# ---------------------------------------------------------------- stories
# Deadlines are the policy's: 2 days to dispatch, 15 days to dispose, 2 days to verify.


def pit_story(c: Case):
    if not c.raise_event(pit_warning):
        return
    c.vars["point"] = c.args["evidence"].get("point") or c.args["evidence"]["reasons"][0]["point"]
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


STORIES = (
    Story("pits", pit_story, weight=0.16,
          fates={"closed": 4, "redo_closed": 1.5, "dispatch_overdue": 1, "suspended": 0.4},
          parties=frozenset({PartyRole.OWNER, PartyRole.CONTRACTOR, PartyRole.SUPERVISOR}),
          needs_pit=True),
)
DEMO_CASES = (
    DemoCase("pm", "pits", "awaiting_supervisor", 6 * 24),  # chief: to verify
    DemoCase("pm", "pits", "closed", 13 * 24),
    DemoCase("any", "pits", "suspended", 9 * 24),
    DemoCase("any", "pits", "pending_dispatch", 20),
)
