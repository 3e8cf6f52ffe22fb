"""Word pools for the simulated city: people, companies, roads, plots and projects.

Pure functions of a `random.Random` — no database, no clock — so the same draws give the
same names. The pools are invented combinations in the style of Shanghai registrations;
they are not lists of real companies, and any match with a real name is a coincidence.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence

__all__ = [
    "DISTRICT_ABBR",
    "OUT_OF_TOWN",
    "Weighted",
    "company_name",
    "id_region_code",
    "mobile",
    "person_name",
    "place_short",
    "plot_no",
    "project_title",
    "road_name",
    "trade_names",
]

class Weighted:
    """Draws one of fixed `items` by fixed `weights` (the cumulative weights are summed once;
    the draws are the same as `rng.choices(items, weights)`)."""

    def __init__(self, items: Sequence, weights: Iterable[float]):
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random):
        return rng.choices(self.items, cum_weights=self.cum)[0]

    @classmethod
    def of_pairs(cls, pairs: Iterable[tuple]) -> Weighted:
        pairs = list(pairs)
        return cls([item for item, _ in pairs], [w for _, w in pairs])


# ---------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------

# Common surnames, roughly by frequency; Shanghai's own (沈 陆 顾 徐 朱 …) are weighted up.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤倪施殷"
)
_SURNAME = Weighted(_SURNAMES, ((3.0 if ch in "沈陆顾徐朱张王陈" else 1.0) / (1 + i * 0.04)
                                for i, ch in enumerate(_SURNAMES)))
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏宇浩凯俊峰晨欣怡婷雪琳"
    "海波晓东健利春燕飞林军毅彬松涛帆亮宏伟佳颖嘉琪子轩立新永庆德兵福荣卫民金龙云鸿翔晶晶"
)


def person_name(rng: random.Random) -> str:
    """A Han name: one surname and one or two given-name characters."""
    surname = _SURNAME(rng)
    given = rng.choice(_GIVEN)
    if rng.random() < 0.7:
        given += rng.choice(_GIVEN)
    return surname + given


# ---------------------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------------------

# Characters that make up a 字号 (trade name) two at a time.
_TRADE_CHARS = (
    "华建申浦宏鼎恒信中泰隆盛海城嘉通元安广联和正金锦宝天祥瑞德新兴远宇达诚汇昌丰永同惠卓凯"
    "润弘景晟越启明东江森茂源博力众开泓沪久铭"
)


def trade_names(rng: random.Random) -> list[str]:
    """Every two-character 字号 of the pool (no doubled character), shuffled by `rng`."""
    names = [a + b for a in _TRADE_CHARS for b in _TRADE_CHARS if a != b]
    rng.shuffle(names)
    return names


# Name templates per kind of company; {z} is the 字号, {p} a province prefix.
_COMPANY_TEMPLATES = {
    "contractor": (
        ("上海{z}建设集团有限公司", 4), ("上海{z}建筑工程有限公司", 4), ("上海{z}建工集团有限公司", 2),
        ("上海{z}市政工程有限公司", 1), ("{p}{z}建设集团有限公司", 3), ("{p}{z}建筑安装工程有限公司", 1),
    ),
    "supervisor": (
        ("上海{z}工程建设咨询有限公司", 3), ("上海{z}建设工程监理有限公司", 3),
        ("上海{z}工程管理咨询有限公司", 2), ("{p}{z}工程咨询有限公司", 1),
    ),
    "surveyor": (
        ("上海{z}岩土工程勘察设计研究院有限公司", 2), ("上海{z}工程勘察有限公司", 3),
        ("上海{z}地质勘察研究院有限公司", 1),
    ),
    "designer": (
        ("上海{z}建筑设计研究院有限公司", 3), ("上海{z}建筑设计有限公司", 3),
        ("上海{z}市政工程设计研究院有限公司", 1), ("{p}{z}建筑设计院有限公司", 1),
    ),
    "monitor": (
        ("上海{z}岩土工程监测有限公司", 2), ("上海{z}工程检测技术有限公司", 2),
        ("上海{z}建设工程检测有限公司", 1),
    ),
    "developer": (
        ("上海{z}置业有限公司", 4), ("上海{z}房地产开发有限公司", 3), ("上海{z}实业发展有限公司", 1),
    ),
    "platform": (
        ("上海{z}城市建设投资发展有限公司", 2), ("上海{z}基础设施建设发展有限公司", 2),
        ("上海{z}交通建设发展有限公司", 1),
    ),
}

_COMPANY_TEMPLATE = {kind: Weighted.of_pairs(t) for kind, t in _COMPANY_TEMPLATES.items()}

#: Out-of-town firms: (province, city, USCC registration code, telephone area code).
OUT_OF_TOWN = (
    ("江苏", "南通市", "320600", "0513"),
    ("江苏", "苏州市", "320500", "0512"),
    ("江苏", "南京市", "320100", "025"),
    ("浙江", "杭州市", "330100", "0571"),
    ("浙江", "绍兴市", "330600", "0575"),
    ("浙江", "宁波市", "330200", "0574"),
    ("安徽", "合肥市", "340100", "0551"),
)


def company_name(rng: random.Random, kind: str, trade: str) -> tuple[str, tuple | None]:
    """A company name of `kind` with 字号 `trade`, and its `OUT_OF_TOWN` entry (None for a
    Shanghai company)."""
    template = _COMPANY_TEMPLATE[kind](rng)
    if "{p}" in template:
        home = rng.choice(OUT_OF_TOWN)
        return template.format(z=trade, p=home[0]), home
    return template.format(z=trade), None


# ---------------------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------------------

#: Two-letter district codes used in 报建编号 (see `city.permit_no`).
DISTRICT_ABBR = {
    "黄浦区": "HP", "徐汇区": "XH", "长宁区": "CN", "静安区": "JA", "普陀区": "PT", "虹口区": "HK",
    "杨浦区": "YP", "闵行区": "MH", "宝山区": "BS", "嘉定区": "JD", "浦东新区": "PD", "金山区": "JS",
    "松江区": "SJ", "青浦区": "QP", "奉贤区": "FX", "崇明区": "CM",
}

_STREET_SUFFIXES = ("街道", "地区", "镇", "乡")


def place_short(street_name: str) -> str:
    """"张江镇" → "张江", "南京东路街道" → "南京东路"; other names unchanged."""
    for suffix in _STREET_SUFFIXES:
        if street_name.endswith(suffix) and len(street_name) > len(suffix) + 1:
            return street_name[: -len(suffix)]
    return street_name


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Shanghai names many roads after provinces and cities; stems in the style of real ones.
_ROAD_STEMS = _words("""
    江苏 四川 浙江 福建 河南 山东 云南 西藏 湖南 江西 广西 贵州 宁夏 新疆 武宁 长寿
    曹杨 真北 金沙江 宜山 漕溪 龙华 虹桥 古北 仙霞 天山 延安 中山 凯旋 宛平 衡山 淮海
    复兴 建国 肇嘉浜 打浦 瑞金 陕西 茂名 华山 江场 共和新 场中 沪太 蕰川 牡丹江 友谊 同济
    殷高 国权 政立 黄兴 军工 隆昌 平凉 周家嘴 临平 大连 四平 锦绣 杨高 张杨 世纪 博山
    源深 崂山 东方 浦电 龙阳 川沙 华夏 环林 秀浦 沪南 周祝 康桥 航头 莘庄 沪闵 春申
    都市 七莘 顾戴 漕宝 吴中 虹梅 红松 剑川 江川 沧源 华漕 诸光 曹安 嘉松 胜辛 叶城
    沪宜 塔城 博乐 墨玉 菊园 洪德 新郁 荣乐 谷阳 广富林 思贤 玉树 沪松 青松 华青 盈港
    淀山湖 外青松 南桥 环城 金海 沪杭 望园 奉浦 金山卫 龙胜 亭林 朱泾 城桥 鳌山 八一 解放
    公园 人民 东门 南门 北沿江
