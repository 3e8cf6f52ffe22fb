"""The dust scenario's part of the work-order history and of the live findings
(`smartsite.simulator.orders`): its findings, what people do about them, and what they write.

What the history shows, per shipped loop policy (`dust/fixtures/loop_policies.json`)
    扬尘超标 (dust/exceedance): the small loop is verified automatically by the dust
    scenario's check "dust.valid_data_24h" (a day of valid data after the order was opened).
    The monitors' readings cover the last day only, so the check does not confirm the
    history's orders: a disposed order waits, the worker asks every hour, and after 24 h it
    goes "核查不通过，重新整改" to the medium loop, where the 区监督站 verifies (passes, or
    rejects → the street's 城管执法中队, large loop, who may 立案处罚).
    不装少装 (dust/missing_monitor): opened by the 区监督站 after an inspection; small and
    medium verified by the station; one rejection goes up a level; some are cancelled by
    their issuer, some handed to the squad (转派), some wait past the verification deadline.
    Plus warnings no policy turns into orders (扬尘设备离线), some ignored with a reason.

Findings name registered monitors (`monitors.monitor_mn`).
"""

from __future__ import annotations

import datetime

from smartsite.core.choices import PartyRole
from smartsite.dust.models import Monitor
from smartsite.simulator.dust.monitors import monitor_mn
from smartsite.simulator.orders import Case, D, H, local
from smartsite.simulator.scenarios import DemoCase, Finding, Story
from smartsite.workorders import services
from smartsite.workorders.choices import Action, LoopLevel

__all__ = ["DEMO_CASES", "FINDINGS", "STORIES", "TEXT", "dust_exceedance", "monitor_offline"]

#: What people write in the dust stories (UI text: Simplified Chinese).
TEXT = {
    "dust.dispose": [
        "已对场内裸土全部覆盖防尘网，开启围挡喷淋，安排专人清扫主干道。",
        "暂停土方开挖作业，雾炮机已开启，出入口车辆冲洗到位。",
        "已将洒水频次加密至每2小时一次，渣土车加盖密闭后方可出场。",
        "排查发现东侧堆土未覆盖，已完成覆盖并开启喷淋降尘。",
        "破碎作业已停止，作业面湿法施工，道路洒水保洁。",
    ],
    "dust.dispose_again": [
        "已全面排查扬尘源，新增雾炮2台，裸土覆盖率达到100%，土方作业改为湿法作业。",
        "已停止破碎作业，施工便道硬化处理，喷淋系统与监测设备联动开启。",
        "项目部召开扬尘专项整改会，落实专人巡查，增设移动喷淋，请监督站复核。",
    ],
    "dust.station_pass": [
        "现场复核：覆盖、喷淋措施落实到位，监测数据已恢复正常，核查通过。",
        "经视频巡查和现场检查，扬尘控制措施有效，同意闭环。",
    ],
    "dust.station_reject": [
        "现场复核仍有大面积裸土未覆盖，监测数据持续超标，核查不通过，转城管执法中队处置。",
        "整改措施未落实，雾炮未开启，出入口未冲洗，核查不通过。",
    ],
    "dust.squad_dispose": [
        "执法中队到场检查，责令立即停止土方作业并覆盖裸土，已现场拍照取证。",
        "已向项目部送达责令改正通知书，督促落实喷淋降尘措施。",
        "中队队员现场督办，施工单位已完成裸土覆盖和冲洗设施整改。",
    ],
    "dust.penalty": [
        "经查施工单位未采取有效防尘措施，依法立案并作出罚款决定。",
        "现场检查记录及监测数据为证，依法予以处罚。",
    ],
    "dust.squad_pass": [
        "复查整改到位，监测数据恢复正常，予以闭环。",
        "回访现场，裸土已覆盖，喷淋正常运行，闭环。",
    ],
    "mm.dispose": [
        "已在主出入口新增1台扬尘在线监测设备，完成联网并向平台上传数据。",
        "已委托设备厂家重新安装监测设备并完成调试，数据上传正常，附安装照片。",
        "已补装扬尘监测设备及视频抓拍装置，请监督站核查。",
    ],
    "mm.station_pass": [
        "设备已安装联网，数据连续上传正常，核查通过。",
        "经平台核验，监测数据已接入，同意闭环。",
    ],
    "mm.station_reject": [
        "新装设备未接入市平台，数据未上传，请重新整改。",
        "设备安装位置距出入口过远，不能反映出入口扬尘情况，请重新整改。",
    ],
    "mm.squad_dispose": [
        "执法中队到场督办，施工单位已当场安装监测设备，已拍照取证。",
        "已责令限期整改，复查时设备已安装到位。",
    ],
    "mm.squad_pass": ["复查设备运行正常，数据已上传，闭环。"],
    "mm.cancel": [
        "经核实该项目已办理停工手续，现场无施工作业，撤销本工单。",
        "与已派工单重复，撤销。",
    ],
    "mm.reassign": ["多次督促仍未安装监测设备，转派城管执法中队处置。"],
    "offline.ignore": [
        "设备因工地停电检修离线，已报备，忽略。",
        "设备迁移至新出入口期间离线，已报备。",
    ],
}

