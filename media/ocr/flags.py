"""Review flags for an extracted receipt, computed from plain data only.

The worker passes the new receipt as a `ReceiptRecord`, the records of earlier receipts to compare
with, the tenant's policy and `today` in the tenant's time zone; the result is a list of
`{code, detail}` for `expense.flags`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from media.ocr.hashes import phash_distance
from media.ocr.types import ReceiptExtraction

FLAG_CODES = (
    "duplicate_suspect",
    "over_limit",
    "stale_receipt",
    "date_in_future",
    "unreadable",
    "total_mismatch",
)


class Flag(msgspec.Struct, frozen=True):
    code: str
    detail: str
    evidence: dict[str, Any] = msgspec.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """`{code, detail}` as in `expense.flags` (evidence included when there is any)."""
        out: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.evidence:
            out["evidence"] = self.evidence
        return out


class ReceiptRecord(msgspec.Struct, frozen=True):
    """What flags need to know about one receipt (new or earlier); money as decimal strings."""

    id: str | None = None
    sha256: str | None = None
    phash: str | None = None
    merchant: str | None = None
    date: str | None = None  # ISO date
    total: str | None = None
    currency: str | None = None
    receipt_number: str | None = None
    category_code: str | None = None
    tax: str | None = None
    subtotal: str | None = None
    rounding: str | None = None
    discount: str | None = None
    item_amounts: tuple[str, ...] = ()
    items_confidence: float = 0.0  # 1.0 for items a person entered
    unreadable: bool = False
    unreadable_reason: str | None = None

    @classmethod
    def from_extraction(
        cls,
        extraction: ReceiptExtraction,
        *,
        id: str | None = None,
        sha256: str | None = None,
        phash: str | None = None,
    ) -> ReceiptRecord:
        def text(name: str) -> str | None:
            value = extraction.value(name)
            return None if value is None else str(value)

        items = extraction.value("items") or []
        items_field = extraction.fields.get("items")
        return cls(
            id=id,
            sha256=sha256,
            phash=phash,
            merchant=text("merchant"),
            date=text("date"),
            total=text("total"),
            currency=text("currency"),
            receipt_number=text("receipt_number"),
            category_code=text("category_code"),
            tax=text("tax"),
            subtotal=text("subtotal"),
            rounding=text("rounding"),
            discount=text("discount"),
            item_amounts=tuple(
                str(item["amount"]) for item in items if isinstance(item, dict) and "amount" in item
            ),
            items_confidence=items_field.confidence if items_field is not None else 0.0,
            unreadable=extraction.unreadable,
            unreadable_reason=extraction.reason,
        )


class FlagPolicy(msgspec.Struct, frozen=True):
    """Tenant settings the flags depend on."""

    daily_limits: Mapping[str, str] = msgspec.field(default_factory=dict)  # category code -> amount
    limit_currency: str | None = None  # limits apply to receipts in this currency (None: any)
    stale_after_days: int = 90
    future_tolerance_days: int = 0
    near_image_distance: int = 10  # pHash bits: "looks like the same picture" when the total agrees too
    similar_scan_distance: int = 20  # pHash bits: "could be the same paper" when date and total agree
    merchant_similarity: float = 0.85
    loose_merchant_similarity: float = 0.6
    total_tolerance: str = "0.05"  # money: items may differ from the total by rounding only
    min_items_confidence: float = 0.7  # OCR'd items that do not check themselves are not compared


_LEGAL_NOISE = re.compile(r"\b(SDN|BHD|BERHAD|S/B|PLT|CO|COMPANY|LTD|LIMITED|INC|LLC|THE|M)\b|有限公司|公司")
_NAME_LOOKALIKE = str.maketrans(
    {"0": "O", "D": "O", "Q": "O", "1": "I", "L": "I", "T": "I", "5": "S", "8": "B"}
)
_LOOKALIKE = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
)


def _money(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value).replace(",", "")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def normalize_merchant(name: str) -> str:
    """Upper case without legal suffixes or punctuation, OCR look-alikes unified (`D.I.Y.` ~ `O.T.¥.`)."""
    upper = name.upper().replace("¥", "Y")
    upper = _LEGAL_NOISE.sub(" ", re.sub(r"[^\w\s/]", " ", upper))
    return re.sub(r"\s+", " ", upper).strip().translate(_NAME_LOOKALIKE)


def normalize_receipt_number(number: str) -> str:
    """Upper-case alphanumerics with OCR look-alikes unified (`RO00118085` == `R000118085`)."""
    return re.sub(r"[^A-Z0-9]", "", number.upper()).translate(_LOOKALIKE)


def same_merchant(a: str | None, b: str | None, threshold: float = 0.85) -> bool:
    if not a or not b:
        return False
    left, right = normalize_merchant(a), normalize_merchant(b)
    if not left or not right:
        return False
    return left == right or difflib.SequenceMatcher(None, left, right).ratio() >= threshold


def _duplicate_reason(new: ReceiptRecord, old: ReceiptRecord, policy: FlagPolicy) -> str | None:
    if new.sha256 and old.sha256 and new.sha256 == old.sha256:
        return "same_file"
    distance = phash_distance(new.phash, old.phash) if new.phash and old.phash else None
    numbers_known = bool(new.receipt_number and old.receipt_number)
    if numbers_known:
        assert new.receipt_number is not None
        assert old.receipt_number is not None
        if normalize_receipt_number(new.receipt_number) != normalize_receipt_number(old.receipt_number):
            return None  # two printed receipt numbers that differ: different purchases
    merchant = same_merchant(new.merchant, old.merchant, policy.merchant_similarity)
    date = new.date is not None and new.date == old.date
    total = _money(new.total) is not None and _money(new.total) == _money(old.total)
    currency = not (new.currency and old.currency) or new.currency == old.currency
    if numbers_known and (merchant or date or total):
        return "same_receipt_number"
    if merchant and date and total and currency:
        return "same_merchant_date_total"
    if distance is not None and distance <= policy.near_image_distance and total and (date or merchant):
        return "similar_image_same_fields"
    if date and total and currency:
        # A second scan of one receipt reads the shop name differently; shape or a looser name match decides.
        looks_alike = distance is not None and distance <= policy.similar_scan_distance
        if looks_alike or same_merchant(new.merchant, old.merchant, policy.loose_merchant_similarity):
            return "same_date_total_similar_receipt"
    return None


def duplicate_flag(new: ReceiptRecord, prior: Sequence[ReceiptRecord], policy: FlagPolicy) -> Flag | None:
    matches = []
    for old in prior:
        if old.id is not None and old.id == new.id:
            continue
        reason = _duplicate_reason(new, old, policy)
        if reason is not None:
            matches.append({"id": old.id, "reason": reason})
    if not matches:
        return None
    first = matches[0]
    detail = f"looks like receipt {first['id']} ({first['reason'].replace('_', ' ')})"
    if len(matches) > 1:
        detail += f" and {len(matches) - 1} more"
    return Flag("duplicate_suspect", detail, {"matches": matches})


def over_limit_flag(
    new: ReceiptRecord, prior: Sequence[ReceiptRecord], policy: FlagPolicy, already_spent: str | None
) -> Flag | None:
    code = new.category_code
    total = _money(new.total)
    if code is None or total is None or code not in policy.daily_limits:
        return None
    if policy.limit_currency and new.currency and new.currency != policy.limit_currency:
        return None
    limit = _money(policy.daily_limits[code])
    if limit is None:
        return None
    if already_spent is not None:
        spent = _money(already_spent) or Decimal("0.00")
    else:
        spent = Decimal("0.00")
        for old in prior:
            if old.id is not None and old.id == new.id:
                continue
            if old.category_code != code or old.date != new.date or old.date is None:
                continue
            if policy.limit_currency and old.currency and old.currency != policy.limit_currency:
                continue
            if _duplicate_reason(new, old, policy) is not None:
                continue  # the same receipt again must not count twice
            spent += _money(old.total) or Decimal("0.00")
    if spent + total <= limit:
        return None
    return Flag(
        "over_limit",
        f"{code} on {new.date}: {spent + total} spent against a daily limit of {limit}",
        {"category_code": code, "limit": str(limit), "already_spent": str(spent), "total": str(total)},
    )


def date_flags(new: ReceiptRecord, today: dt.date, policy: FlagPolicy) -> list[Flag]:
    date = _date(new.date)
    if date is None:
        return []
    if date > today + dt.timedelta(days=policy.future_tolerance_days):
        return [
            Flag(
                "date_in_future",
                f"receipt date {date} is after today ({today})",
                {"date": date.isoformat(), "today": today.isoformat()},
            )
        ]
    age = (today - date).days
    if age > policy.stale_after_days:
        return [
            Flag(
                "stale_receipt",
                f"receipt is {age} days old (limit {policy.stale_after_days})",
                {"age_days": age, "limit_days": policy.stale_after_days},
            )
        ]
    return []


def total_mismatch_flag(new: ReceiptRecord, policy: FlagPolicy) -> Flag | None:
    """Line items that add up to none of: the total, the subtotal, the total before tax/rounding/discount."""
    total = _money(new.total)
    amounts = [a for a in (_money(x) for x in new.item_amounts) if a is not None]
    if total is None or not amounts or new.items_confidence < policy.min_items_confidence:
        return None
    items = sum(amounts, Decimal("0.00"))
    tolerance = _money(policy.total_tolerance) or Decimal("0.05")
    tax = _money(new.tax) or Decimal("0")
    rounding = abs(_money(new.rounding) or Decimal("0"))
    discount = abs(_money(new.discount) or Decimal("0"))
    targets = {total, total - tax}
    for base in list(targets):
        targets |= {
            base + rounding,
            base - rounding,
            base + discount,
            base + discount - rounding,
            base + discount + rounding,
        }
    subtotal = _money(new.subtotal)
    if subtotal is not None:
        targets.add(subtotal)
    if any(abs(items - target) <= tolerance for target in targets):
        return None
    return Flag(
        "total_mismatch",
        f"line items add up to {items}, the total is {total}",
        {"items_sum": str(items), "total": str(total)},
    )


def compute_flags(
    new: ReceiptRecord,
    *,
    today: dt.date,
    prior: Sequence[ReceiptRecord] = (),
    policy: FlagPolicy | None = None,
    already_spent: str | None = None,
) -> list[Flag]:
    """All flags for `new`. `already_spent` (same category, same day) overrides the sum over `prior`."""
    active = policy or FlagPolicy()
    flags: list[Flag] = []
    if new.unreadable:
        flags.append(
            Flag(
                "unreadable",
                f"nothing sensible was read ({new.unreadable_reason or 'unknown'})",
                {"reason": new.unreadable_reason},
            )
        )
    duplicate = duplicate_flag(new, prior, active)
    if duplicate is not None:
        flags.append(duplicate)
    limit = over_limit_flag(new, prior, active, already_spent)
    if limit is not None:
        flags.append(limit)
    flags.extend(date_flags(new, today, active))
    mismatch = total_mismatch_flag(new, active)
    if mismatch is not None:
        flags.append(mismatch)
    return flags
