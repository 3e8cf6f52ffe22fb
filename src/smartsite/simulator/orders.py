"""Two weeks of the event center and the disposal center, made through the real services.

`simulate_history(seed=…, now=…)` replays the past `days` on a fake clock: scenarios report
findings with `workorders.services.raise_event`, regulators open orders by hand with
`open_order`, the people whose turn it is act with `act`, and the worker's
`fire_due_timers` fires every reminder, automatic check and deadline at its due time. So every
order has a valid hash-chained history, every escalation happened because a timer really
ran out, and every action was taken by a user who really was in court
(`courts.court_users`, `permissions.allowed_actions`) — the demo logins where the court is
theirs, otherwise a simulated member of that organisation (an unusable password; the
project's registered post holder by name where there is one).

What the history shows, per shipped loop policy (`workorders/fixtures/loop_policies.json`)
    扬尘超标 (dust/exceedance): the small loop is verified automatically by the dust
    scenario's check "dust.valid_data_24h". That check is not registered yet (#6), so
    nothing can confirm the data: the check is not faked, and a disposed order waits, the
    worker asks every hour, and after 24 h it goes "核查不通过，重新整改" to the medium loop,
    where the 区监督站 verifies (passes, or rejects → the street's 城管执法中队, large loop).
    不装少装 (dust/missing_monitor): opened by the 区监督站 after an inspection; small and
    medium verified by the station; one rejection goes up a level; some are cancelled by
    their issuer, some handed to the squad (转派), some wait past the verification deadline.
    关键岗位不到岗 (attendance/absence): the 总监理工程师 verifies; two rejections → medium.
    基坑监测预警 (pits/warning): waits for the 建设单位 to dispatch; overdue steps → medium.
    Plus warnings no policy turns into orders (扬尘设备离线), some ignored with a reason.

Who finds what on logging in: `pm` an exceedance to dispose, `chief` an absence and a pit
warning to verify, `jingan` orders to verify (one overdue), the `squad_*` login large-loop
orders of its street (one overdue), `contractor` everything in its PMs' courts. No shipped
policy names the 市住建委, a 区建管委 or a 监测单位 as a court, so `city`, `pudong` and
`monitor` hold no ball; they see the orders and warnings of their scope.

Determinism: everything is drawn from `city.rng_for(seed, "orders")` (and two side streams)
and every time is an offset from `now`, so the same seed and `now` on the same city give the
same events, orders, titles, states and (in a fresh database) numbers.

`live_event()` / `run_live()` keep new findings arriving while the demo runs
(`smartsite simulate`).
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import itertools
import logging
import random
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from smartsite.core import audit
from smartsite.core.choices import (
    AgencyKind,
    AuditAction,
    PartyRole,
    ProjectStatus,
    RoleKind,
)
from smartsite.core.errors import DomainError, Forbidden
from smartsite.core.models import Agency, Post, PostAssignment, Project, ProjectParty, Role
from smartsite.lifecycle import stop_on_signals
from smartsite.simulator import names
from smartsite.simulator.users import DEMO_DOMAIN
from smartsite.workorders import services
from smartsite.workorders.choices import Action, LoopLevel, OrderState
from smartsite.workorders.models import (
    Event,
    LegalBasis,
    Notification,
    OrderAction,
    OrderAttachment,
    Timer,
    WorkOrder,
)
from smartsite.workorders.permissions import REGULATOR_ACTIONS

__all__ = ["HISTORY_DAYS", "SIM_PREFIX", "HistoryReport", "live_event", "run_live", "simulate_history",
           "site_photo"]

log = logging.getLogger(__name__)

#: Simulated members of organisations have usernames with this prefix, no usable password and
#: no e-mail address (so nothing is queued to mail them).
SIM_PREFIX = "sim_"

H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)
#: How far back `simulate_history` starts by default.
HISTORY_DAYS = 14

#: The post a simulated user of a party holds when the court names the party only.
PARTY_POST = {PartyRole.CONTRACTOR: "project_manager",
              PartyRole.SUPERVISOR: "chief_supervising_engineer",
              PartyRole.OWNER: "owner_lead"}

#: What people write (UI text: Simplified Chinese). `{name}`, `{post}`, `{point}` are filled in.
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
    "squad.accept": ["中队已接单，安排队员前往现场。", "已接单，今日内到场核实。"],
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
PIT_ITEMS = [("CX", "深层水平位移"), ("WY", "围护墙顶水平位移"), ("CJ", "周边地表沉降"),
             ("ZL", "支撑轴力"), ("SW", "坑外地下水位")]
KEY_POSTS = ["project_manager", "project_manager", "safety_officer", "technical_lead",
             "construction_worker_lead"]


# ---------------------------------------------------------------- photos


def site_photo(rng: random.Random, width: int = 96, height: int = 72) -> bytes:
    """A small real PNG (8-bit RGB) of a building site: sky, a building under construction
    with a green dust net, the ground with a little dust. About 1 KB."""
    sky = (rng.randint(150, 200), rng.randint(180, 215), rng.randint(215, 245))
    ground = bytes((rng.randint(120, 160), rng.randint(95, 125), rng.randint(65, 95)))
    net = bytes((rng.randint(30, 70), rng.randint(120, 160), rng.randint(60, 90)))
    concrete, floor = bytes((rng.randint(150, 180),) * 3), bytes((110, 110, 110))
    dust = bytes((200, 190, 170))
    horizon = rng.randint(height * 5 // 10, height * 7 // 10)
    x0, x1 = rng.randint(5, width // 3), rng.randint(width // 2, width - 5)
    top = rng.randint(8, horizon - 15)
    netted = rng.randint(top, horizon - 5)
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        if y >= horizon:
            row = bytearray(ground * width)
            for x in rng.sample(range(width), 3):
                row[3 * x:3 * x + 3] = dust
        else:
            shade = y * 30 // horizon
            row = bytearray(bytes((sky[0] - shade, sky[1] - shade, sky[2] - shade // 2)) * width)
            if y >= top:
                wall = net if y >= netted else floor if (y - top) % 6 == 0 else concrete
                row[3 * x0:3 * (x1 + 1)] = wall * (x1 + 1 - x0)
        raw += row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- findings


def monitor_mn(project, index: int = 0) -> str:
    """A stable 24-character HJ 212 device code (MN) for a project's `index`-th monitor."""
    digest = hashlib.sha256(f"{project.permit_no}:{index}".encode()).hexdigest().upper()
    return f"31{digest[:22]}"


