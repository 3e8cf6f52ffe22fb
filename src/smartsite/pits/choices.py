"""The pit scenario's vocabularies: monitored items (GB 50497-2019 表4.2.1 / 表8.0.4), how an
item's alarm is expressed, pit grades, retaining types, point levels and pit colours."""

from __future__ import annotations

from django.db import models


class Measure(models.TextChoices):
    """How an item's value is compared with its 预警值."""

    DEFORMATION = "deformation", "变形（累计值 + 变化速率）"  # mm; cumulative = value - baseline
    FORCE = "force", "内力/压力（设计值的百分比）"  # kN or kPa, against the design value
    WATER = "water", "水位（累计变化 + 变化速率）"  # mm
    CRACK = "crack", "裂缝宽度"  # mm, absolute


class Item(models.TextChoices):
    """Monitored items. The third element of each entry's meaning lives in ITEM_MEASURE/UNIT."""

    WALL_TOP_HORIZONTAL = "wall_top_horizontal", "围护墙（边坡）顶部水平位移"
    WALL_TOP_VERTICAL = "wall_top_vertical", "围护墙（边坡）顶部竖向位移"
    DEEP_HORIZONTAL = "deep_horizontal", "深层水平位移（测斜）"
    COLUMN_VERTICAL = "column_vertical", "立柱竖向位移"
    GROUND_SETTLEMENT = "ground_settlement", "周边地表竖向位移"
    HEAVE = "heave", "坑底隆起（回弹）"
    STRUT_FORCE = "strut_force", "支撑轴力"
    ANCHOR_FORCE = "anchor_force", "锚杆轴力"
    WALL_FORCE = "wall_force", "围护墙内力"
    COLUMN_FORCE = "column_force", "立柱内力"
    EARTH_PRESSURE = "earth_pressure", "土压力"
    PORE_PRESSURE = "pore_pressure", "孔隙水压力"
    GROUNDWATER = "groundwater", "地下水位"
    BUILDING_SETTLEMENT = "building_settlement", "周边建筑竖向位移"
    BUILDING_TILT = "building_tilt", "周边建筑倾斜"
    CRACK_WIDTH = "crack_width", "裂缝宽度"
    PIPELINE_RIGID = "pipeline_rigid", "刚性管线位移"
    PIPELINE_FLEXIBLE = "pipeline_flexible", "柔性管线位移"
    ROAD_SETTLEMENT = "road_settlement", "周边道路竖向位移"


ITEM_MEASURE = {
    Item.STRUT_FORCE: Measure.FORCE, Item.ANCHOR_FORCE: Measure.FORCE,
    Item.WALL_FORCE: Measure.FORCE, Item.COLUMN_FORCE: Measure.FORCE,
    Item.EARTH_PRESSURE: Measure.FORCE, Item.PORE_PRESSURE: Measure.FORCE,
    Item.GROUNDWATER: Measure.WATER, Item.CRACK_WIDTH: Measure.CRACK,
}
ITEM_UNIT = {
    Item.STRUT_FORCE: "kN", Item.ANCHOR_FORCE: "kN", Item.WALL_FORCE: "kN",
    Item.COLUMN_FORCE: "kN", Item.EARTH_PRESSURE: "kPa", Item.PORE_PRESSURE: "kPa",
}
# The short codes monitoring reports put in front of a point number (CX-01 …); used by the
# upload template's examples and the simulator.
ITEM_PREFIX = {
    Item.WALL_TOP_HORIZONTAL: "WY", Item.WALL_TOP_VERTICAL: "WC", Item.DEEP_HORIZONTAL: "CX",
    Item.COLUMN_VERTICAL: "LZ", Item.GROUND_SETTLEMENT: "DB", Item.HEAVE: "HT",
    Item.STRUT_FORCE: "ZL", Item.ANCHOR_FORCE: "MG", Item.WALL_FORCE: "NL",
    Item.COLUMN_FORCE: "LN", Item.EARTH_PRESSURE: "TY", Item.PORE_PRESSURE: "KY",
    Item.GROUNDWATER: "SW", Item.BUILDING_SETTLEMENT: "JC", Item.BUILDING_TILT: "QX",
    Item.CRACK_WIDTH: "LF", Item.PIPELINE_RIGID: "GX", Item.PIPELINE_FLEXIBLE: "RG",
    Item.ROAD_SETTLEMENT: "DL",
}


def measure_of(item: str) -> str:
    return ITEM_MEASURE.get(item, Measure.DEFORMATION)


def unit_of(item: str) -> str:
    return ITEM_UNIT.get(item, "mm")


class Grade(models.IntegerChoices):
    """基坑设计安全等级 / 环境保护等级 (GB 50497-2019 术语 2.0.6; Shanghai DG/TJ 08-61)."""

    ONE = 1, "一级"
    TWO = 2, "二级"
    THREE = 3, "三级"


class Retaining(models.TextChoices):
    """Retaining structures; GB 50497-2019 表8.0.4 groups them differently per item, so each
    AlarmValue row lists the codes it applies to (`AlarmValue.structure`)."""

    DIAPHRAGM_WALL = "diaphragm_wall", "地下连续墙"
    BORED_PILE = "bored_pile", "灌注桩"
    SHEET_PILE = "sheet_pile", "钢板桩"
    SMW = "smw", "型钢水泥土墙"
    CEMENT_WALL = "cement_wall", "水泥土墙"
    SOIL_NAIL = "soil_nail", "土钉墙"
    COMPOSITE_SOIL_NAIL = "composite_soil_nail", "复合土钉墙"
    SHOTCRETE = "shotcrete", "喷锚支护"
    SLOPE = "slope", "放坡"


class Support(models.TextChoices):
    CONCRETE_STRUT = "concrete_strut", "钢筋混凝土支撑"
    STEEL_STRUT = "steel_strut", "钢支撑"
    MIXED_STRUT = "mixed_strut", "混凝土与钢组合支撑"
    ANCHOR = "anchor", "锚杆（索）"
    NONE = "none", "无支撑（悬臂/重力式）"


class Level(models.TextChoices):
    """A point's state after its latest reading, from quiet to worst."""

    NORMAL = "normal", "正常"
    WATCH = "watch", "≥70% 预警值"
    WARNING = "warning", "达到预警值"
    OVER = "over", "严重超限"  # cumulative and rate both at warning, or a force at its design value


LEVEL_ORDER = {Level.NORMAL: 0, Level.WATCH: 1, Level.WARNING: 2, Level.OVER: 3}


class Colour(models.TextChoices):
    """The platform's pit colours (沪建规范〔2024〕13号: the platform issues yellow and red)."""

    GREEN = "green", "绿色（安全可控）"
    YELLOW = "yellow", "黄色（一般预警）"
    RED = "red", "红色（严重预警）"


COLOUR_ORDER = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


class Source(models.TextChoices):
    FILE = "file", "文件上传"
    API = "api", "接口"
    MQTT = "mqtt", "MQTT"
    FORM = "form", "页面录入"
