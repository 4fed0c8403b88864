"""Receipt lines annotated with what they are about (total, tax, cash, change, ...) and their amounts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

import msgspec

from media.ocr.amounts import Amount, find_amounts
from media.ocr.text import fix_keywords, normalize, repair_digits
from media.ocr.types import OcrLine


class Kind(StrEnum):
    TOTAL_FINAL = "total_final"  # grand / nett / rounded / inclusive total, 合计, 实付
    TOTAL = "total"
    SUBTOTAL = "subtotal"
    TAX = "tax"
    ROUNDING = "rounding"
    DISCOUNT = "discount"
    TENDERED = "tendered"  # cash / card handed over
    CHANGE = "change"
    COUNT = "count"  # item or quantity counts
    OTHER = "other"


_T = r"T\s?[O0Q]\s?T\s?A\s?[L1I|]"
_RE_COUNT = re.compile(
    rf"{_T}\s*(?:QTY|QUANTITY|ITEMS?|PCS|UNITS?|NO\.? OF)|ITEM\s?\(?S\)?\s*[:=]|QTY\s?\(?S\)?\s*[:=]|"
    r"NO\.? OF (?:ITEMS?|QTY)|件数|数量合计"
)
_RE_TAX_INCLUDED = re.compile(
    r"(?:GST|SST|VAT|TAX)\b[^0-9]{0,30}INCLUDED|INCLUDED IN (?:THE )?"
    + _T
    + r"|INCL(?:UDED|\.)? (?:GST|SST|VAT|TAX)\s*[:=]?\s*$"
)
# "Bill inclusive of 6% GST: 2.90" states the tax inside the total; with TOTAL on the line it is the total.
_RE_INCLUSIVE_OF_TAX = re.compile(r"INCL(?:USIVE|UDING|\.)?\s*(?:OF\s*)?(?:\d+\s?%\s*)?(?:GST|SST|VAT|TAX)")
_RE_SUBTOTAL = re.compile(
    rf"SUB\s?-?\s?{_T}|S/{_T}|小计|小計|{_T}\s*(?:SALES\s*|AMOUNT\s*|AMT\s*)?\(?\s*EXC|EXCL(?:UDING|\.)?\s*(?:GST|SST|TAX|VAT)|"
    rf"BEFORE\s*(?:GST|SST|TAX)|{_T}\s*(?:SALES\s*)?(?:BEFORE|W/?O)|不含税|金额合计"
)
_RE_FINAL = re.compile(
    rf"GRAND\s?{_T}|{_T}\s*ROUND|ROUNDED\s*{_T}|N[EF]TT?\s*{_T}|FINAL\s*{_T}|"
    rf"{_T}\s*(?:AMOUNT\s*|AMT\s*)?(?:DUE|PAYABLE|TO PAY)|AMOUNT\s*DUE|BALANCE\s*DUE|"
    rf"{_T}\s*(?:SALES\s*|AMOUNT\s*|AMT\s*)?\(?\s*INC|{_T}.*INCL|"
    rf"{_T}\s*(?:AMOUNT|AMT|RM|MYR|PAYMENT)\b|{_T}\s*:?\s*(?:RM|MYR)|JUMLAH|N[EF]TT?\s*(?:AMOUNT|AMT)|"
    r"AMOUNT\s*PAYABLE|"
    r"价税合计|实付|应付|应收|实收金额|合计|合計|总计|總計|总额|總額|TOTAL\s*\(?RMB"
)
_RE_CHANGE = re.compile(r"\bCHANGE\b|CHANGE\s*DUE|\bBAKI\b|找零|找赎|找續|找补")
_RE_TENDERED = re.compile(
    r"\bCASH\b|TENDER|\bPAID\b|PAYMENT|\bVISA\b|\bMASTER\b|MASTER\s?CARD|\bAMEX\b|CREDIT|DEBIT|\bCARD\b|"
    r"E-?WALLET|\bTUNAI\b|BAYARAN|"
    r"BOOST|GRAB\s?PAY|TOUCH\s?N\s?GO|TNG|现金|收款|实收|支付宝|微信|刷卡|银行卡"
)
_RE_ROUNDING = re.compile(
    r"ROUND(?:ING)?\b|ROUNDING|RND\s*ADJ|\bADJ(?:USTMENT)?\b|PEMBUNDARAN|舍入|抹零|尾差"
)
_RE_DISCOUNT = re.compile(r"DISC(?:OUNT)?|SAVINGS?\b|VOUCHER|COUPON|PROMO|DISKAUN|POTONGAN|优惠|折扣|减免")
_RE_TAX = re.compile(
    r"GST\b|\bSST\b|\bVAT\b|\bTAX\b|\bCUKAI\b|SERVICE\s*(?:CHARGE|TAX)|税额|税金|税 ?额|稅額"
)
_RE_TOTAL = re.compile(rf"{_T}|AMOUNT\s*:|\bAMT\b|\bSUM\b|总|合计")
_RE_TAX_ID = re.compile(
    r"(?:GST|SST|TAX|VAT)\s*(?:REG|ID|NO|REF|#)|税号|纳税人识别号|COMPANY\s*(?:REG|NO)|CO\.?\s*REG"
)


class ReceiptLine(msgspec.Struct, frozen=True):
    index: int
    text: str  # normalised text
    upper: str
    kind: Kind
    amounts: tuple[Amount, ...]
    confidence: float
    source: OcrLine

    @property
    def last_amount(self) -> Amount | None:
        return self.amounts[-1] if self.amounts else None


def classify(upper: str) -> Kind:
    """What a (normalised, upper-case) receipt line is about, judged from its keywords."""
    if _RE_COUNT.search(upper):
        return Kind.COUNT
    if _RE_TAX_INCLUDED.search(upper):
        return Kind.TAX
    if _RE_INCLUSIVE_OF_TAX.search(upper) and not re.search(_T, upper):
        return Kind.TAX
    if _RE_SUBTOTAL.search(upper):
        return Kind.SUBTOTAL
    if _RE_FINAL.search(upper) and not _RE_TAX_ID.search(upper):
        if _RE_ROUNDING.search(upper) and not re.search(rf"{_T}\s*ROUND|ROUNDED", upper):
            return Kind.ROUNDING
        return Kind.TOTAL_FINAL
    if _RE_CHANGE.search(upper):
        return Kind.CHANGE
    if _RE_TENDERED.search(upper):
        return Kind.TENDERED
    if _RE_ROUNDING.search(upper):
        return Kind.ROUNDING
    if _RE_DISCOUNT.search(upper):
        return Kind.DISCOUNT
    if _RE_TAX.search(upper):
        return Kind.TAX
    if _RE_TOTAL.search(upper):
        return Kind.TOTAL
    return Kind.OTHER


def annotate(lines: Sequence[OcrLine]) -> list[ReceiptLine]:
    """Normalise each line, classify it and find its amounts (percentages and tax ids excluded)."""
    result: list[ReceiptLine] = []
    for line in lines:
        text = normalize(line.text)
        if not text:
            continue
        upper = fix_keywords(text.upper())
        kind = classify(upper)
        amounts = tuple(find_amounts(text))
        if not amounts and kind not in (Kind.OTHER, Kind.COUNT):
            amounts = _amount_without_point(text)
        result.append(
            ReceiptLine(
                index=len(result),
                text=text,
                upper=upper,
                kind=kind,
                amounts=amounts,
                confidence=line.confidence,
                source=line,
            )
        )
    return result


_SPLIT_AMOUNT = re.compile(r"(?<![\d.,])(?P<int>\d{1,5})\s(?P<dec>\d{2})\W{0,3}$")


def _amount_without_point(text: str) -> tuple[Amount, ...]:
    """`Sub Total 10 94`: OCR lost the decimal point of the amount that ends a keyword line."""
    repaired = repair_digits(text)
    match = _SPLIT_AMOUNT.search(repaired)
    if match is None:
        return ()
    value = Decimal(f"{int(match['int'])}.{match['dec']}")
    return (Amount(value=value, start=match.start(), end=match.end(), currency_hint=None),)


def amount_confidence(line: ReceiptLine, amount: Amount) -> float:
    """OCR confidence of the characters an amount came from (the line's mean when words are unknown)."""
    words = line.source.words
    if not words:
        return line.confidence
    target = amount.text.replace(".", "")
    hits = [
        w.confidence
        for w in words
        if any(ch.isdigit() for ch in w.text) and target[-3:] in re.sub(r"\D", "", w.text)
    ]
    if not hits:
        return line.confidence
    return min(hits)
