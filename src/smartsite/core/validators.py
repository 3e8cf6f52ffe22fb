"""Validators for the Chinese identification codes a construction site deals with.

Two national standards, checked as pure functions (no database, no settings):

* GB 32100-2015 (with amendment XG1-2016) 法人和其他组织统一社会信用代码 — the 18-character
  unified social credit code ("USCC") of companies and other organisations.  Its positions
  9–17 are the organisation's GB 11714-1997 全国组织机构代码, which carries its own check
  character, and that is validated too.
* GB 11643-1999 公民身份号码 — the 18-character resident identity number of a person.

Both carry a GB/T 2260 行政区划代码: a USCC the registering authority's (positions 3–8), a
resident id the place of first registration (positions 1–6).  The table of those codes —
current and historic, with the years each was in use — is python-stdnum's ``cn/loc``
database, and the check characters are stdnum's (``stdnum.cn.ric``, ``stdnum.cn.uscc``).
This module puts them under specific Chinese messages and adds what stdnum does not check:
a USCC's region code, its 登记管理部门 / 机构类别 pair and its organisation-code check.
A resident id's birth place is checked on stdnum's table with our own rule (see
``_birth_place_error``): stdnum's ``cn.ric`` refuses real numbers whose code was created
after the birth year.

**Input is normalised before it is validated**: surrounding whitespace is stripped,
full-width forms typed with a Chinese IME (``９１３１…``, ``ｘ``) are folded to ASCII (NFKC)
and letters are upper-cased, so ``11010519491231002x`` is stored as ``11010519491231002X``.
Spaces or dashes inside a code are not removed: they are reported as illegal characters.

Every ``validate_*`` function returns the normalised value or raises Django's
``ValidationError`` with a specific Simplified-Chinese message that says which rule failed.
The ``make_*`` functions generate valid codes — with real region codes drawn from the same
table — deterministically from a ``random.Random`` for the simulator and the tests.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from stdnum import numdb
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_CODES",  # noqa: F822 (built on first use, see __getattr__)
    "RESIDENCE_PERMIT_CODES",
    "USCC_ALPHABET",
    "USCC_AUTHORITIES",
    "USCC_CATEGORIES",
    "USCC_EXTRA_REGIONS",
    "AreaCode",
    "area_codes",
    "birth_date_of",
    "gender_of",
    "make_resident_id",
    "make_uscc",
    "mask_resident_id",
    "normalise_code",
    "org_code_check_char",
    "resident_id_check_digit",
    "uscc_check_char",
    "validate_resident_id",
    "validate_uscc",
]


def normalise_code(value: object) -> str:
    """Strip surrounding whitespace, fold full-width forms (NFKC) and upper-case.

    What the validators check and what is stored and looked up: ``" ４４０１…００１ｘ"``
    and ``"4401…001X"`` are the same number.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # NFKC folds full-width digits and letters typed with a Chinese IME
    # ("９１３１…") into ASCII; it also turns U+3000 (ideographic space) into a space.
    return unicodedata.normalize("NFKC", text).strip().upper()


def _quote(ch: str) -> str:
    """Render a single offending character for a message."""
    if ch.isspace():
        return "（空格）"
    return f"“{ch}”"


# --------------------------------------------------------------------------------------
# GB/T 2260 行政区划代码 (python-stdnum's table)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaCode:
    """One use of a GB/T 2260 code: its name and the years it was in use (``None``: open).

    A code can have had several uses (e.g. 120110 东郊区 until 1991, 东丽区 since 1992).
    Codes ending in ``00`` are province- or prefecture-level entries of the table.
    """

    code: str
    name: str
    first_year: int | None = None
    last_year: int | None = None

    def in_use_since(self, year: int | None) -> bool:
        """Whether the code was still in use in ``year`` or later (``None``: it is today)."""
        return self.last_year is None or (year is not None and self.last_year >= year)

    def label(self) -> str:
        """The name with its years, e.g. "卢湾区，使用至 2011 年"."""
        if self.first_year and self.last_year:
            return f"{self.name}，{self.first_year}–{self.last_year} 年使用"
        if self.last_year:
            return f"{self.name}，使用至 {self.last_year} 年"
        if self.first_year:
            return f"{self.name}，{self.first_year} 年起使用"
        return self.name


