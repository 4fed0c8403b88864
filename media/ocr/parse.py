"""Receipt fields from OCR lines: total, date, currency, tax, merchant, receipt number, line items.

Pure functions: input is text lines (with confidences when OCR gave them), output is fields with a
confidence in [0, 1]. Nothing here knows about images, files, HTTP or storage.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from media.ocr.amounts import format_money
from media.ocr.candidates import Candidate, best, vote
from media.ocr.dates import find_dates
from media.ocr.lines import Kind, ReceiptLine, annotate
from media.ocr.merchant import merchant_candidates
from media.ocr.text import lines_from_text, merge_rows
from media.ocr.totals import collect, total_candidates
from media.ocr.types import ExtractedField, LineItem, OcrLine, ParsedReceipt

__all__ = [
    "ReceiptCandidates",
    "combine",
    "currency_candidates",
    "date_candidates",
    "extract_candidates",
    "line_items",
    "parse_lines",
    "parse_text",
    "receipt_number_candidates",
    "tax_candidates",
]

_DATE_KEYWORD = re.compile(r"DATE|TARIKH|DATED|日期|开票|時間|时间")
_DATE_UNLIKELY = re.compile(r"EXP|VALID|BEFORE|BIRTH|EXPIRY|USE BY|DUE|有效期|截止")
_TIME = re.compile(r"\b\d{1,2}:\d{2}")

# Currency evidence: (pattern, ISO code, strength of one hit). Symbols count only next to an amount,
# so a stray OCR "£" in a logo is no evidence.
_CURRENCY_SIGNS: tuple[tuple[re.Pattern[str], str, float], ...] = (
    (re.compile(r"\bMYR\b|\bRM\s?-?\d|\(RM\)|RINGGIT|\bRM\b"), "MYR", 0.35),
    (re.compile(r"\bRMB\b|\bCNY\b|人民币"), "CNY", 0.35),
    (re.compile(r"¥\s?-?\d|\d\s?元"), "CNY", 0.3),
    (re.compile(r"(?<![A-Z])Y\s?\d+[.,]\d{2}"), "CNY", 0.15),  # tesseract's reading of ¥
    (re.compile(r"US\$|\bUSD\b"), "USD", 0.4),
    (re.compile(r"S\$|\bSGD\b"), "SGD", 0.4),
    (re.compile(r"HK\$|\bHKD\b"), "HKD", 0.4),
    (re.compile(r"\bEUR\b|€\s?-?\d|\d\s?€"), "EUR", 0.35),
    (re.compile(r"\bGBP\b|£\s?-?\d"), "GBP", 0.35),
    (re.compile(r"\bJPY\b|\d\s?円"), "JPY", 0.35),
    (re.compile(r"\bTHB\b|\bBAHT\b|฿\s?\d"), "THB", 0.35),
    (re.compile(r"\bIDR\b|\bRP\s?\d"), "IDR", 0.3),
    (re.compile(r"\bPHP\b|₱\s?\d"), "PHP", 0.35),
    (re.compile(r"\bINR\b|₹\s?\d"), "INR", 0.35),
    (re.compile(r"\bKRW\b|₩\s?\d"), "KRW", 0.35),
    (re.compile(r"\bVND\b|\d\s?₫"), "VND", 0.35),
)
_DOLLAR = re.compile(r"(?<![A-Z])\$\s?\d")
_DOLLAR_CURRENCIES = {"USD", "SGD", "HKD", "AUD", "CAD", "NZD", "TWD"}
_COUNTRY_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"SDN\.? ?BHD|MALAYSIA|SELANGOR|JOHOR|KUALA LUMPUR|PULAU PINANG|\bGST\b.*6\s?%|\bSST\b"),
        "MYR",
    ),
    (re.compile(r"有限公司|发票|增值税|税额|合计|中国"), "CNY"),
    (re.compile(r"SINGAPORE|PTE\.? LTD"), "SGD"),
)
_DEFAULT_WEIGHT = 0.3
_HINT_WEIGHT = 0.35
_MAX_HITS = 4

_RECEIPT_NUMBER = re.compile(
    r"(?:INVOICE|INV|RECEIPT|RCPT|BILL|DOC(?:UMENT)?|TRANS(?:ACTION)?|TXN|CHIT|SLIP|CHECK|CHK|ORDER|SALES?)"
    r"\s*(?:NO|NUMBER|NUM|#)\s*\.?\s*[:#.]?\s*(?P<num>[A-Z0-9][A-Z0-9\-/]{3,})|"
    r"(?:INVOICE|RECEIPT|BILL|CHIT)\s*[:#]\s*(?P<num2>[A-Z0-9][A-Z0-9\-/]{3,})|"
    r"(?:发票号码|票据号|单号|流水号|订单号|小票号|NO\.)\s*[:#]?\s*(?P<num3>[A-Z0-9][A-Z0-9\-/]{3,})"
)
_NOT_RECEIPT_NUMBER = re.compile(r"(?:GST|SST|TAX|VAT|CO\.?|COMPANY|REG|BUSINESS)\s*(?:REG|ID|NO|REF|#)")

_ITEM_HEADER = re.compile(r"\b(?:QTY|DESC(?:RIPTION)?|ITEM|PRICE|AMOUNT|AMT)\b|品名|数量|金额|单价")
_ITEM_QTY = re.compile(r"(?<![\d.])(?P<qty>\d{1,3})\s?(?:X|@|PCS|PC|UNITS?|\*)\s", re.IGNORECASE)


class ReceiptCandidates(msgspec.Struct):
    """Everything one OCR pass offers, before a value is chosen per field."""

    fields: dict[str, list[Candidate]]
    items: list[LineItem]
    items_confidence: float
    line_count: int
    mean_confidence: float


def _lines(lines: Sequence[OcrLine]) -> list[ReceiptLine]:
    return annotate(merge_rows(lines))


def date_candidates(
    lines: Sequence[ReceiptLine], *, day_first: bool = True, today: dt.date | None = None
) -> list[Candidate]:
    candidates: list[Candidate] = []
    first = True
    for line in lines:
        keyword = _DATE_KEYWORD.search(line.upper) is not None
        for found in find_dates(line.text, day_first=day_first, allow_compact=keyword, allow_misread=True):
            score = 0.55 * found.certainty
            if keyword:
                score += 0.25
            if _TIME.search(line.text):
                score += 0.1
            if _DATE_UNLIKELY.search(line.upper):
                score -= 0.35
            if first:
                score += 0.05
            if today is not None and not _plausible_age(found.value, today):
                score -= 0.2
            score *= 0.6 + 0.4 * line.confidence
            candidates.append(
                Candidate(value=found.value.isoformat(), score=max(0.01, min(1.0, score)), line=line.index)
            )
            first = False
    candidates.sort(key=lambda c: -c.score)
    return candidates


def _plausible_age(value: dt.date, today: dt.date) -> bool:
    return today - dt.timedelta(days=7300) <= value <= today + dt.timedelta(days=1)


def currency_candidates(lines: Sequence[ReceiptLine], *, default_currency: str) -> list[Candidate]:
    """ISO 4217 codes by the evidence on the receipt: codes and symbols next to amounts, country
    cues (SDN BHD, 有限公司, ...), and the tenant default; independent pieces of evidence add up."""
    text = "\n".join(line.upper for line in lines)
    evidence: dict[str, list[float]] = {default_currency: [_DEFAULT_WEIGHT]}
    for pattern, code, strength in _CURRENCY_SIGNS:
        hits = min(len(pattern.findall(text)), _MAX_HITS)
        evidence.setdefault(code, []).extend([strength] * hits)
    hinted = [code for pattern, code in _COUNTRY_HINTS if pattern.search(text)]
    for code in hinted:
        evidence.setdefault(code, []).append(_HINT_WEIGHT)
    dollars = min(len(_DOLLAR.findall(text)), _MAX_HITS)
    if dollars:
        if default_currency in _DOLLAR_CURRENCIES:
            dollar_code = default_currency
        else:
            dollar_code = hinted[0] if hinted else "USD"
        evidence.setdefault(dollar_code, []).extend([0.25] * dollars)
    candidates = []
    for code, strengths in evidence.items():
        if not strengths:
            continue
        doubt = 1.0
        for strength in strengths:
            doubt *= 1.0 - strength
        candidates.append(Candidate(value=code, score=round(min(0.95, 1.0 - doubt), 3)))
    candidates.sort(key=lambda c: (-c.score, c.value != default_currency))
    return candidates


def tax_candidates(lines: Sequence[ReceiptLine], total: Decimal | None) -> list[Candidate]:
    """Tax amounts (GST / SST / VAT / 税额), scored higher when plausible against the total."""
    candidates: dict[Decimal, Candidate] = {}
    for money in collect(lines, Kind.TAX):
        value = abs(money.value)
        line = lines[money.line]
        if re.search(r"\bSR\b|SUMMARY", line.upper) and len(line.amounts) > 1:
            value = abs(line.amounts[-1].value)
        score = 0.55
        if total is not None and total > 0:
            if value >= total:
                continue
            base = total - value
            rate = value / base if base > 0 else Decimal(0)
            if Decimal("0.004") <= rate <= Decimal("0.30"):
                score += 0.25
        elif value == 0:
            score -= 0.1
        score *= 0.6 + 0.4 * money.confidence
        if value not in candidates or candidates[value].score < score:
            candidates[value] = Candidate(value=format_money(value), score=min(1.0, score), line=money.line)
    return sorted(candidates.values(), key=lambda c: -c.score)


def _normal_number(raw: str) -> str:
    return raw.strip("-/.:")


def receipt_number_candidates(lines: Sequence[ReceiptLine]) -> list[Candidate]:
    candidates: list[Candidate] = []
    for line in lines:
        if _NOT_RECEIPT_NUMBER.search(line.upper):
            continue
        for match in _RECEIPT_NUMBER.finditer(line.upper):
            raw = match.group("num") or match.group("num2") or match.group("num3") or ""
            start = (
                match.start("num")
                if match.group("num")
                else (match.start("num2") if match.group("num2") else match.start("num3"))
            )
            number = _normal_number(line.text[start : start + len(raw)].upper())
            if sum(ch.isdigit() for ch in number) < 3:
                continue
            score = 0.75 * (0.6 + 0.4 * line.confidence)
            candidates.append(Candidate(value=number, score=score, line=line.index))
    candidates.sort(key=lambda c: -c.score)
    return candidates


def line_items(lines: Sequence[ReceiptLine]) -> tuple[list[LineItem], float]:
    """Purchased lines (text with an amount above the first total-like line) and a confidence.

    The confidence is high only when the items check themselves: quantity x unit price equals the
    amount on every item and no other amount line in that region was left out.
    """
    end = next(
        (
            ln.index
            for ln in lines
            if ln.kind in (Kind.TOTAL_FINAL, Kind.TOTAL, Kind.SUBTOTAL, Kind.COUNT, Kind.TENDERED)
            and (ln.amounts or ln.kind is Kind.COUNT)
        ),
        None,
    )
    if end is None:
        return [], 0.0
    start = max(
        (ln.index + 1 for ln in lines[:end] if _ITEM_HEADER.search(ln.upper) or find_dates(ln.text)),
        default=0,
    )
    items: list[LineItem] = []
    verified = skipped = 0
    recent: list[str] = []  # text lines without amounts just above, nearest last
    for line in lines[start:end]:
        if line.kind is not Kind.OTHER or not line.amounts or find_dates(line.text):
            recent = [*recent, line.text][-2:] if not line.amounts and line.kind is Kind.OTHER else []
            continue
        first = line.amounts[0]
        description = line.text[: first.start].strip(" :.-*")
        qty_match = _ITEM_QTY.search(line.text[: first.start + 1] + " ")
        quantity = qty_match.group("qty") if qty_match else None
        if qty_match:
            description = description[: qty_match.start()].strip(" :.-*")
        if _letters(description) < 3 and recent:
            wordy = [text for text in reversed(recent) if _letter_share(text) >= 0.5 and _letters(text) >= 3]
            description = (wordy[0] if wordy else recent[-1]).strip()
        recent = []
        if _letters(description) < 2:
            skipped += 1
            continue
        amount = line.amounts[-1].value
        unit = first.value if len(line.amounts) > 1 else None
        count = Decimal(quantity) if quantity else Decimal(1)
        if amount > 0 and unit is not None and abs(count * unit - amount) <= Decimal("0.01"):
            verified += 1
        items.append(
            LineItem(
                description=description,
                amount=format_money(amount),
                quantity=quantity,
                unit_price=format_money(unit) if unit is not None else None,
            )
        )
    if not items:
        return [], 0.0
    share = verified / len(items)
    coverage = len(items) / (len(items) + skipped)
    return items, round(0.2 + 0.7 * share * coverage, 3)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _letter_share(text: str) -> float:
    compact = text.replace(" ", "")
    return _letters(compact) / len(compact) if compact else 0.0


def extract_candidates(
    lines: Sequence[OcrLine], *, default_currency: str, day_first: bool = True, today: dt.date | None = None
) -> ReceiptCandidates:
    """Candidates for every field from one OCR pass (or one ground-truth transcription)."""
    annotated = _lines(lines)
    items, items_confidence = line_items(annotated)
    item_sum = (
        sum((Decimal(item.amount) for item in items), Decimal("0.00")) if items_confidence >= 0.7 else None
    )
    totals = total_candidates(annotated, item_sum=item_sum)
    top_total = totals[0].value if totals else None
    fields: dict[str, list[Candidate]] = {
        "total": [Candidate(value=format_money(c.value), score=c.score, line=c.line) for c in totals],
        "date": date_candidates(annotated, day_first=day_first, today=today),
        "currency": currency_candidates(annotated, default_currency=default_currency),
        "tax": tax_candidates(annotated, top_total),
        "merchant": merchant_candidates(annotated),
        "receipt_number": receipt_number_candidates(annotated),
    }
    for name, kind in (("subtotal", Kind.SUBTOTAL), ("rounding", Kind.ROUNDING), ("discount", Kind.DISCOUNT)):
        found = collect(annotated, kind)
        if found:
            money = found[-1]
            fields[name] = [
                Candidate(
                    value=format_money(money.value),
                    score=0.6 * (0.6 + 0.4 * money.confidence),
                    line=money.line,
                )
            ]
    confidences = [ln.confidence for ln in annotated]
    return ReceiptCandidates(
        fields=fields,
        items=items,
        items_confidence=items_confidence,
        line_count=len(annotated),
        mean_confidence=sum(confidences) / len(confidences) if confidences else 0.0,
    )


_FUZZY_FIELDS = {"merchant"}
_CHECKED_ITEMS = 0.7  # items confidence from which their sum counts as evidence for the total


def combine(passes: Sequence[ReceiptCandidates]) -> ParsedReceipt:
    """One value per field from one or more passes (a weighted vote when there are several)."""
    parsed = ParsedReceipt()
    names: list[str] = []
    for candidates in passes:
        for name in candidates.fields:
            if name not in names:
                names.append(name)
    for name in names:
        per_pass = [c.fields.get(name, []) for c in passes]
        chosen = vote(per_pass, fuzzy=name in _FUZZY_FIELDS) if len(passes) > 1 else best(per_pass[0])
        if chosen is not None:
            parsed.fields[name] = ExtractedField(value=chosen.value, confidence=round(chosen.score, 3))
    items_pass = max(passes, key=lambda c: (c.items_confidence, c.mean_confidence), default=None)
    if items_pass is not None and items_pass.items:
        parsed.fields["items"] = ExtractedField(
            value=[msgspec.to_builtins(item) for item in items_pass.items],
            confidence=round(items_pass.items_confidence * (0.5 + 0.5 * items_pass.mean_confidence), 3),
        )
    return parsed


def parse_lines(
    lines: Sequence[OcrLine], *, default_currency: str, day_first: bool = True, today: dt.date | None = None
) -> ParsedReceipt:
    """Fields of one receipt from its text lines (boxes, when given, are used to rebuild rows)."""
    return combine(
        [extract_candidates(lines, default_currency=default_currency, day_first=day_first, today=today)]
    )


def parse_text(
    text: str, *, default_currency: str, day_first: bool = True, today: dt.date | None = None
) -> ParsedReceipt:
    """Fields of one receipt from plain text, one printed line per text line."""
    return parse_lines(
        lines_from_text(text), default_currency=default_currency, day_first=day_first, today=today
    )
