"""Label normalisation for the sroie-dev receipts, written independently of the parser under test."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from decimal import Decimal

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}


def label_total(text: str) -> str:
    """`RM 34.80` / `$8.70` / `1,234.00` -> "34.80" / "8.70" / "1234.00"."""
    digits = re.sub(r"[^\d.]", "", text.replace(",", ""))
    return str(Decimal(digits).quantize(Decimal("0.01")))


def label_date(text: str) -> str:
    """The label formats of the dataset, day first: `25/12/2018`, `19-04-18`, `30 DEC 17`, ..."""
    raw = text.strip().upper()
    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", raw):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})", raw):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[ /-]([A-Z]{3})[A-Z]*[ /-](\d{2}|\d{4})", raw):
        day, month, year = int(m[1]), _MONTHS[m[2]], int(m[3])
    else:
        raise ValueError(f"unknown label date format: {text!r}")
    if year < 100:
        year += 2000
    return dt.date(year, month, day).isoformat()


def name_key(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", (text or "").upper()).strip()


def merchant_matches(predicted: str | None, label: str, threshold: float = 0.8) -> bool:
    return difflib.SequenceMatcher(None, name_key(predicted), name_key(label)).ratio() >= threshold
