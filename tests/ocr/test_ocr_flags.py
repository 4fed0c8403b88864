"""Review flags from plain records: duplicates (incl. the planted sroie-dev pairs), limits, dates, totals."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from sroie_data import Receipt

from media.ocr.flags import (
    Flag,
    FlagPolicy,
    ReceiptRecord,
    compute_flags,
    normalize_receipt_number,
    same_merchant,
)
from media.ocr.hashes import phash_distance, receipt_hashes
from media.ocr.parse import parse_lines
from media.ocr.types import ExtractedField, ReceiptExtraction

TODAY = dt.date(2018, 5, 1)


def codes(flags: list[Flag]) -> list[str]:
    return [flag.code for flag in flags]


def record(**kwargs: object) -> ReceiptRecord:
    base: dict[str, object] = {
        "id": "new",
        "merchant": "SANYU STATIONERY SHOP",
        "date": "2018-04-20",
        "total": "5.00",
        "currency": "MYR",
        "category_code": "office_supplies",
    }
    base.update(kwargs)
    return msgspec.convert(base, ReceiptRecord)


# --- duplicates on plain records ---------------------------------------------------------------


def test_same_file_is_a_duplicate() -> None:
    new = record(sha256="a" * 64, merchant="X", total="1.00")
    old = record(id="old", sha256="a" * 64, merchant="Y", total="2.00", date="2017-01-01")
    flags = compute_flags(new, prior=[old], today=TODAY)
    assert codes(flags) == ["duplicate_suspect"]
    assert flags[0].evidence["matches"] == [{"id": "old", "reason": "same_file"}]


def test_same_merchant_date_total_is_a_duplicate() -> None:
    old = record(id="old", merchant="SANYU STATIONERY SHOP")
    new = record(merchant="SANYO STATIONERY SHOP")  # one OCR letter apart
    assert codes(compute_flags(new, prior=[old], today=TODAY)) == ["duplicate_suspect"]


@pytest.mark.parametrize(
    "change",
    [{"total": "5.50"}, {"date": "2018-04-21"}, {"merchant": "MR D.I.Y. (M) SDN BHD"}, {"currency": "SGD"}],
)
def test_one_differing_field_is_not_a_duplicate(change: dict[str, str]) -> None:
    old = record(id="old")
    assert compute_flags(record(**change), prior=[old], today=TODAY) == []


def test_different_receipt_numbers_veto_matching_fields() -> None:
    old = record(id="old", receipt_number="CS-SA-0097493", phash="ffff0000ffff0000")
    new = record(receipt_number="CS-SA-0097491", phash="ffff0000ffff00ff")  # 8 bits apart, all fields equal
    assert compute_flags(new, prior=[old], today=TODAY) == []


def test_same_receipt_number_with_ocr_lookalikes_is_a_duplicate() -> None:
    old = record(id="old", receipt_number="R000118085", total="34.80")
    new = record(receipt_number="RO00118085", total="34.80", date="2018-04-19")  # O for 0, date misread
    flags = compute_flags(new, prior=[old], today=TODAY)
    assert codes(flags) == ["duplicate_suspect"]
    assert flags[0].evidence["matches"][0]["reason"] == "same_receipt_number"


def test_near_identical_image_needs_agreeing_fields() -> None:
    old = record(id="old", phash="ffff0000ffff0000", merchant="A SHOP", date="2018-04-01")
    close_same_total = record(
        phash="ffff0000ffff000f", merchant="A SHOP", date="2018-04-02"
    )  # 4 bits, same total
    close_other_total = record(phash="ffff0000ffff00ff", merchant="A SHOP", date="2018-04-01", total="9.90")
    assert codes(compute_flags(close_same_total, prior=[old], today=TODAY)) == ["duplicate_suspect"]
    assert compute_flags(close_other_total, prior=[old], today=TODAY) == []


def test_a_record_is_not_its_own_duplicate() -> None:
    same = record(id="new", sha256="b" * 64)
    assert compute_flags(same, prior=[same], today=TODAY) == []


def test_receipt_number_and_merchant_normalisation() -> None:
    assert normalize_receipt_number("RO00118085") == normalize_receipt_number("R000118085")
    assert normalize_receipt_number("CS-SA-0097493") != normalize_receipt_number("CS-SA-0097491")
    assert same_merchant("MR. D.I.Y. (M) SDN BHD", "MR D.I.Y. (M) SDN. BHD.")
    assert not same_merchant("SANYU STATIONERY SHOP", "POPULAR BOOK CO. (M) SDN BHD")


# --- the planted sroie-dev pairs, from the dataset's line transcriptions and real image hashes ---


def _dev_record(receipt: Receipt) -> ReceiptRecord:
    parsed = parse_lines(receipt.ground_truth_lines(), default_currency="MYR")
    hashes = receipt_hashes(receipt.image.read_bytes())
    extraction = ReceiptExtraction(engine="test", fields=parsed.fields, raw_text="", languages="eng")
    return ReceiptRecord.from_extraction(extraction, id=receipt.id, sha256=hashes.sha256, phash=hashes.phash)


@pytest.fixture(scope="module")
def planted(sroie_by_id: dict[str, Receipt]) -> dict[str, ReceiptRecord]:
    ids = ["001", "002", "042", "043", "045", "046", "047", "048"]
    return {rid: _dev_record(sroie_by_id[f"sroie-dev-{rid}"]) for rid in ids}


def test_planted_identical_files(planted: dict[str, ReceiptRecord]) -> None:
    flags = compute_flags(planted["002"], prior=[planted["001"]], today=dt.date(2018, 1, 10))
    assert "duplicate_suspect" in codes(flags)
    assert flags[codes(flags).index("duplicate_suspect")].evidence["matches"][0]["reason"] == "same_file"


def test_planted_rescan_is_a_duplicate_although_the_images_differ(planted: dict[str, ReceiptRecord]) -> None:
    new, old = planted["043"], planted["042"]
    assert new.sha256 != old.sha256
    assert new.phash is not None
    assert old.phash is not None
    assert phash_distance(new.phash, old.phash) > 10  # a hash threshold alone would miss it
    flags = compute_flags(new, prior=[old], today=dt.date(2018, 4, 30))
    assert "duplicate_suspect" in codes(flags)


def test_planted_lookalikes_are_not_duplicates(planted: dict[str, ReceiptRecord]) -> None:
    new, old = planted["047"], planted["046"]
    assert (new.merchant, new.date, new.total) == (old.merchant, old.date, old.total)
    assert new.phash is not None
    assert old.phash is not None
    assert phash_distance(new.phash, old.phash) <= 10  # a hash threshold alone would flag it
    assert "duplicate_suspect" not in codes(compute_flags(new, prior=[old], today=dt.date(2017, 7, 30)))


def test_same_shop_other_days_are_not_duplicates(planted: dict[str, ReceiptRecord]) -> None:
    prior = [planted["045"], planted["046"], planted["048"]]
    assert "duplicate_suspect" not in codes(
        compute_flags(planted["047"], prior=prior, today=dt.date(2018, 1, 1))
    )


# --- limits, dates, totals, unreadable ------------------------------------------------------------


def test_over_limit_counts_same_day_same_category() -> None:
    policy = FlagPolicy(daily_limits={"meals": "50.00"})
    prior = [
        record(id="a", category_code="meals", total="30.00", merchant="CAFE A", date="2018-04-20"),
        record(
            id="b", category_code="meals", total="15.00", merchant="CAFE B", date="2018-04-19"
        ),  # other day
        record(
            id="c", category_code="fuel", total="80.00", merchant="PETROL", date="2018-04-20"
        ),  # other code
    ]
    under = record(category_code="meals", total="20.00", merchant="CAFE C")
    over = record(category_code="meals", total="20.01", merchant="CAFE C")
    assert compute_flags(under, prior=prior, today=TODAY, policy=policy) == []
    flags = compute_flags(over, prior=prior, today=TODAY, policy=policy)
    assert codes(flags) == ["over_limit"]
    assert flags[0].evidence["already_spent"] == "30.00"


def test_over_limit_from_given_spend_and_currency() -> None:
    policy = FlagPolicy(daily_limits={"meals": "50.00"}, limit_currency="MYR")
    new = record(category_code="meals", total="10.00")
    assert codes(compute_flags(new, today=TODAY, policy=policy, already_spent="45.00")) == ["over_limit"]
    foreign = record(category_code="meals", total="10.00", currency="SGD")
    assert compute_flags(foreign, today=TODAY, policy=policy, already_spent="45.00") == []
    no_limit = record(category_code="parking", total="999.00")
    assert compute_flags(no_limit, today=TODAY, policy=policy) == []


def test_a_duplicate_does_not_count_towards_the_limit() -> None:
    policy = FlagPolicy(daily_limits={"meals": "50.00"})
    old = record(id="old", category_code="meals", total="30.00", merchant="CAFE A")
    new = record(category_code="meals", total="30.00", merchant="CAFE A")
    assert codes(compute_flags(new, prior=[old], today=TODAY, policy=policy)) == ["duplicate_suspect"]


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2018-05-01", []),
        ("2018-05-02", ["date_in_future"]),
        ("2018-02-01", []),
        ("2018-01-31", []),  # 90 days old is still fine, 91 is not
        ("2018-01-30", ["stale_receipt"]),
    ],
)
def test_date_flags(date: str, expected: list[str]) -> None:
    assert codes(compute_flags(record(date=date), today=TODAY)) == expected


def test_date_flag_settings() -> None:
    policy = FlagPolicy(stale_after_days=7, future_tolerance_days=1)
    assert codes(compute_flags(record(date="2018-04-20"), today=TODAY, policy=policy)) == ["stale_receipt"]
    assert compute_flags(record(date="2018-05-02"), today=TODAY, policy=policy) == []


def test_total_mismatch() -> None:
    items = ("19.00", "8.02", "3.02", "3.88")  # 33.92
    fine = record(total="33.90", rounding="-0.02", item_amounts=items, items_confidence=0.9)
    before_tax = record(total="35.96", tax="2.04", item_amounts=items, items_confidence=0.9)
    wrong = record(total="43.90", item_amounts=items, items_confidence=0.9)
    assert compute_flags(fine, today=TODAY) == []
    assert compute_flags(before_tax, today=TODAY) == []
    flags = compute_flags(wrong, today=TODAY)
    assert codes(flags) == ["total_mismatch"]
    assert flags[0].evidence == {"items_sum": "33.92", "total": "43.90"}


def test_total_mismatch_ignores_items_that_do_not_check_themselves() -> None:
    unsure = record(total="43.90", item_amounts=("19.00", "8.02"), items_confidence=0.4)
    assert compute_flags(unsure, today=TODAY) == []


def test_unreadable_flag_and_wire_shape() -> None:
    extraction = ReceiptExtraction(
        engine="test", fields={}, raw_text="", languages="eng", unreadable=True, reason="blank_image"
    )
    flags = compute_flags(ReceiptRecord.from_extraction(extraction, id="x"), today=TODAY)
    assert codes(flags) == ["unreadable"]
    wire = flags[0].to_dict()
    assert wire["code"] == "unreadable"
    assert "blank_image" in wire["detail"]


def test_record_from_extraction_reads_fields() -> None:
    fields = {
        "merchant": ExtractedField("SHOP", 0.9),
        "total": ExtractedField("12.50", 0.8),
        "date": ExtractedField("2018-04-01", 0.7),
        "items": ExtractedField([{"description": "A", "amount": "12.50"}], 0.4),
    }
    extraction = ReceiptExtraction(engine="test", fields=fields, raw_text="", languages="eng")
    rec = ReceiptRecord.from_extraction(extraction, id="e1", sha256="c" * 64)
    assert (rec.merchant, rec.total, rec.date, rec.item_amounts) == (
        "SHOP",
        "12.50",
        "2018-04-01",
        ("12.50",),
    )
