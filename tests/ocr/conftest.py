"""Fixtures for the OCR tests: the real sroie-dev receipts (read in place) and their extractions.

The 60 receipts are OCR'd once per test session, two at a time in a process pool.
"""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from media.ocr.pipeline import extract_receipt
from media.ocr.recognize import available_languages
from media.ocr.types import OcrLine, ReceiptExtraction

SROIE_DIR = Path(os.environ.get("FIELDLINE_SROIE_DEV", "/work/shared/receipts/sroie-dev"))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@dataclass(frozen=True)
class Receipt:
    id: str
    image: Path
    lines_csv: Path
    company: str
    date: str
    total: str
    sha256: str
    duplicate_case: str | None
    pair_id: str | None

    def ground_truth_lines(self) -> list[OcrLine]:
        """The dataset's line transcriptions with their boxes (confidence 1: no OCR involved)."""
        lines = []
        with self.lines_csv.open(newline="") as handle:
            for row in csv.reader(handle):
                if len(row) < 9:
                    continue
                xs = [int(v) for v in row[0:8:2]]
                ys = [int(v) for v in row[1:8:2]]
                text = ",".join(row[8:])
                box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
                lines.append(OcrLine(text=text, confidence=1.0, box=box))
        return lines


def _load_manifest() -> list[Receipt]:
    manifest = SROIE_DIR / "manifest.jsonl"
    receipts = []
    for raw in manifest.read_text().splitlines():
        entry = json.loads(raw)
        receipts.append(
            Receipt(
                id=entry["id"],
                image=SROIE_DIR / entry["image"],
                lines_csv=SROIE_DIR / entry["lines"],
                company=entry["label_company"],
                date=entry["label_date"],
                total=entry["label_total"],
                sha256=entry["sha256"],
                duplicate_case=entry.get("duplicate_case"),
                pair_id=entry.get("pair_id"),
            )
        )
    return receipts


@pytest.fixture(scope="session")
def sroie() -> list[Receipt]:
    if not (SROIE_DIR / "manifest.jsonl").exists():
        pytest.skip(f"sroie-dev receipts not found at {SROIE_DIR} (set FIELDLINE_SROIE_DEV)")
    return _load_manifest()


@pytest.fixture(scope="session")
def sroie_by_id(sroie: list[Receipt]) -> dict[str, Receipt]:
    return {receipt.id: receipt for receipt in sroie}


def _extract(path: Path) -> ReceiptExtraction:
    return extract_receipt(path.read_bytes(), "image/jpeg", default_currency="MYR")


@pytest.fixture(scope="session")
def tesseract() -> None:
    if "eng" not in available_languages():
        pytest.skip("tesseract with the eng language pack is not installed")


@pytest.fixture(scope="session")
def sroie_extractions(sroie: list[Receipt], tesseract: None) -> dict[str, ReceiptExtraction]:
    """The pipeline's result for every dev receipt, computed once (about a minute on two cores)."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_extract, [receipt.image for receipt in sroie]))
    return {receipt.id: result for receipt, result in zip(sroie, results, strict=True)}