def _parse_uses(code: str, county: str) -> tuple[AreaCode, ...]:
    # stdnum writes the uses as "[1982-1992]上海县,[1992-]…" (years inclusive, open ends empty).
    uses = []
    for part in county.split(","):
        first = last = None
        if part.startswith("["):
            years, part = part[1:].split("]", 1)
            start, end = years.split("-")
            first, last = (int(start) if start else None), (int(end) if end else None)
        uses.append(AreaCode(code, part, first, last))
    return tuple(uses)


@functools.cache
def _area_table() -> dict[str, tuple[AreaCode, ...]]:
    """Every 6-digit code of stdnum's ``cn/loc`` table with its uses, in table order."""
    table: dict[str, tuple[AreaCode, ...]] = {}
    for _, province, _, _, counties in numdb.get("cn/loc").prefixes:
        for _, rest, _, props, _ in counties:
            if "county" in props:
                table[province + rest] = _parse_uses(province + rest, props["county"])
    return table


def area_codes(prefix: str = "", *, since: int | None = None, county_level: bool = True) -> list[str]:
    """GB/T 2260 codes starting with ``prefix`` still in use in year ``since`` or later.

    ``since=None`` gives the codes in use today; ``since=1`` every code the table has.
    ``county_level`` leaves out the province and prefecture entries (codes ending in 00)
    and the prefectures' 市辖区 placeholders (e.g. 130101), which name no county.
    """
    return list(_area_codes(prefix, since, county_level))


@functools.lru_cache(maxsize=1024)
def _area_codes(prefix: str, since: int | None, county_level: bool) -> tuple[str, ...]:
    return tuple(
        code
        for code, uses in _area_table().items()
        if code.startswith(prefix)
        and not (county_level and (code.endswith("00") or uses[-1].name == "市辖区"))
        and any(use.in_use_since(since) for use in uses)
    )


def _area_uses(code: str) -> tuple[AreaCode, ...]:
    return _area_table().get(code, ())


# --------------------------------------------------------------------------------------
# GB 32100-2015 统一社会信用代码
# --------------------------------------------------------------------------------------

#: The 31 code characters of GB 32100-2015 表 1, in value order (I, O, S, V, Z are unused).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}

#: Registering-authority region codes (positions 3–8) that are not in GB/T 2260 but are on
#: real codes: national-level authorities, and development zones whose market regulator
#: was given a code of its own.  Each was seen on published codes whose two check
#: characters are right.  Other codes outside the table are refused; add a code here,
#: with the code it was seen on, when a real one turns up.
USCC_EXTRA_REGIONS = {
    "100000": "国家级登记管理机关",  # 12100000425006133D 华东师范大学
    "110302": "北京经济技术开发区",  # 91110302562134916R 北京京东世纪信息技术有限公司
    "320594": "苏州工业园区",  # 91320594780268314T 苏州市新源建设工程有限公司
}

#: 登记管理部门代码 (position 1), GB 32100-2015 附录 A as amended by XG1-2016.
USCC_AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}

#: 机构类别代码 (position 2) allowed for each 登记管理部门代码.
USCC_CATEGORIES = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常驻新闻机构", "9": "其他"},
    "3": {
        "1": "律师执业机构",
        "2": "公证处",
        "3": "基层法律服务所",
        "4": "司法鉴定机构",
        "5": "仲裁委员会",
        "9": "其他",
    },
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {
        "1": "外国旅游部门常驻代表机构",
        "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
        "9": "其他",
    },
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {
        "1": "组级集体经济组织",
        "2": "村级集体经济组织",
        "3": "乡镇级集体经济组织",
        "9": "其他",
    },
    # "Y 其他": no further categories, always 1.
    "Y": {"1": "其他"},
}

