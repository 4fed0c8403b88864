"""Pushes longer than one writer step (see sync.writer.STEP and sync.write_pipe), on both engines.

The writer decides a batch in steps and sends each step's writes while it decides the next: rows a
later step refers to must already be there, change numbers must run on across steps, and the
tenant's clock must end past the last of them.
"""

from __future__ import annotations

import time
import uuid

from sync.writer import STEP
from tests.sync.helpers import Phone, stamp

NOW_MS = int(time.time() * 1000)


async def test_later_steps_refer_to_rows_earlier_steps_created(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    n = STEP + STEP // 2  # the visits fill the first step and a half; their actions come after
    visits = [uuid.uuid4() for _ in range(n)]
    batch = [
        phone.mutation("visit", vid, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + i))
        for i, vid in enumerate(visits)
    ]
    batch += [
        phone.mutation(
            "visit_action",
            uuid.uuid4(),
            {"visit_id": str(vid), "kind": "training", "payload": {"topic": f"t{i}"}},
            hlc=stamp(NOW_MS + n + i),
        )
        for i, vid in enumerate(visits)
    ]
    r = await phone.push(batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["applied"] * (2 * n)
    versions = [x["version"] for x in results]
    assert versions == list(range(versions[0], versions[0] + 2 * n))  # in mutation order, no gaps

    # The clock moved past every step: the next write gets the next number.
    r = await phone.push(
        [
            phone.mutation(
                "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS)
            )
        ]
    )
    assert r.json()["results"][0]["version"] == versions[-1] + 1

    reader = await Phone.sign_in(client, "rep1")
    changes = await reader.pull_all(limit=1000)
    assert len(reader.held("visit")) == n + 1
    assert {reader.replica[k]["visit_id"] for k in reader.replica if k[0] == "visit_action"} == {
        str(v) for v in visits
    }
    assert max(c["version"] for c in changes) == versions[-1] + 1


async def test_conflicts_in_every_step_are_answered_and_logged(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    other = await Phone.sign_in(client, "rep1")
    n = 2 * STEP + 10
    visits = [uuid.uuid4() for _ in range(n)]
    created = await phone.push(
        [
            phone.mutation(
                "visit", vid, {"customer_id": str(world.customers["c0"]), "notes": "kept"}, hlc=stamp(NOW_MS)
            )
            for vid in visits
        ]
    )
    assert created.status_code == 200, created.text
    stale = [
        other.mutation("visit", vid, {"notes": "stale"}, hlc=stamp(NOW_MS - 5000, node="o"), base_version=0)
        for vid in visits
    ]
    r = (await other.push(stale)).json()
    assert [x["status"] for x in r["results"]] == ["merged"] * n
    assert all(
        x["conflicts"]
        == [{"field": "notes", "outcome": "kept_server", "server_value": "kept", "server_hlc": stamp(NOW_MS)}]
        for x in r["results"]
    )
    log = (await client.get("/v1/sync/conflicts", headers=other.headers, params={"limit": 1})).json()
    assert log["total"] == n


async def test_a_row_written_twice_in_one_push_is_merged_against_its_first_write_once(client, world) -> None:
    """The second write of a row in one push is the client's own: never reported as overwriting."""
    phone = await Phone.sign_in(client, "rep1")
    vid = uuid.uuid4()
    batch = [
        phone.mutation(
            "visit", vid, {"customer_id": str(world.customers["c0"]), "notes": "first"}, hlc=stamp(NOW_MS)
        )
    ]
    batch += [
        phone.mutation(
            "visit", uuid.uuid4(), {"customer_id": str(world.customers["c1"])}, hlc=stamp(NOW_MS + i)
        )
        for i in range(1, STEP + 20)
    ]
    batch.append(
        phone.mutation("visit", vid, {"notes": "second"}, hlc=stamp(NOW_MS + STEP + 20), base_version=0)
    )
    r = (await phone.push(batch)).json()
    assert [x["status"] for x in r["results"]] == ["applied"] * len(batch)
    assert "conflicts" not in r["results"][-1]
    await phone.pull_all()
    assert phone.replica[("visit", str(vid))]["notes"] == "second"


async def test_a_hook_that_watches_fields_runs_only_when_one_of_them_changed(app, client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    seen: list[str] = []

    async def on_outcome(session, spec, row, changed, actor):
        seen.append(row.outcome)
        return {}

    on_outcome.watches = frozenset({"outcome"})  # type: ignore[attr-defined]
    hooks = app.state.push_service.after_merge
    hooks.append(on_outcome)
    try:
        vid = uuid.uuid4()
        customer = str(world.customers["c0"])
        r = await phone.push(
            [
                phone.mutation("visit", vid, {"customer_id": customer, "notes": "n"}, hlc=stamp(NOW_MS)),
                phone.mutation(
                    "visit",
                    uuid.uuid4(),
                    {"customer_id": customer, "outcome": "ordered"},
                    hlc=stamp(NOW_MS + 1),
                ),
                phone.mutation("visit", vid, {"outcome": "sampled"}, hlc=stamp(NOW_MS + 2)),
            ]
        )
        assert [x["status"] for x in r.json()["results"]] == ["applied"] * 3
    finally:
        hooks.remove(on_outcome)
    assert seen == ["ordered", "sampled"]