#: What a supervision station writes when it opens a 不装少装 order (title, description).
MISSING_MONITOR_FINDINGS = [
    ("不装少装：扬尘在线监测设备数量不足",
     "日常巡查发现该工地扬尘在线监测设备数量不足，主要出入口未设置监测点。"),
    ("不装少装：扬尘监测数据未接入平台", "平台数据比对：该工地登记在建，但未接入扬尘在线监测数据。"),
    ("不装少装：扬尘监测设备拆除后未重新安装", "现场检查发现扬尘监测设备已损坏拆除，未按要求重新安装。"),
]


# ---------------------------------------------------------------- findings


def _registered_mn(project, index: int) -> str:
    """`monitor_mn(project, index)`, or the project's first monitor where it has one
    registered and not an `index`-th (most sites have one monitor, the largest two)."""
    mn = monitor_mn(project, index)
    if index and not Monitor.objects.filter(mn=mn).exists():
        first = monitor_mn(project, 0)
        if Monitor.objects.filter(mn=first).exists():
            return first
    return mn


def dust_exceedance(rng, project, at, mn: str = "") -> dict:
    """raise_event arguments for a 15-minute PM10 mean above the monitoring-point limit."""
    mn = mn or _registered_mn(project, rng.randrange(2))
    value = rng.randint(160, 420)
    return dict(scenario="dust", rule="exceedance", project=project, severity="warning",
                dedup_key=f"dust:exceedance:{mn}:{local(at):%Y%m%d}", subject=mn,
                title=f"扬尘监测超标：首次发现 PM10 15分钟均值 {value} µg/m³",
                evidence={"mn": mn, "pm10_15min": value, "unit": "µg/m³",
                          "window_end": local(at).strftime("%Y-%m-%d %H:%M")})


def monitor_offline(rng, project, at) -> dict:
    mn = _registered_mn(project, rng.randrange(2))
    hours = rng.randint(2, 30)
    return dict(scenario="dust", rule="monitor_offline", project=project, severity="info",
                dedup_key=f"dust:offline:{mn}", subject=mn,
                title=f"扬尘监测设备离线：{mn[-6:]}（首次发现时已 {hours} 小时无数据）",
                evidence={"mn": mn, "silent_hours": hours})



# ---------------------------------------------------------------- stories
# Deadlines are the policies' (dust 24 h per step; 不装少装 7 d to dispose, 2 d to verify).


def dust_story(c: Case):
    if not c.raise_event(dust_exceedance):
        return
    for _ in range(2 if c.fate == "fresh" else c.rng.choice([0, 0, 1, 2, 3])):
        yield datetime.timedelta(minutes=c.rng.randint(15, 45))
        c.repeat(dust_exceedance(c.rng, c.project, c.sim.clock, mn=c.args["subject"])["evidence"])
    if c.fate == "fresh":
        return
    if c.fate in ("ignored", "ignored_open", "top_overdue"):
        # Nobody on site responds: the worker escalates after 24 h, and again after 48 h.
        yield c.order.opened_at + 48 * H - c.sim.clock + c.wait(1, 6)
        if c.fate != "ignored":
            return  # waiting for the squad; `top_overdue`: flagged overdue 24 h later
        c.accept()
        yield c.wait(1, 4)
        c.do(Action.DISPOSE, "dust.squad_dispose", photos=2)
        yield c.wait(2, 8)
        c.do(Action.VERIFY_PASS, "dust.squad_pass")
        if c.rng.random() < 0.7:
            yield c.wait(20, 70)
            c.penalise("dust.penalty")
        return
    yield c.wait(1, 5)
    c.do(Action.DISPOSE, "dust.dispose", photos=1)
    # The automatic check cannot confirm (no monitor data in the demo city): after the 24 h
    # verification window the worker sends it back, one level up.
    yield 24 * H + c.wait(1, 6)
    if c.fate == "medium_pending":
        return
    c.do(Action.DISPOSE, "dust.dispose_again", photos=2)
    if c.fate == "medium_verify":
        return
    yield c.wait(2, 10)
    if c.fate == "medium_closed":
        c.do(Action.VERIFY_PASS, "dust.station_pass")
        return
    c.do(Action.VERIFY_REJECT, "dust.station_reject")
    yield c.wait(1, 4)
    c.accept()
    yield c.wait(1, 6)
    c.do(Action.DISPOSE, "dust.squad_dispose", photos=2)
    yield c.wait(1, 8)
    c.do(Action.VERIFY_PASS, "dust.squad_pass")
    if c.rng.random() < 0.5:
        yield c.wait(20, 70)
        c.penalise("dust.penalty")


