"""Deleting a visit deletes its actions and photos: no replica keeps children of a deleted visit."""

from __future__ import annotations

import time
import uuid

import anyio
from sqlalchemy import select, update

from api.db.engine import write_session
from api.db.migrate import downgrade, upgrade
from api.photos.models import Photo
from api.visits.models import Visit, VisitAction
from sync.writer import STEP
from tests.sync.helpers import Phone, stamp, visit_with_children

NOW_MS = int(time.time() * 1000)


async def test_deleting_a_visit_deletes_its_actions_and_photos_on_every_replica(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    vid, aid, pid = await visit_with_children(rep, world.customers["c0"], NOW_MS)
    for phone in (rep, manager):
        await phone.pull_all()
        assert {("visit", vid), ("visit_action", aid), ("photo", pid)} <= set(phone.replica)

    version = rep.replica[("visit", vid)]["version"]
    r = await rep.push([rep.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 5), base_version=version)])
    assert r.json()["results"][0]["status"] == "applied", r.text

    for phone in (rep, manager):
        deletes = [c for c in await phone.pull_all() if c["op"] == "delete"]
        assert {(c["entity"], c["id"]) for c in deletes} == {
            ("visit", vid),
            ("visit_action", aid),
            ("photo", pid),
        }
        # Children first, so a replica never holds an action whose visit it has dropped.
        assert deletes[-1]["entity"] == "visit"
        assert not {("visit", vid), ("visit_action", aid), ("photo", pid)} & set(phone.replica)
        fresh = await Phone.sign_in(client, phone.user)
        await fresh.pull_all()
        assert fresh.replica == phone.replica
    for path in (f"/v1/visit-actions/{aid}", f"/v1/photos/{pid}"):
        assert (await client.get(path, headers=rep.headers)).status_code == 404


async def test_an_offline_edit_or_new_child_of_a_deleted_visit_is_refused_as_deleted(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    other = await Phone.sign_in(client, "rep1")  # the rep's second phone, offline meanwhile
    vid, aid, _ = await visit_with_children(rep, world.customers["c0"], NOW_MS)
    await other.pull_all()
    r = await rep.push([rep.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 5))])
    assert r.json()["results"][0]["status"] == "applied", r.text

    seen = other.replica[("visit_action", aid)]["version"]
    r = await other.push(
        [
            other.mutation(
                "visit_action",
                aid,
                {"payload": {"topic": "returns"}},
                hlc=stamp(NOW_MS + 9),
                base_version=seen,
            ),
            other.mutation(
                "photo", uuid.uuid4(), {"visit_id": vid, "caption": "late"}, hlc=stamp(NOW_MS + 10)
            ),
        ]
    )
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["rejected", "rejected"], r.text
    assert [x["error"]["code"] for x in results] == ["deleted", "deleted"]
    await other.pull_all()
    assert not [key for key in other.replica if key[0] in {"visit", "visit_action", "photo"}]


async def test_a_child_edited_earlier_in_the_batch_is_deleted_with_its_visit(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    vid, aid, pid = await visit_with_children(rep, world.customers["c0"], NOW_MS)
    await rep.pull_all()
    seen = rep.replica[("photo", pid)]["version"]
    r = await rep.push(
        [
            rep.mutation("photo", pid, {"caption": "blurred"}, hlc=stamp(NOW_MS + 5), base_version=seen),
            rep.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 6)),
            rep.mutation(
                "visit_action", aid, {"payload": {"topic": "x"}}, hlc=stamp(NOW_MS + 7), base_version=seen
            ),
        ]
    )
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied", "rejected"], r.text
    assert r.json()["results"][2]["error"]["code"] == "deleted"
    await rep.pull_all()
    assert not [key for key in rep.replica if key[0] in {"visit", "visit_action", "photo"}]
    admin = await Phone.sign_in(client, "admin")
    await admin.pull_all()
    assert not {("visit", vid), ("visit_action", aid), ("photo", pid)} & set(admin.replica)


async def test_a_child_created_in_the_same_batch_is_deleted_with_its_visit(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    vid, aid = uuid.uuid4(), uuid.uuid4()
    r = await rep.push(
        [
            rep.mutation("visit", vid, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS)),
            rep.mutation(
                "visit_action",
                aid,
                {"visit_id": str(vid), "kind": "training", "payload": {"topic": "t"}},
                hlc=stamp(NOW_MS + 1),
            ),
            rep.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 2)),
        ]
    )
    assert [x["status"] for x in r.json()["results"]] == ["applied"] * 3, r.text
    await rep.pull_all()
    assert ("visit_action", str(aid)) not in rep.replica
    assert (await client.get(f"/v1/visit-actions/{aid}", headers=rep.headers)).status_code == 404


