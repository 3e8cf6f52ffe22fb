"""Loop policies as data: who handles each step at each loop level, the deadlines, when to
escalate and whether verification may be automatic (design.md §2 rule 3).

A policy is a JSON document stored in `LoopPolicy.spec`; `parse()` turns it into the frozen
dataclasses below or raises `ValidationError` with a Chinese message naming the bad key.
Nothing here touches the database except `Court.resolve()`, which finds the organisation
for a project (the project's contractor, its district's supervision station, its street's
enforcement squad …) through a `Registry` (the database, a query each; the worker's batch
passes one that has read them for all its projects at once).

    {
      "start_level": "small",
      "auto_dispatch": true,
      "levels": {
        "small":  {"handler": {"party": "contractor", "post": "project_manager"},
                   "verifier": {"party": "supervisor", "post": "chief_supervising_engineer"}},
        "medium": {"handler": {"party": "contractor"}, "verifier": {"agency": "supervision_station"}},
        "large":  {"handler": {"agency": "enforcement_squad"}, "verifier": {"agency": "enforcement_squad"}}
      },
      "deadlines": {"dispatch": "PT4H", "dispose": "P2D", "verify": "P2D"},
      "remind_before": "PT24H",
      "escalate": {"on_overdue": ["dispose", "verify"], "after_rejections": 2},
      "auto_verify": {"check": "dust.valid_data_24h", "every": "PT1H"},
      "requires": {"dispose": ["comment", "photo"], "verify_reject": ["comment"]}
    }
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_duration

from smartsite.core.choices import AgencyKind, PartyRole, RegionLevel
from smartsite.workorders.choices import LOOP_ORDER, LoopLevel

STEPS = ("dispatch", "dispose", "verify")
REQUIREMENTS = {"comment", "photo"}
ACTIONS_WITH_REQUIREMENTS = {"dispatch", "dispose", "verify_pass", "verify_reject", "reassign",
                             "suspend", "resume", "cancel"}

#: Where an agency of each kind is found for a project: the region the agency serves.
AGENCY_REGION = {
    AgencyKind.CITY_COMMISSION: RegionLevel.CITY,
    AgencyKind.DISTRICT_COMMISSION: RegionLevel.DISTRICT,
    AgencyKind.SUPERVISION_STATION: RegionLevel.DISTRICT,
    AgencyKind.ENFORCEMENT_SQUAD: RegionLevel.STREET,
}


@dataclass(frozen=True)
class Court:
    """Whose turn it is: a party of the project (optionally a post on it) or an agency kind."""

    party: str = ""  # PartyRole value
    post: str = ""  # Post.code, only with party
    agency: str = ""  # AgencyKind value

    def describe(self) -> str:
        if self.agency:
            return AgencyKind(self.agency).label
        label = PartyRole(self.party).label
        return f"{label}（{self.post}）" if self.post else label

    def resolve(self, project, registry: Registry | None = None):
        """(agency, enterprise, party_role, post) for `project`; raises ValidationError if
        the project lacks that party or the region lacks that agency."""
        registry = registry or DATABASE
        if self.agency:
            level = AGENCY_REGION[AgencyKind(self.agency)]
            region_id = {RegionLevel.DISTRICT: project.district_id,
                         RegionLevel.STREET: project.street_id}.get(level)
            agency = registry.agency(self.agency, region_id)
            if agency is None:
                raise ValidationError(f"项目“{project}”所在{RegionLevel(level).label}没有"
                                      f"{AgencyKind(self.agency).label}")
            return agency, None, "", None
        party = registry.party(project.pk, self.party)
        if party is None:
            raise ValidationError(f"项目“{project}”没有登记{PartyRole(self.party).label}")
        post = registry.post(self.post) if self.post else None
        return None, party.enterprise, self.party, post


class Registry:
    """Where `Court.resolve` finds organisations: here the database, a query each."""

    def agency(self, kind: str, region_id: int | None):
        """The agency of `kind` serving the region (any region's if None)."""
        from smartsite.core.models import Agency

        agencies = Agency.objects.filter(kind=kind)
        return (agencies.filter(region=region_id) if region_id else agencies).first()

    def party(self, project_id: int, role: str):
        """The project's party in `role` (with its enterprise), or None."""
        from smartsite.core.models import ProjectParty

        return ProjectParty.objects.filter(project=project_id, role=role).select_related(
            "enterprise").first()

    def post(self, code: str):
        from smartsite.core.models import Post

        return Post.objects.filter(code=code).first()


DATABASE = Registry()


@dataclass(frozen=True)
class Level:
    handler: Court
    verifier: Court | None  # None: verified automatically by the scenario's check
    dispatcher: Court | None = None  # None: the system dispatches (or the creator does)
    # On entering this level from a lower one: the disposal opinion cites these legal bases
    # (LegalBasis codes) and these organisations are told, besides the court (the seed's
    # medium loop: "处置意见及相关法规推送至整改单位及工地监管部门"). The start level's
    # `notify` organisations are told when the order opens (沪住建规范〔2022〕12号: a Class I
    # rectification notice pushed to the 建设、施工、监理单位).
    opinion: tuple[str, ...] = ()
    notify: tuple[Court, ...] = ()


@dataclass(frozen=True)
class Policy:
    start_level: str
    levels: dict[str, Level]
    deadlines: dict[str, datetime.timedelta]
    auto_dispatch: bool = True
    remind_before: datetime.timedelta | None = None
    escalate_on_overdue: frozenset[str] = frozenset()
    escalate_after_rejections: int = 0  # 0: never
    auto_verify_check: str = ""
    auto_verify_every: datetime.timedelta | None = None
    requires: dict[str, frozenset[str]] = field(default_factory=dict)

    def next_level(self, level: str) -> str | None:
        """The next level up that the policy defines, or None at the top."""
        later = LOOP_ORDER[LOOP_ORDER.index(LoopLevel(level)) + 1:]
        return next((lv.value for lv in later if lv.value in self.levels), None)

    def deadline(self, step: str) -> datetime.timedelta | None:
        return self.deadlines.get(step)


def _duration(value, where: str) -> datetime.timedelta:
    parsed = parse_duration(value) if isinstance(value, str) else None
    if parsed is None or parsed <= datetime.timedelta(0):
        raise ValidationError(f"{where}：“{value}”不是正的 ISO 8601 时长（例如 P2D、PT4H）")
    return parsed


def _court(value, where: str, *, allow_auto: bool = False) -> Court | None:
    if value == "auto" and allow_auto:
        return None
    if not isinstance(value, dict) or not value:
        raise ValidationError(f"{where}：应为 {{\"party\": …}} 或 {{\"agency\": …}}")
    unknown = set(value) - {"party", "post", "agency"}
    if unknown:
        raise ValidationError(f"{where}：未知的键 {', '.join(sorted(unknown))}")
    if "agency" in value:
        if set(value) != {"agency"}:
            raise ValidationError(f"{where}：agency 不能与 party/post 同时出现")
        if value["agency"] not in AgencyKind.values:
            raise ValidationError(f"{where}：未知的机构类型“{value['agency']}”，可选 "
                                  f"{', '.join(AgencyKind.values)}")
        return Court(agency=value["agency"])
    if value.get("party") not in PartyRole.values:
        raise ValidationError(f"{where}：未知的参建角色“{value.get('party')}”，可选 "
                              f"{', '.join(PartyRole.values)}")
    return Court(party=value["party"], post=str(value.get("post", "")))


def parse(spec) -> Policy:
    """Validate a policy document and return it as a `Policy`."""
    if not isinstance(spec, dict):
        raise ValidationError("闭环策略应为 JSON 对象")
    known = {"start_level", "auto_dispatch", "levels", "deadlines", "remind_before", "escalate",
             "auto_verify", "requires"}
    unknown = set(spec) - known
    if unknown:
        raise ValidationError(f"闭环策略中有未知的键：{', '.join(sorted(unknown))}")
    raw_levels = spec.get("levels")
    if not isinstance(raw_levels, dict) or not raw_levels:
        raise ValidationError("levels：至少要定义一个闭环层级（small / medium / large）")
    levels = {}
    for name, raw in raw_levels.items():
        if name not in LoopLevel.values:
            raise ValidationError(f"levels：未知的闭环层级“{name}”，可选 small、medium、large")
        if not isinstance(raw, dict) or "handler" not in raw or "verifier" not in raw:
            raise ValidationError(f"levels.{name}：必须给出 handler（处置方）和 verifier（核查方）")
        unknown = set(raw) - {"handler", "verifier", "dispatcher", "opinion", "notify"}
        if unknown:
            raise ValidationError(f"levels.{name}：未知的键 {', '.join(sorted(unknown))}")
        opinion, notify = raw.get("opinion", []), raw.get("notify", [])
        if not isinstance(opinion, list) or not all(isinstance(c, str) and c for c in opinion):
            raise ValidationError(f"levels.{name}.opinion：应为法规依据编码的列表，如 [\"sh-air-55-2\"]")
        if not isinstance(notify, list):
            raise ValidationError(f"levels.{name}.notify：应为机构或参建单位的列表")
        levels[name] = Level(
            handler=_court(raw["handler"], f"levels.{name}.handler"),
            verifier=_court(raw["verifier"], f"levels.{name}.verifier", allow_auto=True),
            dispatcher=_court(raw["dispatcher"], f"levels.{name}.dispatcher")
            if raw.get("dispatcher") else None,
            opinion=tuple(opinion),
            notify=tuple(_court(c, f"levels.{name}.notify[{i}]") for i, c in enumerate(notify)))
    start = spec.get("start_level", LoopLevel.SMALL)
    if start not in levels:
        raise ValidationError(f"start_level：“{start}”不在 levels 中")
    raw_deadlines = spec.get("deadlines") or {}
    if not isinstance(raw_deadlines, dict) or set(raw_deadlines) - set(STEPS):
        raise ValidationError(f"deadlines：只能包含 {', '.join(STEPS)}")
    deadlines = {step: _duration(v, f"deadlines.{step}") for step, v in raw_deadlines.items()}
    escalate = spec.get("escalate") or {}
    on_overdue = escalate.get("on_overdue", [])
    if not isinstance(on_overdue, list) or set(on_overdue) - set(STEPS):
        raise ValidationError(f"escalate.on_overdue：只能包含 {', '.join(STEPS)}")
    after = escalate.get("after_rejections", 0)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ValidationError("escalate.after_rejections：应为不小于 0 的整数")
    auto = spec.get("auto_verify") or {}
    if auto and not (isinstance(auto, dict) and isinstance(auto.get("check"), str)):
        raise ValidationError("auto_verify：应为 {\"check\": \"场景.检查名\", \"every\": \"PT1H\"}")
    if any(level.verifier is None for level in levels.values()) and not auto:
        raise ValidationError("verifier 为 auto 时必须配置 auto_verify.check")
    requires = {}
    for action, needs in (spec.get("requires") or {}).items():
        if action not in ACTIONS_WITH_REQUIREMENTS or not isinstance(needs, list) \
                or set(needs) - REQUIREMENTS:
            actions = ", ".join(sorted(ACTIONS_WITH_REQUIREMENTS))
            raise ValidationError(f"requires.{action}：动作须为 {actions} 之一，"
                                  "要求只能是 comment、photo")
        requires[action] = frozenset(needs)
    return Policy(
        start_level=start, levels=levels, deadlines=deadlines,
        auto_dispatch=bool(spec.get("auto_dispatch", True)),
        remind_before=_duration(spec["remind_before"], "remind_before")
        if spec.get("remind_before") else None,
        escalate_on_overdue=frozenset(on_overdue), escalate_after_rejections=after,
        auto_verify_check=auto.get("check", ""),
        auto_verify_every=_duration(auto["every"], "auto_verify.every") if auto.get("every") else None,
        requires=requires,
    )
