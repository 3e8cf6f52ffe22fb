"""Tests for smartsite.core.validators (pure functions: no database, no settings)."""

from __future__ import annotations

import random
import string
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from smartsite.core.validators import (
    EARLIEST_BIRTH_DATE,
    PROVINCE_CODES,
    RESIDENCE_PERMIT_CODES,
    USCC_ALPHABET,
    USCC_CATEGORIES,
    USCC_EXTRA_REGIONS,
    area_codes,
    birth_date_of,
    gender_of,
    make_resident_id,
    make_uscc,
    mask_resident_id,
    org_code_check_char,
    resident_id_check_digit,
    uscc_check_char,
    validate_resident_id,
    validate_uscc,
)

FIXED_TODAY = date(2025, 6, 1)


def uscc_message(value: object) -> str:
    with pytest.raises(ValidationError) as info:
        validate_uscc(value)
    assert info.value.code == "uscc"
    return info.value.messages[0]


def id_message(value: object, today: date = FIXED_TODAY) -> str:
    with pytest.raises(ValidationError) as info:
        validate_resident_id(value, today=today)
    assert info.value.code == "resident_id"
    return info.value.messages[0]


# --------------------------------------------------------------------------------------
# GB 32100-2015 统一社会信用代码
# --------------------------------------------------------------------------------------

# Genuine codes published in public sources; every one passes both the GB 32100 check
# (position 18) and the GB 11714 check of the embedded organisation code (position 17).
PUBLISHED_USCCS = [
    # Worked example reproduced from GB 32100-2015 (91350100M000100Y4 → check "3").
    "91350100M000100Y43",
    # Shanghai enterprises used in Hutool's CreditCodeUtilTest.
    "91310115591693856A",
    "91310110666007217T",
    # 上海汽车集团股份有限公司 — Shanghai; organisation-code check 11 → "0".
    "91310000132260250X",
    # 华东师范大学 — 1 机构编制 / 2 事业单位, national-level region code 100000.
    "12100000425006133D",
    # 华为技术有限公司.
    "914403001922038216",
    # 腾讯科技（深圳）有限公司 — organisation-code check 10 → "X".
    "9144030071526726XG",
    # 深圳市腾讯计算机系统有限公司.
    "91440300708461136T",
    # 阿里巴巴（中国）网络技术有限公司.
    "91330100716105852F",
    # 小米科技有限责任公司.
    "91110108551385082Q",
    # New-style "MA…" organisation codes with letters; these pin the GB 11714 character
    # values (A=10 … Z=35 over the full alphabet, not the GB 32100 table).
    "91230184MA1BUFLT44",
    "91340100MA2NJYNM4Q",
    "91110102MA008DDL0X",
    # 9 工商 / 2 个体工商户.
    "92371000MA3MXH0E3W",
]


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_published_usccs_validate(code: str) -> None:
    assert validate_uscc(code) == code
    assert uscc_check_char(code[:17]) == code[17]
    assert org_code_check_char(code[8:16]) == code[16]


def test_uscc_worked_example_check_char() -> None:
    # The worked example's input ends in "Z", which is not even a code character.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_message("91350100M000100Y4Z") == "统一社会信用代码含非法字符“Z”"


def test_uscc_org_code_letter_values_use_full_alphabet() -> None:
    # With the GB 32100 values (M=21, U=27, L=20, T=26) this body would give "X";
    # the real code 91230184MA1BUFLT44 has "4".
    assert org_code_check_char("MA1BUFLT") == "4"


def test_uscc_normalises_case_spaces_and_full_width() -> None:
    assert validate_uscc("  91310115591693856a\n") == "91310115591693856A"
    assert validate_uscc("９１３１０１１５５９１６９３８５６Ａ") == "91310115591693856A"


def test_uscc_wrong_check_char_names_expected() -> None:
    assert uscc_message("91310115591693856B") == "统一社会信用代码校验位错误：应为 A，实为 B"
    assert uscc_message("914403001922038217") == "统一社会信用代码校验位错误：应为 6，实为 7"


def test_uscc_pilot_code_not_conforming_is_rejected() -> None:
    # Early pilot regions issued some codes that do not satisfy GB 32100 (Hutool's test
    # documents this one from Xiamen); the validator rejects it.
    assert uscc_message("91350211M00013FA1N") == "统一社会信用代码校验位错误：应为 3，实为 N"


