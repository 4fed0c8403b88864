"""Money amounts in receipt text, tolerant to the ways OCR breaks them (`33, 90`, `RMO.00`, `Y559.10`)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import msgspec

from media.ocr.text import repair_digits

_CURRENCY_PREFIX = r"(?P<cur>RM|MYR|RMB|CNY|USD|US\$|SGD|S\$|HK\$|EUR|GBP|\$|¥|€|£|Y)?"
_AMOUNT = re.compile(
    r"(?<![0-9.,/-])"
    r"(?:(?P<neg>-|\()\s?)?" + _CURRENCY_PREFIX + r"(?:\s?(?P<neg2>-))?\s?"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d{1,3}(?:\.\d{3})+(?=,\d{2}(?!\d))|\d{1,7})"
    r"\s?(?P<sep>[.,])\s?(?P<dec>\d{2})"
    r"(?![\d%])(?!\s?%)(?![.,/:]\d)"
)
_TWO_PLACES = Decimal("0.01")
# A lone one- or two-letter token glued to an amount is a misread currency ("RH3.00", "fM0.00").
_MISREAD_PREFIX = re.compile(r"(?:^|[^A-Za-z0-9])[A-Za-z]{1,2}$")


class Amount(msgspec.Struct, frozen=True):
    value: Decimal
    start: int
    end: int
    currency_hint: str | None = None

    @property
    def text(self) -> str:
        return format_money(self.value)


def parse_money(text: str) -> Decimal | None:
    """The value of a money string such as `RM 34.80`, `$8.70`, `1,234.00` or `12,50`; None if none."""
    found = find_amounts(text)
    if not found:
        try:
            return Decimal(text.strip()).quantize(_TWO_PLACES)
        except (InvalidOperation, ValueError):
            return None
    return found[-1].value


def format_money(value: Decimal) -> str:
    return str(value.quantize(_TWO_PLACES))


def find_amounts(text: str) -> list[Amount]:
    """Every amount with exactly two decimals in `text`, left to right, with a currency hint if printed.

    Integers, percentages, times, dates and long codes are not amounts. A leading `-` or `(` makes
    the amount negative.
    """
    repaired = repair_digits(text)
    found: list[Amount] = []
    for match in _AMOUNT.finditer(repaired):
        integer = match.group("int")
        sep = match.group("sep")
        if sep == "," and "," in integer:
            continue  # "1,234,56" is not a money format
        lead = match.start()
        while repaired[lead].isspace():
            lead += 1
        before = repaired[lead - 1] if lead > 0 else " "
        if (
            not match.group("cur")
            and not match.group("neg")
            and before.isascii()
            and before.isalnum()
            and not _MISREAD_PREFIX.search(repaired[:lead])
        ):
            continue  # the tail of a code such as "ABC12.50"
        digits = integer.replace(",", "").replace(".", "")
        try:
            value = Decimal(f"{digits}.{match.group('dec')}")
        except InvalidOperation:
            continue
        if match.group("neg") or match.group("neg2"):
            value = -value
        found.append(Amount(value=value, start=lead, end=match.end(), currency_hint=match.group("cur")))
    return found
