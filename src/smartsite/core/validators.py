"""Validators for the Chinese identification codes a construction site deals with.

Two national standards are implemented as pure functions (no database, no settings):

* GB 32100-2015 (with amendment XG1-2016) 法人和其他组织统一社会信用代码 — the 18-character
  unified social credit code ("USCC") of companies and other organisations.  Its positions
  9–17 are the organisation's GB 11714-1997 全国组织机构代码, which carries its own check
  character, and that is validated too.
* GB 11643-1999 公民身份号码 — the 18-character resident identity number of a person.

Every ``validate_*`` function returns the normalised value or raises Django's
``ValidationError`` with a specific Simplified-Chinese message that says which rule failed.
The ``make_*`` functions generate valid codes deterministically from a ``random.Random``
for the simulator and the tests.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta

from django.core.exceptions import ValidationError

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_CODES",
    "USCC_ALPHABET",
    "USCC_AUTHORITIES",
    "USCC_CATEGORIES",
    "birth_date_of",
    "gender_of",
    "make_resident_id",
    "make_uscc",
    "mask_resident_id",
    "org_code_check_char",
    "resident_id_check_digit",
    "uscc_check_char",
    "validate_resident_id",
    "validate_uscc",
]


def _normalise(value: object) -> str:
    """Strip surrounding whitespace, fold full-width forms (NFKC) and upper-case."""
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
# GB 32100-2015 统一社会信用代码
# --------------------------------------------------------------------------------------

#: The 31 code characters of GB 32100-2015 表 1, in value order (I, O, S, V, Z are unused).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}

#: Weights W_i = 3^(i-1) mod 31 for positions 1–17 (GB 32100-2015 表 2).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

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

    C18 = 31 - MOD(sum(C_i * W_i), 31), where a result of 31 is written as "0".
    Raises ``ValueError`` if ``first17`` is not 17 characters of the code alphabet.
    """
    if len(first17) != 17 or any(ch not in _USCC_VALUE for ch in first17):
        raise ValueError(f"need 17 characters of {USCC_ALPHABET!r}, got {first17!r}")
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


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
    department, 行政区划码 (6 digits), the GB 32100 check character (position 18), and
    the GB 11714 check character of the embedded organisation code (position 17).
    """
    code = _normalise(value)
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
    return code


def make_uscc(
    rng: random.Random,
    *,
    region_code: str = "310000",
    authority: str = "9",
    category: str = "1",
) -> str:
    """Generate a valid 统一社会信用代码 deterministically from ``rng``.

    Defaults to an enterprise (9 工商 / 1 企业) registered in Shanghai (310000).  The
    organisation code is either new-style ("MA" + 6 characters, as assigned since 2015) or
    old-style (8 digits), each with its GB 11714 check character.
    """
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region_code must be 6 digits, got {region_code!r}")
    if category not in USCC_CATEGORIES.get(authority, {}):
        raise ValueError(f"invalid authority/category pair {authority!r}/{category!r}")
    if rng.random() < 0.5:
        body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = authority + category + region_code + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


# --------------------------------------------------------------------------------------
# GB 11643-1999 公民身份号码
# --------------------------------------------------------------------------------------

#: Province-level codes (GB/T 2260) allowed as the first two digits of an identity number.
#: 81/82/83 are also used by 港澳台居民居住证 numbers (address codes 810000/820000/830000).
PROVINCE_CODES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
    "83": "台湾地区（居住证）",
}

#: ISO 7064 MOD 11-2 weights W_i = 2^(18-i) mod 11 for positions i = 1–17.
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"  # indexed by sum % 11

#: Birth dates before this are rejected (a project rule, not part of GB 11643).
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def resident_id_check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits ("0"–"9" or "X")."""
    if len(first17) != 17 or not all(ch in "0123456789" for ch in first17):
        raise ValueError(f"need 17 digits, got {first17!r}")
    total = sum(int(ch) * w for ch, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return _RESIDENT_ID_CHECK[total % 11]


def _id_error(message: str) -> ValidationError:
    return ValidationError(message, code="resident_id")


def validate_resident_id(value: object, *, today: date | None = None) -> str:
    """Validate a 公民身份号码 and return it normalised (stripped, trailing x → X).

    Checks, in order: length, characters, province code, date of birth (a real date,
    not after ``today`` and not before 1900-01-01), and the check character.  ``today``
    defaults to the server's local date.
    """
    number = _normalise(value)
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

    if number[:2] not in PROVINCE_CODES:
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
    return number


def mask_resident_id(value: object) -> str:
    """Mask an identity number for display: first 6 and last 4 characters, ``*`` between.

    ``310101199001011234`` → ``310101********1234``.  The length is kept, so the birth date
    (positions 7–14) is always hidden.  Values of 10 characters or fewer are masked whole.
    """
    number = _normalise(value)
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

    ``region_code`` defaults to 上海市徐汇区 (310104).  Without ``birth`` a date between
    1955-01-01 and 2005-12-31 (working age) is drawn; without ``gender`` ("M"/"F") one is
    drawn too.  A ``birth`` after today yields a number that ``validate_resident_id``
    rejects (the generator does not look at the clock, to stay deterministic).
    """
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region_code must be 6 digits, got {region_code!r}")
    if region_code[:2] not in PROVINCE_CODES:
        raise ValueError(f"unknown province code in region_code {region_code!r}")
    if birth is None:
        start = date(1955, 1, 1)
        birth = start + timedelta(days=rng.randrange((date(2005, 12, 31) - start).days + 1))
    elif birth < EARLIEST_BIRTH_DATE:
        raise ValueError(f"birth must not be before {EARLIEST_BIRTH_DATE}, got {birth}")
    if gender is None:
        gender = rng.choice("MF")
    if gender not in ("M", "F"):
        raise ValueError(f"gender must be 'M' or 'F', got {gender!r}")
    # Sequence 000–999 whose last digit is odd for men and even for women.
    sequence = rng.randrange(500) * 2 + (1 if gender == "M" else 0)
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_digit(first17)
