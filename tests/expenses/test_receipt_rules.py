"""The plain rules behind receipt processing and the export (no database, no OCR)."""

from __future__ import annotations

import datetime as dt

import pytest

from api.expenses.export import csv_lines, export_window, header
from api.expenses.ocr_job import ocr_languages
from api.expenses.receipts import (
    Category,
    OtherExpense,
    category_rules,
    fields_to_fill,
    flag_policy,
    gave_up_flags,
    review_flags,
)
from api.lib.errors import ValidationFailed
from media.ocr.categorize import suggest_category
from media.ocr.flags import ReceiptRecord
from media.ocr.types import ExtractedField, ReceiptExtraction


def extraction(unreadable: bool = False, **fields: tuple[object, float]) -> ReceiptExtraction:
    return ReceiptExtraction(
        engine="tesseract 5",
        fields={name: ExtractedField(value, conf) for name, (value, conf) in fields.items()},
        raw_text="",
        languages="eng",
        unreadable=unreadable,
        reason="no_text" if unreadable else None,
    )


READ = extraction(
    merchant=("GREEN LEAF CAFE", 0.6),
    date=("2026-03-05", 0.9),
    total=("31.6", 0.9),
    tax=("2.34", 0.1),
    currency=("USD", 0.6),
    category_code=("meals", 0.7),
)


def test_fill_only_what_the_rep_left_empty() -> None:
    current = {"merchant": "Lunch with ACME", "total": None, "date": "", "category_code": None}
    assert fields_to_fill(current, READ, category_codes={"meals", "other"}) == {
        "date": "2026-03-05",
        "total": "31.60",  # money as the expense stores it
        "currency": "USD",
        "category_code": "meals",
    }  # merchant kept, tax below the confidence floor


def test_nothing_is_filled_from_an_unreadable_receipt() -> None:
    assert fields_to_fill({}, extraction(True, total=("3.00", 0.9))) == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [("date", "2026-13-01"), ("total", "12,50"), ("total", "-3.00"), ("currency", "usd"), ("currency", "RM")],
)
def test_values_the_expense_would_refuse_are_not_filled(name: str, value: str) -> None:
    assert name not in fields_to_fill({}, extraction(**{name: (value, 0.9)}))


def test_a_category_the_tenant_does_not_have() -> None:
    found = extraction(category_code=("fuel", 0.9))
    assert fields_to_fill({}, found, category_codes={"meals", "other"}) == {"category_code": "other"}
    assert fields_to_fill({}, found, category_codes={"meals"}) == {}
    assert fields_to_fill({}, found, category_codes=set()) == {"category_code": "fuel"}


def test_tenant_keywords_extend_the_built_in_rules() -> None:
    rules = category_rules({"client_gifts": ["FLORIST"], "meals": ["PANTRY"]})
    assert suggest_category("ROSE FLORIST").code == "other"
    assert suggest_category("ROSE FLORIST", rules=rules).code == "client_gifts"
    assert suggest_category("THE PANTRY", rules=rules).code == "meals"
    assert suggest_category("PETRONAS", rules=rules).code == "fuel"


def record(id: str, total: str, merchant: str = "Shop", **kw: str) -> ReceiptRecord:
    base = {"date": "2026-03-05", "category_code": "meals", "currency": "USD"}
    return ReceiptRecord(id=id, merchant=merchant, total=total, **{**base, **kw})


def test_daily_limit_counts_the_reps_own_spending_that_day() -> None:
    new = record("new", "30.00", merchant="Green Leaf")
    policy = flag_policy(Category("meals", "60.00", "USD"), stale_after_days=60, default_currency="USD")
    today = dt.date(2026, 3, 6)
    others = [
        OtherExpense(record("a", "25.00", merchant="Noodles"), "rep1", "submitted"),
        OtherExpense(record("b", "500.00", merchant="Steaks"), "rep2", "approved"),  # someone else's
        OtherExpense(record("c", "90.00", merchant="Sushi"), "rep1", "rejected"),  # does not count
        OtherExpense(record("d", "80.00", merchant="Tacos", date="2026-03-04"), "rep1", "approved"),
        OtherExpense(record("e", "70.00", merchant="Pizza", category_code="other"), "rep1", "approved"),
    ]
    assert review_flags(new, rep_id="rep1", others=others, policy=policy, today=today) == []
    more = [*others, OtherExpense(record("f", "6.00", merchant="Bakery"), "rep1", "needs_review")]
    [flag] = review_flags(new, rep_id="rep1", others=more, policy=policy, today=today)
    assert flag["code"] == "over_limit"
    assert flag["evidence"]["already_spent"] == "31.00"


TODAY = dt.date(2026, 3, 6)


def test_a_limit_in_another_currency_is_not_compared() -> None:
    policy = flag_policy(Category("meals", "10.00", "CNY"), stale_after_days=60, default_currency="USD")
    flags = review_flags(record("n", "30.00"), rep_id="r", others=[], policy=policy, today=TODAY)
    assert flags == []
    policy = flag_policy(Category("meals", "10.00", None), stale_after_days=60, default_currency="USD")
    flags = review_flags(record("n", "30.00"), rep_id="r", others=[], policy=policy, today=TODAY)
    assert [f["code"] for f in flags] == ["over_limit"]


def test_giving_up_adds_unreadable_once_and_keeps_other_flags() -> None:
    earlier = [{"code": "duplicate_suspect", "detail": "x"}, {"code": "unreadable", "detail": "old"}]
    flags = gave_up_flags(earlier)
    assert [f["code"] for f in flags] == ["unreadable", "duplicate_suspect"]
    assert flags[0]["evidence"] == {"reason": "processing_failed"}


def test_chinese_first_for_yuan_tenants() -> None:
    assert ocr_languages("cny") == "chi_sim+eng"
    assert ocr_languages("USD") == "auto"


def test_export_days_are_the_tenants() -> None:
    window = export_window("2026-03-05", "2026-03-05", "Asia/Shanghai")
    assert window.start == dt.datetime(2026, 3, 4, 16, tzinfo=dt.UTC)
    assert window.end == dt.datetime(2026, 3, 5, 16, tzinfo=dt.UTC)
    assert window.contains(dt.datetime(2026, 3, 5, 15, 59, 59, tzinfo=dt.UTC))
    assert not window.contains(dt.datetime(2026, 3, 5, 16, tzinfo=dt.UTC))
    open_ended = export_window(None, "2026-03-05", "Europe/London")
    assert open_ended.start is None
    assert open_ended.end == dt.datetime(2026, 3, 6, tzinfo=dt.UTC)
    with pytest.raises(ValidationFailed):
        export_window("2026-3-5x", None, "UTC")


def test_csv_quoting_and_bom() -> None:
    assert header().startswith("\ufeffexpense_id,rep_name,")
    assert csv_lines([["a,b", 'say "hi"', "多行\n文本"]]) == '"a,b","say ""hi""","多行\n文本"\r\n'
