"""The receipt parser on hand-written English and Chinese receipt texts (no OCR involved)."""
# ruff: noqa: RUF001  (full-width Chinese punctuation and letters are the test data)

from __future__ import annotations

import datetime as dt

import pytest

from media.ocr.lines import Kind, classify
from media.ocr.parse import parse_lines, parse_text
from media.ocr.types import OcrLine, OcrWord

MALAYSIAN = """\
TAN WOON YANN
MR D.I.Y. (JOHOR) SDN BHD
(CO.REG : 933109-X)
LOT 1851-A & 1851-B, JALAN KPB 6,
43300 SERI KEMBANGAN, SELANGOR
-INVOICE-
CHOPPING BOARD 35.5X25.5CM
8970669 1 X 19.00 19.00
AIR PRESSURE SPRAYER 1.5L
9066468 1 X 8.02 8.02
WAXCO WINDSHIELD CLEANER 120ML
9557031100236 1 X 3.02 3.02
BOPP TAPE 48MM CLEAR
6935818350846 1 X 3.88 3.88
ITEM(S) : 4 QTY(S) : 4
TOTAL RM 33.92
ROUNDING ADJUSTMENT -RM 0.02
TOTAL ROUNDED RM 33.90
CASH RM 50.00
CHANGE RM 16.10
12-01-19 21:13 SH01 ZK09
OPERATOR TRAINEE CASHIER
"""

CHINESE = """\
上海味道餐饮有限公司
地址：上海市黄浦区南京东路100号
电话：021-63211234
日期：2026年3月5日 12:30
单号：80012345
品名 数量 金额
宫保鸡丁 1 38.00
米饭 2 4.00
小计：¥42.00
税额：¥2.52
合计：¥44.52
实收：¥100.00
找零：¥55.48
谢谢惠顾
"""


def _fields(text: str, **kwargs: object) -> dict[str, object]:
    parsed = parse_text(text, default_currency=str(kwargs.pop("default_currency", "MYR")), **kwargs)  # type: ignore[arg-type]
    return {name: field.value for name, field in parsed.fields.items()}


def test_malaysian_receipt_fields() -> None:
    fields = _fields(MALAYSIAN)
    assert fields["total"] == "33.90"  # the rounded total, not 33.92, 50.00 or 16.10
    assert fields["date"] == "2019-01-12"  # day first, two-digit year
    assert fields["merchant"] == "MR D.I.Y. (JOHOR) SDN BHD"  # the legal name, not the owner line
    assert fields["currency"] == "MYR"
    assert fields["rounding"] == "-0.02"


def test_malaysian_line_items() -> None:
    items = _fields(MALAYSIAN)["items"]
    assert isinstance(items, list)
    assert [item["amount"] for item in items] == ["19.00", "8.02", "3.02", "3.88"]
    assert items[0]["description"].startswith("CHOPPING BOARD")
    assert items[0]["quantity"] == "1"


def test_chinese_receipt_fields() -> None:
    fields = _fields(CHINESE, default_currency="MYR")
    assert fields["total"] == "44.52"
    assert fields["date"] == "2026-03-05"
    assert fields["merchant"] == "上海味道餐饮有限公司"
    assert fields["currency"] == "CNY"  # from ¥, although the tenant default is MYR
    assert fields["tax"] == "2.52"
    assert fields["subtotal"] == "42.00"
    assert fields["receipt_number"] == "80012345"


def test_chinese_yen_read_as_y() -> None:
    text = "北京老街面馆\n日期:2024-01-06\n合计:Y559.10\n实收:Y600.00\n找零:Y40.90"
    fields = _fields(text, default_currency="CNY")
    assert fields["total"] == "559.10"
    assert fields["date"] == "2024-01-06"
    assert fields["currency"] == "CNY"


@pytest.mark.parametrize(
    ("text", "total"),
    [
        # Cash minus change decides between two keyword totals.
        ("SHOP\nTOTAL 12.00\nGRAND TOTAL 12.50\nCASH 20.00\nCHANGE 7.50", "12.50"),
        # Subtotal + tax agrees with the inclusive total; the GST summary total is not the total.
        (
            "SHOP\nSub Total 10.00\nGST 6% 0.60\nTotal Incl GST 10.60\nCash 10.60\nChange 0.00\n"
            "GST Summary\nSR 6% 10.00 0.60\nTotal: 10.00 0.60",
            "10.60",
        ),
        # The total line was misread; payment and subtotal + tax both point at the same amount.
        (
            "SHOP\nTotal Sales (Excluding GST) : 28.00\nTotal GST : 1.68\n"
            "Total Sales (Inclusive of GST) : 20.88\nCASH : 29.68\nChange : 0.00",
            "29.68",
        ),
        # No total line at all: what was paid, less the change.
        ("SHOP\nITEM A 4.00\nITEM B 2.00\nCASH 10.00\nCHANGE 4.00", "6.00"),
        # A total without a decimal point on a keyword line.
        ("SHOP\nSub Total 10 94\nGST 0.66\nTOTAL 11 60", "11.60"),
        # "Inclusive of GST" without TOTAL states the tax, not the total.
        ("SHOP\nGrand Total 51.30\n(Bill Inclusive of 6% GST : RM2.90)\nCash RM51.30", "51.30"),
        # Chinese: 合计 beats 小计 and 实收.
        ("店\n小计 ¥40.00\n合计 ¥42.40\n实收 ¥50.00\n找零 ¥7.60", "42.40"),
    ],
)
def test_total_selection(text: str, total: str) -> None:
    assert _fields(text)["total"] == total


