"""Enumerations of the core registry: value = English slug, label = Chinese, plus a colour."""

import enum

from django.db import models


class ColouredChoices(models.TextChoices):
    """TextChoices whose members may carry a colour for badges and map symbols."""

    @classmethod
    def colour(cls, value: str) -> str:
        return getattr(cls, "COLOURS", {}).get(value, "#6b7280")


class RegionLevel(ColouredChoices):
    CITY = "city", "市"
    DISTRICT = "district", "区"
    STREET = "street", "街镇"


class AgencyKind(ColouredChoices):
    CITY_COMMISSION = "city_commission", "市住建委"
    DISTRICT_COMMISSION = "district_commission", "区建管委"
    SUPERVISION_STATION = "supervision_station", "区监督站"
    ENFORCEMENT_SQUAD = "enforcement_squad", "街镇城管执法中队"


class ProjectKind(ColouredChoices):
    BUILDING = "building", "房屋建筑"
    MUNICIPAL = "municipal", "市政"


class ProjectStatus(ColouredChoices):
    ACTIVE = "active", "在建"
    SUSPENDED = "suspended", "停工"
    COMPLETED = "completed", "竣工"

    COLOURS = enum.nonmember(
        {"active": "#16a34a", "suspended": "#d97706", "completed": "#6b7280"})


class PartyRole(ColouredChoices):
    """The five responsible parties of a project (五方责任主体), plus the pit monitoring company
    and the O&M company of the dust monitors (扬尘设备运维单位)."""

    OWNER = "owner", "建设单位"
    SURVEYOR = "surveyor", "勘察单位"
    DESIGNER = "designer", "设计单位"
    CONTRACTOR = "contractor", "施工单位"
    SUPERVISOR = "supervisor", "监理单位"
    MONITOR = "monitor", "监测单位"
    MAINTAINER = "maintainer", "运维单位"  # O&M company of the site's dust/noise monitors


FIVE_PARTIES = [
    PartyRole.OWNER,
    PartyRole.SURVEYOR,
    PartyRole.DESIGNER,
    PartyRole.CONTRACTOR,
    PartyRole.SUPERVISOR,
]


class RoleKind(ColouredChoices):
    """The scope a user's role grants (design.md §3)."""

    CITY = "city", "市级监管"
    DISTRICT = "district", "区级监管"
    STREET = "street", "街镇执法"
    ENTERPRISE = "enterprise", "企业"
    PROJECT = "project", "项目"


class QualificationKind(ColouredChoices):
    CONSTRUCTOR_1 = "constructor_1", "一级注册建造师"
    CONSTRUCTOR_2 = "constructor_2", "二级注册建造师"
    SUPERVISING_ENGINEER = "supervising_engineer", "注册监理工程师"
    SAFETY_A = "safety_a", "安全生产考核合格证书（A 证）"
    SAFETY_B = "safety_b", "安全生产考核合格证书（B 证）"
    SAFETY_C = "safety_c", "安全生产考核合格证书（C 证）"
    STRUCTURAL_ENGINEER = "structural_engineer", "注册结构工程师"
    GEOTECHNICAL_ENGINEER = "geotechnical_engineer", "注册土木工程师（岩土）"
    ARCHITECT = "architect", "注册建筑师"
    OTHER = "other", "其他"


class AuditAction(ColouredChoices):
    CREATE = "create", "新增"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"
    GRANT = "grant", "授权"
    REVOKE = "revoke", "撤销授权"
    IMPORT = "import", "导入"
    TOKEN = "token", "API 令牌"
