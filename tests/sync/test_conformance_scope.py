"""Conformance scenarios about scope: evictions, arrivals, re-entry and consistent bootstraps."""

from __future__ import annotations

import time
import uuid

from tests.factories import login
from tests.sync.helpers import Phone, stamp, visit_with_children

NOW_MS = int(time.time() * 1000)


async def _admin_headers(client) -> dict[str, str]:
    return (await login(client, "admin"))["headers"]


async def test_a_visit_given_to_another_rep_takes_its_children_along(client, world) -> None:
    rep1 = await Phone.sign_in(client, "rep1")
    rep2 = await Phone.sign_in(client, "rep2")
    manager = await Phone.sign_in(client, "manager1")
    vid, aid, pid = await visit_with_children(rep1, world.customers["c0"], NOW_MS)
    for phone in (rep1, rep2, manager):
        await phone.pull_all()
    assert {("visit", vid), ("visit_action", aid), ("photo", pid)} <= set(rep1.replica)
    assert rep2.held("visit") == set()

    r = await client.patch(
        f"/v1/visits/{vid}", json={"rep_id": str(world.users["rep2"])}, headers=manager.headers
    )
    assert r.status_code == 200, r.text

    gone = {(c["entity"], c["id"]) for c in await rep1.pull_all() if c["op"] == "evict"}
    assert gone == {("visit", vid), ("visit_action", aid), ("photo", pid)}
    assert not ({("visit", vid), ("visit_action", aid), ("photo", pid)} & set(rep1.replica))
    arrived = {(c["entity"], c["id"]) for c in await rep2.pull_all() if c["op"] == "upsert"}
    assert {("visit", vid), ("visit_action", aid), ("photo", pid)} <= arrived
    assert rep2.replica[("photo", pid)]["caption"] == "shelf"
    # Both reps are in the manager's team: nothing left the manager's scope.
    assert not [c for c in await manager.pull_all() if c["op"] == "evict"]
    # The new owner's later edits of the children reach the new owner only.
    seen = rep2.replica[("photo", pid)]["version"]
    r = await rep2.push(
        [rep2.mutation("photo", pid, {"caption": "shelf, after"}, hlc=stamp(NOW_MS + 10), base_version=seen)]
    )
    assert r.json()["results"][0]["status"] == "applied"
    assert [c["id"] for c in await rep1.pull_all()] == []
    await rep2.pull_all()
    assert rep2.replica[("photo", pid)]["caption"] == "shelf, after"
    # Every replica equals a fresh bootstrap of its scope.
    for key, phone in (("rep1", rep1), ("rep2", rep2), ("manager1", manager)):
        await phone.pull_all()
        fresh = await Phone.sign_in(client, key)
        await fresh.pull_all()
        assert phone.replica == fresh.replica, key


async def test_a_rep_moving_team_leaves_the_old_managers_scope(client, world) -> None:
    rep1 = await Phone.sign_in(client, "rep1")
    old_manager = await Phone.sign_in(client, "manager1")
    new_manager = await Phone.sign_in(client, "manager2")
    vid, aid, pid = await visit_with_children(rep1, world.customers["c0"], NOW_MS)
    for phone in (rep1, old_manager, new_manager):
        await phone.pull_all()
    rep_id = str(world.users["rep1"])
    owned = {
        ("user", rep_id),
        ("customer", str(world.customers["c0"])),
        ("customer", str(world.customers["c1"])),
    }
    owned |= {("visit", vid), ("visit_action", aid), ("photo", pid)}
    assert owned <= set(old_manager.replica)
    assert not (owned & set(new_manager.replica))

    r = await client.patch(
        f"/v1/users/{rep_id}",
        json={"team_id": str(world.teams["south"])},
        headers=await _admin_headers(client),
    )
    assert r.status_code == 200, r.text

    evicted = {(c["entity"], c["id"]) for c in await old_manager.pull_all() if c["op"] == "evict"}
    assert evicted == owned
    assert not (owned & set(old_manager.replica))
    assert ("user", str(world.users["rep2"])) in old_manager.replica
    arrived = {(c["entity"], c["id"]) for c in await new_manager.pull_all() if c["op"] == "upsert"}
    assert owned <= arrived
    assert new_manager.replica[("user", rep_id)]["team_id"] == str(world.teams["south"])
    # The rep keeps everything (no evictions), just sees their new team.
    changes = await rep1.pull_all()
    assert not [c for c in changes if c["op"] == "evict"]
    assert owned <= set(rep1.replica)
    for key, phone in (("manager1", old_manager), ("manager2", new_manager), ("rep1", rep1)):
        fresh = await Phone.sign_in(client, key)
        await fresh.pull_all()
        assert phone.replica == fresh.replica, key
    # A new visit of the rep now reaches the new manager, not the old one.
    new_visit = uuid.uuid4()
    await rep1.push(
        [
            rep1.mutation(
                "visit", new_visit, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + 20)
            )
        ]
    )
    assert str(new_visit) not in {c["id"] for c in await old_manager.pull_all()}
    assert str(new_visit) in {c["id"] for c in await new_manager.pull_all()}