def test_derived_total_printed_in_the_summary_wins() -> None:
    # The total's keyword was misread ("otal"). Arithmetic allows several amounts (the subtotal with or
    # without rounding and discount; cash less a faintly printed change); the one printed wins.
    rows = [
        ("SHOP", 0.9),
        ("Total Sales (Excluding GST): 95.17", 0.9),
        ("Discount : 0.60", 0.9),
        ("Rounding : 0.02", 0.9),
        ("otal Sales (Inclusive of GST): 100.90", 0.7),
        ("CASH : 107.00", 0.6),
        ("Change : 6.10", 0.6),
    ]
    parsed = parse_lines([OcrLine(text, confidence) for text, confidence in rows], default_currency="MYR")
    assert parsed.value("total") == "100.90"


def test_items_that_check_themselves_back_their_sum_as_total() -> None:
    text = "SHOP\nDESC QTY PRICE AMOUNT\nPEN 2 X 1.25 2.50\nBOOK 1 X 10.00 10.00\nTOTAL 12.50\nTOTAL 21.50"
    assert _fields(text)["total"] == "12.50"
    unchecked = "SHOP\nDESC AMOUNT\nPEN 2.50\nBOOK 10.00\nTOTAL 12.50\nTOTAL 21.50"
    assert _fields(unchecked)["total"] == "21.50"  # the larger, later total when items prove nothing


def test_no_total_without_amounts() -> None:
    assert "total" not in _fields("JUST SOME TEXT\nWITHOUT NUMBERS")


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("TOTAL", Kind.TOTAL),
        ("TOTAL ROUNDED", Kind.TOTAL_FINAL),
        ("Nett Total:", Kind.TOTAL_FINAL),
        ("Total Sales (Inclusive of GST) :", Kind.TOTAL_FINAL),
        ("Total Sales (Excluding GST)", Kind.SUBTOTAL),
        ("SUB TOTAL", Kind.SUBTOTAL),
        ("Total GST", Kind.TAX),
        ("GST @6% included in total", Kind.TAX),
        ("ROUNDING ADJUSTMENT", Kind.ROUNDING),
        ("Round Adj", Kind.ROUNDING),
        ("CASH", Kind.TENDERED),
        ("CHANGE DUE", Kind.CHANGE),
        ("ITEM(S) : 4 QTY(S) : 4", Kind.COUNT),
        ("Coupon Discount :", Kind.DISCOUNT),
        ("合计", Kind.TOTAL_FINAL),
        ("价税合计", Kind.TOTAL_FINAL),
        ("小计", Kind.SUBTOTAL),
        ("税额", Kind.TAX),
        ("找零", Kind.CHANGE),
        ("EXCHANGE ARE ALLOWED WITHIN 7 DAYS", Kind.OTHER),
    ],
)
def test_line_classification(line: str, kind: Kind) -> None:
    assert classify(line.upper()) is kind


@pytest.mark.parametrize(
    ("text", "default", "currency"),
    [
        ("SHOP\nTOTAL RM 10.00", "USD", "MYR"),
        ("SHOP\nTOTAL MYR 10.00", "USD", "MYR"),
        ("店\n合计 10.00元", "USD", "CNY"),
        ("SHOP\nTOTAL RMB 10.00", "USD", "CNY"),
        ("SHOP\nTOTAL EUR 10.00", "MYR", "EUR"),
        ("SHOP\nTOTAL € 10.00", "MYR", "EUR"),
        ("SHOP\nTOTAL USD 10.00", "MYR", "USD"),
        ("SHOP\nTOTAL S$ 10.00", "MYR", "SGD"),
        ("SHOP\nTOTAL 10.00", "EUR", "EUR"),  # nothing printed: the tenant default
        ("SHOP\nTOTAL $10.00", "USD", "USD"),
        ("UNIHAKKA INTERNATIONAL SDN BHD\nTOTAL $10.00", "EUR", "MYR"),  # "$" on a Malaysian receipt
    ],
)
def test_currency(text: str, default: str, currency: str) -> None:
    assert _fields(text, default_currency=default)["currency"] == currency


