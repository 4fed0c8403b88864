"""Category suggestions from merchant and receipt text, with default and tenant rules."""

from __future__ import annotations

import pytest

from media.ocr.categorize import DEFAULT_RULES, CategoryRules, suggest_category


@pytest.mark.parametrize(
    ("merchant", "text", "code"),
    [
        ("BHPETROL PALEKBANG", "PREPAY CHIT NUMBER", "fuel"),
        ("RESTORAN WAN SHENG", "Teh O 2.40", "meals"),
        ("SANYU STATIONERY SHOP", "PHOTOCOPY SERVICES A4", "office_supplies"),
        ("AMANO MALAYSIA SDN BHD", "PARKING FEE 1.00", "parking"),
        ("GRAND HYATT", "ROOM CHARGE 2 NIGHTS", "lodging"),
        ("COMFORT TAXI", "FARE 23.00", "transport"),
        ("北京老街面馆", "红烧牛肉面 26.00", "meals"),
        ("武汉江城加油站", "92号汽油", "fuel"),
        ("上海停车场管理有限公司", "停车费 10元", "parking"),
        ("苏州园林宾馆", "房费", "lodging"),
        ("南京金陵文具店", "签字笔", "office_supplies"),
        ("XYZ TRADING", "PRODUCT SAMPLES FOR CLIENT", "samples"),
    ],
)
def test_default_rules(merchant: str, text: str, code: str) -> None:
    assert suggest_category(merchant, text).code == code


def test_nothing_matches_gives_the_fallback_with_low_confidence() -> None:
    suggestion = suggest_category("MR D.I.Y. (M) SDN BHD", "SPONGE MESH")
    assert suggestion.code == "other"
    assert suggestion.confidence < 0.3


def test_merchant_words_outweigh_body_words() -> None:
    # A coffee shop receipt mentioning a paper cup is still a meal.
    suggestion = suggest_category("EIGHT OUNCE COFFEE CO.", "PAPER CUP")
    assert suggestion.code == "meals"


def test_confidence_grows_with_evidence_and_margin() -> None:
    one = suggest_category("", "COFFEE")
    many = suggest_category("KOPITIAM RESTAURANT", "COFFEE TEA NASI")
    mixed = suggest_category("STATIONERY CAFE", "")
    assert 0 < one.confidence < many.confidence <= 1
    assert mixed.confidence < many.confidence


def test_keywords_match_whole_words_only() -> None:
    # "INN" must not fire inside "DINNER", "BUS" not inside "BUSINESS".
    assert suggest_category("", "DINNER").code != "lodging"
    assert suggest_category("BUSINESS CENTRE", "").code != "transport"


def test_tenant_rules_replace_and_extend() -> None:
    own = CategoryRules.from_mapping({"hardware": ["HARDWARE", "D.I.Y."]}, fallback="misc")
    assert suggest_category("MR D.I.Y. (M) SDN BHD", "", rules=own).code == "hardware"
    assert suggest_category("RESTORAN X", "", rules=own).code == "misc"  # defaults not included
    extended = CategoryRules.from_mapping({"hardware": ["D.I.Y."], "meals": ["MAMAK"]}, extend=DEFAULT_RULES)
    assert suggest_category("MR D.I.Y. (M) SDN BHD", "", rules=extended).code == "hardware"
    assert suggest_category("ALI MAMAK CORNER", "", rules=extended).code == "meals"
    assert suggest_category("BHPETROL", "", rules=extended).code == "fuel"


def test_custom_codes_pass_through() -> None:
    rules = CategoryRules.from_mapping({"6100-travel": ["TAXI", "出租车"]})
    assert suggest_category("", "出租车 发票", rules=rules).code == "6100-travel"
