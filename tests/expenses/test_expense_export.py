"""``GET /v1/expenses/export.csv``: content, quoting, the tenant's days, scope, refusals, paging."""

from __future__ import annotations

import csv
import functools
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from api.db.engine import write_session
from api.expenses import controllers
from api.expenses.export import COLUMNS
from api.expenses.models import Expense
from api.lib.ids import uuid7
from tests.expenses.receipts import write_as
from tests.factories import World, login

EXPORT = "/v1/expenses/export.csv"


async def _approved(
    client: Any,
    session_factory: Any,
    world: World,
    rep: str,
    manager: str,
    approved_at: str,
    **fields: Any,
) -> uuid.UUID:
    """An expense submitted by ``rep`` and approved by ``manager`` over REST, dated ``approved_at``."""
    ident = uuid7()
    values = {"date": "2026-03-04", "total": "10.00", "currency": "CNY", "category_code": "meals", **fields}
    await write_as(session_factory, world, rep, ident, {"status": "draft", **values})
    who = await login(client, rep)
    assert (await client.post(f"/v1/expenses/{ident}/submit", headers=who["headers"])).status_code == 200
    reviewer = await login(client, manager)
    body = {"status": "approved"}
    r = await client.post(f"/v1/expenses/{ident}/review", headers=reviewer["headers"], json=body)
    assert r.status_code == 200, r.text
    review = {**r.json()["review"], "at": approved_at}
    async with write_session(session_factory) as session:
        await session.execute(update(Expense).where(Expense.id == ident).values(review=review))
    return ident


def _rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


async def test_export_content_days_and_scope(
    client: Any, world: World, session_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controllers, "EXPORT_PAGE", 2)  # several pages even with a handful of rows
    media_id = uuid7()
    # Tenant alpha is on Asia/Shanghai (UTC+8): 2026-03-05 there is 03-04T16:00Z .. 03-05T16:00Z.
    approve = functools.partial(_approved, client, session_factory, world)
    first = await approve(
        "rep1",
        "manager1",
        "2026-03-04T16:30:00.000Z",
        merchant='上海味道餐饮有限公司, "VIP" 厅',
        total="1234.50",
        tax="69.88",
    )
    await write_as(
        session_factory,
        world,
        None,
        first,
        {
            "receipt_media_id": str(media_id),
            "flags": [{"code": "duplicate_suspect", "detail": "x"}, {"code": "over_limit", "detail": "y"}],
        },
    )
    formula = await approve("rep2", "manager1", "2026-03-05T15:59:59.000Z", merchant="=HYPERLINK(1)")
    south = await approve("rep3", "manager2", "2026-03-05T02:00:00.000Z")
    await approve("rep1", "manager1", "2026-03-04T15:59:00.000Z")  # 03-04 local: before the window
    await approve("rep1", "manager1", "2026-03-05T16:00:00.000Z")  # 03-06 local: after it
    pending = uuid7()
    await write_as(session_factory, world, "rep1", pending, {"status": "submitted", "total": "5.00"})

    window = {"from": "2026-03-05", "to": "2026-03-05"}
    admin = await login(client, "admin")
    r = await client.get(EXPORT, headers=admin["headers"], params=window)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "charset=utf-8" in r.headers["content-type"]
    assert r.headers["content-disposition"] == 'attachment; filename="expenses-2026-03-05-2026-03-05.csv"'
    rows = _rows(r.content)
    assert {row["expense_id"] for row in rows} == {str(first), str(formula), str(south)}
    [row] = [row for row in rows if row["expense_id"] == str(first)]
    assert row == {
        "expense_id": str(first),
        "rep_name": "Rep1",
        "rep_email": "rep1@test.example",
        "date": "2026-03-04",
        "merchant": '上海味道餐饮有限公司, "VIP" 厅',
        "category": "meals",
        "total": "1234.50",
        "tax": "69.88",
        "currency": "CNY",
        "approved_by": "Manager1",
        "approved_at": "2026-03-04T16:30:00.000Z",
        "flags": "duplicate_suspect;over_limit",
        "receipt_media_id": str(media_id),
    }
    assert '"上海味道餐饮有限公司, ""VIP"" 厅"'.encode() in r.content  # RFC 4180 quoting
    assert b"\r\n" in r.content
    [row] = [row for row in rows if row["expense_id"] == str(formula)]
    assert row["merchant"] == "'=HYPERLINK(1)"  # never a live formula in a spreadsheet

    north = await login(client, "manager1")
    r = await client.get(EXPORT, headers=north["headers"], params=window)
    assert {row["expense_id"] for row in _rows(r.content)} == {str(first), str(formula)}
    south_manager = await login(client, "manager2")
    r = await client.get(EXPORT, headers=south_manager["headers"], params=window)
    assert [row["expense_id"] for row in _rows(r.content)] == [str(south)]

    # No window: every approved expense in scope; the other tenant's never.
    r = await client.get(EXPORT, headers=admin["headers"])
    assert len(_rows(r.content)) == 5
    other_tenant = await login(client, "admin_b")
    r = await client.get(EXPORT, headers=other_tenant["headers"], params=window)
    assert _rows(r.content) == []


BAD_QUERIES = [
    ({"from": "05/03/2026"}, "from"),
    ({"to": "2026-02-30"}, "to"),
    ({"from": "2026-03-06", "to": "2026-03-05"}, "from"),
    ({"status": "submitted"}, "status"),
]


async def test_refusals_are_problems(client: Any, world: World) -> None:
    admin = await login(client, "admin")
    for params, field in BAD_QUERIES:
        r = await client.get(EXPORT, headers=admin["headers"], params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["code"] == "validation_failed"
        assert [e["field"] for e in body["errors"]] == [field], params
    rep = await login(client, "rep1")
    r = await client.get(EXPORT, headers=rep["headers"])
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    r = await client.get(EXPORT)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
