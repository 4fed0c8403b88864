"""Calendar dates in the formats receipts print (`25/12/2018`, `19-04-18`, `30 DEC 17`, `2026年3月5日`)."""

from __future__ import annotations

import datetime as dt
import re

import msgspec

from media.ocr.text import repair_digits

_MONTHS = {
    "JAN": 1,
    "FEB": 2,
    "MAR": 3,
    "APR": 4,
    "MAY": 5,
    "JUN": 6,
    "JUL": 7,
    "AUG": 8,
    "SEP": 9,
    "OCT": 10,
    "NOV": 11,
    "DEC": 12,
    # Malay spellings printed on Malaysian receipts
    "MAC": 3,
    "MEI": 5,
    "OGO": 8,
    "OKT": 10,
    "DIS": 12,
}
_MONTH_ALT = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|MAC|MEI|OGO|OKT|DIS"

_NUMERIC_DMY = re.compile(
    r"(?<![\d.,])(?P<a>\d{1,2})\s?(?P<sep>[/\-.])\s?(?P<b>\d{1,2})\s?(?P=sep)\s?(?P<y>\d{4}|\d{2})(?![\d.,]\d)(?!\d)"
)
_NUMERIC_YMD = re.compile(
    r"(?<![\d.,])(?P<y>(?:19|20)\d{2})\s?(?P<sep>[/\-.])\s?(?P<m>\d{1,2})\s?(?P=sep)\s?(?P<d>\d{1,2})(?!\d)"
)
_TEXT_DMY = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:ST|ND|RD|TH)?\s?[/\-. ]?\s?(?P<mon>{_MONTH_ALT})[A-Z]*\.?\s?[/\-. ,]?\s?"
    r"(?P<y>\d{4}|\d{2})(?!\d)"
)
_TEXT_MDY = re.compile(
    rf"(?<![A-Z])(?P<mon>{_MONTH_ALT})[A-Z]*\.?\s?(?P<d>\d{{1,2}})(?:ST|ND|RD|TH)?,?\s(?P<y>\d{{4}})(?!\d)"
)
_CJK_YMD = re.compile(r"(?P<y>(?:19|20)?\d{2})\s?年\s?(?P<m>\d{1,2})\s?月\s?(?P<d>\d{1,2})\s?[日号]?")
_COMPACT = re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)")
# One of the two separators lost in OCR (`2703/2018`, `27/032018`): day and month two digits each.
_LOST_SEPARATOR = re.compile(
    r"(?<![\d.,/\-])(?P<a>\d{2})(?:(?P<b1>\d{2})[/\-.]|[/\-.](?P<b2>\d{2}))"
    r"(?P<y>(?:19|20)\d{2})(?![\d.,/\-]?\d)"
)
# A round tens digit misread in a day or month that cannot exist (`63/09/2017`, `03/69/2017`): 6, 8 and
# 9 are what OCR makes of a faint 0.
_ROUND_TENS = {"6": "0", "8": "0", "9": "0"}
_MISREAD_CERTAINTY = 0.5


class FoundDate(msgspec.Struct, frozen=True):
    value: dt.date
    start: int
    end: int
    certainty: float  # 1.0 for unambiguous formats, lower when the day/month order was guessed
    text: str


def _year(raw: str) -> int:
    year = int(raw)
    return year + 2000 if year < 100 else year


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _round_tens(part: str, limit: int) -> str:
    """`63` -> `03` when 63 exceeds `limit` and its tens digit is one OCR makes of a faint 0."""
    if len(part) == 2 and int(part) > limit and part[0] in _ROUND_TENS:
        return _ROUND_TENS[part[0]] + part[1]
    return part


def find_dates(
    text: str, *, day_first: bool = True, allow_compact: bool = False, allow_misread: bool = False
) -> list[FoundDate]:
    """Every plausible date in `text` (left to right).

    `day_first` decides `03/04/2018` (3 April when true); an order that only one reading allows
    (`25/12/2018`) is accepted either way with a lower certainty. Eight-digit `20180102` is read
    only with `allow_compact`, since receipts are full of long numbers. `allow_misread` also accepts,
    with low certainty, day-month-year dates with a lost separator (`2703/2018`) or an impossible
    day or month whose tens digit is a misread 0 (`63/09/2017`).
    """
    upper = repair_digits(text).upper()
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []

    def add(value: dt.date | None, match: re.Match[str], certainty: float) -> None:
        if value is None or not 1990 <= value.year <= 2099:
            return
        if any(match.start() < end and start < match.end() for start, end in taken):
            return
        taken.append((match.start(), match.end()))
        found.append(
            FoundDate(
                value=value,
                start=match.start(),
                end=match.end(),
                certainty=certainty,
                text=text[match.start() : match.end()],
            )
        )

    for match in _CJK_YMD.finditer(upper):
        add(_make(_year(match["y"]), int(match["m"]), int(match["d"])), match, 1.0)
    for match in _NUMERIC_YMD.finditer(upper):
        add(_make(int(match["y"]), int(match["m"]), int(match["d"])), match, 0.95)
    for match in _TEXT_DMY.finditer(upper):
        add(_make(_year(match["y"]), _MONTHS[match["mon"][:3]], int(match["d"])), match, 1.0)
    for match in _TEXT_MDY.finditer(upper):
        add(_make(_year(match["y"]), _MONTHS[match["mon"][:3]], int(match["d"])), match, 0.95)
    for match in _NUMERIC_DMY.finditer(upper):
        a, b, year = int(match["a"]), int(match["b"]), _year(match["y"])
        first = _make(year, b, a) if day_first else _make(year, a, b)
        if first is not None:
            unambiguous = a == b or (a > 12 if day_first else b > 12)
            add(first, match, 0.95 if unambiguous else 0.85)
            continue
        second = _make(year, a, b) if day_first else _make(year, b, a)
        if second is None and allow_misread:
            add(_day_month(match["a"], match["b"], year, day_first), match, _MISREAD_CERTAINTY)
            continue
        add(second, match, 0.6)
    if allow_misread:
        for match in _LOST_SEPARATOR.finditer(upper):
            month = match["b1"] or match["b2"]
            add(_day_month(match["a"], month, int(match["y"]), day_first), match, _MISREAD_CERTAINTY)
    if allow_compact:
        for match in _COMPACT.finditer(upper):
            add(_make(int(match["y"]), int(match["m"]), int(match["d"])), match, 0.7)
    found.sort(key=lambda f: f.start)
    return found


def _day_month(a: str, b: str, year: int, day_first: bool) -> dt.date | None:
    """The date of two-digit fields `a` and `b` in the expected order, impossible tens digits repaired."""
    day, month = (a, b) if day_first else (b, a)
    return _make(year, int(_round_tens(month, 12)), int(_round_tens(day, 31)))


def parse_date(text: str, *, day_first: bool = True) -> dt.date | None:
    """The first date in `text`, or None; e.g. `30 DEC 17` -> 2017-12-30."""
    found = find_dates(text, day_first=day_first, allow_compact=True)
    return found[0].value if found else None
