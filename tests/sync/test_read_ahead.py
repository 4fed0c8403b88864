"""A push's rows are read (and locked) while its mutations are checked, in the usual lock order.

On PostgreSQL the writer sends the read of a batch's targets before the batch is validated
(:meth:`sync.writer.SyncWriter.read_ahead`), so the database reads while Python checks. Rows must
still be locked in the order every writer locks them: a batch that names a visit's child (children
are locked before their visit) or gives a visit to another rep (its children are locked first) is
not read ahead. What the client sent is unchecked at that point: nothing in it may break the read.
"""

from __future__ import annotations

import time
import uuid

import pytest

from api.customers.models import Customer
from api.db.engine import write_session
from sync.entities import Actor
from sync.policy import Incoming
from sync.writer import SyncWriter
from tests.conftest import ENGINE
from tests.sync.helpers import stamp
from tests.sync.locks import locked_elsewhere

pytestmark = pytest.mark.skipif(ENGINE != "postgres", reason="the read ahead is PostgreSQL's")


def _writer(session, world) -> SyncWriter:
    return SyncWriter(session, world.tenant_a, Actor(user_id=None, role="system"), lock_rows=True)


async def test_the_named_rows_are_locked_before_the_batch_is_checked(db_url, world, session_factory) -> None:
    customer = world.customers["c0"]
    async with write_session(session_factory) as session:
        writer = _writer(session, world)
        await writer.read_ahead(
            [
                ("customer", str(customer), "upsert", {"name": "Renamed"}),
                # Unchecked input: none of it may break the read, and it reads nothing.
                ("customer", "not-a-uuid", "upsert", {}),
                (["not", "hashable"], str(uuid.uuid4()), "upsert", None),
                ("no_such_entity", str(uuid.uuid4()), "upsert", {}),
                ("customer", 42, "upsert", {}),
                ("customer", str(uuid.uuid4()), ["not", "an", "op"], {}),
            ]
        )
        await writer.finish()
        assert await locked_elsewhere(db_url, "customers", customer)
        # The batch then applies against the rows read ahead.
        later = stamp(int(time.time() * 1000) + 60_000)  # newer than the world's own writes
        rename = Incoming("customer", customer, "upsert", later, None, {"name": "Renamed"})
        outcomes = await writer.apply([rename])
        assert outcomes[0].status != "rejected"
    assert not await locked_elsewhere(db_url, "customers", customer)
    async with session_factory() as session:
        assert (await session.get(Customer, customer)).name == "Renamed"


async def _read_ahead_locks(
    db_url: str, world, session_factory, named: tuple[str, dict | None], op: str = "upsert"
) -> bool:
    """Whether a batch of a customer's edit and ``named`` = (entity, fields) locks the customer
    when read ahead."""
    customer = world.customers["c1"]
    entity, fields = named
    async with write_session(session_factory) as session:
        writer = _writer(session, world)
        await writer.read_ahead(
            [
                ("customer", str(customer), "upsert", {"name": "Renamed"}),
                (entity, str(uuid.uuid4()), op, fields),
            ]
        )
        await writer.finish()
        return await locked_elsewhere(db_url, "customers", customer)


async def test_a_batch_with_a_plain_visit_is_read_ahead(db_url, world, session_factory) -> None:
    assert await _read_ahead_locks(db_url, world, session_factory, ("visit", {"notes": "n"}))


async def test_a_batch_naming_a_visits_child_is_not_read_ahead(db_url, world, session_factory) -> None:
    """Children are locked before their visit: the batch's reads keep that order."""
    assert not await _read_ahead_locks(db_url, world, session_factory, ("visit_action", {"kind": "note"}))


async def test_a_batch_moving_a_visit_is_not_read_ahead(db_url, world, session_factory) -> None:
    """A visit that moves takes its children along, and they are locked before it."""
    assert not await _read_ahead_locks(db_url, world, session_factory, ("visit", {"rep_id": None}))


async def test_a_batch_deleting_a_visit_is_not_read_ahead(db_url, world, session_factory) -> None:
    """A deleted visit deletes its children, and they are locked before it."""
    assert not await _read_ahead_locks(db_url, world, session_factory, ("visit", None), op="delete")


async def test_rows_read_ahead_are_not_read_again(world, session_factory, monkeypatch) -> None:
    """New visits: the read ahead finds none of them, and the batch does not ask again."""
    import sync.writer

    reads: list[str] = []
    real = sync.writer.load_rows

    async def counting(session, spec, column, ids, *, lock=False):
        reads.append(spec.name)
        return await real(session, spec, column, ids, lock=lock)

    monkeypatch.setattr(sync.writer, "load_rows", counting)
    rep = world.users["rep1"]
    visits = [uuid.uuid4() for _ in range(3)]
    fields = {"customer_id": str(world.customers["c0"]), "notes": "first"}
    async with write_session(session_factory) as session:
        actor = Actor(user_id=rep, role="rep", rep_scope=frozenset({rep}))
        writer = SyncWriter(session, world.tenant_a, actor, lock_rows=True)
        await writer.read_ahead([("visit", str(v), "upsert", fields) for v in visits])
        now = stamp(int(time.time() * 1000))
        batch = [Incoming("visit", v, "upsert", now, None, dict(fields)) for v in visits]
        outcomes = await writer.apply(batch)
    assert [o.status for o in outcomes] == ["applied"] * 3
    assert reads.count("visit") == 1
