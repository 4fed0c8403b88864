"""The ``ocr.receipt`` job end to end with real tesseract: fields, flags, status, sync, failures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from media.ocr.recognize import available_languages
from media.storage import LocalStorage, StorageError
from tests.expenses.receipts import Receipts, codes, set_tenant, tenant_today, write_as
from tests.factories import login
from tests.ocr import receiptgen as gen
from tests.sync.helpers import Phone

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif("eng" not in available_languages(), reason="needs tesseract with eng"),
]
needs_chinese = pytest.mark.skipif(
    "chi_sim" not in available_languages() or gen.font_path() is None,
    reason="needs tesseract chi_sim and a CJK font",
)

LUNCH = (("CLUB SANDWICH", 2, Decimal("11.90")), ("ICED TEA", 2, Decimal("2.75")))  # 29.30 + 8 % = 31.64


def english(days_ago: int = 2, seed: int = 1, **kw: Any) -> gen.GeneratedReceipt:
    return gen.english_receipt(seed, date=tenant_today() - dt.timedelta(days=days_ago), items=LUNCH, **kw)


async def test_receipt_becomes_needs_review_with_fields_flags_and_sync(
    client: Any, receipts: Receipts
) -> None:
    phone = await Phone.sign_in(client, "rep1")
    receipt = english()
    expense_id = await receipts.new_expense("rep1", merchant="Lunch with ACME buyers", notes="client lunch")
    await receipts.attach(expense_id, receipt.jpeg())
    await phone.pull_all()
    assert phone.replica[("expense", str(expense_id))]["status"] == "processing"

    assert await receipts.run_jobs() == 1

    expense = await receipts.expense(expense_id)
    assert expense.status == "needs_review"
    assert expense.merchant == "Lunch with ACME buyers"  # the rep's own value is kept
    assert expense.date == receipt.date.isoformat()
    assert expense.total == "31.64" == f"{receipt.total}"
    assert expense.tax == f"{receipt.tax}"
    assert expense.currency == "USD"
    assert expense.category_code == "meals"
    assert expense.flags == []
    fields = expense.extraction["fields"]
    assert fields["merchant"]["value"] == "GREEN LEAF CAFE"  # what the receipt says, beside the rep's value
    for name in ("merchant", "date", "total", "tax", "currency", "category_code"):
        assert 0.2 <= fields[name]["confidence"] <= 1.0, name
    assert expense.extraction["engine"].startswith("tesseract")
    assert expense.extraction["raw_text_ref"] == f"/v1/expenses/{expense_id}/receipt-text"
    [job] = await receipts.jobs()
    assert (job.status, job.attempts) == ("done", 1)
    [scan] = await receipts.scans(expense_id)
    assert scan.phash is not None
    assert len(scan.sha256) == 64

    changes = await phone.pull_all()
    [change] = [c for c in changes if c["id"] == str(expense_id)]
    assert change["data"]["status"] == "needs_review"
    assert change["data"]["total"] == "31.64"
    assert change["data"]["extraction"]["fields"]["total"]["value"] == "31.64"

    text = await client.get(f"/v1/expenses/{expense_id}/receipt-text", headers=phone.headers)
    assert text.status_code == 200
    assert "GREEN LEAF" in text.text
    other = await login(client, "rep3")
    hidden = await client.get(f"/v1/expenses/{expense_id}/receipt-text", headers=other["headers"])
    assert hidden.status_code == 404

    # The rep corrects a field afterwards: the normal merge rules let the later edit win.
    r = await client.patch(f"/v1/expenses/{expense_id}", headers=phone.headers, json={"total": "31.00"})
    assert r.status_code == 200, r.text
    assert (await receipts.expense(expense_id)).total == "31.00"


@needs_chinese
async def test_chinese_receipt(receipts: Receipts) -> None:
    await set_tenant(receipts.sessions, receipts.world.tenant_a, default_currency="CNY")
    receipt = gen.chinese_receipt(1)  # 广州南方大酒店, with tax
    expense_id = await receipts.upload(receipt.jpeg())
    await receipts.run_jobs()
    expense = await receipts.expense(expense_id)
    assert expense.status == "needs_review"
    assert expense.merchant == receipt.merchant
    assert expense.date == receipt.date.isoformat()
    assert expense.total == f"{receipt.total}"
    assert expense.currency == "CNY"
    assert expense.category_code == "lodging"
    assert expense.extraction["fields"]["merchant"]["confidence"] > 0.5
    assert "stale_receipt" in codes(expense)  # printed in 2025, older than 60 days


async def test_same_image_twice_is_a_duplicate(receipts: Receipts) -> None:
    data = english().jpeg()
    first = await receipts.upload(data, rep="rep1")
    await receipts.run_jobs()
    assert codes(await receipts.expense(first)) == []
    second = await receipts.upload(data, rep="rep2")
    await receipts.run_jobs()
    flagged = await receipts.expense(second)
    assert codes(flagged) == ["duplicate_suspect"]
    assert flagged.flags[0]["evidence"]["matches"] == [{"id": str(first), "reason": "same_file"}]


async def test_same_merchant_date_and_total_is_a_duplicate(receipts: Receipts) -> None:
    receipt = english()
    typed = await receipts.new_expense(
        "rep2", merchant="Green Leaf Cafe", date=receipt.date.isoformat(), total="31.64", currency="USD"
    )
    expense_id = await receipts.upload(receipt.jpeg(), rep="rep1")
    await receipts.run_jobs()
    expense = await receipts.expense(expense_id)
    assert codes(expense) == ["duplicate_suspect"]
    matches = expense.flags[0]["evidence"]["matches"]
    assert matches == [{"id": str(typed), "reason": "same_merchant_date_total"}]


async def test_over_the_daily_limit_counts_only_the_reps_own_expenses(receipts: Receipts) -> None:
    day = (tenant_today() - dt.timedelta(days=2)).isoformat()
    await receipts.new_expense("rep1", merchant="Noodles", date=day, total="40.00", category_code="meals")
    await receipts.new_expense("rep2", merchant="Steaks", date=day, total="500.00", category_code="meals")
    expense_id = await receipts.upload(english().jpeg(), rep="rep1")
    await receipts.run_jobs()
    expense = await receipts.expense(expense_id)
    assert codes(expense) == ["over_limit"]
    assert expense.flags[0]["evidence"] == {
        "category_code": "meals",
        "limit": "60.00",
        "already_spent": "40.00",
        "total": "31.64",
    }


async def test_stale_receipt_per_tenant_setting_and_date_in_the_future(receipts: Receipts) -> None:
    await set_tenant(receipts.sessions, receipts.world.tenant_a, stale_receipt_days=30)
    old = await receipts.upload(english(days_ago=45).jpeg())  # fresh under the default of 60 days
    ahead = await receipts.upload(english(days_ago=-30, seed=2).jpeg())
    await receipts.run_jobs()
    expense = await receipts.expense(old)
    assert codes(expense) == ["stale_receipt"]
    assert expense.flags[0]["evidence"] == {"age_days": 45, "limit_days": 30}
    expense = await receipts.expense(ahead)
    assert expense.date == (tenant_today() + dt.timedelta(days=30)).isoformat()
    assert codes(expense) == ["date_in_future"]


async def test_nothing_readable_ends_in_review_flagged_unreadable(receipts: Receipts) -> None:
    white = gen.encode(Image.new("RGB", (600, 900), "white"), "PNG")
    cases = {
        "blank image": (white, "image/png", {"blank_image"}),
        "photo of no receipt": (
            gen.encode(gen.landscape(3, (640, 420))),
            "image/jpeg",
            {"no_text", "no_receipt_fields"},
        ),
        "pdf without text": (gen.blank_pdf(), "application/pdf", {"blank_image"}),
    }
    uploaded = {name: await receipts.upload(data, kind) for name, (data, kind, _) in cases.items()}
    assert await receipts.run_jobs() == 3
    for name, expense_id in uploaded.items():
        expense = await receipts.expense(expense_id)
        assert expense.status == "needs_review", name
        assert codes(expense) == ["unreadable"], name
        assert expense.flags[0]["evidence"]["reason"] in cases[name][2], name
        filled = (expense.total, expense.date, expense.merchant, expense.category_code)
        assert filled == (None, None, None, None), name
        found = expense.extraction["fields"]
        assert all(found[f]["confidence"] < 0.3 for f in ("total", "date") if f in found), name
    assert {job.status for job in await receipts.jobs()} == {"done"}


async def test_rotated_receipt_is_read_or_unreadable_never_a_crash(receipts: Receipts) -> None:
    receipt = english(seed=4)
    turned = receipt.image.rotate(180)
    expense_id = await receipts.upload(gen.encode(turned.convert("RGB"), "JPEG", quality=90))
    await receipts.run_jobs()
    expense = await receipts.expense(expense_id)
    assert expense.status == "needs_review"
    assert expense.total == f"{receipt.total}" or codes(expense) == ["unreadable"]


class BrokenStorage(LocalStorage):
    """A disk that fails every read (the job retries, then gives up)."""

    async def read_bytes(self, key: str) -> bytes:
        raise StorageError("io_error", "I/O error while reading")


async def test_give_up_after_the_last_attempt_leaves_the_expense_in_review(
    receipts: Receipts, tmp_path: Any
) -> None:
    receipts.services["storage"] = BrokenStorage(tmp_path / "broken", fsync=False)
    expense_id = await receipts.new_expense("rep1", notes="taxi")
    await receipts.attach(expense_id, english().jpeg(), max_attempts=2)
    assert await receipts.run_jobs() == 1
    [job] = await receipts.jobs()
    assert (job.status, job.attempts) == ("queued", 1)
    assert (await receipts.expense(expense_id)).status == "processing"
    await receipts.make_due()
    assert await receipts.run_jobs() == 1
    [job] = await receipts.jobs()
    assert (job.status, job.attempts) == ("failed", 2)
    expense = await receipts.expense(expense_id)
    assert expense.status == "needs_review"
    assert codes(expense) == ["unreadable"]
    assert expense.flags[0]["evidence"] == {"reason": "processing_failed"}
    assert expense.notes == "taxi"


async def test_a_receipt_missing_from_storage_gives_up_at_once(receipts: Receipts) -> None:
    expense_id = await receipts.new_expense("rep1")
    await receipts.attach(expense_id, b"never stored", store=False)
    await receipts.run_jobs()
    [job] = await receipts.jobs()
    assert (job.status, job.attempts) == ("failed", 1)
    expense = await receipts.expense(expense_id)
    assert (expense.status, codes(expense)) == ("needs_review", ["unreadable"])


async def test_a_replaced_receipt_is_not_applied(receipts: Receipts) -> None:
    expense_id = await receipts.new_expense("rep1")
    await receipts.attach(expense_id, english().jpeg())
    blank = gen.encode(Image.new("RGB", (300, 400), "white"), "PNG")
    newer = await receipts.attach(expense_id, blank, "image/png")
    worker = receipts.worker()
    assert await worker.run_once()  # the first job: its receipt was replaced meanwhile
    expense = await receipts.expense(expense_id)
    assert (expense.status, expense.extraction) == ("processing", None)
    assert await worker.run_once()
    expense = await receipts.expense(expense_id)
    assert expense.receipt_media_id == newer
    assert (expense.status, codes(expense)) == ("needs_review", ["unreadable"])
    assert {j.status for j in await receipts.jobs()} == {"done"}
    assert [s.media_id for s in await receipts.scans(expense_id)] == [newer]


async def test_rep_edit_made_while_processing_is_kept(receipts: Receipts) -> None:
    expense_id = await receipts.new_expense("rep1")
    await receipts.attach(expense_id, english().jpeg())
    edit = {"total": "30.00", "category_code": "other"}
    await write_as(receipts.sessions, receipts.world, "rep1", expense_id, edit)
    await receipts.run_jobs()
    expense = await receipts.expense(expense_id)
    assert (expense.total, expense.category_code) == ("30.00", "other")
    assert expense.extraction["fields"]["total"]["value"] == "31.64"
    assert expense.date is not None