def test_uscc_org_code_check_failure_is_reported_separately() -> None:
    first16 = "91310000MA1BUFLT"
    first17 = first16 + "5"  # GB 11714 wants "4"
    code = first17 + uscc_check_char(first17)  # consistent position 18
    assert uscc_message(code) == (
        "统一社会信用代码第 9–17 位（组织机构代码）校验位错误：第 17 位应为 4，实为 5"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "统一社会信用代码不能为空"),
        ("", "统一社会信用代码不能为空"),
        ("   ", "统一社会信用代码不能为空"),
        ("9131011559169385", "统一社会信用代码应为 18 位（当前 16 位）"),
        ("9131011559169385A", "统一社会信用代码应为 18 位（当前 17 位）"),
        ("91310115591693856AA", "统一社会信用代码应为 18 位（当前 19 位）"),
        ("9131011559I693856A", "统一社会信用代码含非法字符“I”"),
        ("9131011559O693856A", "统一社会信用代码含非法字符“O”"),
        ("9131011559S693856A", "统一社会信用代码含非法字符“S”"),
        ("9131011559V693856A", "统一社会信用代码含非法字符“V”"),
        ("9131011559-693856A", "统一社会信用代码含非法字符“-”"),
        ("9131011559 693856A", "统一社会信用代码含非法字符（空格）"),
        (
            "B1310115591693856A",
            "统一社会信用代码第 1 位（登记管理部门代码）“B”无效，"
            "应为 1、2、3、4、5、6、7、8、9、A、N、Y 之一",
        ),
        (
            "94310115591693856A",
            "统一社会信用代码第 2 位（机构类别代码）“4”与登记管理部门“9（工商）”不匹配，"
            "应为 1、2、3 之一",
        ),
        (
            "Y2310115591693856A",
            "统一社会信用代码第 2 位（机构类别代码）“2”与登记管理部门“Y（其他）”不匹配，应为 1",
        ),
        (
            "9131A115591693856A",
            "统一社会信用代码第 3–8 位（登记管理机关行政区划码）应为 6 位数字，实为“31A115”",
        ),
    ],
)
def test_uscc_malformed(value: object, message: str) -> None:
    assert uscc_message(value) == message


@pytest.mark.parametrize(
    ("authority", "categories"),
    [
        ("1", "1239"),
        ("2", "19"),
        ("3", "123459"),
        ("4", "19"),
        ("5", "1239"),
        ("6", "129"),
        ("7", "129"),
        ("8", "19"),
        ("9", "123"),
        ("A", "19"),
        ("N", "1239"),
        ("Y", "1"),
    ],
)
def test_uscc_category_table(authority: str, categories: str) -> None:
    assert "".join(USCC_CATEGORIES[authority]) == categories


def test_uscc_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("9131011559169385")
    with pytest.raises(ValueError):
        uscc_check_char("9131011559I693856")
    with pytest.raises(ValueError):
        org_code_check_char("MA1BUFL")


AUTHORITY_CATEGORY = st.sampled_from([(a, c) for a, cats in USCC_CATEGORIES.items() for c in cats])
# Every code of the GB/T 2260 table (current and historic, all levels) and the extras.
USCC_REGIONS = st.sampled_from(area_codes(since=1, county_level=False) + sorted(USCC_EXTRA_REGIONS))


@given(seed=st.integers(min_value=0), pair=AUTHORITY_CATEGORY, region=USCC_REGIONS)
def test_generated_usccs_validate(seed: int, pair: tuple[str, str], region: str) -> None:
    authority, category = pair
    code = make_uscc(
        random.Random(seed), region_code=region, authority=authority, category=category
    )
    assert validate_uscc(code) == code
    assert code[:2] == authority + category
    assert code[2:8] == region


@given(seed=st.integers(min_value=0))
def test_make_uscc_is_deterministic_and_defaults_to_shanghai_enterprise(seed: int) -> None:
    code = make_uscc(random.Random(seed))
    assert code == make_uscc(random.Random(seed))
    assert code.startswith("91310000")