#: GB 11714-1997 weights for the 8 body characters of an organisation code.
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# GB 11714 values characters over the full Latin alphabet: 0–9 → 0–9, A–Z → 10–35
# (unlike GB 32100, which skips I, O, S, V, Z).  Confirmed against real codes with letters,
# e.g. 91230184MA1BUFLT44: MA1BUFLT → 4 with this table, but "X" with the GB 32100 table.
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {ch: i for i, ch in enumerate(_ORG_ALPHABET)}


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character (position 18) for the first 17 characters.

    C18 = 31 - MOD(sum(C_i * W_i), 31) with W_i = 3^(i-1) mod 31 (stdnum's
    ``cn.uscc.calc_check_digit``).  Raises ``ValueError`` if ``first17`` is not 17
    characters of the code alphabet.
    """
    if len(first17) != 17 or any(ch not in _USCC_VALUE for ch in first17):
        raise ValueError(f"need 17 characters of {USCC_ALPHABET!r}, got {first17!r}")
    return stdnum_uscc.calc_check_digit(first17)


def org_code_check_char(body: str) -> str:
    """Return the GB 11714-1997 check character for an 8-character organisation-code body.

    C9 = 11 - MOD(sum(C_i * W_i), 11); 10 is written "X" and 11 is written "0".
    Raises ``ValueError`` if ``body`` is not 8 characters of 0–9/A–Z.
    """
    if len(body) != 8 or any(ch not in _ORG_VALUE for ch in body):
        raise ValueError(f"need 8 characters of 0-9/A-Z, got {body!r}")
    total = sum(_ORG_VALUE[ch] * w for ch, w in zip(body, ORG_CODE_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def _uscc_error(message: str) -> ValidationError:
    return ValidationError(message, code="uscc")


def validate_uscc(value: object) -> str:
    """Validate a 统一社会信用代码 and return it normalised (stripped, upper-case).

    Checks, in order: length, character set, 登记管理部门代码, 机构类别代码 for that
    department, 行政区划码 (6 digits), the GB 32100 check character (position 18), the
    GB 11714 check character of the embedded organisation code (position 17), and last
    that the 行政区划码 is a GB/T 2260 code (current or historic: a code stays on a USCC
    after its region is merged away) or one of ``USCC_EXTRA_REGIONS``.  A typo anywhere
    is so reported as a check-character error; a code whose check characters are right
    but whose region never existed is reported as such.
    """
    code = normalise_code(value)
    if not code:
        raise _uscc_error("统一社会信用代码不能为空")
    if len(code) != 18:
        raise _uscc_error(f"统一社会信用代码应为 18 位（当前 {len(code)} 位）")
    for ch in code:
        if ch not in _USCC_VALUE:
            raise _uscc_error(f"统一社会信用代码含非法字符{_quote(ch)}")

    authority, category = code[0], code[1]
    if authority not in USCC_AUTHORITIES:
        allowed = "、".join(USCC_AUTHORITIES)
        raise _uscc_error(
            f"统一社会信用代码第 1 位（登记管理部门代码）“{authority}”无效，应为 {allowed} 之一"
        )
    categories = USCC_CATEGORIES[authority]
    if category not in categories:
        allowed = "、".join(categories) + (" 之一" if len(categories) > 1 else "")
        raise _uscc_error(
            f"统一社会信用代码第 2 位（机构类别代码）“{category}”与登记管理部门"
            f"“{authority}（{USCC_AUTHORITIES[authority]}）”不匹配，应为 {allowed}"
        )
    region = code[2:8]
    if not region.isdigit():
        raise _uscc_error(
            f"统一社会信用代码第 3–8 位（登记管理机关行政区划码）应为 6 位数字，实为“{region}”"
        )

    # The overall check covers all 17 positions, so it runs before the narrower GB 11714
    # check: a typo anywhere is reported as a check-character error.
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise _uscc_error(f"统一社会信用代码校验位错误：应为 {expected}，实为 {code[17]}")

    expected_org = org_code_check_char(code[8:16])
    if code[16] != expected_org:
        raise _uscc_error(
            "统一社会信用代码第 9–17 位（组织机构代码）校验位错误："
            f"第 17 位应为 {expected_org}，实为 {code[16]}"
        )

    if not _area_uses(region) and region not in USCC_EXTRA_REGIONS:
        raise _uscc_error(
            f"统一社会信用代码第 3–8 位（登记管理机关行政区划码）“{region}”"
            "不是 GB/T 2260 中的行政区划代码"
        )
    return code


def make_uscc(
    rng: random.Random,
    *,
    region_code: str = "310000",
    authority: str = "9",
    category: str = "1",
) -> str:
    """Generate a valid 统一社会信用代码 deterministically from ``rng``.

    Defaults to an enterprise (9 工商 / 1 企业) registered in Shanghai (310000).
    ``region_code`` is a GB/T 2260 code (or one of ``USCC_EXTRA_REGIONS``), or a prefix of
    2 or 4 digits (``"31"``, ``"3205"``): then a county-level code in use today is drawn
    from under it.  The organisation code is either new-style ("MA" + 6 characters, as
    assigned since 2015) or old-style (8 digits), each with its GB 11714 check character.
    """
    if category not in USCC_CATEGORIES.get(authority, {}):
        raise ValueError(f"invalid authority/category pair {authority!r}/{category!r}")
    if len(region_code) in (2, 4) and region_code.isdigit():
        choices = area_codes(region_code)
        if not choices:
            raise ValueError(f"no GB/T 2260 county code in use under {region_code!r}")
        region_code = rng.choice(choices)
    elif not _area_uses(region_code) and region_code not in USCC_EXTRA_REGIONS:
        raise ValueError(f"region_code must be a GB/T 2260 code or a 2/4-digit prefix, got {region_code!r}")
    if rng.random() < 0.5:
        body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = authority + category + region_code + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


# --------------------------------------------------------------------------------------
# GB 11643-1999 公民身份号码
# --------------------------------------------------------------------------------------

#: 港澳台居民居住证 numbers have the form of a resident id with these address codes
#: (《港澳台居民居住证申领发放办法》, 2018); 830000 is not in GB/T 2260, and 810000 / 820000
#: are there only from 1997 / 1999 — a permit holder's birth year is not bound by that.
RESIDENCE_PERMIT_CODES = {"810000": "香港居民", "820000": "澳门居民", "830000": "台湾居民"}


@functools.cache
def _province_names() -> dict[str, str]:
    names = {}
    for code, uses in _area_table().items():
        if code.endswith("0000"):
            names[code[:2]] = uses[-1].name
    names["83"] = "台湾地区（居住证）"
    return names


def __getattr__(name: str):
    # PROVINCE_CODES: province-level codes (GB/T 2260) allowed as the first two digits of an
    # identity number; 81/82/83 are also used by 港澳台居民居住证 numbers
    # (``RESIDENCE_PERMIT_CODES``).  Built on first use: reading stdnum's table takes a few
    # tenths of a second, which processes that never check an id (the gateway) do not pay.
    if name == "PROVINCE_CODES":
        return _province_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Birth dates before this are rejected (a project rule, not part of GB 11643).
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def resident_id_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits ("0"–"9" or "X").

    ISO 7064 MOD 11-2, as stdnum's ``cn.ric.calc_check_digit`` computes it.
    """
    if len(first17) != 17 or not all(ch in "0123456789" for ch in first17):
        raise ValueError(f"need 17 digits, got {first17!r}")
    # stdnum's function takes the whole number and ignores its last character.
    return stdnum_ric.calc_check_digit(first17 + "0")


