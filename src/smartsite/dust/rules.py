"""The dust scenario's detection rules as data (design.md §2 rule 3).

Each rule has a code, a Chinese name, parameters with defaults and limits (below), and a
`DustRule` row holding the deployment's values with the source they follow. `parse()` checks
a parameter document (the admin form and the fixture loader use it); `params()` reads a
rule's current values. The detectors themselves are in `dust.detectors`; `run_due()` (the
worker, every minute) runs each enabled rule whose interval has passed and turns what it
finds into events — and recovers the open events whose condition has ended.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Param:
    label: str
    default: object
    low: float | None = None
    high: float | None = None

    def check(self, name: str, value):
        default = self.default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValidationError(f"{name}（{self.label}）应为 true 或 false")
            return value
        if isinstance(default, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{name}（{self.label}）应为数字，而不是“{value}”")
            if (self.low is not None and value < self.low) or \
                    (self.high is not None and value > self.high):
                raise ValidationError(f"{name}（{self.label}）应在 {self.low:g}–{self.high:g} 之间，"
                                      f"而不是 {value}")
            return type(default)(value) if isinstance(default, float) else value
        if isinstance(default, str):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"{name}（{self.label}）应为非空文本")
            return value
        if isinstance(default, list):  # the area table: [[lower bound m², count], …]
            ok = isinstance(value, list) and value and all(
                isinstance(row, list) and len(row) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                        for v in row) for row in value)
            if not ok:
                raise ValidationError(f"{name}（{self.label}）应为 [[面积下限 m², 台数], …]")
            bounds = [row[0] for row in value]
            if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
                raise ValidationError(f"{name}（{self.label}）的面积下限须从小到大且不重复")
            return [[float(a), int(n)] for a, n in value]
        raise AssertionError(name)


def every(minutes: int) -> Param:
    """How often the worker runs the rule (its default interval)."""
    return Param("运行间隔（分钟）", minutes, 1, 1440)


EVERY = every(5)

#: code → (Chinese name, the event rule / order kind it raises, parameters)
RULES: dict[str, tuple[str, str, dict[str, Param]]] = {
    "exceedance": ("颗粒物超标", "exceedance", {
        "every": EVERY,
        "particulate": Param("判定颗粒物（pm10 / tsp / pm25）", "pm10"),
        "min_samples": Param("15 分钟均值至少的有效数据条数", 10, 1, 900),
        "recover_quarters": Param("连续多少个 15 分钟达标视为恢复", 4, 1, 96),
    }),
    "noise": ("噪声超标", "noise", {
        "every": EVERY,
        "day_limit": Param("昼间限值 dB(A)", 70.0, 30, 120),
        "night_limit": Param("夜间限值 dB(A)", 55.0, 30, 120),
        "night_max_over": Param("夜间最大声级高出限值 dB(A)（GB 12523-2011 4.2；2025 版是否保留待核实）",
                                15.0, 0, 50),
        "day_starts_hour": Param("昼间开始（时）", 6, 0, 23),
        "night_starts_hour": Param("夜间开始（时）", 22, 0, 23),
        "min_samples": Param("15 分钟 Leq 至少的有效数据条数", 10, 1, 900),
    }),
    "offline": ("设备离线", "offline", {
        "every": every(1),
        "minutes": Param("无数据多少分钟视为离线", 60, 5, 10080),
        "max_share": Param("同时离线超过此比例视为平台故障、不派单", 0.3, 0.01, 1),
    }),
    "missing_monitor": ("不装少装", "missing_monitor", {
        "every": every(60),
        "minimum": Param("在建工地至少台数", 1, 0, 50),
        "by_area": Param("按占地面积的台数表", [[0, 1], [10000, 2], [50000, 3]]),
    }),
    "spray_unlinked": ("喷雾未联动", "spray_unlinked", {
        "every": EVERY,
        "minutes": Param("超标后多少分钟内应开启喷淋雾炮", 10, 1, 240),
    }),
    "inspection": ("未年检", "inspection_expired", {
        "every": every(60),
        "warn_days": Param("到期前多少天预警", 30, 0, 365),
    }),
    "flat_line": ("数据异常：长时间恒定", "tamper", {
        "every": every(15),
        "hours": Param("连续多少小时数值不变", 3, 1, 48),
        "tolerance": Param("视为不变的最大波动（µg/m³）", 0.0, 0, 10),
        "coverage": Param("窗口内至少的数据覆盖率", 0.8, 0.1, 1),
    }),
    "cross_site": ("数据异常：跨工地数据相同", "tamper", {
        "every": every(15),
        "minutes": Param("比较最近多少分钟", 60, 10, 1440),
        "min_points": Param("至少相同的分钟数", 30, 5, 1440),
    }),
    "drop_at_exceedance": ("数据异常：超标时骤降", "tamper", {
        "every": every(15),
        "approach": Param("骤降前达到限值的比例", 0.9, 0.5, 2),
        "clean": Param("骤降后低于（µg/m³）", 35.0, 1, 200),
        "ratio": Param("骤降后不超过骤降前的比例", 0.3, 0.01, 0.9),
        "min_times": Param("一日内至少发生次数", 2, 1, 100),
    }),
    "verification": ("自动核查", "", {  # not a detector: the loops' automatic checks
        "hours": Param("有效数据须持续的小时数", 24, 1, 168),
        "coverage": Param("有效分钟数据的最低覆盖率", 0.9, 0.1, 1),
        "reporting_minutes": Param("“设备已上报”指最近多少分钟内有数据", 60, 5, 1440),
    }),
    "outside_site": ("数据异常：设备位置在工地外", "tamper", {
        "every": every(15),
        "tolerance_m": Param("允许在电子围栏外（米）", 30.0, 0, 1000),
    }),
}


#: Every detector also has: how many new events it may open in one round (the rest wait).
MAX_NEW = Param("每次运行最多新开事件数（其余下次运行再开）", 200, 1, 100_000)
for _code, (_label, _kind, _spec) in RULES.items():
    if _kind:
        _spec.setdefault("max_new", MAX_NEW)


def parse(code: str, params) -> dict:
    """The rule's full parameters (defaults filled in) or ValidationError naming the bad key."""
    if code not in RULES:
        raise ValidationError(f"未知的扬尘规则“{code}”，可选 {', '.join(RULES)}")
    if not isinstance(params, dict):
        raise ValidationError("参数应为 JSON 对象")
    spec = RULES[code][2]
    unknown = set(params) - set(spec)
    if unknown:
        raise ValidationError(f"规则“{RULES[code][0]}”没有参数 {', '.join(sorted(unknown))}；"
                              f"可用参数：{', '.join(spec)}")
    out = {name: p.default for name, p in spec.items()}
    for name, value in params.items():
        out[name] = spec[name].check(name, value)
    if code == "exceedance" and out["particulate"] not in ("pm10", "tsp", "pm25"):
        raise ValidationError("particulate（判定颗粒物）只能是 pm10、tsp 或 pm25")
    return out


