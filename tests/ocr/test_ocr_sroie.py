"""The whole pipeline on the 60 real scanned receipts of sroie-dev (each OCR'd once per session).

Floors are the counts the pipeline reached when they were recorded (see docs/benchmarks.md, OCR):
a change that loses a total or a date on these receipts fails here. Speed is measured by
bench/ocr_bench.py, not asserted here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from ocr_labels import label_date, label_total, merchant_matches
from sroie_data import Receipt

from media.ocr.flags import ReceiptRecord, compute_flags
from media.ocr.hashes import receipt_hashes
from media.ocr.types import ReceiptExtraction

# Reached on 2026-11-23 (tesseract 5.3.0, the same counts in repeated runs: tesseract is
# deterministic for the same input and the budget counts CPU, so load does not cut reads short):
# total 57/60, date 59/60, merchant 56/60.
TOTAL_FLOOR = 57
DATE_FLOOR = 59
MERCHANT_FLOOR = 56

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _misses(sroie: list[Receipt], ok: dict[str, bool]) -> list[str]:
    return sorted(receipt.id for receipt in sroie if not ok[receipt.id])


def test_total_accuracy(sroie: list[Receipt], sroie_extractions: dict[str, ReceiptExtraction]) -> None:
    ok = {r.id: sroie_extractions[r.id].value("total") == label_total(r.total) for r in sroie}
    assert sum(ok.values()) >= TOTAL_FLOOR, _misses(sroie, ok)


def test_date_accuracy(sroie: list[Receipt], sroie_extractions: dict[str, ReceiptExtraction]) -> None:
    ok = {r.id: sroie_extractions[r.id].value("date") == label_date(r.date) for r in sroie}
    assert sum(ok.values()) >= DATE_FLOOR, _misses(sroie, ok)


def test_merchant_accuracy(sroie: list[Receipt], sroie_extractions: dict[str, ReceiptExtraction]) -> None:
    ok = {r.id: merchant_matches(sroie_extractions[r.id].value("merchant"), r.company) for r in sroie}
    assert sum(ok.values()) >= MERCHANT_FLOOR, _misses(sroie, ok)


def test_every_receipt_is_readable_and_in_ringgit(
    sroie: list[Receipt], sroie_extractions: dict[str, ReceiptExtraction]
) -> None:
    results = [sroie_extractions[r.id] for r in sroie]
    assert not [r for r in results if r.unreadable]
    currencies = [r.value("currency") for r in results]
    assert currencies.count("MYR") >= 58, currencies


def test_confidence_separates_right_from_wrong_totals(
    sroie: list[Receipt], sroie_extractions: dict[str, ReceiptExtraction]
) -> None:
    right, wrong = [], []
    for receipt in sroie:
        field = sroie_extractions[receipt.id].fields.get("total")
        if field is None:
            continue
        assert 0.0 <= field.confidence <= 1.0
        (right if field.value == label_total(receipt.total) else wrong).append(field.confidence)
    assert right
    if wrong:
        assert sum(right) / len(right) > sum(wrong) / len(wrong)


def _record(receipt: Receipt, extraction: ReceiptExtraction) -> ReceiptRecord:
    hashes = receipt_hashes(receipt.image.read_bytes())
    return ReceiptRecord.from_extraction(extraction, id=receipt.id, sha256=hashes.sha256, phash=hashes.phash)


def test_planted_duplicates_through_ocr(
    sroie_by_id: dict[str, Receipt], sroie_extractions: dict[str, ReceiptExtraction]
) -> None:
    records = {
        rid: _record(sroie_by_id[rid], sroie_extractions[rid])
        for rid in (
            "sroie-dev-001",
            "sroie-dev-002",
            "sroie-dev-042",
            "sroie-dev-043",
            "sroie-dev-046",
            "sroie-dev-047",
        )
    }
    today = dt.date(2019, 1, 1)

    def duplicate(new: str, old: str) -> bool:
        flags = compute_flags(records[new], prior=[records[old]], today=today)
        return any(flag.code == "duplicate_suspect" for flag in flags)

    assert duplicate("sroie-dev-002", "sroie-dev-001")  # byte-identical
    assert duplicate("sroie-dev-043", "sroie-dev-042")  # the same paper receipt scanned twice
    assert not duplicate("sroie-dev-047", "sroie-dev-046")  # two purchases, same shop/day/amount


def test_no_false_duplicates_among_the_other_receipts(
    sroie: list[Receipt], sroie_extractions: dict[str, ReceiptExtraction]
) -> None:
    planted = {"sroie-dev-002", "sroie-dev-043"}
    records = [_record(r, sroie_extractions[r.id]) for r in sroie]
    flagged = []
    for index, new in enumerate(records):
        flags = compute_flags(new, prior=records[:index], today=dt.date(2019, 1, 1))
        if any(flag.code == "duplicate_suspect" for flag in flags):
            flagged.append(new.id)
    assert set(flagged) == planted