def _birth_place_error(number: str, year: int) -> ValidationError | None:
    """None if positions 1–6 are a code a person born in ``year`` can have, else the error.

    GB 11643 puts the code of the county where the number was first assigned: at birth
    registration today, but at the first identity card (or the 15 → 18 digit conversion)
    for people born before the 1990s.  So the code must still have been in use in the
    birth year or later — not necessarily in the birth year itself: 310115 浦东新区 (1992)
    is the code of many people born there in the 1980s.  stdnum's ``cn.ric`` demands the
    birth year itself (and in 2.2 raises KeyError for some unknown codes), so it would
    refuse those real numbers; only its table is used here.
    """
    code = number[:6]
    if code in RESIDENCE_PERMIT_CODES:
        return None
    uses = _area_uses(code)
    if not uses:
        return _id_error(f"公民身份号码前 6 位（出生地行政区划代码）“{code}”不是 GB/T 2260 中的行政区划代码")
    if any(use.in_use_since(year) for use in uses):
        return None
    labels = "；".join(use.label() for use in uses)
    return _id_error(
        f"公民身份号码前 6 位（出生地行政区划代码）“{code}”（{labels}）在出生年份 {year} 年前已撤销"
    )


def _id_error(message: str) -> ValidationError:
    return ValidationError(message, code="resident_id")