def _registered_mn(project, index: int) -> str:
    """`monitor_mn(project, index)`, or the project's first monitor where it has one
    registered and not an `index`-th (most sites have one monitor, the largest two)."""
    from smartsite.dust.models import Monitor

    mn = monitor_mn(project, index)
    if index and not Monitor.objects.filter(mn=mn).exists():
        first = monitor_mn(project, 0)
        if Monitor.objects.filter(mn=first).exists():
            return first
    return mn


def _local(at: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(at)


def dust_exceedance(rng, project, at, mn: str = "") -> dict:
    """raise_event arguments for a 15-minute PM10 mean above the monitoring-point limit."""
    mn = mn or _registered_mn(project, rng.randrange(2))
    value = rng.randint(160, 420)
    return dict(scenario="dust", rule="exceedance", project=project, severity="warning",
                dedup_key=f"dust:exceedance:{mn}:{_local(at):%Y%m%d}", subject=mn,
                title=f"扬尘监测超标：首次发现 PM10 15分钟均值 {value} µg/m³",
                evidence={"mn": mn, "pm10_15min": value, "unit": "µg/m³",
                          "window_end": _local(at).strftime("%Y-%m-%d %H:%M")})


def monitor_offline(rng, project, at) -> dict:
    mn = _registered_mn(project, rng.randrange(2))
    hours = rng.randint(2, 30)
    return dict(scenario="dust", rule="monitor_offline", project=project, severity="info",
                dedup_key=f"dust:offline:{mn}", subject=mn,
                title=f"扬尘监测设备离线：{mn[-6:]}（首次发现时已 {hours} 小时无数据）",
                evidence={"mn": mn, "silent_hours": hours})


def _holder(project, post_code: str):
    """The current holder (Person) of `post_code` on `project`, or None."""
    row = (PostAssignment.objects.filter(project=project, post__code=post_code,
                                         end_date__isnull=True)
           .select_related("person", "post").order_by("start_date", "pk").first())
    return row


def attendance_absence(rng, project, at) -> dict:
    post_code = rng.choice(KEY_POSTS)
    row = _holder(project, post_code) or _holder(project, "project_manager")
    name = row.person.name if row else names.person_name(rng)
    post = row.post.name if row else "项目经理"
    subject = row.person.resident_id if row else name
    present = rng.randint(6, 14)
    return dict(scenario="attendance", rule="absence", project=project, severity="warning",
                dedup_key=f"attendance:absence:{project.permit_no}:{subject}:{_local(at):%Y%m%d}",
                subject=name, title=f"关键岗位未到岗：{post}{name}",
                evidence={"person": name, "post": post, "present_days": present,
                          "working_days": present + rng.randint(4, 9),
                          "month": _local(at).strftime("%Y-%m")})


def pit_warning(rng, project, at) -> dict:
    code, item = rng.choice(PIT_ITEMS)
    point = f"{code}-{rng.randint(1, 24):02d}"
    red = rng.random() < 0.2
    rate = rng.random() < 0.5
    value = round(rng.uniform(2.0, 6.0), 1) if rate else round(rng.uniform(25, 60), 1)
    colour = "red" if red else "yellow"
    return dict(scenario="pits", rule="warning", project=project,
                severity="serious" if red else "warning",
                dedup_key=f"pits:warning:{project.permit_no}:{point}:{_local(at):%Y%m%d}",
                subject=point,
                title=f"基坑监测{'红' if red else '黄'}色预警：{point} {item}"
                      f"{'速率' if rate else '累计值'}超预警值",
                evidence={"point": point, "item": item, "value": value,
                          "unit": "mm/d" if rate else "mm", "colour": colour})


# ---------------------------------------------------------------- the report


@dataclass
class HistoryReport:
    """What `simulate_history` made."""

    events: int = 0
    orders: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    closed_by_level: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    actions: int = 0
    timers_fired: int = 0
    attachments: int = 0
    media_bytes: int = 0
    users_created: int = 0
    penalties: int = 0
    #: story steps that found the order no longer allowing them (a deadline came first)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        states = "、".join(f"{OrderState(s).label} {self.by_state[s]}" for s in OrderState.values
                          if s in self.by_state)
        closed = "、".join(f"{LoopLevel(lv).label} {self.closed_by_level.get(lv, 0)}"
                          for lv in LoopLevel.values)
        return (f"{self.events} 个事件、{self.orders} 张工单（{states}；逾期 {self.overdue}；"
                f"已闭环：{closed}）")