# Every single-character substitution of a valid USCC is rejected.  Argument: a
# replacement outside the 31-character alphabet fails the character check; inside it,
# position i (1–17) changes the weighted sum by W_i * d with 0 < |d| < 31, and since 31 is
# prime and every W_i = 3^(i-1) mod 31 is non-zero, the sum mod 31 changes, so the
# expected check character changes; at position 18 the expected character is unique.
# (Earlier structural checks may fire first; either way the code is rejected.)
# Lower-case letters and full-width forms normalise to the same code, so they are not
# substitutions and are excluded.
SUBSTITUTES = string.digits + string.ascii_letters + "-*. #"


@given(
    seed=st.integers(min_value=0),
    pair=AUTHORITY_CATEGORY,
    position=st.integers(min_value=0, max_value=17),
    substitute=st.sampled_from(SUBSTITUTES),
)
def test_uscc_single_substitution_is_rejected(
    seed: int, pair: tuple[str, str], position: int, substitute: str
) -> None:
    authority, category = pair
    code = make_uscc(random.Random(seed), authority=authority, category=category)
    assume(substitute.upper() != code[position])
    mutated = code[:position] + substitute + code[position + 1 :]
    with pytest.raises(ValidationError):
        validate_uscc(mutated)


# Swapping two different adjacent characters among positions 1–17 changes the sum by
# (a - b) * (W_i - W_{i+1}) = -2 * (a - b) * W_i, non-zero mod 31, so it is also detected.
# (A swap involving the check character at position 18 is not guaranteed to be caught.)
@given(seed=st.integers(min_value=0), position=st.integers(min_value=0, max_value=15))
def test_uscc_adjacent_transposition_is_rejected(seed: int, position: int) -> None:
    code = make_uscc(random.Random(seed))
    a, b = code[position], code[position + 1]
    assume(a != b)
    swapped = code[:position] + b + a + code[position + 2 :]
    with pytest.raises(ValidationError):
        validate_uscc(swapped)


@given(body=st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8))
def test_org_code_check_char_is_a_code_character(body: str) -> None:
    assert org_code_check_char(body) in "0123456789X"


# --------------------------------------------------------------------------------------
# GB 11643-1999 公民身份号码
# --------------------------------------------------------------------------------------


def test_standard_example_beijing_female_1949() -> None:
    # GB 11643-1999 附录 A: 北京市朝阳区, 1949-12-31, sequence 002 (female) → check "X".
    number = "11010519491231002X"
    assert resident_id_check_digit(number[:17]) == "X"
    assert validate_resident_id(number) == number
    assert birth_date_of(number) == date(1949, 12, 31)
    assert gender_of(number) == "F"


def test_standard_example_shantou_male_1880_check_digit() -> None:
    # GB 11643-1999 附录 A: 广东省汕头市潮阳县, 1880-01-01, sequence 001 (male) → "4".
    # Its check digit is right, but the project rule rejects births before 1900-01-01.
    number = "440524188001010014"
    assert resident_id_check_digit(number[:17]) == "4"
    assert id_message(number) == "公民身份号码中的出生日期 1880-01-01 早于 1900-01-01"


