"""What a receipt's OCR result does to its expense, as plain functions (no I/O, no HTTP).

- :func:`fields_to_fill`: the expense fields the server fills from the extraction — only those the
  rep left empty, only values the expense schema accepts, only with some confidence.
- :func:`effective_record`: the receipt as the flags should judge it (the rep's values first).
- :func:`review_flags`: ``expense.flags`` for the receipt, against the tenant's other expenses.
- :func:`gave_up_flags`: the flags of an expense whose receipt could not be processed at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from media.ocr.categorize import DEFAULT_RULES, CategoryRules
from media.ocr.flags import Flag, FlagPolicy, ReceiptRecord, compute_flags, duplicate_flag
from media.ocr.types import ReceiptExtraction

#: Expense fields the extraction may fill, in the order they are considered.
FILLABLE = ("merchant", "date", "total", "tax", "currency", "category_code")
#: A value read with less confidence than this stays in ``extraction`` only.
MIN_FILL_CONFIDENCE = 0.2
#: Statuses whose expenses do not count against a daily limit.
NOT_SPENT = frozenset({"rejected"})
MERCHANT_MAX = 300


@dataclass(frozen=True)
class Category:
    """A tenant's expense category as the flags need it."""

    code: str
    daily_limit: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class OtherExpense:
    """Another expense of the tenant, as a receipt record plus whose it is and where it stands."""

    record: ReceiptRecord
    rep_id: Any
    status: str


def category_rules(keywords: Mapping[str, Sequence[str]]) -> CategoryRules:
    """The tenant's keyword rules on top of the built-in ones (``category_keywords`` setting)."""
    if not keywords:
        return DEFAULT_RULES
    return CategoryRules.from_mapping(keywords, extend=DEFAULT_RULES)


def _valid(name: str, value: Any) -> Any:
    """The value in the expense's column form, or None when the expense schema would refuse it."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if name == "merchant":
        return text[:MERCHANT_MAX]
    if name == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    if name in {"total", "tax"}:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return None
        if amount < 0 or amount >= Decimal("1e12"):
            return None
        return f"{amount.quantize(Decimal('0.01'))}"
    if name == "currency":
        return text if len(text) == 3 and text.isascii() and text.isalpha() and text.isupper() else None
    return text[:64]


def fields_to_fill(
    current: Mapping[str, Any],
    extraction: ReceiptExtraction,
    *,
    category_codes: Collection[str] | None = None,
    fallback_category: str = "other",
) -> dict[str, Any]:
    """Expense fields to set from the extraction: empty ones only, nothing from an unreadable receipt.

    ``category_codes`` are the tenant's categories: a suggestion outside them becomes
    ``fallback_category`` when the tenant has it, and is left out otherwise.
    """
    if extraction.unreadable:
        return {}
    out: dict[str, Any] = {}
    for name in FILLABLE:
        if current.get(name) not in (None, ""):
            continue
        found = extraction.fields.get(name)
        if found is None or found.confidence < MIN_FILL_CONFIDENCE:
            continue
        value = _valid(name, found.value)
        if name == "category_code" and category_codes and value not in category_codes:
            value = fallback_category if fallback_category in category_codes else None
        if value is not None:
            out[name] = value
    return out


def effective_record(
    extraction: ReceiptExtraction,
    values: Mapping[str, Any],
    *,
    expense_id: str,
    sha256: str | None,
    phash: str | None,
) -> ReceiptRecord:
    """The receipt for the flags: the expense's own values (the rep's or the ones just filled),
    the extraction's for everything else (line items, subtotal, receipt number)."""
    record = ReceiptRecord.from_extraction(extraction, id=expense_id, sha256=sha256, phash=phash)
    overrides = {name: values[name] for name in FILLABLE if values.get(name) not in (None, "")}
    return msgspec.structs.replace(record, **{k: str(v) for k, v in overrides.items()})


def flag_policy(category: Category | None, *, stale_after_days: int, default_currency: str) -> FlagPolicy:
    """The tenant's policy for one receipt: its category's daily limit, the stale-receipt age."""
    limits: dict[str, str] = {}
    currency = None
    if category is not None and category.daily_limit is not None:
        limits[category.code] = category.daily_limit
        currency = category.currency or default_currency
    return FlagPolicy(daily_limits=limits, limit_currency=currency, stale_after_days=stale_after_days)


def already_spent(new: ReceiptRecord, others: Sequence[OtherExpense], policy: FlagPolicy) -> str | None:
    """What the same rep already spent in the receipt's category on its day (the receipt's own
    duplicates and rejected expenses left out); None when no limit applies."""
    code = new.category_code
    if code is None or new.date is None or code not in policy.daily_limits:
        return None
    spent = Decimal("0.00")
    for other in others:
        old = other.record
        if old.category_code != code or old.date != new.date or other.status in NOT_SPENT:
            continue
        if policy.limit_currency and old.currency and old.currency != policy.limit_currency:
            continue
        if duplicate_flag(new, [old], policy) is not None:
            continue
        try:
            spent += Decimal(str(old.total or "0"))
        except InvalidOperation:
            continue
    return f"{spent.quantize(Decimal('0.01'))}"


def review_flags(
    new: ReceiptRecord,
    *,
    rep_id: Any,
    others: Sequence[OtherExpense],
    policy: FlagPolicy,
    today: dt.date,
) -> list[dict[str, Any]]:
    """``expense.flags``: duplicates among all the tenant's other expenses, the daily limit over
    the rep's own expenses that day, stale or future dates, unreadable, items that miss the total."""
    mine = [o for o in others if o.rep_id == rep_id]
    flags = compute_flags(
        new,
        today=today,
        prior=[o.record for o in others],
        policy=policy,
        already_spent=already_spent(new, mine, policy),
    )
    return [flag.to_dict() for flag in flags]


def gave_up_flags(existing: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The expense's flags plus ``unreadable`` (once) when its receipt could not be processed."""
    flags = [dict(f) for f in existing if f.get("code") != "unreadable"]
    flag = Flag(
        "unreadable",
        "the receipt could not be processed; enter the fields by hand",
        {"reason": "processing_failed"},
    )
    return [flag.to_dict(), *flags]
