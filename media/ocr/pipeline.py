"""`extract_receipt`: receipt bytes in, fields with confidences out; never raises on bad input.

The steps: decode (images, PDF pages or their text layer) -> clean up each page -> OCR a plain
and a contrast-restored rendition with `--psm 6` (turning the page or switching to Chinese when the
first read is poor) -> parse both reads and vote per field -> suggest a category -> decide whether
anything sensible was found.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence

import msgspec
from PIL import Image

from media.ocr import preprocess as pp
from media.ocr.budget import Budget
from media.ocr.candidates import vote
from media.ocr.categorize import CategoryRules, suggest_category
from media.ocr.load import DEFAULT_MAX_PAGES, DEFAULT_MAX_PIXELS, LoadError, load_pages
from media.ocr.parse import ReceiptCandidates, combine, extract_candidates
from media.ocr.recognize import (
    CHINESE,
    ENGLISH,
    OcrError,
    OcrPage,
    OcrTimeout,
    available_languages,
    detect_orientation,
    engine_version,
    recognize,
)
from media.ocr.text import cjk_ratio, lines_from_text
from media.ocr.types import ExtractedField, OcrLine, ReceiptExtraction

__all__ = ["extract_receipt", "resolve_languages"]

# Reasons an extraction is marked unreadable (stable codes for the worker and the UI).
REASONS = (
    "empty_file",
    "unsupported_format",
    "corrupt_image",
    "corrupt_pdf",
    "empty_pdf",
    "image_too_large",
    "blank_image",
    "no_text",
    "no_receipt_fields",
    "ocr_timeout",
    "ocr_failed",
)
_MONTH_FIRST_CURRENCIES = {"USD"}
_GOOD_MEAN_CONFIDENCE = 0.62
_MIN_TOTAL_CONFIDENCE = 0.25
_MIN_DATE_CONFIDENCE = 0.3
_BLANK_DENSITY = 0.0005  # share of ink pixels below which a page is empty
_BUSY_DENSITY = 0.2  # above this the picture is more texture than print
_NOISE_DENSITY = 0.33  # above this it is noise, not a document
_PAGE_OFFSET = 1_000_000  # pixels added to the rows of each further page so pages never share a row
#: A receipt (it has a total) whose date was read with less confidence than this, or not at all,
#: gets a second look: more reads of its first page in other layout modes, whose date candidates
#: join the vote.
_DATE_RESCUE_BELOW = 0.5
#: (label, tesseract page segmentation mode) of the extra reads: 4 reads single columns, which
#: separates a date from a neighbouring field; 11 finds sparse text, e.g. a faint date on its own.
_DATE_RESCUE_READS = (("date-psm4", 4), ("date-psm11", 11))


class _Read(msgspec.Struct):
    lines: list[OcrLine]
    label: str
    quality: float


def resolve_languages(languages: str | Sequence[str]) -> str | None:
    """The tesseract language string to start with; None means "English first, Chinese if detected"."""
    if isinstance(languages, str):
        if languages == "auto":
            return None
        requested = [part for part in languages.replace(",", "+").split("+") if part]
    else:
        requested = list(languages)
    installed = available_languages()
    if any(lang.startswith("chi") for lang in requested):
        return CHINESE
    usable = [lang for lang in requested if not installed or lang in installed]
    return "+".join(usable) if usable else ENGLISH


def quality(page: OcrPage) -> float:
    """How much confidently read text a pass produced (characters weighted by confidence).

    CJK characters count double: one Chinese character carries about as much as two Latin letters.
    """
    score = 0.0
    for line in page.lines:
        for word in line.words:
            if word.confidence < 0.5:
                continue
            chars = sum(ch.isalnum() for ch in word.text)
            if chars < 2 and cjk_ratio(word.text) == 0:
                continue
            score += word.confidence * (chars + sum(1 for ch in word.text if cjk_ratio(ch) > 0))
    return score


_HAN_SCRIPTS = ("Han", "HanS", "HanT")
_YUAN_MARKS = re.compile(r"[¥￥]|\bRMB\b|\bCNY\b")


def _mentions_yuan(page: OcrPage) -> bool:
    """An English read that shows yuan signs: the receipt is probably Chinese."""
    return sum(len(_YUAN_MARKS.findall(line.text)) for line in page.lines) >= 2


def _shift(lines: Sequence[OcrLine], dy: int) -> list[OcrLine]:
    if dy == 0:
        return list(lines)
    shifted: list[OcrLine] = []
    for line in lines:
        box = None if line.box is None else (line.box[0], line.box[1] + dy, line.box[2], line.box[3])
        shifted.append(msgspec.structs.replace(line, box=box))
    return shifted


def _read_page(
    image: Image.Image, *, start_languages: str | None, clock: Budget, timeout: float, passes: int
) -> tuple[list[_Read], str, int, str | None, Image.Image | None]:
    """OCR one page image: the reads, the languages used, the rotation applied, why it was skipped
    (`blank_image` for an empty page, `no_text` for noise or texture; None when it was read) and
    the cleaned-up upright image that was read."""
    since = time.perf_counter()
    gray = pp.crop_to_content(pp.shrink_to_limit(pp.to_gray(pp.upright(image))))
    density = pp.ink_density(gray)
    if density < _BLANK_DENSITY or density > _NOISE_DENSITY:
        clock.add("preprocess", since)
        skip = "blank_image" if density < _BLANK_DENSITY else "no_text"
        return [], start_languages or ENGLISH, 0, skip, None
    height = pp.text_height(gray)
    if density > _BUSY_DENSITY and height is not None:
        height = max(height, pp.TARGET_TEXT_HEIGHT)  # never enlarge a busy picture: it only slows OCR
    scaled = pp.scale_text(gray, measured=height)
    since = clock.add("preprocess", since)

    def ocr(img: Image.Image, langs: str) -> OcrPage:
        nonlocal since
        with clock.tesseract():
            page = recognize(img, languages=langs, psm=6, timeout=clock.call_limit(timeout))
        since = clock.add("ocr", since)
        return page

    languages = start_languages or ENGLISH
    first = ocr(scaled, languages)
    best_image, best_page, rotation = scaled, first, 0
    chinese = start_languages is None and _mentions_yuan(first)
    landscape = scaled.width > scaled.height * 1.25
    if first.mean_confidence < _GOOD_MEAN_CONFIDENCE or landscape or not first.lines:
        with clock.tesseract():
            orientation = detect_orientation(scaled, timeout=clock.call_limit(timeout))
        since = clock.add("ocr", since)
        turns: list[int] = []
        if orientation is not None and orientation.rotate and orientation.orientation_confidence >= 0.5:
            turns.append(orientation.rotate)
        if first.mean_confidence < 0.5 or landscape:
            turns += [t for t in ((90, 270, 180) if landscape else (180,)) if t not in turns]
        for turn in turns:
            turned = pp.rotate_upright(scaled, turn)
            page = ocr(turned, languages)
            if quality(page) > 1.3 * quality(best_page):
                best_image, best_page, rotation = turned, page, turn
                if page.mean_confidence >= _GOOD_MEAN_CONFIDENCE:
                    break
        if orientation is not None and orientation.script in _HAN_SCRIPTS:
            chinese = chinese or start_languages is None
    if chinese and "chi_sim" in available_languages():
        # Chinese + English reads Chinese receipts far better; English-only text stays as good.
        best_page, languages = ocr(best_image, CHINESE), CHINESE
    reads = [_Read(lines=list(best_page.lines), label="gray", quality=quality(best_page))]
    if passes > 1 and clock.remaining() > 1.0:
        since = time.perf_counter()
        restored = pp.flatten_background(best_image, strength=2.5)
        since = clock.add("preprocess", since)
        try:
            page = ocr(restored, languages)
            reads.append(_Read(lines=list(page.lines), label="restored", quality=quality(page)))
        except OcrTimeout:
            pass  # the first read stands on its own
    return reads, languages, rotation, None, best_image


def _date_rescue(
    image: Image.Image,
    languages: str,
    *,
    clock: Budget,
    timeout: float,
    default_currency: str,
    day_first: bool,
    today: dt.date,
) -> tuple[list[ReceiptCandidates], list[str]]:
    """Extra reads of a page whose date was weak, for their date candidates (and their labels)."""
    found: list[ReceiptCandidates] = []
    labels: list[str] = []
    for label, psm in _DATE_RESCUE_READS:
        if clock.remaining() < 1.0:
            break
        since = time.perf_counter()
        try:
            with clock.tesseract():
                page = recognize(image, languages=languages, psm=psm, timeout=clock.call_limit(timeout))
        except (OcrTimeout, OcrError):
            break
        finally:
            clock.add("date_rescue", since)
        found.append(
            extract_candidates(
                list(page.lines), default_currency=default_currency, day_first=day_first, today=today
            )
        )
        labels.append(label)
    return found, labels


def extract_receipt(
    data: bytes,
    content_type: str | None = None,
    *,
    default_currency: str = "MYR",
    languages: str | Sequence[str] = "auto",
    day_first: bool | None = None,
    today: dt.date | None = None,
    category_rules: CategoryRules | None = None,
    timeout: float = 60.0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_pages: int = DEFAULT_MAX_PAGES,
    passes: int = 2,
) -> ReceiptExtraction:
    """Read one receipt (JPEG, PNG, WebP, HEIF or PDF bytes) into fields with confidences.

    `languages`: "auto" (English, switching to Chinese + English when the page looks Chinese),
    or e.g. ["chi_sim", "eng"] / "eng". `day_first` defaults from the currency (month first for USD).
    `timeout` bounds the whole extraction in CPU seconds (its own and tesseract's, so a busy machine
    does not cut reads short), with a wall-clock backstop of `budget.WALL_FACTOR` times that; each
    tesseract call gets what is left. `timings` holds wall seconds per stage, `total`, and `cpu`.
    Bad input never raises: the result is `unreadable` with a `reason` from `REASONS`.
    """
    clock = Budget(timeout)
    engine = engine_version()
    currency = default_currency.upper()
    order_day_first = day_first if day_first is not None else currency not in _MONTH_FIRST_CURRENCIES
    start_languages = resolve_languages(languages)
    reference_day = today or dt.date.today()

    def finish(
        fields: dict[str, ExtractedField],
        raw_text: str,
        langs: str,
        *,
        reason: str | None = None,
        pages: int = 0,
        rotation: int = 0,
        labels: tuple[str, ...] = (),
    ) -> ReceiptExtraction:
        clock.total()
        return ReceiptExtraction(
            engine=engine,
            fields=fields,
            raw_text=raw_text,
            languages=langs,
            unreadable=reason is not None,
            reason=reason,
            timings=clock.timings,
            pages=pages,
            rotation=rotation,
            passes=labels,
        )

    since = time.perf_counter()
    try:
        pages = load_pages(data, content_type, max_pixels=max_pixels, max_pages=max_pages)
    except LoadError as exc:
        clock.add("load", since)
        return finish({}, "", start_languages or ENGLISH, reason=exc.reason)
    clock.add("load", since)

    page_reads: list[list[_Read]] = []
    first_image: Image.Image | None = None
    used_languages = start_languages or ENGLISH
    rotation = 0
    skipped: list[str] = []
    offset = 0
    for page in pages:
        if page.text is not None:
            lines = lines_from_text(page.text, confidence=0.98)
            page_reads.append([_Read(lines=_shift(lines, offset), label="pdf-text", quality=1.0)])
            engine = f"pdf text layer + {engine}"
            offset += _PAGE_OFFSET
            continue
        assert page.image is not None
        try:
            reads, used_languages, turned, skip, read_image = _read_page(
                page.image, start_languages=start_languages, clock=clock, timeout=timeout, passes=passes
            )
        except OcrTimeout:
            return finish({}, "", used_languages, reason="ocr_timeout", pages=len(pages))
        except OcrError:
            return finish({}, "", used_languages, reason="ocr_failed", pages=len(pages))
        rotation = rotation or turned
        first_image = first_image or read_image
        if skip is not None:
            skipped.append(skip)
        page_reads.append([msgspec.structs.replace(read, lines=_shift(read.lines, offset)) for read in reads])
        offset += _PAGE_OFFSET

    reads_per_pass, labels = _align_passes(page_reads)
    if len(skipped) == len(pages):
        reason = "blank_image" if all(skip == "blank_image" for skip in skipped) else "no_text"
        return finish({}, "", used_languages, reason=reason, pages=len(pages))
    since = time.perf_counter()
    candidates: list[ReceiptCandidates] = [
        extract_candidates(lines, default_currency=currency, day_first=order_day_first, today=reference_day)
        for lines in reads_per_pass
    ]
    parsed = combine(candidates) if candidates else None
    raw_text = "\n".join(line.text for line in reads_per_pass[0]) if reads_per_pass else ""
    fields = dict(parsed.fields) if parsed is not None else {}
    weak_date = "date" not in fields or fields["date"].confidence < _DATE_RESCUE_BELOW
    receipt_like = "total" in fields and fields["total"].confidence >= _MIN_TOTAL_CONFIDENCE
    if weak_date and receipt_like and first_image is not None:
        clock.add("parse", since)
        extra, extra_labels = _date_rescue(
            first_image,
            used_languages,
            clock=clock,
            timeout=timeout,
            default_currency=currency,
            day_first=order_day_first,
            today=reference_day,
        )
        since = time.perf_counter()
        chosen = vote([c.fields.get("date", []) for c in [*candidates, *extra]])
        if chosen is not None:
            fields["date"] = ExtractedField(value=chosen.value, confidence=round(chosen.score, 3))
        labels = [*labels, *extra_labels]
    if fields:
        category = suggest_category(
            str(fields["merchant"].value) if "merchant" in fields else "", raw_text, rules=category_rules
        )
        fields["category_code"] = ExtractedField(value=category.code, confidence=category.confidence)
    clock.add("parse", since)

    reason = _unreadable_reason(fields, raw_text)
    return finish(
        fields,
        raw_text,
        used_languages,
        reason=reason,
        pages=len(pages),
        rotation=rotation,
        labels=tuple(labels),
    )


def _align_passes(page_reads: Sequence[Sequence[_Read]]) -> tuple[list[list[OcrLine]], list[str]]:
    """One line list per pass over all pages; a page with fewer reads lends its first read to the rest."""
    count = max((len(reads) for reads in page_reads), default=0)
    passes: list[list[OcrLine]] = [[] for _ in range(count)]
    labels = [""] * count
    for reads in page_reads:
        if not reads:
            continue
        for index in range(count):
            read = reads[index] if index < len(reads) else reads[0]
            passes[index].extend(read.lines)
            labels[index] = labels[index] or read.label
    return passes, labels


def _unreadable_reason(fields: dict[str, ExtractedField], raw_text: str) -> str | None:
    if sum(ch.isalnum() for ch in raw_text) < 4:
        return "no_text"
    total = fields.get("total")
    date = fields.get("date")
    if (total is not None and total.confidence >= _MIN_TOTAL_CONFIDENCE) or (
        date is not None and date.confidence >= _MIN_DATE_CONFIDENCE
    ):
        return None
    return "no_receipt_fields"