def test_resident_id_normalises_lower_case_x_and_spaces() -> None:
    assert validate_resident_id(" 11010519491231002x ") == "11010519491231002X"
    assert validate_resident_id("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


def test_resident_id_wrong_check_digit_names_expected() -> None:
    assert id_message("110105194912310021") == "公民身份号码校验码错误：应为 X，实为 1"
    assert id_message("44052419800101001X") == "公民身份号码校验码错误：应为 3，实为 X"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "公民身份号码不能为空"),
        ("", "公民身份号码不能为空"),
        ("11010519491231002", "公民身份号码应为 18 位（当前 17 位）"),
        ("11010519491231002XX", "公民身份号码应为 18 位（当前 19 位）"),
        ("110105491231002", "公民身份号码应为 18 位（当前 15 位）；15 位旧号码请换算为 18 位"),
        ("1101051949123100AX", "公民身份号码前 17 位只能是数字，第 17 位为“A”"),
        ("X10105194912310021", "公民身份号码前 17 位只能是数字，第 1 位为“X”"),
        ("110105 94912310021", "公民身份号码前 17 位只能是数字，第 7 位为（空格）"),
        ("11010519491231002A", "公民身份号码第 18 位（校验码）只能是数字或 X，实为“A”"),
        ("99010519491231002X", "公民身份号码前 2 位“99”不是有效的省级行政区划代码"),
        ("16010519491231002X", "公民身份号码前 2 位“16”不是有效的省级行政区划代码"),
        ("00010519491231002X", "公民身份号码前 2 位“00”不是有效的省级行政区划代码"),
        ("11010519490231002X", "公民身份号码中的出生日期“19490231”不是有效日期"),
        ("11010519491301002X", "公民身份号码中的出生日期“19491301”不是有效日期"),
        ("11010500000101002X", "公民身份号码中的出生日期“00000101”不是有效日期"),
        ("11010519000229002X", "公民身份号码中的出生日期“19000229”不是有效日期"),
        ("11010518991231002X", "公民身份号码中的出生日期 1899-12-31 早于 1900-01-01"),
        ("11010520250602002X", "公民身份号码中的出生日期 2025-06-02 晚于今天"),
    ],
)
def test_resident_id_malformed(value: object, message: str) -> None:
    assert id_message(value) == message


def test_resident_id_boundary_dates_accepted() -> None:
    for birth in (EARLIEST_BIRTH_DATE, FIXED_TODAY, date(2000, 2, 29)):
        number = make_resident_id(random.Random(0), birth=birth)
        assert validate_resident_id(number, today=FIXED_TODAY) == number


def test_resident_id_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        resident_id_check_digit("1101051949123100")
    with pytest.raises(ValueError):
        resident_id_check_digit("1101051949123100X")


def test_make_resident_id_rejects_bad_arguments() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError):
        make_resident_id(rng, region_code="990101")
    with pytest.raises(ValueError):  # never assigned
        make_resident_id(rng, region_code="319999")
    with pytest.raises(ValueError):  # 卢湾区 was merged into 黄浦区 in 2011
        make_resident_id(rng, region_code="310103", birth=date(2015, 1, 1))
    with pytest.raises(ValueError):
        make_resident_id(rng, region_code="31010")
    with pytest.raises(ValueError):
        make_resident_id(rng, birth=date(1899, 12, 31))
    with pytest.raises(ValueError):
        make_resident_id(rng, gender="X")


# Provinces with county-level codes (71/81/82 have only a province entry, 83 none).
PROVINCES = st.sampled_from(sorted({code[:2] for code in area_codes(since=1)} & set(PROVINCE_CODES)))
BIRTHS = st.dates(min_value=EARLIEST_BIRTH_DATE, max_value=FIXED_TODAY)


@given(
    seed=st.integers(min_value=0),
    province=PROVINCES,
    birth=st.one_of(st.none(), BIRTHS),
    gender=st.sampled_from([None, "M", "F"]),
)
def test_generated_resident_ids_validate(
    seed: int, province: str, birth: date | None, gender: str | None
) -> None:
    number = make_resident_id(random.Random(seed), region_code=province, birth=birth, gender=gender)
    assert validate_resident_id(number, today=FIXED_TODAY) == number
    assert number[:2] == province
    assert number[:6] in area_codes(province, since=birth_date_of(number).year)
    if birth is not None:
        assert birth_date_of(number) == birth
    if gender is not None:
        assert gender_of(number) == gender


@given(seed=st.integers(min_value=0))
def test_make_resident_id_is_deterministic_and_defaults_to_xuhui(seed: int) -> None:
    number = make_resident_id(random.Random(seed))
    assert number == make_resident_id(random.Random(seed))
    assert number.startswith("310104")
    assert date(1955, 1, 1) <= birth_date_of(number) <= date(2005, 12, 31)


