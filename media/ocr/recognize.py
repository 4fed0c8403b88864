"""Tesseract calls: words with confidences grouped into lines, orientation/script detection, timeouts."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from functools import cache

import msgspec
import pytesseract
from PIL import Image

from media.ocr.text import normalize
from media.ocr.types import OcrLine, OcrWord

ENGLISH = "eng"
CHINESE = "chi_sim+eng"  # chi_sim alone misses digits and totals that the mixed pack reads


class OcrError(Exception):
    """Tesseract failed or is missing; the message is safe to store (no paths, no command lines)."""


class OcrTimeout(OcrError):
    """Tesseract did not finish within the time allowed."""


class OcrPage(msgspec.Struct, frozen=True):
    lines: tuple[OcrLine, ...]
    languages: str
    psm: int
    seconds: float

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def mean_confidence(self) -> float:
        """Mean word confidence weighted by word length (0 when nothing was read)."""
        total = weight = 0.0
        for line in self.lines:
            for word in line.words:
                size = len(word.text)
                total += word.confidence * size
                weight += size
        return total / weight if weight else 0.0


class Orientation(msgspec.Struct, frozen=True):
    rotate: int  # degrees clockwise to turn the image upright (0, 90, 180, 270)
    orientation_confidence: float
    script: str
    script_confidence: float


@cache
def available_languages() -> frozenset[str]:
    try:
        return frozenset(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return frozenset()


@cache
def engine_version() -> str:
    try:
        return f"tesseract {pytesseract.get_tesseract_version()}"
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return "tesseract (unavailable)"


def _run(call: str, image: Image.Image, **kwargs: object) -> object:
    try:
        return getattr(pytesseract, call)(image, **kwargs)
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrError("tesseract is not installed") from exc
    except pytesseract.TesseractError as exc:
        raise OcrError(f"tesseract failed: {str(exc.message)[:200]}") from exc
    except RuntimeError as exc:  # pytesseract signals its timeout this way
        if "timeout" in str(exc).lower():
            raise OcrTimeout("tesseract timed out") from exc
        raise


def recognize(
    image: Image.Image,
    *,
    languages: str = ENGLISH,
    psm: int = 6,
    timeout: float = 30.0,
    extra_config: str = "",
) -> OcrPage:
    """OCR one image into lines of words with confidences in [0, 1].

    `psm` 6 (one uniform block) reads receipt columns as whole lines, which keeps a label and its
    amount together; 4 (variable-size column) is the usual second opinion.
    """
    started = time.perf_counter()
    config = f"--psm {psm} {extra_config}".strip()
    data = _run(
        "image_to_data",
        image,
        lang=languages,
        config=config,
        timeout=timeout,
        output_type=pytesseract.Output.DICT,
    )
    assert isinstance(data, dict)
    return OcrPage(
        lines=tuple(_lines_from_data(data)),
        languages=languages,
        psm=psm,
        seconds=time.perf_counter() - started,
    )


def _lines_from_data(data: dict[str, list[object]]) -> list[OcrLine]:
    grouped: dict[tuple[int, int, int], list[OcrWord]] = {}
    order: list[tuple[int, int, int]] = []
    for i, raw in enumerate(data["text"]):
        text = str(raw).strip()
        conf = float(str(data["conf"][i]))
        if not text or conf < 0:
            continue
        key = (int(str(data["block_num"][i])), int(str(data["par_num"][i])), int(str(data["line_num"][i])))
        box = (
            int(str(data["left"][i])),
            int(str(data["top"][i])),
            int(str(data["width"][i])),
            int(str(data["height"][i])),
        )
        if key not in grouped:
            grouped[key] = []
            order.append(key)
        grouped[key].append(OcrWord(text=text, confidence=max(0.0, min(1.0, conf / 100.0)), box=box))
    lines: list[OcrLine] = []
    for key in order:
        words = grouped[key]
        lines.append(_line(words))
    return lines


def _line(words: Sequence[OcrWord]) -> OcrLine:
    boxes = [w.box for w in words if w.box is not None]
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    weights = [max(1, len(w.text)) for w in words]
    confidence = sum(w.confidence * n for w, n in zip(words, weights, strict=True)) / sum(weights)
    return OcrLine(
        text=normalize(" ".join(w.text for w in words)),
        confidence=confidence,
        box=(left, top, right - left, bottom - top),
        words=tuple(words),
    )


_OSD_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_OSD_ORIENT_CONF = re.compile(r"Orientation confidence:\s*([\d.]+)")
_OSD_SCRIPT = re.compile(r"Script:\s*(\w+)")
_OSD_SCRIPT_CONF = re.compile(r"Script confidence:\s*([\d.]+)")


def detect_orientation(image: Image.Image, *, timeout: float = 15.0) -> Orientation | None:
    """Tesseract's orientation and script detection; None when it finds too little text to judge."""
    if "osd" not in available_languages():
        return None
    try:
        out = _run("image_to_osd", image, config="--psm 0 -c min_characters_to_try=10", timeout=timeout)
    except OcrTimeout:
        raise
    except OcrError:
        return None
    text = str(out)
    rotate = _OSD_ROTATE.search(text)
    if rotate is None:
        return None
    orient_conf = _OSD_ORIENT_CONF.search(text)
    script = _OSD_SCRIPT.search(text)
    script_conf = _OSD_SCRIPT_CONF.search(text)
    return Orientation(
        rotate=int(rotate.group(1)) % 360,
        orientation_confidence=float(orient_conf.group(1)) if orient_conf else 0.0,
        script=script.group(1) if script else "",
        script_confidence=float(script_conf.group(1)) if script_conf else 0.0,
    )