def validate_resident_id(value: object, *, today: date | None = None) -> str:
    """Validate a 公民身份号码 and return it normalised (stripped, trailing x → X).

    Checks, in order: length, characters, province code, date of birth (a real date,
    not after ``today`` and not before 1900-01-01), the check character, and last the
    birth place: positions 1–6 must be a GB/T 2260 code still in use in the birth year
    or later (historic codes included, e.g. 310103 卢湾区 for births until 2011), or a
    港澳台居民居住证 address code.  ``today`` defaults to the server's local date.
    """
    number = normalise_code(value)
    if not number:
        raise _id_error("公民身份号码不能为空")
    if len(number) != 18:
        hint = "；15 位旧号码请换算为 18 位" if len(number) == 15 else ""
        raise _id_error(f"公民身份号码应为 18 位（当前 {len(number)} 位）{hint}")
    for pos, ch in enumerate(number[:17], start=1):
        if ch not in "0123456789":
            raise _id_error(f"公民身份号码前 17 位只能是数字，第 {pos} 位为{_quote(ch)}")
    if number[17] not in "0123456789X":
        raise _id_error(f"公民身份号码第 18 位（校验码）只能是数字或 X，实为{_quote(number[17])}")

    if number[:2] not in _province_names():
        raise _id_error(f"公民身份号码前 2 位“{number[:2]}”不是有效的省级行政区划代码")

    birth_text = number[6:14]
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise _id_error(f"公民身份号码中的出生日期“{birth_text}”不是有效日期") from None
    if today is None:
        today = date.today()
    if birth > today:
        raise _id_error(f"公民身份号码中的出生日期 {birth.isoformat()} 晚于今天")
    if birth < EARLIEST_BIRTH_DATE:
        raise _id_error(
            f"公民身份号码中的出生日期 {birth.isoformat()} 早于 {EARLIEST_BIRTH_DATE.isoformat()}"
        )

    expected = resident_id_check_digit(number[:17])
    if number[17] != expected:
        raise _id_error(f"公民身份号码校验码错误：应为 {expected}，实为 {number[17]}")
    error = _birth_place_error(number, birth.year)
    if error is not None:
        raise error
    return number


def mask_resident_id(value: object) -> str:
    """Mask an identity number for display: first 6 and last 4 characters, ``*`` between.

    ``310101199001011234`` → ``310101********1234``.  The length is kept, so the birth date
    (positions 7–14) is always hidden.  Values of 10 characters or fewer are masked whole.
    """
    number = normalise_code(value)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def birth_date_of(resident_id: object) -> date:
    """Return the date of birth encoded in a valid identity number (validates it first)."""
    number = validate_resident_id(resident_id)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of(resident_id: object) -> str:
    """Return "M" or "F": the 17th digit is odd for men and even for women."""
    number = validate_resident_id(resident_id)
    return "M" if int(number[16]) % 2 else "F"


def make_resident_id(
    rng: random.Random,
    *,
    region_code: str = "310104",
    birth: date | None = None,
    gender: str | None = None,
) -> str:
    """Generate a valid 公民身份号码 deterministically from ``rng``.

    ``region_code`` defaults to 上海市徐汇区 (310104).  It is a GB/T 2260 code still in use
    in the birth year or later, or a prefix of 2 or 4 digits (``"31"``, ``"3206"``): then
    such a county-level code is drawn from under it.  Without ``birth`` a date between
    1955-01-01 and 2005-12-31 (working age) is drawn; without ``gender`` ("M"/"F") one is
    drawn too.  A ``birth`` after today yields a number that ``validate_resident_id``
    rejects (the generator does not look at the clock, to stay deterministic).
    """
    if not region_code.isdigit() or len(region_code) not in (2, 4, 6):
        raise ValueError(f"region_code must be 6 digits or a 2/4-digit prefix, got {region_code!r}")
    if birth is None:
        start = date(1955, 1, 1)
        birth = start + timedelta(days=rng.randrange((date(2005, 12, 31) - start).days + 1))
    elif birth < EARLIEST_BIRTH_DATE:
        raise ValueError(f"birth must not be before {EARLIEST_BIRTH_DATE}, got {birth}")
    if gender is None:
        gender = rng.choice("MF")
    if gender not in ("M", "F"):
        raise ValueError(f"gender must be 'M' or 'F', got {gender!r}")
    if len(region_code) < 6:
        choices = area_codes(region_code, since=birth.year)
        if not choices:
            raise ValueError(f"no GB/T 2260 county code under {region_code!r} since {birth.year}")
        region_code = rng.choice(choices)
    elif region_code not in RESIDENCE_PERMIT_CODES and not any(
        use.in_use_since(birth.year) for use in _area_uses(region_code)
    ):
        raise ValueError(f"{region_code!r} is not a GB/T 2260 code in use since {birth.year}")
    # Sequence 000–999 whose last digit is odd for men and even for women.
    sequence = rng.randrange(500) * 2 + (1 if gender == "M" else 0)
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_digit(first17)