""")
_ROAD_SUFFIX = Weighted.of_pairs((("路", 12), ("北路", 2), ("南路", 2), ("东路", 1),
                                  ("西路", 1), ("公路", 2), ("大道", 1)))


def road_name(rng: random.Random) -> str:
    """An invented road name in Shanghai's style, e.g. "沪宜公路", "锦绣路"."""
    stem = rng.choice(_ROAD_STEMS)
    return stem + _ROAD_SUFFIX(rng)


def plot_no(rng: random.Random) -> str:
    """A land-parcel number as control plans print them: "03-05", "A3-2", "E12", "120-02"."""
    form = rng.random()
    if form < 0.4:
        return f"{rng.randint(1, 40):02d}-{rng.randint(1, 12):02d}"
    if form < 0.75:
        return f"{rng.choice('ABCDEFGH')}{rng.randint(1, 12)}-{rng.randint(1, 9)}"
    if form < 0.9:
        return f"{rng.choice('ABCDEFGH')}{rng.randint(1, 30)}"
    return f"{rng.randint(100, 260)}-{rng.randint(1, 20):02d}"


# ---------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------

_RIVERS = ("川杨河", "赵家沟", "张家浜", "淀浦河", "油墩港", "蕰藻浜", "大治河", "金汇港",
           "龙泉港", "苏州河", "黄浦江", "新泾港", "外环运河", "浦东运河", "叶榭塘", "俞塘")