async def test_a_customer_reassigned_away_and_back_while_a_phone_is_offline(client, world) -> None:
    rep1 = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    await rep1.pull_all()
    cid = str(world.customers["c0"])
    admin = await _admin_headers(client)
    for target in ("rep2", "rep3", "rep1"):
        r = await client.patch(
            f"/v1/customers/{cid}", json={"assigned_rep_id": str(world.users[target])}, headers=admin
        )
        assert r.status_code == 200, r.text
    r = await client.patch(f"/v1/customers/{cid}", json={"notes": "back home"}, headers=manager.headers)
    assert r.status_code == 200, r.text
    # Offline the whole time: it sees the customer end where it started, with its latest data.
    changes = [c for c in await rep1.pull_all() if c["id"] == cid]
    assert changes[-1]["op"] == "upsert"
    assert rep1.replica[("customer", cid)]["notes"] == "back home"
    # The manager lost it to rep3's team in between and got it back.
    await manager.pull_all()
    assert manager.replica[("customer", cid)]["assigned_rep_id"] == str(world.users["rep1"])


async def test_bootstrap_is_consistent_while_the_data_changes_between_pages(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    writer = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    visits = []
    for i in range(6):
        vid = uuid.uuid4()
        visits.append(str(vid))
        r = await writer.push(
            [
                writer.mutation(
                    "visit", vid, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + i)
                )
            ]
        )
        assert r.json()["results"][0]["status"] == "applied"
    r = await rep.pull_page(limit=3)
    page = r.json()
    assert page["has_more"] is True
    rep.cursor = page["cursor"]
    for ch in page["changes"]:
        rep.replica[(ch["entity"], ch["id"])] = ch["data"]
    # Between pages: a delete, an edit, a new visit, and a customer taken away.
    await writer.push([writer.mutation("visit", visits[0], op="delete", hlc=stamp(NOW_MS + 20))])
    await writer.push([writer.mutation("visit", visits[5], {"notes": "edited"}, hlc=stamp(NOW_MS + 21))])
    extra = uuid.uuid4()
    await writer.push(
        [writer.mutation("visit", extra, {"customer_id": str(world.customers["c1"])}, hlc=stamp(NOW_MS + 22))]
    )
    r = await client.patch(
        f"/v1/customers/{world.customers['c1']}",
        json={"assigned_rep_id": str(world.users["rep2"])},
        headers=manager.headers,
    )
    assert r.status_code == 200
    await rep.pull_all(limit=3)
    fresh = await Phone.sign_in(client, "rep1")
    await fresh.pull_all()
    assert rep.replica == fresh.replica
    assert visits[0] not in rep.held("visit")
    assert rep.replica[("visit", visits[5])]["notes"] == "edited"
    assert str(extra) in rep.held("visit")
    assert str(world.customers["c1"]) not in rep.held("customer")


async def test_managers_device_wins_over_an_offline_reps_older_write(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    vid = uuid.uuid4()
    r = await rep.push(
        [
            rep.mutation(
                "visit", vid, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS - 7_200_000)
            )
        ]
    )
    v1 = r.json()["results"][0]["version"]
    await manager.pull_all()
    # The manager edits on their own phone, through sync, an hour after the rep's offline edit was made.
    r = await manager.push(
        [
            manager.mutation(
                "visit",
                vid,
                {"next_steps": "manager plan", "outcome": "escalate"},
                hlc=stamp(NOW_MS - 1_800_000, node="mgr"),
                base_version=v1,
            )
        ]
    )
    assert r.json()["results"][0]["status"] == "applied"
    # The rep's older offline edit arrives later: the manager's fields stay, the rep's other field applies.
    r = await rep.push(
        [
            rep.mutation(
                "visit",
                vid,
                {"next_steps": "rep plan", "notes": "met the buyer"},
                hlc=stamp(NOW_MS - 5_400_000, node="rep"),
                base_version=v1,
            )
        ]
    )
    res = r.json()["results"][0]
    assert res["status"] == "merged"
    assert res["conflicts"] == [
        {
            "field": "next_steps",
            "outcome": "kept_server",
            "server_value": "manager plan",
            "server_hlc": stamp(NOW_MS - 1_800_000, node="mgr"),
        }
    ]
    await rep.pull_all()
    await manager.pull_all()
    for phone in (rep, manager):
        data = phone.replica[("visit", str(vid))]
        assert (data["next_steps"], data["outcome"], data["notes"]) == (
            "manager plan",
            "escalate",
            "met the buyer",
        )
    # The manager sees the rep's lost write in the team's conflict log; another team's manager does not.
    log = (await client.get("/v1/sync/conflicts", headers=manager.headers)).json()
    assert [
        (i["status"], [(c["field"], c["outcome"], c["client_value"]) for c in i["conflicts"]])
        for i in log["items"]
    ] == [("merged", [("next_steps", "kept_server", "rep plan")])]
    other = await Phone.sign_in(client, "manager2")
    assert (await client.get("/v1/sync/conflicts", headers=other.headers)).json()["total"] == 0
