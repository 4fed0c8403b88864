"""Statements the writer sends straight to the driver on PostgreSQL run inside its transaction.

The targets of a write are read and row-locked with one statement sent to asyncpg directly
(``id = ANY($1)``), and changed rows are written with one ``UPDATE … FROM unnest(…)``. When such a
statement is the first of a transaction, it must still run inside it: a lock taken outside would
be released at once and two writers could merge against the same row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from api.customers.models import Customer
from api.db.engine import write_session
from sync.entities import ENTITIES
from sync.rows import load_rows, prepare_update_rows
from tests.conftest import ENGINE
from tests.sync.locks import locked_elsewhere

pytestmark = pytest.mark.skipif(ENGINE != "postgres", reason="statements sent straight to asyncpg")


async def test_rows_locked_by_the_first_statement_stay_locked_until_commit(
    db_url, world, session_factory
) -> None:
    customer = world.customers["c0"]
    async with write_session(session_factory) as session:
        rows = await load_rows(session, ENTITIES["customer"], "id", [customer], lock=True)
        assert [row.id for row in rows] == [customer]
        assert await locked_elsewhere(db_url, "customers", customer)
    assert not await locked_elsewhere(db_url, "customers", customer)


async def test_changed_rows_written_by_unnest_commit_or_roll_back_with_the_transaction(
    world, session_factory
) -> None:
    customer = world.customers["c1"]
    spec = ENTITIES["customer"]
    later = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)

    async def change(session, notes: str, contacts: list[dict[str, str]]) -> None:
        (row,) = await load_rows(session, spec, "id", [customer], lock=True)
        row.set_many({"notes": notes, "contacts": contacts, "updated_at": later, "status_reason": None})
        write = prepare_update_rows(session, spec, [row])
        assert write is not None
        await write(session)

    async def failed_push() -> None:
        async with write_session(session_factory) as session:
            await change(session, "rolled back", [])
            raise RuntimeError("the push failed")

    async def stored() -> Customer:
        async with session_factory() as session:
            return (await session.execute(select(Customer).where(Customer.id == customer))).scalar_one()

    before = await stored()
    with pytest.raises(RuntimeError):
        await failed_push()
    assert (await stored()).notes == before.notes != "rolled back"
    async with write_session(session_factory) as session:
        await change(session, 'kept "as is"', [{"name": "Ann", "phone": "+86 21 5555"}])
    after = await stored()
    assert after.notes == 'kept "as is"'
    assert after.contacts == [{"name": "Ann", "phone": "+86 21 5555"}]
    assert after.updated_at == later
    assert after.status_reason is None