async def test_deleting_a_visit_over_rest_deletes_its_children(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    vid, aid, pid = await visit_with_children(rep, world.customers["c0"], NOW_MS)
    await rep.pull_all()
    r = await client.delete(f"/v1/visits/{vid}", headers=rep.headers)
    assert r.status_code == 204, r.text
    deleted = {(c["entity"], c["id"]) for c in await rep.pull_all() if c["op"] == "delete"}
    assert deleted == {("visit", vid), ("visit_action", aid), ("photo", pid)}


async def test_migration_0010_deletes_children_left_by_visits_deleted_before_it(
    client, world, session_factory, db_url
) -> None:
    """Before 0010 a deleted visit's children stayed live; the migration gives them tombstones
    with new change numbers, so phones that hold them pull the deletion."""
    rep = await Phone.sign_in(client, "rep1")
    gone, aid, pid = await visit_with_children(rep, world.customers["c0"], NOW_MS)
    kept, kept_action, kept_photo = await visit_with_children(rep, world.customers["c1"], NOW_MS)
    r = await rep.push([rep.mutation("visit", gone, op="delete", hlc=stamp(NOW_MS + 5))])
    assert r.json()["results"][0]["status"] == "applied", r.text
    # The state an older version left: the children of the deleted visit still live.
    async with write_session(session_factory) as session:
        for model in (VisitAction, Photo):
            await session.execute(
                update(model).where(model.visit_id == uuid.UUID(gone)).values(deleted_at=None)
            )
    phone = await Phone.sign_in(client, "rep1")
    await phone.pull_all()
    assert {("visit_action", aid), ("photo", pid)} <= set(phone.replica)
    assert ("visit", gone) not in phone.replica

    await anyio.to_thread.run_sync(downgrade, db_url, "0009")
    await anyio.to_thread.run_sync(upgrade, db_url)

    changes = await phone.pull_all()
    assert {(c["op"], c["entity"], c["id"]) for c in changes} == {
        ("delete", "visit_action", aid),
        ("delete", "photo", pid),
    }
    assert {("visit", kept), ("visit_action", kept_action), ("photo", kept_photo)} <= set(phone.replica)
    fresh = await Phone.sign_in(client, "rep1")
    await fresh.pull_all()
    assert fresh.replica == phone.replica
    async with session_factory() as session:
        deleted_at = {
            row.deleted_at
            for model in (Visit, VisitAction, Photo)
            for row in (
                await session.scalars(
                    select(model).where(model.id.in_([uuid.UUID(gone), uuid.UUID(aid), uuid.UUID(pid)]))
                )
            ).all()
        }
    assert None not in deleted_at
    assert len(deleted_at) == 1  # the visit's deletion time


async def test_a_child_written_in_an_earlier_write_step_is_deleted_with_its_visit(client, world) -> None:
    """A push is written in steps (``sync.writer.STEP``): a child edited in the first step is
    deleted by its visit's deletion in a later one."""
    rep = await Phone.sign_in(client, "rep1")
    vid, aid, pid = await visit_with_children(rep, world.customers["c0"], NOW_MS)
    await rep.pull_all()
    seen = rep.replica[("visit_action", aid)]["version"]
    customer = str(world.customers["c1"])
    batch = [
        rep.mutation(
            "visit_action", aid, {"payload": {"topic": "y"}}, hlc=stamp(NOW_MS + 5), base_version=seen
        ),
        *(
            rep.mutation("visit", uuid.uuid4(), {"customer_id": customer}, hlc=stamp(NOW_MS + 6, i))
            for i in range(STEP)
        ),
        rep.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 7)),
    ]
    r = await rep.push(batch)
    assert {x["status"] for x in r.json()["results"]} == {"applied"}, r.text
    deleted = {(c["entity"], c["id"]) for c in await rep.pull_all() if c["op"] == "delete"}
    assert deleted == {("visit", vid), ("visit_action", aid), ("photo", pid)}
    fresh = await Phone.sign_in(client, "rep1")
    await fresh.pull_all()
    assert fresh.replica == rep.replica