def missing_monitor_story(c: Case):
    title, description = c.rng.choice(MISSING_MONITOR_FINDINGS)
    c.open_by_hand("dust", "missing_monitor", title, description)
    if c.fate == "cancelled":
        yield c.wait(20, 60)
        c.do(Action.CANCEL, "mm.cancel")
        return
    if c.fate == "dispose_overdue":
        yield 7 * D + c.wait(1, 20)  # the worker escalates after 7 days
        c.do(Action.DISPOSE, "mm.dispose", photos=1)
        yield c.wait(4, 30)
        c.do(Action.VERIFY_PASS, "mm.station_pass")
        return
    if c.fate in ("reassigned", "reassigned_open"):
        yield c.wait(60, 120)
        c.do(Action.REASSIGN, "mm.reassign", to_level=LoopLevel.LARGE)
        yield c.wait(4, 30)
        c.do(Action.DISPOSE, "mm.squad_dispose", photos=1)
        if c.fate == "reassigned_open":
            return
        yield c.wait(4, 30)
        c.do(Action.VERIFY_PASS, "mm.squad_pass")
        return
    yield c.before_now(4, 30) if c.fate == "awaiting_station" else c.wait(20, 110)
    c.do(Action.DISPOSE, "mm.dispose", photos=1)
    if c.fate in ("verify_overdue", "awaiting_station"):
        return  # the station has not come round to it (overdue after 2 days)
    yield c.wait(4, 40)
    if c.fate == "small_closed":
        c.do(Action.VERIFY_PASS, "mm.station_pass")
        return
    c.do(Action.VERIFY_REJECT, "mm.station_reject")
    yield c.wait(20, 70)
    c.do(Action.DISPOSE, "mm.dispose", photos=1)
    yield c.wait(4, 40)
    if c.fate == "medium_closed":
        c.do(Action.VERIFY_PASS, "mm.station_pass")
        return
    c.do(Action.VERIFY_REJECT, "mm.station_reject")
    yield c.wait(4, 30)
    c.do(Action.DISPOSE, "mm.squad_dispose", photos=1)
    yield c.wait(4, 30)
    c.do(Action.VERIFY_PASS, "mm.squad_pass")


def offline_story(c: Case):
    if not c.raise_event(monitor_offline):
        return
    if c.fate == "ignored":
        yield c.wait(1, 20)
        services.ignore_event(c.event, actor=c.sim.regulator(c.project),
                              reason=c.text("offline.ignore"))


STORIES = (
    Story("dust", dust_story, weight=0.32,
          fates={"medium_closed": 6, "large_closed": 2, "ignored": 1, "top_overdue": 0.3},
          parties=frozenset({PartyRole.CONTRACTOR}), large_loop=True),
    Story("missing_monitor", missing_monitor_story, weight=0.14,
          fates={"small_closed": 5, "medium_closed": 2, "large_closed": 0.7,
                 "dispose_overdue": 1, "verify_overdue": 0.4, "cancelled": 0.6,
                 "reassigned": 0.5},
          parties=frozenset({PartyRole.CONTRACTOR}), large_loop=True),
    Story("offline", offline_story, weight=0.12, fates={"open": 0.6, "ignored": 0.4}),
)

DEMO_CASES = (
    DemoCase("pm", "dust", "fresh", 3),  # pm: to dispose
    DemoCase("pm", "offline", "open", 7),  # a warning on their site
    DemoCase("pm", "dust", "medium_closed", 9 * 24 + 5),
    DemoCase("district", "missing_monitor", "awaiting_station", 3 * 24),  # jingan: to verify
    DemoCase("district", "dust", "medium_verify", 42),
    DemoCase("district", "missing_monitor", "verify_overdue", 10 * 24),
    DemoCase("district", "offline", "open", 30),
    DemoCase("district", "offline", "ignored", 6 * 24),
    DemoCase("street", "dust", "ignored_open", 54),  # squad_*: large-loop orders
    DemoCase("street", "dust", "top_overdue", 5 * 24),
    DemoCase("street", "dust", "ignored", 11 * 24),
    DemoCase("street", "missing_monitor", "reassigned_open", 8 * 24),
    DemoCase("any", "missing_monitor", "medium_closed", 13 * 24),
    DemoCase("any", "missing_monitor", "large_closed", 13.5 * 24),
    DemoCase("any", "missing_monitor", "cancelled", 7 * 24),
)

FINDINGS = (
    Finding("dust", 0.55, dust_exceedance),
    Finding("offline", 0.2, monitor_offline),
)