def test_tax_line() -> None:
    fields = _fields("SHOP\nTotal Amount: $7.60\nGST @6%: $0.43\nNett Total: $7.60\nGST REG #000656195584")
    assert fields["tax"] == "0.43"
    assert fields["total"] == "7.60"


def test_receipt_number_excludes_tax_registration() -> None:
    fields = _fields("SHOP\nGST REG NO : 001694261248\nINV NO: CS-SA-0097493 Date: 19/07/2017\nTOTAL 5.00")
    assert fields["receipt_number"] == "CS-SA-0097493"


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("TAX INVOICE\nECO-SHOP MARKETING SDN BHD\nNO 1, JALAN 2\nTOTAL 5.00", "ECO-SHOP MARKETING SDN BHD"),
        ("POPULAR BOOK\nCO. (M) SDN BHD\nNO 8, JALAN 3\nTOTAL 5.00", "POPULAR BOOK CO. (M) SDN BHD"),
        ("AMANO MALAYSIA SDN BHD (682288-V)\nLOT 1\nTOTAL 5.00", "AMANO MALAYSIA SDN BHD"),
        (
            "SANYU STATIONERY SHOP\nNO. 31G, JALAN SETIA\nOwned By :\nSANYU SUPPLY SDN BHD\nTOTAL 5.00",
            "SANYU STATIONERY SHOP",
        ),
        ("WELCOME TO THE FAMILY\nFAMILYMART\n16/04/2018\nTOTAL 18.80", "FAMILYMART"),
        ("EIGHT OUNCE COFFEE CO. THE GARDENS MALL\nF.K06, First Floor\nTOTAL 5.00", "EIGHT OUNCE COFFEE CO."),
        ("北京老街面馆\n地址:北京市朝阳区建国路1号\n合计 ¥5.00", "北京老街面馆"),
    ],
)
def test_merchant(text: str, merchant: str) -> None:
    assert _fields(text)["merchant"] == merchant


def test_merchant_skips_low_confidence_noise() -> None:
    lines = [
        OcrLine("In gang", confidence=0.2),
        OcrLine("YONG TAT HARDWARE TRADING", confidence=0.9),
        OcrLine("NO 4, JALAN PERJIRANAN 10", confidence=0.9),
        OcrLine("TOTAL 100.90", confidence=0.9),
    ]
    parsed = parse_lines(lines, default_currency="MYR")
    assert parsed.value("merchant") == "YONG TAT HARDWARE TRADING"


def test_confidences_are_probabilities_and_follow_ocr_confidence() -> None:
    text_lines = ["SHOP", "TOTAL 12.50", "CASH 20.00", "CHANGE 7.50", "Date: 12/03/2018"]
    sure = parse_lines([OcrLine(t, confidence=0.95) for t in text_lines], default_currency="MYR")
    unsure = parse_lines([OcrLine(t, confidence=0.3) for t in text_lines], default_currency="MYR")
    for parsed in (sure, unsure):
        assert all(0.0 <= field.confidence <= 1.0 for field in parsed.fields.values())
    assert sure.value("total") == unsure.value("total") == "12.50"
    assert sure.confidence("total") > unsure.confidence("total")
    assert sure.confidence("date") > unsure.confidence("date")


def test_word_confidence_of_the_amount_counts() -> None:
    def line(conf: float) -> OcrLine:
        words = (OcrWord("TOTAL", 0.95), OcrWord("12.50", conf))
        return OcrLine("TOTAL 12.50", confidence=0.95, words=words)

    good = parse_lines([OcrLine("SHOP"), line(0.95)], default_currency="MYR")
    bad = parse_lines([OcrLine("SHOP"), line(0.2)], default_currency="MYR")
    assert good.confidence("total") > bad.confidence("total")


def test_future_date_loses_to_a_plausible_one() -> None:
    text = "SHOP\nDate: 12/03/2018\nValid until 01/01/2099\nTOTAL 5.00"
    assert _fields(text, today=dt.date(2018, 3, 20))["date"] == "2018-03-12"


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("2703/2018", "2018-03-27"),  # a separator lost
        ("Date: 63/09/2017", "2017-09-03"),  # a faint 0 read as 6
    ],
)
def test_misread_dates_are_taken_when_nothing_better(line: str, iso: str) -> None:
    assert _fields(f"SHOP\n{line}\nTOTAL 5.00")["date"] == iso


def test_misread_date_loses_to_a_clean_one() -> None:
    assert _fields("SHOP\nDate: 12/03/2018\nREF 0102/2018\nTOTAL 5.00")["date"] == "2018-03-12"


def test_month_first_when_asked() -> None:
    assert _fields("SHOP\n03/04/2018\nTOTAL 5.00", day_first=False)["date"] == "2018-03-04"