# Every single-character substitution of a valid identity number is rejected.  Argument:
# a non-digit in positions 1–17 (or anything but 0–9/X at 18) fails the character check;
# a different digit at position i (1–17) changes the weighted sum by W_i * d with
# 0 < |d| < 10, and since 11 is prime and every W_i = 2^(18-i) mod 11 is non-zero, the
# sum mod 11 changes and with it the expected check character ("10X98765432" has 11
# distinct entries); at position 18 the expected character is unique.  Province or date
# checks may fire first; either way the number is rejected.  "x" for "X" is not a
# substitution (it normalises back) and is excluded.
@given(
    seed=st.integers(min_value=0),
    position=st.integers(min_value=0, max_value=17),
    substitute=st.sampled_from(SUBSTITUTES),
)
def test_resident_id_single_substitution_is_rejected(
    seed: int, position: int, substitute: str
) -> None:
    number = make_resident_id(random.Random(seed))
    assume(substitute.upper() != number[position])
    mutated = number[:position] + substitute + number[position + 1 :]
    with pytest.raises(ValidationError):
        validate_resident_id(mutated, today=FIXED_TODAY)


# Adjacent transpositions among positions 1–17 change the sum by (a - b) * W_{i+1}
# (because W_i = 2 * W_{i+1} mod 11), non-zero mod 11, so they are detected too.
@given(seed=st.integers(min_value=0), position=st.integers(min_value=0, max_value=15))
def test_resident_id_adjacent_transposition_is_rejected(seed: int, position: int) -> None:
    number = make_resident_id(random.Random(seed))
    a, b = number[position], number[position + 1]
    assume(a != b)
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(ValidationError):
        validate_resident_id(swapped, today=FIXED_TODAY)


def test_mask_resident_id_examples() -> None:
    assert mask_resident_id("11010519491231002X") == "110105********002X"
    assert mask_resident_id(" 11010519491231002x ") == "110105********002X"
    assert mask_resident_id("1234567890") == "**********"
    assert mask_resident_id("") == ""


@given(seed=st.integers(min_value=0), birth=BIRTHS)
def test_mask_keeps_length_and_hides_birth_date(seed: int, birth: date) -> None:
    number = make_resident_id(random.Random(seed), birth=birth)
    masked = mask_resident_id(number)
    assert len(masked) == len(number) == 18
    assert masked[:6] == number[:6]
    assert masked[-4:] == number[-4:]
    assert masked[6:14] == "*" * 8
    assert f"{birth:%Y%m%d}" not in masked


# --------------------------------------------------------------------------------------
# GB/T 2260 region codes (python-stdnum's table)
# --------------------------------------------------------------------------------------

# Codes "found online" in python-stdnum's tests/test_cn_uscc.doctest (one per region code),
# and real codes whose region is a development zone's own (see USCC_EXTRA_REGIONS).
STDNUM_USCCS = [
    "121200004013590816", "91110000600037341L", "91110000710926094P", "91120224064012553U",
    "911522010783710635", "91310000631696382C", "91310000797046224D", "91310112087994932F",
    "913101127033980359", "913101145852519045", "913101153325803473", "91310115MA1K3BTP2B",
    "91310116052958608G", "913101203509708598", "9131012056010553X5", "91320214745555318W",
    "913205056082348768", "913304007429141869", "91340600MA2PBM9HXD", "91340602MA2UJY0D0T",
    "91340603MA2UJXXCXF", "91340604MA2PBQBH3P", "91340621MA2PBNXR7P", "913505007821784439",
    "91371082775260043P", "914112810713741814", "91420684MA4927PJ7B", "91440300568520498A",
    "9144060573144633XL", "91442000696462712R", "91620100719023721L", "91620105224521729E",
    "91620105L015101280", "92340602MA2PBMEM24", "92340603MA2PBMCG0U", "92340604MA2PBME53K",
    "92340621MA2PBKRXXG", "91110302562134916R", "91320594780268314T",
]


@pytest.mark.parametrize("code", STDNUM_USCCS)
def test_published_usccs_with_real_regions_validate(code: str) -> None:
    assert validate_uscc(code) == code


def _uscc_with_region(region: str) -> str:
    first16 = "91" + region + "MA1BUFLT"
    first17 = first16 + org_code_check_char(first16[8:])
    return first17 + uscc_check_char(first17)


@pytest.mark.parametrize("region", ["000000", "319999", "310199", "990000"])
def test_uscc_with_an_impossible_region_is_rejected(region: str) -> None:
    # Both check characters are right: only the region gives the code away.
    assert uscc_message(_uscc_with_region(region)) == (
        f"统一社会信用代码第 3–8 位（登记管理机关行政区划码）“{region}”不是 GB/T 2260 中的行政区划代码"
    )


