"""The history window: pruning old tombstones, evictions and logs; expired cursors; re-bootstrap."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import anyio
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from api.customers.models import Customer
from api.lib.clock import utcnow
from api.visits.models import Visit, VisitAction
from sync.clock_repository import read_clock
from sync.history import prune_history
from sync.models import SyncConflict, SyncEviction, SyncPushResult
from tests.sync.helpers import Phone, stamp

NOW_MS = int(time.time() * 1000)
LATER = timedelta(days=31)


async def _visit(phone: Phone, customer: uuid.UUID, hlc: str, **fields) -> uuid.UUID:
    vid = uuid.uuid4()
    r = await phone.push([phone.mutation("visit", vid, {"customer_id": str(customer), **fields}, hlc=hlc)])
    assert r.json()["results"][0]["status"] == "applied", r.text
    return vid


async def _delete(phone: Phone, entity: str, ident: uuid.UUID, hlc: str) -> None:
    r = await phone.push([phone.mutation(entity, ident, op="delete", hlc=hlc)])
    assert r.json()["results"][0]["status"] == "applied", r.text


async def _count(session_factory, model, *cond) -> int:
    async with session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*cond)) or 0)


async def test_expired_cursor_is_gone_and_a_fresh_bootstrap_converges(client, world, session_factory) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    await rep.pull_all()
    old_cursor = rep.cursor
    kept = await _visit(rep, world.customers["c0"], stamp(NOW_MS), notes="kept")
    gone = await _visit(rep, world.customers["c0"], stamp(NOW_MS + 1))
    await _delete(rep, "visit", gone, stamp(NOW_MS + 2))
    r = await client.patch(
        f"/v1/customers/{world.customers['c1']}",
        json={"assigned_rep_id": str(world.users["rep2"])},
        headers=manager.headers,
    )
    assert r.status_code == 200

    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30)
    assert report.tombstones == 1
    assert report.evictions == 1
    assert report.push_results >= 3
    async with session_factory() as s:
        _, purged = await read_clock(s, world.tenant_a)
    assert purged == report.purged_through[world.tenant_a] > 0
    assert await _count(session_factory, Visit, Visit.id == gone) == 0
    assert await _count(session_factory, SyncEviction, SyncEviction.tenant_id == world.tenant_a) == 0

    r = await client.get("/v1/sync/pull", headers=rep.headers, params={"cursor": old_cursor})
    assert r.status_code == 410
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "cursor_expired"

    # The phone bootstraps again: its replica is the server's view of its scope.
    fresh = await rep.bootstrap(limit=2)
    assert all(c["op"] == "upsert" for c in fresh)
    assert str(kept) in rep.held("visit")
    assert str(gone) not in rep.held("visit")
    assert rep.held("customer") == {str(world.customers["c0"])}
    assert rep.replica[("visit", str(kept))]["notes"] == "kept"
    # And carries on incrementally from the new cursor.
    later = await _visit(rep, world.customers["c0"], stamp(NOW_MS + 3))
    changes = await rep.pull_all()
    assert [c["id"] for c in changes] == [str(later)]


async def test_cursor_newer_than_the_pruned_history_keeps_working(client, world, session_factory) -> None:
    rep = await Phone.sign_in(client, "rep1")
    gone = await _visit(rep, world.customers["c0"], stamp(NOW_MS))
    await _delete(rep, "visit", gone, stamp(NOW_MS + 1))
    await rep.pull_all()
    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30)
    assert report.tombstones == 1
    after = await _visit(rep, world.customers["c1"], stamp(NOW_MS + 2))
    changes = await rep.pull_all()
    assert [c["id"] for c in changes] == [str(after)]


async def test_recent_history_is_kept(client, world, session_factory) -> None:
    rep = await Phone.sign_in(client, "rep1")
    await rep.pull_all()
    gone = await _visit(rep, world.customers["c0"], stamp(NOW_MS))
    await _delete(rep, "visit", gone, stamp(NOW_MS + 1))
    async with session_factory() as session:
        report = await prune_history(session, utcnow(), 30)
    assert (report.tombstones, report.evictions, report.conflicts, report.push_results) == (0, 0, 0, 0)
    assert report.purged_through[world.tenant_a] == 0
    changes = await rep.pull_all()
    assert {"entity": "visit", "id": str(gone), "op": "delete", "version": changes[-1]["version"]} in changes


async def test_pruning_runs_in_bounded_batches_and_keeps_referenced_tombstones(
    client, world, session_factory
) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    doomed = [await _visit(rep, world.customers["c0"], stamp(NOW_MS + i)) for i in range(7)]
    for i, vid in enumerate(doomed):
        await _delete(rep, "visit", vid, stamp(NOW_MS + 10 + i))
    # A visit deleted with its action: both tombstones go together (the action first).
    parent = await _visit(rep, world.customers["c0"], stamp(NOW_MS + 20))
    action = uuid.uuid4()
    r = await rep.push(
        [
            rep.mutation(
                "visit_action",
                action,
                {"visit_id": str(parent), "kind": "training", "payload": {"topic": "x"}},
                hlc=stamp(NOW_MS + 21),
            )
        ]
    )
    assert r.json()["results"][0]["status"] == "applied"
    await _delete(rep, "visit", parent, stamp(NOW_MS + 22))
    # A deleted customer that a live visit still names: its tombstone must stay.
    customer = world.customers["c1"]
    kept = await _visit(rep, customer, stamp(NOW_MS + 23))
    await _delete(manager, "customer", customer, stamp(NOW_MS + 24))
    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30, batch_size=3)
    assert report.tombstones == 9
    assert await _count(session_factory, Visit, Visit.id.in_([*doomed, parent])) == 0
    assert await _count(session_factory, VisitAction, VisitAction.id == action) == 0
    assert await _count(session_factory, Customer, Customer.id == customer) == 1
    # Once the visit is deleted and old too, both go (the visit first, then the customer).
    await _delete(rep, "visit", kept, stamp(NOW_MS + 25))
    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30, batch_size=3)
    assert report.tombstones == 2
    assert await _count(session_factory, Visit, Visit.id == kept) == 0
    assert await _count(session_factory, Customer, Customer.id == customer) == 0


async def test_conflict_log_and_push_results_are_pruned(client, world, session_factory) -> None:
    rep = await Phone.sign_in(client, "rep1")
    vid = await _visit(rep, world.customers["c0"], stamp(NOW_MS))
    r = await rep.push(
        [rep.mutation("visit", vid, {"review": {"status": "approved"}}, hlc=stamp(NOW_MS + 1))]
    )
    assert r.json()["results"][0]["status"] == "rejected"
    assert await _count(session_factory, SyncConflict) == 1
    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30)
    assert report.conflicts == 1
    assert report.push_results == 2
    assert await _count(session_factory, SyncPushResult) == 0
    # A retry older than the window is still not applied again; it just has no stored result.
    again = await rep.push(
        [{"seq": 1, "entity": "visit", "id": str(vid), "op": "upsert", "hlc": stamp(NOW_MS), "fields": {}}]
    )
    assert again.json()["results"] == [{"seq": 1, "status": "duplicate"}]


async def test_an_edit_of_a_pruned_entity_is_deleted_not_resurrected(client, world, session_factory) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid = await _visit(a, world.customers["c0"], stamp(NOW_MS))
    await b.pull_all()
    seen = b.replica[("visit", str(vid))]["version"]
    await _delete(a, "visit", vid, stamp(NOW_MS + 1))
    async with session_factory() as session:
        await prune_history(session, utcnow() + LATER, 30)
    # b was offline for over a month and still has an edit based on what it saw.
    r = await b.push([b.mutation("visit", vid, {"notes": "late"}, hlc=stamp(NOW_MS + 2), base_version=seen)])
    res = r.json()["results"][0]
    assert res["status"] == "rejected"
    assert res["error"]["code"] == "deleted"
    r = await b.push([b.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 3), base_version=seen)])
    assert r.json()["results"][0]["status"] == "applied"
    assert await _count(session_factory, Visit, Visit.id == vid) == 0


async def test_prune_command_uses_the_configured_window(
    client, world, session_factory, db_url, monkeypatch
) -> None:
    rep = await Phone.sign_in(client, "rep1")
    await rep.pull_all()
    old_cursor = rep.cursor
    vid = await _visit(rep, world.customers["c0"], stamp(NOW_MS))
    await _delete(rep, "visit", vid, stamp(NOW_MS + 1))
    async with session_factory() as s, s.begin():
        await s.execute(update(Visit).where(Visit.id == vid).values(deleted_at=utcnow() - timedelta(days=8)))

    from api.cli import main
    from api.settings import get_settings

    def run(*args: str) -> str:
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(main, ["sync", "prune", *args], catch_exceptions=False)
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        return result.output

    monkeypatch.setenv("FIELDLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("FIELDLINE_SECRET_KEY", "cli-secret-" + "x" * 40)
    monkeypatch.setenv("FIELDLINE_SYNC_HISTORY_DAYS", "10")
    out = await anyio.to_thread.run_sync(run)
    assert "0 tombstones" in out
    assert await _count(session_factory, Visit, Visit.id == vid) == 1
    monkeypatch.setenv("FIELDLINE_SYNC_HISTORY_DAYS", "7")
    out = await anyio.to_thread.run_sync(run)
    assert "1 tombstones" in out
    assert await _count(session_factory, Visit, Visit.id == vid) == 0
    out = await anyio.to_thread.run_sync(run, "--days", "1")
    assert "0 tombstones" in out
    r = await client.get("/v1/sync/pull", headers=rep.headers, params={"cursor": old_cursor})
    assert r.status_code == 410
    assert r.json()["code"] == "cursor_expired"


def test_window_is_at_least_a_day() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        anyio.run(prune_history, None, utcnow(), 0)


async def test_a_customer_tombstone_stays_while_a_visit_refers_to_it(client, world, session_factory) -> None:
    """``visits.customer_id`` is a reference the writer checks, not a foreign key: pruning still
    keeps a deleted customer that a visit points at, and prunes visits before customers."""
    from api.customers.models import Customer

    admin = await Phone.sign_in(client, "admin")
    rep = await Phone.sign_in(client, "rep1")
    cid = uuid.uuid4()
    r = await admin.push(
        [
            admin.mutation(
                "customer",
                cid,
                {"name": "Closing down", "assigned_rep_id": str(world.users["rep1"])},
                hlc=stamp(NOW_MS),
            )
        ]
    )
    assert r.json()["results"][0]["status"] == "applied", r.text
    vid = await _visit(rep, cid, stamp(NOW_MS + 1))
    await _delete(admin, "customer", cid, stamp(NOW_MS + 2))
    # A new visit cannot point at the deleted customer.
    r = await rep.push(
        [rep.mutation("visit", uuid.uuid4(), {"customer_id": str(cid)}, hlc=stamp(NOW_MS + 3))]
    )
    assert r.json()["results"][0]["error"]["code"] == "not_found"
    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30)
    assert report.tombstones == 0
    assert await _count(session_factory, Customer, Customer.id == cid) == 1
    await _delete(rep, "visit", vid, stamp(NOW_MS + 4))
    async with session_factory() as session:
        report = await prune_history(session, utcnow() + LATER, 30)
    assert report.tombstones == 2  # the visit first, then the customer it pointed at
    assert await _count(session_factory, Customer, Customer.id == cid) == 0
    assert await _count(session_factory, Visit, Visit.id == vid) == 0