def project_title(rng: random.Random, use: str, place: str) -> str:
    """A project name for a `use` (a key of `city.USES`) at `place` (a short street name)."""
    plot = plot_no(rng)
    if use == "residential":
        kind = rng.choice(("住宅", "住宅", "商品住宅", "保障性住房", "租赁住房", "动迁安置房"))
        return f"{place}{plot}地块{kind}项目"
    if use == "commercial":
        return f"{place}{plot}地块{rng.choice(('商办', '商业办公', '商业综合体', '办公楼'))}项目"
    if use == "industrial":
        kind = rng.choice(("工业厂房", "研发楼", "产业园", "智能制造基地", "物流仓储"))
        return f"{place}{plot}地块{kind}项目"
    if use == "school":
        kind = rng.choice(("中学", "小学", "九年一贯制学校", "幼儿园"))
        return f"{place}{plot}地块{kind}新建工程"
    if use == "hospital":
        kind = rng.choice(("社区卫生服务中心", "医院门急诊医技综合楼", "医院"))
        return f"{place}{kind}新建工程"
    if use == "renewal":
        return f"{place}{plot}街坊{rng.choice(('城市更新', '旧区改造', '城中村改造'))}项目"
    if use == "eldercare":
        return f"{place}{plot}地块养老院新建工程"
    if use == "road":
        road, a, b = road_name(rng), road_name(rng), road_name(rng)
        verb = rng.choice(("新建", "改建", "改扩建", "大修"))
        return f"{road}（{a}—{b}）道路{verb}工程"
    if use == "drainage":
        form = rng.random()
        if form < 0.5:
            return f"{road_name(rng)}雨污水管道{rng.choice(('新建', '改造'))}工程"
        if form < 0.8:
            return f"{place}雨水泵站{rng.choice(('新建', '改建'))}工程"
        return f"{place}污水处理厂提标改造工程"
    if use == "bridge":
        return f"{road_name(rng)}跨{rng.choice(_RIVERS)}桥梁{rng.choice(('新建', '改建'))}工程"
    if use == "metro":
        return f"轨道交通{rng.choice((19, 20, 21, 23, 25, 27))}号线{place}站土建工程"
    if use == "utility_tunnel":
        return f"{road_name(rng)}综合管廊工程"
    if use == "river":
        return f"{place}{rng.choice(_RIVERS)}河道综合整治工程"
    if use == "park":
        return f"{place}{plot}地块公共绿地建设工程"
    raise ValueError(f"unknown use {use!r}")


# ---------------------------------------------------------------------------------------
# Identity-number address codes (GB/T 2260 county codes as printed on ID cards)
# ---------------------------------------------------------------------------------------

#: Prefectures (GB/T 2260, first 4 digits) many of Shanghai's construction managers come
#: from; `make_resident_id` draws a county of the table under them that was in use in or
#: after the birth year.
OTHER_ID_PREFIXES = (
    "3206", "3212", "3209", "3213",  # 江苏 南通 泰州 盐城 宿迁
    "3306", "3303",  # 浙江 绍兴 温州
    "3403", "3412", "3408",  # 安徽 蚌埠 阜阳 安庆
    "4115", "4116",  # 河南 信阳 周口
    "5108", "5113",  # 四川 广元 南充
    "4209", "4211",  # 湖北 孝感 黄冈
    "3601", "3713", "4305",  # 江西 南昌, 山东 临沂, 湖南 邵阳
)


def id_region_code(rng: random.Random, shanghai_share: float = 0.65) -> str:
    """Where a resident id's address code is drawn from: Shanghai ("31": a district or
    county of the GB/T 2260 table, merged ones like 卢湾 310103 included for people born
    before the merger), otherwise a prefecture people come from.  A prefix, which
    `make_resident_id` turns into a real county code."""
    if rng.random() < shanghai_share:
        return "31"
    return rng.choice(OTHER_ID_PREFIXES)


def mobile(rng: random.Random) -> str:
    """A mainland mobile number (11 digits)."""
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
