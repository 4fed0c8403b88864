"""The finance export of approved expenses as CSV: the window, the rows and the encoding (pure).

- Days are calendar days in the tenant's time zone; an expense belongs to the day it was approved.
- UTF-8 with a byte-order mark so spreadsheet programs show Chinese merchant names correctly;
  RFC 4180 quoting (``csv`` module), CRLF line ends.
- Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is prefixed
  with ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.lib.clock import parse_rfc3339
from api.lib.errors import ValidationFailed, field_error

COLUMNS = (
    "expense_id",
    "rep_name",
    "rep_email",
    "date",
    "merchant",
    "category",
    "total",
    "tax",
    "currency",
    "approved_by",
    "approved_at",
    "flags",
    "receipt_media_id",
)
EXPORTABLE_STATUSES = ("approved",)
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Window:
    """Approval times from ``start`` (inclusive) to ``end`` (exclusive), UTC; None = open."""

    start: dt.datetime | None
    end: dt.datetime | None

    def contains(self, at: dt.datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def _day(value: str | None, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{name} must be a calendar date YYYY-MM-DD",
            errors=[field_error(name, "invalid", "expected YYYY-MM-DD")],
        ) from None


def export_window(date_from: str | None, date_to: str | None, timezone: str) -> Window:
    """``from``/``to`` (inclusive calendar days in ``timezone``) as a UTC window.

    Raises :class:`ValidationFailed` for malformed dates or ``from`` after ``to``.
    """
    first, last = _day(date_from, "from"), _day(date_to, "to")
    if first is not None and last is not None and first > last:
        raise ValidationFailed(
            "from must not be after to", errors=[field_error("from", "invalid", "from is after to")]
        )
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)

    return Window(
        start=midnight(first) if first is not None else None,
        end=midnight(last + dt.timedelta(days=1)) if last is not None else None,
    )


def check_status(status: str) -> str:
    if status not in EXPORTABLE_STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(EXPORTABLE_STATUSES)}",
            errors=[field_error("status", "invalid", f"expected one of {list(EXPORTABLE_STATUSES)}")],
        )
    return status


def approved_at(review: Mapping[str, Any] | None) -> dt.datetime | None:
    """When the expense was approved (its review's time), or None when it has none."""
    at = (review or {}).get("at")
    if not isinstance(at, str):
        return None
    try:
        return parse_rfc3339(at)
    except ValueError:
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    out = str(value)
    return "'" + out if out.startswith(_FORMULA_START) else out


@dataclass(frozen=True)
class Person:
    name: str
    email: str


def reviewer_id(review: Mapping[str, Any] | None) -> uuid.UUID | None:
    by = (review or {}).get("by")
    try:
        return uuid.UUID(str(by)) if by else None
    except ValueError:
        return None


def export_row(expense: Any, people: Mapping[uuid.UUID, Person]) -> list[str]:
    """One CSV row for an approved expense (``people``: users by id, for the rep and the approver)."""
    review = expense.review or {}
    rep = people.get(expense.rep_id)
    approver_id = reviewer_id(review)
    approver = people.get(approver_id) if approver_id is not None else None
    flags = ";".join(str(f.get("code")) for f in (expense.flags or []) if isinstance(f, dict))
    return [
        str(expense.id),
        _text(rep.name if rep else ""),
        _text(rep.email if rep else ""),
        expense.date or "",
        _text(expense.merchant),
        _text(expense.category_code),
        expense.total or "",
        expense.tax or "",
        expense.currency or "",
        _text(approver.name if approver else (str(approver_id) if approver_id else "")),
        str(review.get("at") or ""),
        flags,
        str(expense.receipt_media_id) if expense.receipt_media_id else "",
    ]


def csv_lines(rows: Iterable[list[str]]) -> str:
    """Rows as CSV text (RFC 4180 quoting, CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue()


def header() -> str:
    return BOM + csv_lines([list(COLUMNS)])
