"""Amounts, dates and OCR text clean-up: the building blocks of the receipt parser."""
# ruff: noqa: RUF001  (full-width Chinese punctuation and letters are the test data)

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from media.ocr.amounts import find_amounts, parse_money
from media.ocr.dates import find_dates, parse_date
from media.ocr.text import fix_keywords, merge_rows, normalize, repair_digits
from media.ocr.types import OcrLine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TOTAL RM 33.92", ["33.92"]),
        ("ROUNDING ADJUSTMENT -RM 0.02", ["-0.02"]),
        ("Total 39, 90", ["39.90"]),  # OCR splits the decimals
        ("x 33. 87 ok", ["33.87"]),
        ("Change RMO.00", ["0.00"]),  # letter O for zero
        ("GST @6% included in total RM 1,97", ["1.97"]),
        ("合计:Y559.10", ["559.10"]),  # tesseract reads the yen sign as Y
        ("合计¥ 559.10", ["559.10"]),
        ("1,234.00 and 1.234,50", ["1234.00", "1234.50"]),
        ("(12.50)", ["-12.50"]),
        ("SR @ 6% 4.72 0.28", ["4.72", "0.28"]),
        ("Change fMO.00", ["0.00"]),  # RM misread as fM
        ("sHerb RH3.00", ["3.00"]),
    ],
)
def test_amounts_found(text: str, expected: list[str]) -> None:
    assert [str(a.value) for a in find_amounts(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "PPF Pi 1,000 6",  # three decimals is a quantity
        "13/03/2018 12.03.2018 12:49:00",  # dates and times
        "GST 6.00%",
        "TEL 07-2614733",
        "CODE ABC12.50",  # tail of a product code
        "GST ID : 001570349056",
    ],
)
def test_non_amounts_ignored(text: str) -> None:
    assert find_amounts(text) == []


def test_amount_keeps_currency_hint() -> None:
    hints = [a.currency_hint for a in find_amounts("RM1.00 $2.00 ¥3.00 4.00")]
    assert hints == ["RM", "$", "¥", None]


def test_parse_money_labels() -> None:
    assert parse_money("RM 34.80") == Decimal("34.80")
    assert parse_money("$8.70") == Decimal("8.70")
    assert parse_money("1,234.00") == Decimal("1234.00")
    assert parse_money("9") == Decimal("9.00")
    assert parse_money("n/a") is None


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("25/12/2018", "2018-12-25"),
        ("19-04-18 18:04", "2018-04-19"),
        ("30 DEC 17", "2017-12-30"),
        ("2018-01-02", "2018-01-02"),
        ("12.03.2018", "2018-03-12"),  # day first
        ("开票日期:2026年3月5日", "2026-03-05"),
        ("2026年03月05日", "2026-03-05"),
        ("15/APR/2017", "2017-04-15"),
        ("21 Mar 2018 18:21", "2018-03-21"),
        ("Mar 21, 2018", "2018-03-21"),
        ("2O18-01-02", "2018-01-02"),  # letter O for zero
        ("05 MAY 18", "2018-05-05"),
        ("09 OGO 2018", "2018-08-09"),  # Malay month
    ],
)
def test_dates(text: str, iso: str) -> None:
    found = find_dates(text)
    assert found, text
    assert found[0].value.isoformat() == iso


def test_day_first_switch() -> None:
    assert parse_date("03/04/2018") == dt.date(2018, 4, 3)
    assert parse_date("03/04/2018", day_first=False) == dt.date(2018, 3, 4)
    # Only one reading is a real date: taken either way, with less certainty.
    us = find_dates("12/25/2018")
    assert us[0].value == dt.date(2018, 12, 25)
    assert us[0].certainty < find_dates("25/12/2018")[0].certainty


@pytest.mark.parametrize("text", ["1.00 12.50 2018", "TEL 07-2614733", "32/13/2018", "INV 20180102"])
def test_not_dates(text: str) -> None:
    assert find_dates(text) == []


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2703/2018", "2018-03-27"),
        ("27/032018", "2018-03-27"),
        ("63/09/2017", "2017-09-03"),
        ("03/69/2017", "2017-09-03"),
        ("83/03/2017", "2017-03-03"),
    ],
)
def test_misread_dates_only_when_asked(text: str, iso: str) -> None:
    assert find_dates(text) == []
    found = find_dates(text, allow_misread=True)
    assert [f.value.isoformat() for f in found] == [iso]
    assert found[0].certainty < find_dates("27/03/2018")[0].certainty


@pytest.mark.parametrize("text", ["32/13/2018", "1234/2018", "42/09/2017", "TEL 07-2614733", "12345/2018"])
def test_misread_dates_stay_within_reason(text: str) -> None:
    assert find_dates(text, allow_misread=True) == []


def test_compact_date_only_when_asked() -> None:
    assert find_dates("20180102") == []
    assert find_dates("20180102", allow_compact=True)[0].value == dt.date(2018, 1, 2)


def test_normalize_folds_full_width_and_cjk_spacing() -> None:
    assert normalize("合 计 ： ￥ 12.00") == "合计: ¥ 12.00"
    assert normalize("ＴＯＴＡＬ\u3000１２．５０") == "TOTAL 12.50"


def test_repair_digits_only_touches_numbers() -> None:
    assert repair_digits("RMO.00") == "RM0.00"
    assert repair_digits("2O18-O1-02") == "2018-01-02"
    assert repair_digits("BOX OF SOS") == "BOX OF SOS"
    assert repair_digits("1.00SET") == "1.00SET"


def test_fix_keywords() -> None:
    assert fix_keywords("CACH RECEIVED") == "CASH RECEIVED"
    assert fix_keywords("GRAND TOTA") == "GRAND TOTAL"
    assert fix_keywords("ROUNDLNG ADJ") == "ROUNDING ADJ"
    assert fix_keywords("PHONE CASE") == "PHONE CASE"  # not turned into CASH
    assert fix_keywords("SELANGOR") == "SELANGOR"


def test_merge_rows_joins_label_and_amount() -> None:
    lines = [
        OcrLine("TOTAL", box=(17, 643, 62, 22)),
        OcrLine("RM 33.92", box=(347, 650, 85, 18)),
        OcrLine("CASH", box=(16, 710, 46, 18)),
        OcrLine("RM 50.00", box=(343, 711, 92, 18)),
    ]
    assert [row.text for row in merge_rows(lines)] == ["TOTAL RM 33.92", "CASH RM 50.00"]


def test_merge_rows_keeps_lines_without_boxes() -> None:
    lines = [OcrLine("B"), OcrLine("A")]
    assert [row.text for row in merge_rows(lines)] == ["B", "A"]