# ---------------------------------------------------------------- the simulation


class _Case:
    """One finding and what people do about it, as a generator of waits (timedeltas)."""

    def __init__(self, sim: _Sim, project, kind: str, fate: str, rng: random.Random):
        self.sim, self.project, self.kind, self.fate, self.rng = sim, project, kind, fate, rng
        story = STORIES[kind]
        self.order: WorkOrder | None = None
        self.event: Event | None = None
        self.issuer = None
        self.vars: dict[str, str] = {}
        self.work = True
        self.steps: Iterator[datetime.timedelta] = story(self)
        sim.cases.append(self)

    # -- time -------------------------------------------------------------------------

    def wait(self, lo_hours: float, hi_hours: float) -> datetime.timedelta:
        """A wait of lo–hi hours. People act in working hours (08:00–20:00 local): a wait
        ending at night ends the next morning instead — except in the demo logins' cases,
        which are timed against `now` and must stay within their deadlines."""
        now = self.sim.clock
        target = now + datetime.timedelta(seconds=round(self.rng.uniform(lo_hours, hi_hours)
                                                        * 3600))
        if self.work:
            local = _local(target)
            if local.hour >= 20 or local.hour < 8:
                day = local.date() + datetime.timedelta(days=1 if local.hour >= 20 else 0)
                start = datetime.datetime.combine(day, datetime.time(8), local.tzinfo)
                target = start + datetime.timedelta(minutes=self.rng.randint(0, 100))
                target = target.astimezone(datetime.UTC)  # (see services: hash of `at`)
        return target - now

    def before_now(self, lo_hours: float, hi_hours: float) -> datetime.timedelta:
        """The wait until lo–hi hours before `now` (none if that has passed)."""
        target = self.sim.now - datetime.timedelta(
            seconds=round(self.rng.uniform(lo_hours, hi_hours) * 3600))
        return max(datetime.timedelta(0), target - self.sim.clock)

    # -- findings ----------------------------------------------------------------------

    def raise_event(self, make: Callable) -> bool:
        args = make(self.rng, self.project, self.sim.clock)
        event = services.raise_event(**args, occurred_at=self.sim.clock, now=self.sim.clock)
        if event.count > 1:  # the same condition was already open: it was counted there
            return False
        self.event, self.args = event, args
        self.sim.events += 1
        if event.order_id:
            self.order = WorkOrder.objects.get(pk=event.order_id)
        return True

    def repeat(self) -> None:
        """The condition is seen again: the open event counts it (no new order)."""
        args = dict(self.args)
        args["evidence"] = dust_exceedance(self.rng, self.project, self.sim.clock,
                                           mn=args["subject"])["evidence"]
        services.raise_event(**args, occurred_at=self.sim.clock, now=self.sim.clock)

    def open_by_hand(self, scenario: str, kind: str, title: str, description: str) -> None:
        self.issuer = self.sim.regulator(self.project)
        self.order = services.open_order(scenario=scenario, kind=kind, project=self.project,
                                         title=title, actor=self.issuer,
                                         description=description, now=self.sim.clock)

    # -- actions -----------------------------------------------------------------------

    def text(self, key: str) -> str:
        return self.rng.choice(TEXT[key]).format(**self.vars)

    def do(self, action: str, key: str, *, photos: int = 0, to_level: str = "",
           optional: bool = False) -> bool:
        """Take `action` as someone entitled to it now; False (and noted, unless `optional`)
        if nobody is. An order already closed ends its story quietly (an automatic check
        may close a dust order before its handler's next step)."""
        order = self.order
        order.refresh_from_db()
        if order.state in (OrderState.CLOSED, OrderState.CANCELLED):
            return False
        if action == Action.CANCEL:
            actor = self.issuer
        elif action in REGULATOR_ACTIONS:
            actor = self.sim.regulator(order.project)
        else:
            actor = self.sim.court_actor(order)
        files = [SimpleUploadedFile(f"现场照片{i + 1}.png", site_photo(self.sim.photo_rng),
                                    content_type="image/png") for i in range(photos)]
        try:
            if actor is None:
                raise DomainError("没有可办理的人员")
            # The service refuses anyone not in court (or not the issuer / a regulator).
            services.act(order, action, actor, version=order.version, comment=self.text(key),
                         files=files, to_level=to_level, now=self.sim.clock)
        except (DomainError, Forbidden) as exc:
            if not optional:
                self.sim.skipped.append(f"{order.number} {self.fate} {action}: {exc.message}")
            return False
        return True


    def accept(self) -> None:
        """接单: the officer takes the order on the phone (where the service has that step)."""
        if "accept" in Action.values:
            self.do("accept", "squad.accept", optional=True)

    def penalise(self) -> None:
        """立案处罚 by the street's squad under the scenario's first active legal basis, with a
        fine inside the basis's range (both from the data)."""
        order = self.order
        order.refresh_from_db()
        basis = (LegalBasis.objects.filter(scenario=order.scenario, active=True)
                 .order_by("code").first())
        squad = Agency.objects.filter(kind=AgencyKind.ENFORCEMENT_SQUAD,
                                      region=order.project.street_id).first()
        actor = self.sim._actors.get(("agency", squad.pk)) if squad else None
        if basis is None or actor is None:
            return
        steps = int((basis.max_amount - basis.min_amount) // 5000)
        amount = basis.min_amount + 5000 * self.rng.randint(0, min(steps, 6))
        self.sim.penalties += 1
        district = order.project.district.name.removesuffix("新区").removesuffix("区")
        number = (f"沪{district}城管罚决字〔{_local(self.sim.clock):%Y}〕"
                  f"第{self.sim.penalties + 40:04d}号")
        try:
            services.record_penalty(order, actor, version=order.version, basis=basis,
                                    amount=amount, decision_number=number,
                                    decided_on=_local(self.sim.clock).date(),
                                    note=self.text("dust.penalty"), now=self.sim.clock)
        except (DomainError, Forbidden) as exc:
            self.sim.skipped.append(f"{order.number} {self.fate} penalty: {exc.message}")


class _Sim:
    def __init__(self, seed: int, now: datetime.datetime):
        from smartsite.simulator.city import rng_for

        self.rng = rng_for(seed, "orders")
        self.people_rng = rng_for(seed, "order-actors")
        self.photo_rng = rng_for(seed, "order-photos")
        self.now = now
        self.clock = now
        self.queue: list = []
        self.cases: list[_Case] = []
        self.tick = itertools.count()
        self.events = 0
        self.fired = 0
        self.users_created = 0
        self.penalties = 0
        self.skipped: list[str] = []
        self._actors: dict[tuple, object] = {}
        self._stations: dict[int, Agency] = {}

    # -- who ----------------------------------------------------------------------------
    # An actor is found by the court's key: ("agency", agency pk) or ("party", project pk,
    # party role, post code). A demo login holding that role acts itself; otherwise one
    # simulated member per court, made in bulk before the clock starts.

    @staticmethod
    def _party_key(project_id: int, party_role: str, post_code: str) -> tuple:
        return ("party", project_id, party_role, post_code or PARTY_POST.get(party_role, ""))

    def prepare_actors(self) -> None:
        """One member for every organisation the planned cases can pass through (their
        project's parties, district station, street squad), unless a demo login is one."""
        User = get_user_model()
        for role in (Role.objects.filter(user__email__endswith=f"@{DEMO_DOMAIN}",
                                          user__is_active=True)
                     .select_related("user", "post").order_by("user_id", "pk")):
            if role.agency_id:
                self._actors.setdefault(("agency", role.agency_id), role.user)
            elif role.kind == RoleKind.PROJECT:
                key = self._party_key(role.project_id, role.party_role,
                                      role.post.code if role.post_id else "")
                self._actors.setdefault(key, role.user)
        projects = {c.project.pk: c.project for c in self.cases}
        parties = {(pp.project_id, pp.role): pp.enterprise for pp in ProjectParty.objects
                   .filter(project__in=list(projects)).select_related("enterprise")}
        holders: dict[tuple, str] = {}
        for a in (PostAssignment.objects.filter(project__in=list(projects), end_date__isnull=True,
                                                post__code__in=list(PARTY_POST.values()))
                  .select_related("person", "post").order_by("start_date", "pk")):
            holders.setdefault((a.project_id, a.post.code), a.person.name)
        agencies = {(a.kind, a.region_id): a for a in Agency.objects.filter(
            kind__in=[AgencyKind.SUPERVISION_STATION, AgencyKind.ENFORCEMENT_SQUAD]
        ).select_related("region")}
        self._stations = {region: a for (kind, region), a in agencies.items()
                          if kind == AgencyKind.SUPERVISION_STATION}
        posts = {p.code: p for p in Post.objects.filter(code__in=list(PARTY_POST.values()))}
        wanted: dict[tuple, tuple[str, str, dict]] = {}
        for c in self.cases:
            p = c.project
            for kind in (AgencyKind.SUPERVISION_STATION, AgencyKind.ENFORCEMENT_SQUAD):
                if kind == AgencyKind.ENFORCEMENT_SQUAD and c.kind not in LARGE_LOOP_CASES:
                    continue
                region = p.district_id if kind == AgencyKind.SUPERVISION_STATION else p.street_id
                agency = agencies.get((kind, region))
                if agency is None or ("agency", agency.pk) in wanted:
                    continue
                label = "station" if kind == AgencyKind.SUPERVISION_STATION else "squad"
                wanted[("agency", agency.pk)] = (
                    f"{SIM_PREFIX}{label}_{agency.region.code}", "",
                    {"kind": RoleKind.DISTRICT if label == "station" else RoleKind.STREET,
                     "agency": agency})
            for party_role, post_code in PARTY_POST.items():
                if party_role not in CASE_PARTIES[c.kind]:
                    continue
                enterprise = parties.get((p.pk, party_role))
                if enterprise is None:
                    continue
                wanted[self._party_key(p.pk, party_role, post_code)] = (
                    f"{SIM_PREFIX}{p.permit_no}_{party_role}", holders.get((p.pk, post_code), ""),
                    {"kind": RoleKind.PROJECT, "project": p, "enterprise": enterprise,
                     "party_role": party_role, "post": posts[post_code]})
        todo = sorted((key, spec) for key, spec in wanted.items() if key not in self._actors)
        users = [User(username=username, email="",
                      first_name=name or names.person_name(self.people_rng),
                      password=make_password(None))
                 for _key, (username, name, _role) in todo]
        User.objects.bulk_create(users)
        roles = [Role(user=user, **role) for user, (_key, (_u, _n, role)) in zip(users, todo,
                                                                                strict=True)]
        Role.objects.bulk_create(roles)
        for user, role, (key, _spec) in zip(users, roles, todo, strict=True):
            audit.record(None, user, AuditAction.CREATE,
                         audit.diff(None, {"username": user.username,
                                           "full_name": user.first_name}))
            audit.record(None, role, AuditAction.GRANT, audit.diff(None, audit.snapshot(role)))
            self._actors[key] = user
        self.users_created = len(users)

    def court_actor(self, order: WorkOrder):
        """A user in `order`'s court: the organisation (and role, and post) whose turn it is."""
        if order.court_agency_id:
            key = ("agency", order.court_agency_id)
        elif order.court_enterprise_id:
            key = self._party_key(order.project_id, order.court_party_role,
                                  order.court_post.code if order.court_post_id else "")
        else:
            return None
        return self._actors.get(key)

    def regulator(self, project):
        """The project's district supervision station (its staff): hand-made orders,
        suspensions, reassignments, ignored warnings."""
        station = self._stations.get(project.district_id)
        return self._actors.get(("agency", station.pk)) if station else None

    # -- time ---------------------------------------------------------------------------

    def add(self, case: _Case, at: datetime.datetime) -> None:
        at = at.astimezone(datetime.UTC)  # (see services: the hash covers `at` as given)
        if at <= self.now:
            heapq.heappush(self.queue, (at, next(self.tick), case))

    def advance(self, until: datetime.datetime) -> None:
        """Run the worker up to `until`, each timer at its own due time."""
        while True:
            due = (Timer.objects.filter(fired_at__isnull=True, cancelled=False,
                                        due_at__lte=until)
                   .order_by("due_at").values_list("due_at", flat=True).first())
            if due is None:
                break
            self.clock = due
            self.fired += services.fire_due_timers(now=due)
        self.clock = until

    def run(self) -> None:
        while self.queue:
            at, _, case = heapq.heappop(self.queue)
            self.advance(at)
            try:
                wait = next(case.steps)
            except StopIteration:
                continue
            self.add(case, at + wait)
        self.advance(self.now)


# ---------------------------------------------------------------- stories
# Each is a generator: it acts at the current clock and yields how long until its next step.
# Deadlines are the policies' (dust 24 h per step; 不装少装 7 d to dispose, 2 d to verify;
# attendance 3 d / 2 d; pits 2 d / 15 d / 2 d): a story that "waits past" a deadline lets the
# worker escalate; the others act within it.


def dust_story(c: _Case):
    if not c.raise_event(dust_exceedance):
        return
    for _ in range(2 if c.fate == "fresh" else c.rng.choice([0, 0, 1, 2, 3])):
        yield datetime.timedelta(minutes=c.rng.randint(15, 45))
        c.repeat()
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
            c.penalise()
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
        c.penalise()


def missing_monitor_story(c: _Case):
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


def attendance_story(c: _Case):
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


def pit_story(c: _Case):
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


def offline_story(c: _Case):
    if not c.raise_event(monitor_offline):
        return
    if c.fate == "ignored":
        yield c.wait(1, 20)
        services.ignore_event(c.event, actor=c.sim.regulator(c.project),
                              reason=c.text("offline.ignore"))


#: The parties whose members a case may need (the rest act through agencies).
CASE_PARTIES = {"dust": {PartyRole.CONTRACTOR}, "missing_monitor": {PartyRole.CONTRACTOR},
                "attendance": {PartyRole.CONTRACTOR, PartyRole.SUPERVISOR},
                "pits": {PartyRole.OWNER, PartyRole.CONTRACTOR, PartyRole.SUPERVISOR},
                "offline": set()}
LARGE_LOOP_CASES = {"dust", "missing_monitor"}

STORIES = {"dust": dust_story, "missing_monitor": missing_monitor_story,
           "attendance": attendance_story, "pits": pit_story, "offline": offline_story}

#: How often each story is picked for a random finding, and how it tends to end.
MIX = {"dust": 0.32, "attendance": 0.26, "missing_monitor": 0.14, "pits": 0.16, "offline": 0.12}
FATES = {
    "dust": {"medium_closed": 6, "large_closed": 2, "ignored": 1, "top_overdue": 0.3},
    "missing_monitor": {"small_closed": 5, "medium_closed": 2, "large_closed": 0.7,
                        "dispose_overdue": 1, "verify_overdue": 0.4, "cancelled": 0.6,
                        "reassigned": 0.5},
    "attendance": {"small_closed": 5, "redo_closed": 2, "medium_closed": 1.2,
                   "dispose_overdue": 1, "medium_overdue": 0.3, "suspended_resumed": 0.4,
                   "suspended": 0.2},
    "pits": {"closed": 4, "redo_closed": 1.5, "dispatch_overdue": 1, "suspended": 0.4},
    "offline": {"open": 0.6, "ignored": 0.4},
}


def _demo_scopes():
    """The projects the demo logins act on: the pm/chief project, 静安区, the squad's street."""
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")}
    active = Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no")
    pm_role = Role.objects.filter(user=users.get("pm")).first() if "pm" in users else None
    squad = next((u for name, u in sorted(users.items()) if name.startswith("squad_")), None)
    squad_role = Role.objects.filter(user=squad).select_related("agency").first() if squad else None
    jingan_role = (Role.objects.filter(user=users.get("jingan")).select_related("agency").first()
                   if "jingan" in users else None)
    return {
        "pm": pm_role.project if pm_role else None,
        "district": list(active.filter(district=jingan_role.agency.region_id))
        if jingan_role else [],
        "street": list(active.filter(street=squad_role.agency.region_id)) if squad_role else [],
    }


def _plan(sim: _Sim, days: int, per_day: int) -> None:
    """Queue the demo logins' cases (timed so each login finds work at `now`) and the
    random findings of each day."""
    rng, now = sim.rng, sim.now
    scopes = _demo_scopes()
    active = list(Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no"))
    reserved: set[int] = set()

    def case(kind, fate, project, hours_ago):
        reserved.add(project.pk)
        c = _Case(sim, project, kind, fate, random.Random(rng.random()))
        c.work = False  # timed against `now`: no waiting for the next morning
        sim.add(c, now - datetime.timedelta(hours=hours_ago))

    def take(pool, n):
        pool = [p for p in pool if p.pk not in reserved]
        return rng.sample(pool, min(n, len(pool)))

    pm_project = scopes["pm"]
    if pm_project is not None:  # `pm`, `chief`, `contractor`, `monitor`
        case("dust", "fresh", pm_project, 3)  # pm: to dispose
        case("offline", "open", pm_project, 7)  # a warning on their site
        case("dust", "medium_closed", pm_project, 9 * 24 + 5)
        case("attendance", "awaiting_chief", pm_project, 46)  # chief: to verify
        case("pits", "awaiting_supervisor", pm_project, 6 * 24)  # chief: to verify
        case("pits", "closed", pm_project, 13 * 24)
    district = take(scopes["district"], 3)  # `jingan`
    fates = [("missing_monitor", "awaiting_station", 3 * 24), ("dust", "medium_verify", 42),
             ("missing_monitor", "verify_overdue", 10 * 24), ("attendance", "medium_closed", 12 * 24)]
    for (kind, fate, hours), project in zip(fates, itertools.cycle(district) if district else [],
                                            strict=False):
        case(kind, fate, project, hours)
    for project in district[:1]:
        case("offline", "open", project, 30)
        case("offline", "ignored", project, 6 * 24)
    street = take(scopes["street"], 3)  # `squad_*`
    fates = [("dust", "ignored_open", 54), ("dust", "top_overdue", 5 * 24),
             ("dust", "ignored", 11 * 24), ("missing_monitor", "reassigned_open", 8 * 24)]
    for (kind, fate, hours), project in zip(fates, itertools.cycle(street) if street else [],
                                            strict=False):
        case(kind, fate, project, hours)
    # Every outcome at least once whatever the seed: closed at each level, suspended,
    # cancelled, waiting for dispatch.
    pits = [p for p in active if p.has_pit]
    for kind, fate, hours, pool in [
            ("attendance", "small_closed", 12 * 24, active),
            ("missing_monitor", "medium_closed", 13 * 24, active),
            ("missing_monitor", "large_closed", 13.5 * 24, active),
            ("pits", "suspended", 9 * 24, pits),
            ("missing_monitor", "cancelled", 7 * 24, active),
            ("pits", "pending_dispatch", 20, pits)]:
        for project in take(pool, 1):
            case(kind, fate, project, hours)

    kinds = names.Weighted(list(MIX), MIX.values())
    fates = {k: names.Weighted(list(f), f.values()) for k, f in FATES.items()}
    free = [p for p in active if p.pk not in reserved]
    free_pits = [p for p in free if p.has_pit]
    start = now - days * D
    for day in range(days):
        for _ in range(per_day):
            kind = kinds(rng)
            pool = free_pits if kind == "pits" and free_pits else free
            if kind == "pits" and not free_pits:
                kind = "dust"
            project = rng.choice(pool)
            at = start + day * D + datetime.timedelta(hours=rng.uniform(0, 24))
            if kind in ("attendance",):  # checked when the day's attendance closes
                local = _local(at)
                at = datetime.datetime.combine(local.date(), datetime.time(18), local.tzinfo)
                at += datetime.timedelta(minutes=rng.randint(0, 30))
            if at >= now:
                continue
            c = _Case(sim, project, kind, fates[kind](rng), random.Random(rng.random()))
            sim.add(c, at.replace(microsecond=0))


def simulate_history(*, seed: int, now: datetime.datetime | None = None, days: int = HISTORY_DAYS,
                     per_day: int = 3) -> HistoryReport:
    """Replay `days` of findings and work orders up to `now` (default: the real clock) into
    a database that holds a simulated city. `per_day` random findings a day, plus the cases
    that give each demo login something to do. One transaction."""
    now = (now or timezone.now()).astimezone(datetime.UTC).replace(microsecond=0)
    report = HistoryReport()
    with transaction.atomic():
        sim = _Sim(seed, now)
        first_order = WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        _plan(sim, days, per_day)
        sim.prepare_actors()
        sim.run()
        _mark_old_notifications_read(now)
        orders = WorkOrder.objects.filter(pk__gt=first_order)
        report.events = sim.events
        report.orders = orders.count()
        report.by_state = _counts(orders, "state")
        report.by_level = _counts(orders, "loop_level")
        report.closed_by_level = _counts(orders.filter(state=OrderState.CLOSED), "closed_level")
        report.overdue = orders.filter(overdue=True).exclude(
            state__in=[OrderState.CLOSED, OrderState.CANCELLED]).count()
        report.actions = OrderAction.objects.filter(order__in=orders).count()
        files = OrderAttachment.objects.filter(action__order__in=orders)
        report.attachments = files.count()
        report.media_bytes = files.aggregate(n=Sum("size"))["n"] or 0
        report.timers_fired = sim.fired
        report.users_created = sim.users_created
        report.penalties = sim.penalties
        report.skipped = sim.skipped
    return report


def _counts(qs, field_name: str) -> dict[str, int]:
    out = Counter(qs.values_list(field_name, flat=True))
    return dict(sorted(out.items()))


def _mark_old_notifications_read(now: datetime.datetime) -> None:
    """Demo users have read what reached them more than two days ago (they log in daily)."""
    cutoff = now - 2 * D
    for user in get_user_model().objects.filter(email__endswith=f"@{DEMO_DOMAIN}"):
        ids = Notification.objects.filter(user=user, created__lt=cutoff,
                                          read_at__isnull=True).values_list("pk", flat=True)
        services.mark_read(user, list(ids), now=cutoff)


# ---------------------------------------------------------------- live


LIVE_MIX = {"dust": 0.55, "offline": 0.2, "pits": 0.15, "attendance": 0.1}
LIVE_MAKERS = {"dust": dust_exceedance, "offline": monitor_offline, "pits": pit_warning,
               "attendance": attendance_absence}


def live_event(rng: random.Random, *, now: datetime.datetime | None = None) -> Event | None:
    """Raise one plausible finding now, through `raise_event` (a repeat of an open one is
    counted there). A third of them land in the demo logins' scopes. None without projects."""
    now = now or timezone.now()
    kind = names.Weighted(list(LIVE_MIX), LIVE_MIX.values())(rng)
    projects = Project.objects.filter(status=ProjectStatus.ACTIVE).order_by("permit_no")
    if kind == "pits":
        projects = projects.filter(has_pit=True)
    pool = list(projects)
    if not pool:
        return None
    if rng.random() < 0.35:
        scopes = _demo_scopes()
        mine = [p for p in ([scopes["pm"]] if scopes["pm"] else []) + scopes["district"]
                + scopes["street"] if p in pool]
        pool = mine or pool
    args = LIVE_MAKERS[kind](rng, rng.choice(pool), now)
    return services.raise_event(**args, occurred_at=now, now=now)


def run_live(*, every: float = 60.0, count: int = 0, seed: int | None = None) -> int:
    """`smartsite simulate`: raise a finding every `every` seconds until stopped (SIGTERM /
    Ctrl-C, or after `count` findings when count > 0). A failing round is logged and the
    loop goes on. Returns how many findings were raised. Refuses a database without the
    simulated city's demo logins, so made-up findings never reach real data."""
    from django.db import close_old_connections, connection

    if not get_user_model().objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists():
        raise DomainError("数据库中没有模拟城市（演示账号）：模拟事件只写入演示数据库")
    rng = random.Random(seed)
    raised = 0
    with stop_on_signals() as stop:
        while not stop.requested and (count <= 0 or raised < count):
            deadline = time.monotonic() + every
            while not stop.requested and time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            if stop.requested:
                break
            if not connection.in_atomic_block:
                close_old_connections()
            try:
                event = live_event(rng)
            except Exception:
                log.exception("simulated finding failed")
                continue
            if event is not None:
                raised += 1
                log.info("finding %s: %s", event.pk, event.title)
    return raised
