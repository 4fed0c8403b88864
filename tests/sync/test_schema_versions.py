"""Schema versions: version 0 (the one before the current) is translated both ways; others refused."""

from __future__ import annotations

import time
import uuid

from sync.schema_versions import downgrade_change, downgrade_result, upgrade_fields
from tests.sync.helpers import Phone, stamp

NOW_MS = int(time.time() * 1000)


async def test_a_version_0_app_pushes_and_pulls_in_its_own_names(client, world) -> None:
    old = await Phone.sign_in(client, "rep1")
    new = await Phone.sign_in(client, "rep1")
    vid = uuid.uuid4()
    r = await old.push(
        [
            old.mutation(
                "visit",
                vid,
                {"customer_id": str(world.customers["c0"]), "comment": "v0 words"},
                hlc=stamp(NOW_MS),
            )
        ],
        schema_version=0,
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "applied"

    await new.pull_all()
    assert new.replica[("visit", str(vid))]["notes"] == "v0 words"
    assert "comment" not in new.replica[("visit", str(vid))]
    assert "status_reason" in new.replica[("customer", str(world.customers["c0"]))]

    await old.pull_all(schema_version=0)
    visit = old.replica[("visit", str(vid))]
    assert visit["comment"] == "v0 words"
    assert "notes" not in visit
    customer = old.replica[("customer", str(world.customers["c0"]))]
    assert "status_reason" not in customer
    assert customer["name"] == "Customer 0"
    r = await old.pull_page(schema_version=0)
    assert r.json()["schema_version"] == 0


async def test_version_0_results_and_conflicts_use_version_0_names(client, world) -> None:
    old = await Phone.sign_in(client, "rep1")
    new = await Phone.sign_in(client, "rep1")
    vid = uuid.uuid4()
    await new.push(
        [
            new.mutation(
                "visit",
                vid,
                {"customer_id": str(world.customers["c0"]), "notes": "newer"},
                hlc=stamp(NOW_MS + 50),
            )
        ]
    )
    batch = [
        old.mutation("visit", vid, {"comment": "older"}, hlc=stamp(NOW_MS + 10), base_version=0),
        old.mutation(
            "visit",
            uuid.uuid4(),
            {"customer_id": str(world.customers["c0"]), "notes": "x"},
            hlc=stamp(NOW_MS + 11),
        ),
        old.mutation(
            "customer", world.customers["c0"], {"status_reason": "new field"}, hlc=stamp(NOW_MS + 12)
        ),
        old.mutation(
            "visit", uuid.uuid4(), {"customer_id": str(world.customers["c1"])}, hlc=stamp(NOW_MS + 13)
        ),
    ]
    body = (await old.push(batch, schema_version=0)).json()
    first, unknown_new_name, unknown_new_field, neighbour = body["results"]
    assert first["status"] == "merged"
    assert first["conflicts"] == [
        {
            "field": "comment",
            "outcome": "kept_server",
            "server_value": "newer",
            "server_hlc": stamp(NOW_MS + 50),
        }
    ]
    assert unknown_new_name["status"] == "rejected"
    assert unknown_new_name["error"]["code"] == "validation_failed"
    assert unknown_new_name["error"]["field"] == "notes"
    assert unknown_new_field["status"] == "rejected"
    assert unknown_new_field["error"]["field"] == "status_reason"
    assert neighbour["status"] == "applied"
    # A retry replays the results as they were answered.
    again = (await old.push(batch, schema_version=0)).json()["results"]
    assert again[0]["status"] == "duplicate"
    assert again[0]["conflicts"][0]["field"] == "comment"
    assert again[1]["error"]["field"] == "notes"


async def test_other_schema_versions_are_refused_whole(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    m = rep.mutation("visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS))
    for version in (2, -1, 99):
        r = await rep.push([m], schema_version=version)
        assert r.status_code == 409
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["code"] == "schema_version_unsupported"
        assert body["supported"] == [0, 1]
        assert "[0, 1]" in body["detail"]
        r = await rep.pull_page(schema_version=version)
        assert r.status_code == 409
        assert r.json()["code"] == "schema_version_unsupported"
    r = (await rep.push([m])).json()
    assert r["last_seq"] == 1
    assert r["results"][0]["status"] == "applied"


async def test_a_replica_of_another_schema_version_bootstraps_again(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    await rep.pull_all(schema_version=0)
    r = await rep.pull_page()
    assert r.status_code == 410
    assert r.json()["code"] == "cursor_expired"
    await rep.bootstrap()
    assert "status_reason" in rep.replica[("customer", str(world.customers["c0"]))]


def test_upgrade_translates_renamed_fields_and_refuses_unknown_ones() -> None:
    assert upgrade_fields(0, "visit", {"comment": "a", "outcome": "b"}) == (
        {"notes": "a", "outcome": "b"},
        None,
    )
    assert upgrade_fields(1, "visit", {"notes": "a"}) == ({"notes": "a"}, None)
    assert upgrade_fields(0, "expense", {"notes": "a"}) == ({"notes": "a"}, None)
    _, error = upgrade_fields(0, "visit", {"notes": "a"})
    assert error is not None
    assert (error["code"], error["field"]) == ("validation_failed", "notes")
    _, error = upgrade_fields(0, "customer", {"name": "n", "status_reason": "r"})
    assert error is not None
    assert error["field"] == "status_reason"


def test_downgrade_of_changes_and_results() -> None:
    change = {"entity": "visit", "id": "x", "op": "upsert", "version": 3, "data": {"id": "x", "notes": "n"}}
    assert downgrade_change(0, change)["data"] == {"id": "x", "comment": "n"}
    assert downgrade_change(1, change) is change
    cust = {
        "entity": "customer",
        "id": "c",
        "op": "upsert",
        "version": 4,
        "data": {"name": "n", "status_reason": "r"},
    }
    assert downgrade_change(0, cust)["data"] == {"name": "n"}
    evict = {"entity": "visit", "id": "x", "op": "evict", "version": 5}
    assert downgrade_change(0, evict) == evict
    result = {
        "seq": 1,
        "status": "merged",
        "conflicts": [
            {"field": "notes", "outcome": "kept_server"},
            {"field": "status", "outcome": "rejected"},
        ],
    }
    down = downgrade_result(0, "visit", result)
    assert [c["field"] for c in down["conflicts"]] == ["comment", "status"]
    assert result["conflicts"][0]["field"] == "notes"
    rejected = {"seq": 2, "status": "rejected", "error": {"code": "locked", "field": "notes"}}
    assert downgrade_result(0, "visit", rejected)["error"]["field"] == "comment"
    assert downgrade_result(0, "spaceship", rejected) is rejected
