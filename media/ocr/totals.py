"""Which amount is the total: keyword lines scored, then checked against payment, tax and rounding."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import product

import msgspec

from media.ocr.amounts import Amount
from media.ocr.candidates import Candidate
from media.ocr.lines import Kind, ReceiptLine, amount_confidence

_BASE = {Kind.TOTAL_FINAL: 0.6, Kind.TOTAL: 0.45}
_ZERO = Decimal("0.00")
_MAX_TOTAL = Decimal("1000000")
_DERIVED = 0.3
#: Added to a value that only arithmetic produced when it is also printed, without a total keyword,
#: on a line of the summary (the total line whose keyword OCR garbled, e.g. "otal Sales: 100.90").
_PRINTED = 0.1
_SUMMARY_KINDS = (Kind.SUBTOTAL, Kind.TOTAL, Kind.TOTAL_FINAL, Kind.ROUNDING, Kind.TENDERED, Kind.CHANGE)


class Money(msgspec.Struct, frozen=True):
    value: Decimal
    line: int
    confidence: float


def _line_amount(lines: Sequence[ReceiptLine], position: int) -> tuple[ReceiptLine, Amount] | None:
    """The amount a keyword line refers to: its last amount, else a bare amount on the next line."""
    line = lines[position]
    if line.amounts:
        return line, line.amounts[-1]
    if position + 1 < len(lines):
        following = lines[position + 1]
        if following.kind is Kind.OTHER and len(following.amounts) == 1:
            return following, following.amounts[0]
    return None


def collect(lines: Sequence[ReceiptLine], kind: Kind) -> list[Money]:
    found: list[Money] = []
    for position, line in enumerate(lines):
        if line.kind is not kind:
            continue
        hit = _line_amount(lines, position)
        if hit is None:
            continue
        source, amount = hit
        found.append(Money(amount.value, line.index, amount_confidence(source, amount)))
    return found


def total_candidates(lines: Sequence[ReceiptLine], *, item_sum: Decimal | None = None) -> list[Candidate]:
    """Candidates for the amount paid, best first, each with a score in [0, 1].

    A value starts from the keyword of the line it is printed on (a final total beats a plain one)
    and gains for every independent piece of arithmetic it satisfies: paid minus change, subtotal
    plus tax (with rounding and discount), a rounding step from an earlier total, the sum of the
    items. A value that only arithmetic produces (the total line was misread) is a candidate too,
    a little stronger when that value is printed on an unlabelled line of the summary.
    """
    base: dict[Decimal, float] = {}
    first_line: dict[Decimal, int] = {}
    last_line: dict[Decimal, int] = {}
    ocr_conf: dict[Decimal, float] = {}
    seen: dict[Decimal, int] = {}
    payment_start = min(
        (ln.index for ln in lines if ln.kind in (Kind.TENDERED, Kind.CHANGE) and ln.amounts), default=None
    )

    for kind, kind_score in _BASE.items():
        for money in collect(lines, kind):
            value = money.value
            if value <= _ZERO or value >= _MAX_TOTAL:
                continue
            score = kind_score
            if kind is Kind.TOTAL:
                if payment_start is not None and money.line > payment_start:
                    score -= 0.15  # a plain "Total" below the payment lines is usually a tax summary
                if len(lines[money.line].amounts) > 1:
                    score -= 0.15  # "Total: 28.00 1.68" is a row of a tax table
            base[value] = max(base.get(value, 0.0), score)
            seen[value] = seen.get(value, 0) + 1
            first_line.setdefault(value, money.line)
            last_line[value] = money.line
            ocr_conf[value] = max(ocr_conf.get(value, 0.0), money.confidence)

    tendered = collect(lines, Kind.TENDERED)
    change = collect(lines, Kind.CHANGE)
    subtotal = collect(lines, Kind.SUBTOTAL)
    tax = [m for m in collect(lines, Kind.TAX) if m.value >= _ZERO]
    rounding = [m for m in collect(lines, Kind.ROUNDING) if m.value != _ZERO]
    discount = [m for m in collect(lines, Kind.DISCOUNT) if m.value != _ZERO]
    relations: dict[Decimal, set[str]] = {}

    def relate(value: Decimal, relation: str, line: int, confidence: float) -> None:
        if value <= _ZERO or value >= _MAX_TOTAL:
            return
        relations.setdefault(value, set()).add(relation)
        if value not in base:
            base[value] = _DERIVED
            first_line[value] = last_line[value] = line
            ocr_conf[value] = confidence

    for paid in tendered:
        for back in change:
            if back.line > paid.line and paid.value > back.value >= _ZERO:
                relate(paid.value - back.value, "paid", back.line, min(paid.confidence, back.confidence))
    change_printed = any(line.kind is Kind.CHANGE for line in lines)
    if tendered and not change_printed:  # paid exactly only when no change line was printed at all
        for paid in tendered:
            relate(paid.value, "paid", paid.line, paid.confidence)
    extras = [
        [_ZERO, *(m.value for m in tax)],
        [_ZERO, *(abs(m.value) for m in rounding), *(-abs(m.value) for m in rounding)],
        [_ZERO, *(-abs(m.value) for m in discount)],
    ]
    for sub in subtotal:
        for tax_value, round_value, disc_value in product(*extras):
            added = tax_value + round_value + disc_value
            if added != _ZERO:
                relate(sub.value + added, "subtotal", sub.line, sub.confidence)
            elif sub.value in base:
                relations.setdefault(sub.value, set()).add("subtotal")
    for money in rounding:
        step = abs(money.value)
        for value in [v for v in base if v in seen]:
            for other in (value + step, value - step):
                if other in seen and last_line[other] > last_line[value]:
                    relations.setdefault(other, set()).add("rounding")
    if item_sum is not None and item_sum in base:
        relations.setdefault(item_sum, set()).add("items")

    printed = _unlabelled_summary_amounts(lines)
    scores: dict[Decimal, float] = {}
    for value, start in base.items():
        related = relations.get(value, set())
        if start == _DERIVED and not related:
            continue
        score = start + 0.2 * min(2, len(related)) + 0.05 * min(seen.get(value, 1) - 1, 2)
        if value not in seen and value in printed:
            score += _PRINTED
        scores[value] = score
    keyword_values = [v for v in scores if v in seen]
    if keyword_values:
        scores[max(keyword_values)] += 0.05

    if not scores:
        fallback = [
            (amount.value, line.index, amount_confidence(line, amount))
            for line in lines
            if line.kind in (Kind.OTHER, Kind.TENDERED)
            for amount in line.amounts
            if _ZERO < amount.value < _MAX_TOTAL
        ]
        if fallback:
            value, line_index, confidence = max(fallback, key=lambda f: f[0])
            scores[value] = 0.15
            first_line[value] = line_index
            ocr_conf[value] = confidence

    candidates = [
        Candidate(
            value=value,
            score=min(1.0, score) * (0.6 + 0.4 * ocr_conf.get(value, 1.0)),
            line=first_line.get(value, -1),
        )
        for value, score in scores.items()
    ]
    candidates.sort(key=lambda c: (-c.score, -c.line))
    return candidates


def _unlabelled_summary_amounts(lines: Sequence[ReceiptLine]) -> set[Decimal]:
    """Amounts on lines without a total, payment or adjustment keyword, from the first summary line on."""
    start = min((ln.index for ln in lines if ln.kind in _SUMMARY_KINDS and ln.amounts), default=None)
    if start is None:
        return set()
    return {
        amount.value
        for ln in lines
        if ln.index >= start and ln.kind in (Kind.OTHER, Kind.TAX)
        for amount in ln.amounts
    }
