"""The parser on the dataset's own line transcriptions of the 60 dev receipts (no OCR involved).

This separates parsing quality from OCR quality: with perfect text the rules must get nearly every
total, date and merchant right. Floors measured when written: total 59/60, date 60/60, merchant 58/60.
"""

from __future__ import annotations

import pytest
from ocr_labels import label_date, label_total, merchant_matches
from sroie_data import Receipt

from media.ocr.parse import parse_lines

TOTAL_FLOOR = 59
DATE_FLOOR = 60
MERCHANT_FLOOR = 58


@pytest.fixture(scope="module")
def parsed(sroie: list[Receipt]) -> dict[str, dict[str, object]]:
    out = {}
    for receipt in sroie:
        result = parse_lines(receipt.ground_truth_lines(), default_currency="MYR")
        out[receipt.id] = {name: field.value for name, field in result.fields.items()}
    return out


def test_totals_from_ground_truth_lines(sroie: list[Receipt], parsed: dict[str, dict[str, object]]) -> None:
    right = [r.id for r in sroie if parsed[r.id].get("total") == label_total(r.total)]
    assert len(right) >= TOTAL_FLOOR, sorted(set(r.id for r in sroie) - set(right))


def test_dates_from_ground_truth_lines(sroie: list[Receipt], parsed: dict[str, dict[str, object]]) -> None:
    right = [r.id for r in sroie if parsed[r.id].get("date") == label_date(r.date)]
    assert len(right) >= DATE_FLOOR, sorted(set(r.id for r in sroie) - set(right))


def test_merchants_from_ground_truth_lines(
    sroie: list[Receipt], parsed: dict[str, dict[str, object]]
) -> None:
    right = [r.id for r in sroie if merchant_matches(str(parsed[r.id].get("merchant")), r.company)]
    assert len(right) >= MERCHANT_FLOOR, sorted(set(r.id for r in sroie) - set(right))


def test_every_receipt_is_malaysian_ringgit(
    sroie: list[Receipt], parsed: dict[str, dict[str, object]]
) -> None:
    # Some receipts print "$" or nothing at all; a tenant default of EUR must not win over RM / SDN BHD cues.
    currencies = {}
    for receipt in sroie:
        result = parse_lines(receipt.ground_truth_lines(), default_currency="EUR")
        currencies[receipt.id] = result.value("currency")
    wrong = {rid: code for rid, code in currencies.items() if code != "MYR"}
    assert len(wrong) <= 3, wrong


def test_planted_pairs_parse_alike(parsed: dict[str, dict[str, object]]) -> None:
    # The same paper receipt scanned twice reads the same; the look-alike pair differs by invoice number.
    for field in ("total", "date"):
        assert parsed["sroie-dev-042"][field] == parsed["sroie-dev-043"][field]
        assert parsed["sroie-dev-046"][field] == parsed["sroie-dev-047"][field]
    assert parsed["sroie-dev-046"]["receipt_number"] == "CS-SA-0097493"
    assert parsed["sroie-dev-047"]["receipt_number"] == "CS-SA-0097491"
