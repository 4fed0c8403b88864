"""Text clean-up shared by the parsers: Unicode folding, CJK spacing, OCR digit confusions, rows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from media.ocr.types import OcrLine

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_CJK_PUNCT_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[:\d¥])|(?<=:)\s+(?=[{_CJK}])")  # after NFKC
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")

# Letters OCR confuses with digits, mapped only where they touch digits (see `repair_digits`).
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "Q": "0",
        "D": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "S": "5",
        "§": "5",
        "B": "8",
        "Z": "2",
    }
)
_LOOKALIKE_CLASS = "OoQDIl|S§BZ"
_NUMERIC_RUN = re.compile(rf"[0-9{re.escape(_LOOKALIKE_CLASS)}][0-9{re.escape(_LOOKALIKE_CLASS)}.,:/\-]*")


def normalize(text: str) -> str:
    """Fold full-width forms (NFKC), unify the yen sign, and drop spaces OCR puts between CJK characters."""
    folded = unicodedata.normalize("NFKC", text).replace("￥", "¥")
    folded = folded.replace("\u2014", "-").replace("\u2013", "-").replace("\u2212", "-")
    folded = _SPACES.sub(" ", folded)
    folded = _CJK_GAP.sub("", folded)
    folded = _CJK_PUNCT_GAP.sub("", folded)
    return folded.strip()


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among the non-space characters of `text`."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _CJK_CHAR.match(c)) / len(chars)


def repair_digits(text: str) -> str:
    """Map look-alike letters to digits inside runs that are mostly digits (`RMO.00` -> `RM0.00`).

    A run is changed only when it holds at least one real digit and at least as many digits as
    look-alike letters, so words such as `SOS` or `BOX` stay as they are.
    """

    def fix(match: re.Match[str]) -> str:
        run = match.group(0)
        digits = sum(c.isdigit() for c in run)
        lookalikes = sum(c in _LOOKALIKE_CLASS for c in run)
        if digits == 0 or lookalikes == 0 or lookalikes > digits:
            return run
        # A look-alike tail glued to a word (`1.00SET`) belongs to the word, not the number.
        end = match.end()
        keep = 0
        if end < len(text) and text[end].isalpha():
            while keep < len(run) and run[len(run) - 1 - keep] in _LOOKALIKE_CLASS:
                keep += 1
        head, tail = run[: len(run) - keep], run[len(run) - keep :]
        return head.translate(_DIGIT_LOOKALIKES) + tail

    return _NUMERIC_RUN.sub(fix, text)


def _vertical_overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    top = max(a[1], b[1])
    bottom = min(a[1] + a[3], b[1] + b[3])
    if bottom <= top:
        return 0.0
    return (bottom - top) / max(1, min(a[3], b[3]))


def merge_rows(lines: Sequence[OcrLine], min_overlap: float = 0.55) -> list[OcrLine]:
    """Join text fragments that sit on the same visual row (left to right).

    Lines without a box are kept in their given order. Receipts print a label on the left and its
    amount on the right; OCR layouts and ground-truth files often give them as separate fragments.
    """
    if not lines or any(line.box is None for line in lines):
        return list(lines)
    ordered = sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3] / 2) if ln.box else 0)
    rows: list[list[OcrLine]] = []
    for line in ordered:
        assert line.box is not None
        if rows:
            last = rows[-1]
            anchor = max(last, key=lambda ln: ln.box[3] if ln.box else 0)
            assert anchor.box is not None
            if _vertical_overlap(anchor.box, line.box) >= min_overlap and not any(
                _horizontal_overlap(other, line) for other in last
            ):
                last.append(line)
                continue
        rows.append([line])
    return [_join_row(row) for row in rows]


def _horizontal_overlap(a: OcrLine, b: OcrLine) -> bool:
    assert a.box is not None
    assert b.box is not None
    left = max(a.box[0], b.box[0])
    right = min(a.box[0] + a.box[2], b.box[0] + b.box[2])
    return right - left > 0.5 * min(a.box[2], b.box[2])


def _join_row(row: Iterable[OcrLine]) -> OcrLine:
    parts = sorted(row, key=lambda ln: ln.box[0] if ln.box else 0)
    if len(parts) == 1:
        return parts[0]
    boxes = [p.box for p in parts if p.box is not None]
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    words = tuple(w for p in parts for w in p.words)
    weights = [max(1, len(p.text)) for p in parts]
    confidence = sum(p.confidence * w for p, w in zip(parts, weights, strict=True)) / sum(weights)
    return OcrLine(
        text=" ".join(p.text for p in parts),
        confidence=confidence,
        box=(left, top, right - left, bottom - top),
        words=words,
    )


_KEYWORDS = (
    "TOTAL",
    "SUBTOTAL",
    "CASH",
    "CHANGE",
    "ROUNDING",
    "ROUNDED",
    "INCLUSIVE",
    "INCLUDING",
    "INCLUDED",
    "EXCLUSIVE",
    "EXCLUDING",
    "EXCLUDED",
    "DISCOUNT",
    "GRAND",
    "AMOUNT",
    "PAYMENT",
    "RECEIVED",
    "TENDERED",
    "SALES",
    "SALE",
    "BALANCE",
    "ADJUSTMENT",
    "PAYABLE",
    "INVOICE",
    "RECEIPT",
    "SUMMARY",
    "CASHIER",
    "CHARGE",
    "SERVICE",
    "QUANTITY",
    "ITEMS",
    "DATE",
    "TIME",
    "FINAL",
    "NETT",
)
_KEYWORD_SET = frozenset(_KEYWORDS)
_UPPER_WORD = re.compile(r"[A-Z]{4,}")


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def fix_keywords(upper: str) -> str:
    """Correct OCR misspellings of the few words receipts are parsed by (`CACH` -> `CASH`).

    Only upper-case words of four or more letters within one edit (two from seven letters on) of a
    keyword are changed; a four-letter word must keep its first and last letters or be a prefix.
    """

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if word in _KEYWORD_SET:
            return word
        limit = 1 if len(word) <= 6 else 2
        for keyword in _KEYWORDS:
            if len(word) <= 4 and not (
                keyword.startswith(word) or (word[0] == keyword[0] and word[-1] == keyword[-1])
            ):
                continue
            if _edit_distance(word, keyword, limit) <= limit:
                return keyword
        return word

    return _UPPER_WORD.sub(fix, upper)


def lines_from_text(text: str, confidence: float = 1.0) -> list[OcrLine]:
    """Plain text (one receipt line per text line) as `OcrLine`s with a fixed confidence."""
    return [OcrLine(text=raw, confidence=confidence) for raw in text.splitlines() if raw.strip()]