def params(code: str) -> dict:
    """The rule's current parameters: its `DustRule` row, else the defaults."""
    from smartsite.dust.models import DustRule

    row = DustRule.objects.filter(code=code).first()
    return parse(code, row.params if row else {})


def load_rules() -> int:
    """Create the shipped rules that are missing (fixtures/rules.json); rows an administrator
    has edited are kept. A fixture row's `replaces` lists the sources it shipped with before:
    a row still holding one of them (nobody edited it) gets the new source."""
    from smartsite.core.reference import fixture_rows
    from smartsite.dust.models import DustRule

    rows = fixture_rows("smartsite.dust", "rules.json")
    with transaction.atomic():
        for row in rows:
            row = dict(row)
            replaces = row.pop("replaces", [])
            rule = DustRule.objects.filter(code=row["code"]).first()
            if rule is None:
                rule = DustRule(**row)
                rule.full_clean()
                rule.save()
            elif rule.source in replaces:  # a shipped text nobody has edited: upgrade it
                rule.source = row["source"]
                rule.save(update_fields=["source"])
    return len(rows)


def run_due(now: datetime.datetime | None = None, *, force: bool = False) -> dict[str, tuple]:
    """Run every enabled rule whose interval has passed (all of them with `force`); returns
    {code: (events raised or updated, events recovered)}. Each rule's last run is a row, so
    a restarted worker carries on where the old one stopped. The hour and day means owed
    are rolled up first, so a rule reads what the readings say."""
    from smartsite.dust import detectors, ingest
    from smartsite.dust.models import DustRule

    now = now or timezone.now()
    ingest.roll_up_all()
    load_rules()
    done: dict[str, tuple] = {}
    context = detectors.Context(now)
    for rule in DustRule.objects.filter(enabled=True).order_by("code"):
        if rule.code not in detectors.DETECTORS:
            continue
        values = parse(rule.code, rule.params)
        every = datetime.timedelta(minutes=values["every"])
        if not force and rule.last_run_at and now < rule.last_run_at + every \
                and rule.last_run_at <= now:
            continue
        try:
            findings = detectors.DETECTORS[rule.code](context, values)
            done[rule.code] = detectors.sync(rule.code, findings, now,
                                             max_new=values["max_new"])
        except detectors.Skip as skip:
            log.warning("dust rule %s skipped: %s", rule.code, skip)
        except Exception:  # one broken rule must not stop the others (or the worker)
            log.exception("dust rule %s failed", rule.code)
            continue
        DustRule.objects.filter(pk=rule.pk).update(last_run_at=now)
    return done
