"""Correction, submission, review and the lock after approval, over REST and sync."""

from __future__ import annotations

import time
import uuid
from typing import Any

from api.lib.ids import uuid7
from tests.expenses.receipts import write_as
from tests.factories import World, login
from tests.sync.helpers import Phone, stamp


async def _processing_expense(session_factory: Any, world: World, rep: str = "rep1") -> uuid.UUID:
    """An expense whose receipt is being read (as the upload path leaves it)."""
    ident = uuid7()
    await write_as(session_factory, world, rep, ident, {"status": "draft", "notes": "dinner"})
    upload = {"status": "processing", "receipt_media_id": str(uuid7())}
    await write_as(session_factory, world, None, ident, upload)
    return ident


async def _review(client: Any, who: dict[str, Any], ident: uuid.UUID, **body: Any) -> Any:
    return await client.post(f"/v1/expenses/{ident}/review", headers=who["headers"], json=body)


async def _submit(client: Any, who: dict[str, Any], ident: uuid.UUID) -> Any:
    return await client.post(f"/v1/expenses/{ident}/submit", headers=who["headers"])


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


async def test_correct_submit_review_and_lock(client: Any, world: World, session_factory: Any) -> None:
    rep = await login(client, "rep1")
    manager = await login(client, "manager1")
    other_manager = await login(client, "manager2")
    ident = await _processing_expense(session_factory, world)
    url = f"/v1/expenses/{ident}"

    # While the receipt is read, nothing can be submitted and the rep cannot jump the status.
    _problem(await _submit(client, rep, ident), 409, "invalid_transition")
    jump = await client.patch(url, headers=rep["headers"], json={"status": "needs_review"})
    _problem(jump, 409, "invalid_transition")

    # The job's result: fields partly filled, status needs_review.
    result = {"status": "needs_review", "merchant": "Green Leaf Cafe"}
    await write_as(session_factory, world, None, ident, result)
    body = _problem(await _submit(client, rep, ident), 422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"date", "total", "currency", "category_code"}
    _problem(await _review(client, manager, ident, status="approved"), 409, "invalid_transition")

    # The rep corrects and submits (twice: a retry changes nothing).
    fix = {"date": "2026-03-05", "total": "31.64", "currency": "USD", "category_code": "meals"}
    r = await client.patch(url, headers=rep["headers"], json=fix)
    assert r.status_code == 200, r.text
    for _ in range(2):
        r = await _submit(client, rep, ident)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted"

    # Reviews: not by the rep, not by another team's manager, a rejection needs a comment.
    _problem(await _review(client, rep, ident, status="approved"), 403, "forbidden")
    _problem(await _review(client, other_manager, ident, status="approved"), 404, "not_found")
    _problem(await _review(client, manager, ident, status="rejected"), 422, "validation_failed")
    _problem(await _review(client, manager, ident, status="maybe"), 422, "validation_failed")
    r = await _review(client, manager, ident, status="rejected", comment="attach the itemised bill")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"
    assert r.json()["review"]["comment"] == "attach the itemised bill"

    # Rejected: the rep may still correct and resubmit; then the manager approves.
    assert (await client.patch(url, headers=rep["headers"], json={"total": "30.00"})).status_code == 200
    assert (await _submit(client, rep, ident)).status_code == 200
    r = await _review(client, manager, ident, status="approved", comment="ok")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved"
    assert approved["review"]["by"] == str(world.users["manager1"])
    assert approved["review"]["at"].endswith("Z")

    # Approved is locked: no edit, no resubmission, no second review, no delete.
    _problem(await client.patch(url, headers=rep["headers"], json={"total": "99.00"}), 409, "locked")
    _problem(await _submit(client, rep, ident), 409, "invalid_transition")
    again = await _review(client, manager, ident, status="rejected", comment="no")
    _problem(again, 409, "invalid_transition")
    _problem(await client.delete(url, headers=rep["headers"]), 409, "locked")
    phone = await Phone.sign_in(client, "rep1")
    r = await phone.push(
        [phone.mutation("expense", ident, {"total": "99.00"}, hlc=stamp(int(time.time() * 1000) + 1000))]
    )
    result = r.json()["results"][0]
    assert result["status"] == "rejected"
    assert result["conflicts"][0]["code"] == "locked"
    final = (await client.get(url, headers=rep["headers"])).json()
    assert (final["status"], final["total"]) == ("approved", "30.00")


async def test_managers_do_not_approve_their_own_expenses(
    client: Any, world: World, session_factory: Any
) -> None:
    manager = await login(client, "manager1")
    admin = await login(client, "admin")
    ident = uuid7()
    fields = {"date": "2026-03-05", "total": "12.00", "currency": "USD", "category_code": "meals"}
    await write_as(session_factory, world, None, ident, {"rep_id": str(world.users["manager1"]), **fields})
    r = await _submit(client, manager, ident)
    assert r.status_code == 200, r.text
    _problem(await _review(client, manager, ident, status="approved"), 403, "forbidden")
    r = await _review(client, admin, ident, status="approved")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
