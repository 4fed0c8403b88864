"""Fixtures for the OCR tests: the real sroie-dev receipts (read in place) and their extractions.

The 60 receipts are OCR'd once per test session, two at a time in a process pool.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from sroie_data import SROIE_DIR, Receipt, load_manifest

from media.ocr.pipeline import extract_receipt
from media.ocr.recognize import available_languages
from media.ocr.types import ReceiptExtraction

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@pytest.fixture(scope="session")
def sroie() -> list[Receipt]:
    if not (SROIE_DIR / "manifest.jsonl").exists():
        pytest.skip(f"sroie-dev receipts not found at {SROIE_DIR} (set FIELDLINE_SROIE_DEV)")
    return load_manifest()


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
