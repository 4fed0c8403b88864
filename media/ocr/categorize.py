"""Expense category suggestion from the merchant name and receipt text, by per-tenant keyword rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property

import msgspec

from media.ocr.text import has_cjk, normalize


class CategoryRule(msgspec.Struct, frozen=True):
    """Keywords (English or Chinese, case-insensitive) that point to one expense category code."""

    code: str
    keywords: tuple[str, ...]
    weight: float = 1.0


class Suggestion(msgspec.Struct, frozen=True):
    code: str
    confidence: float
    matched: tuple[str, ...] = ()


class CategoryRules(msgspec.Struct, frozen=True, dict=True):
    """An ordered rule set; earlier rules win ties. `fallback` is suggested when nothing matches."""

    rules: tuple[CategoryRule, ...]
    fallback: str = "other"

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Iterable[str]],
        *,
        fallback: str = "other",
        extend: CategoryRules | None = None,
    ) -> CategoryRules:
        """Rules from `{code: [keyword, ...]}` (a tenant setting), optionally on top of another set.

        Keywords given for a code that `extend` already has are added to that code's keywords.
        """
        new = {code: tuple(words) for code, words in mapping.items()}
        rules: list[CategoryRule] = []
        if extend is not None:
            for rule in extend.rules:
                extra = new.pop(rule.code, ())
                rules.append(CategoryRule(rule.code, rule.keywords + extra, rule.weight))
        rules.extend(CategoryRule(code, words) for code, words in new.items())
        return cls(rules=tuple(rules), fallback=fallback)

    @cached_property
    def _compiled(self) -> tuple[tuple[CategoryRule, tuple[tuple[str, re.Pattern[str]], ...]], ...]:
        compiled = []
        for rule in self.rules:
            patterns = []
            for keyword in rule.keywords:
                word = normalize(keyword).upper()
                if not word:
                    continue
                if has_cjk(word):
                    pattern = re.compile(re.escape(word))
                else:
                    pattern = re.compile(rf"(?<![A-Z0-9]){re.escape(word)}(?![A-Z0-9])")
                patterns.append((keyword, pattern))
            compiled.append((rule, tuple(patterns)))
        return tuple(compiled)


DEFAULT_RULES = CategoryRules(
    rules=(
        CategoryRule(
            "fuel",
            (
                "PETROL",
                "PETRONAS",
                "BHPETROL",
                "PETRON",
                "SHELL",
                "CALTEX",
                "ESSO",
                "DIESEL",
                "FUEL",
                "GASOLINE",
                "RON95",
                "RON 95",
                "RON97",
                "RON 97",
                "PRIMAX",
                "GAS STATION",
                "加油站",
                "加油",
                "汽油",
                "柴油",
                "中石化",
                "中石油",
                "中国石化",
                "中国石油",
                "油品",
            ),
        ),
        CategoryRule(
            "parking",
            (
                "PARKING",
                "CAR PARK",
                "CARPARK",
                "PARKIR",
                "VALET",
                "停车场",
                "停车费",
                "停车",
                "泊车",
            ),
        ),
        CategoryRule(
            "lodging",
            (
                "HOTEL",
                "INN",
                "RESORT",
                "MOTEL",
                "HOSTEL",
                "LODGE",
                "ROOM CHARGE",
                "ACCOMMODATION",
                "GUEST HOUSE",
                "酒店",
                "宾馆",
                "賓館",
                "旅馆",
                "旅館",
                "住宿",
                "客房",
                "房费",
                "民宿",
            ),
        ),
        CategoryRule(
            "transport",
            (
                "TAXI",
                "GRAB",
                "UBER",
                "DIDI",
                "BUS",
                "TRAIN",
                "RAIL",
                "LRT",
                "MRT",
                "KTM",
                "ERL",
                "AIRASIA",
                "AIRLINE",
                "AIRLINES",
                "FLIGHT",
                "BOARDING",
                "TOLL",
                "TOUCH N GO",
                "E-HAILING",
                "滴滴",
                "出租车",
                "的士",
                "高铁",
                "火车",
                "动车",
                "机票",
                "航空",
                "地铁",
                "过路费",
                "通行费",
                "客运",
                "车费",
            ),
        ),
        CategoryRule(
            "meals",
            (
                "RESTORAN",
                "RESTAURANT",
                "CAFE",
                "COFFEE",
                "KOPITIAM",
                "BAKERY",
                "BAKERIES",
                "FOOD",
                "BEVERAGE",
                "BISTRO",
                "PUB",
                "PIZZA",
                "NOODLE",
                "NOODLES",
                "RICE",
                "MEE",
                "NASI",
                "CHICKEN",
                "MCDONALD'S",
                "MCDONALDS",
                "KFC",
                "DOMINO'S",
                "STARBUCKS",
                "BURGER",
                "DINE IN",
                "TAKEAWAY",
                "TAKE AWAY",
                "MEAL",
                "MEALS",
                "DRINK",
                "DRINKS",
                "TEA",
                "CAKE",
                "KITCHEN",
                "CATERING",
                "SEAFOOD",
                "DIM SUM",
                "餐厅",
                "餐廳",
                "餐饮",
                "餐費",
                "餐费",
                "饭店",
                "飯店",
                "酒楼",
                "酒家",
                "面馆",
                "咖啡",
                "茶餐厅",
                "茶饮",
                "奶茶",
                "小吃",
                "外卖",
                "快餐",
                "火锅",
                "食堂",
                "美食",
                "米饭",
                "面条",
                "饮料",
            ),
        ),
        CategoryRule(
            "office_supplies",
            (
                "STATIONERY",
                "STATIONERIES",
                "BOOKSTORE",
                "BOOKSTORES",
                "BOOK",
                "BOOKS",
                "PHOTOCOPY",
                "PRINTING",
                "PAPER",
                "PEN",
                "PENCIL",
                "INK",
                "TONER",
                "FOLDER",
                "STAPLER",
                "OFFICE",
                "LAMINATE",
                "LAMINATING",
                "ENVELOPE",
                "A4",
                "CARTRIDGE",
                "NAME BADGE",
                "文具",
                "办公用品",
                "办公",
                "打印",
                "复印",
                "纸张",
                "墨盒",
                "硒鼓",
                "书店",
            ),
        ),
        CategoryRule(
            "samples",
            (
                "SAMPLE",
                "SAMPLES",
                "TESTER",
                "PROMOTIONAL ITEMS",
                "样品",
                "试用装",
                "赠品",
                "小样",
            ),
        ),
    )
)

_MERCHANT_WEIGHT = 1.0
_TEXT_WEIGHT = 0.35


def suggest_category(merchant: str, text: str = "", *, rules: CategoryRules | None = None) -> Suggestion:
    """The best-matching category code with a confidence in [0, 1].

    A keyword in the merchant name counts about three times as much as one in the rest of the text;
    each keyword counts once. With no match the rule set's fallback is suggested at low confidence.
    """
    active = rules or DEFAULT_RULES
    merchant_upper = normalize(merchant).upper()
    text_upper = normalize(text).upper()
    scored: list[tuple[float, int, str, tuple[str, ...]]] = []
    for position, (rule, patterns) in enumerate(active._compiled):
        score = 0.0
        matched: list[str] = []
        for keyword, pattern in patterns:
            if merchant_upper and pattern.search(merchant_upper):
                score += _MERCHANT_WEIGHT * rule.weight
                matched.append(keyword)
            elif text_upper and pattern.search(text_upper):
                score += _TEXT_WEIGHT * rule.weight
                matched.append(keyword)
        if score > 0:
            scored.append((score, -position, rule.code, tuple(matched)))
    if not scored:
        return Suggestion(code=active.fallback, confidence=0.2)
    scored.sort(reverse=True)
    best_score, _, code, matched = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    strength = min(1.0, best_score / 1.5)
    margin = (best_score - runner_up) / best_score
    confidence = 0.3 + 0.65 * strength * (0.5 + 0.5 * margin)
    return Suggestion(code=code, confidence=round(min(0.95, confidence), 3), matched=matched)