def test_uscc_keeps_a_region_merged_away_after_it_was_issued() -> None:
    # 闸北区 (310108) was merged into 静安区 in 2015; codes issued there keep it for life.
    assert validate_uscc(_uscc_with_region("310108")) == _uscc_with_region("310108")


def test_uscc_full_width_and_lower_case_are_normalised_then_validated() -> None:
    assert validate_uscc("９１３１０１１５ｍａ１ｋ３ｂｔｐ２ｂ") == "91310115MA1K3BTP2B"
    full_width_bad_region = "".join(chr(ord(ch) + 0xFEE0) for ch in _uscc_with_region("000000"))
    assert "“000000”不是 GB/T 2260" in uscc_message(full_width_bad_region)


# Valid numbers from python-stdnum's tests/test_cn_ric.doctest, GB 11643-1999 附录 A's
# example, and a 港澳居民居住证-style number.
PUBLISHED_RESIDENT_IDS = [
    "360426199101010071",
    "44011320141005001X",
    "412723199010050012",
    "110102199101010078",
    "120110198012010073",  # 东郊区 until 1991
    "120110199212010072",  # the same code as 东丽区 since 1992
    "11010519491231002X",
]


@pytest.mark.parametrize("number", PUBLISHED_RESIDENT_IDS)
def test_published_resident_ids_validate(number: str) -> None:
    assert validate_resident_id(number, today=FIXED_TODAY) == number


def _resident_id(first17: str) -> str:
    return first17 + resident_id_check_digit(first17)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        # A county code never assigned, under a real province (stdnum 2.2: KeyError).
        (_resident_id("31999919900101123"),
         "公民身份号码前 6 位（出生地行政区划代码）“319999”不是 GB/T 2260 中的行政区划代码"),
        (_resident_id("31019919900101123"),
         "公民身份号码前 6 位（出生地行政区划代码）“310199”不是 GB/T 2260 中的行政区划代码"),
        (_resident_id("00000019900101123"), "公民身份号码前 2 位“00”不是有效的省级行政区划代码"),
        # stdnum's own "deregistered before the birth year" vector.
        ("110201199312010077",
         "公民身份号码前 6 位（出生地行政区划代码）“110201”（昌平县，使用至 1982 年）"
         "在出生年份 1993 年前已撤销"),
        # 卢湾区 was merged into 黄浦区 in 2011: nobody born in 2015 got its code.
        (_resident_id("31010320150101123"),
         "公民身份号码前 6 位（出生地行政区划代码）“310103”（卢湾区，使用至 2011 年）"
         "在出生年份 2015 年前已撤销"),
    ],
)
def test_resident_id_with_an_impossible_birth_place_is_rejected(number: str, message: str) -> None:
    assert id_message(number) == message


def test_resident_id_code_created_after_the_birth_year_is_accepted() -> None:
    # Numbers born before the 1990s were assigned at the first identity card, so the code
    # of a county created later is real: 浦东新区 (310115, 1992) for someone born in 1985.
    # stdnum's cn.ric refuses these ("county was not registered yet at birth year").
    for number in (_resident_id("31011519850101123"), "110111198012010078"):
        assert validate_resident_id(number, today=FIXED_TODAY) == number


def test_residence_permit_numbers_are_accepted() -> None:
    for code in RESIDENCE_PERMIT_CODES:
        number = _resident_id(code + "19800101123")
        assert validate_resident_id(number, today=FIXED_TODAY) == number
        assert make_resident_id(random.Random(1), region_code=code).startswith(code)


def test_resident_id_full_width_and_lower_case_x_then_region_check() -> None:
    number = _resident_id("31999919900101123")
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in number)
    assert "“319999”不是 GB/T 2260" in id_message(full_width)
    assert validate_resident_id("４４０１１３２０１４１００５００１ｘ") == "44011320141005001X"


@given(seed=st.integers(min_value=0))
def test_generated_ids_carry_real_shanghai_codes(seed: int) -> None:
    number = make_resident_id(random.Random(seed), region_code="31")
    assert number[:6] in area_codes("31", since=birth_date_of(number).year)
    code = make_uscc(random.Random(seed), region_code="31")
    assert code[2:8] in area_codes("31")
