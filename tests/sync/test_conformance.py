"""Conformance scenarios for the sync protocol (docs/sync.md), over HTTP, on both engines."""

from __future__ import annotations

import time
import uuid

import pytest
from litestar.exceptions import LitestarException
from sqlalchemy.exc import OperationalError

from api.db.engine import write_session
from tests.factories import write_system
from tests.sync.helpers import Phone, stamp

NOW_MS = int(time.time() * 1000)


async def _visit(phone: Phone, customer: uuid.UUID, *, hlc: str, **fields):
    vid = uuid.uuid4()
    r = await phone.push([phone.mutation("visit", vid, {"customer_id": str(customer), **fields}, hlc=hlc)])
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "applied", r.json()
    return vid, r.json()["results"][0]["version"]


async def test_create_then_pull_shows_the_server_view(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    vid, version = await _visit(phone, world.customers["c0"], hlc=stamp(NOW_MS), notes="first")
    await phone.pull_all()
    data = phone.replica[("visit", str(vid))]
    assert data["notes"] == "first"
    assert data["version"] == version
    assert data["rep_id"] == str(world.users["rep1"])
    assert data["status"] == "planned"


async def test_retry_of_a_whole_batch_is_duplicate_with_original_results(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    vid = uuid.uuid4()
    batch = [
        phone.mutation("visit", vid, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS)),
        phone.mutation("visit", vid, {"notes": "x"}, hlc=stamp(NOW_MS + 1)),
    ]
    first = (await phone.push(batch)).json()
    again = (await phone.push(batch)).json()  # the response was lost; the phone re-sends
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert [r["version"] for r in again["results"]] == [r["version"] for r in first["results"]]
    assert again["last_seq"] == 2
    visits = (await client.get("/v1/visits", headers=phone.headers)).json()
    assert visits["total"] == 1
    assert visits["items"][0]["version"] == first["results"][1]["version"]


async def test_gap_is_out_of_order_and_not_processed(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    m1 = phone.mutation("visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS))
    m2 = phone.mutation(
        "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + 1)
    )
    m3 = phone.mutation(
        "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + 2)
    )
    r = (await phone.push([m1, m3])).json()
    assert [x["status"] for x in r["results"]] == ["applied", "out_of_order"]
    assert r["last_seq"] == 1
    r = (await phone.push([m2, m3])).json()
    assert [x["status"] for x in r["results"]] == ["applied", "applied"]
    assert (await client.get("/v1/visits", headers=phone.headers)).json()["total"] == 3


async def test_malformed_mutation_in_the_middle_is_rejected_alone(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    good1 = phone.mutation(
        "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS)
    )
    bad = phone.mutation("visit", "not-a-uuid", {"notes": 1}, hlc="yesterday")
    wrong_type = phone.mutation(
        "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"]), "notes": 5}, hlc=stamp(NOW_MS + 1)
    )
    unknown = phone.mutation("spaceship", uuid.uuid4(), {"x": 1}, hlc=stamp(NOW_MS + 2))
    good2 = phone.mutation(
        "visit", uuid.uuid4(), {"customer_id": str(world.customers["c1"])}, hlc=stamp(NOW_MS + 3)
    )
    r = (await phone.push([good1, bad, wrong_type, unknown, good2])).json()
    statuses = [x["status"] for x in r["results"]]
    assert statuses == ["applied", "rejected", "rejected", "rejected", "applied"]
    assert r["results"][1]["error"]["code"] == "validation_failed"
    assert r["results"][2]["error"] == {
        "code": "validation_failed",
        "message": r["results"][2]["error"]["message"],
        "field": "notes",
    }
    assert r["results"][3]["error"]["code"] == "unknown_entity"
    assert r["last_seq"] == 5
    assert (await client.get("/v1/visits", headers=phone.headers)).json()["total"] == 2


async def test_concurrent_edits_same_field_last_writer_wins_and_loser_is_told(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid, v1 = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    # Both edit notes offline; b's edit is later by clock but arrives first.
    rb = (
        await b.push(
            [b.mutation("visit", vid, {"notes": "from b"}, hlc=stamp(NOW_MS + 20, node="b"), base_version=v1)]
        )
    ).json()
    assert rb["results"][0]["status"] == "applied"
    ra = (
        await a.push(
            [a.mutation("visit", vid, {"notes": "from a"}, hlc=stamp(NOW_MS + 10, node="a"), base_version=v1)]
        )
    ).json()
    res = ra["results"][0]
    assert res["status"] == "merged"
    assert res["conflicts"] == [
        {
            "field": "notes",
            "outcome": "kept_server",
            "server_value": "from b",
            "server_hlc": stamp(NOW_MS + 20, node="b"),
        }
    ]
    await a.pull_all()
    await b.pull_all()
    assert a.replica[("visit", str(vid))]["notes"] == b.replica[("visit", str(vid))]["notes"] == "from b"
    log = (await client.get("/v1/sync/conflicts", headers=a.headers)).json()
    assert log["total"] == 1
    item = log["items"][0]
    assert (item["status"], item["seq"], item["entity_id"]) == ("merged", a.seq, str(vid))
    assert item["error"] is None
    # The entry the phone was told about, with the value the phone had sent.
    assert item["conflicts"] == [{**res["conflicts"][0], "client_value": "from a"}]


async def test_concurrent_edits_different_fields_both_apply(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid, v1 = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    await b.push(
        [b.mutation("visit", vid, {"outcome": "ordered"}, hlc=stamp(NOW_MS + 5, node="b"), base_version=v1)]
    )
    r = (
        await a.push(
            [
                a.mutation(
                    "visit", vid, {"notes": "met buyer"}, hlc=stamp(NOW_MS + 4, node="a"), base_version=v1
                )
            ]
        )
    ).json()
    assert r["results"][0]["status"] == "applied"
    await a.pull_all()
    data = a.replica[("visit", str(vid))]
    assert data["outcome"] == "ordered"
    assert data["notes"] == "met buyer"


async def test_overwrite_of_an_unseen_value_is_reported(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid, v1 = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    await b.push(
        [b.mutation("visit", vid, {"notes": "b wrote"}, hlc=stamp(NOW_MS + 1, node="b"), base_version=v1)]
    )
    r = (
        await a.push(
            [a.mutation("visit", vid, {"notes": "a wrote"}, hlc=stamp(NOW_MS + 2, node="a"), base_version=v1)]
        )
    ).json()["results"][0]
    assert r["status"] == "merged"
    assert r["conflicts"][0]["outcome"] == "overwrote"
    assert r["conflicts"][0]["server_value"] == "b wrote"


async def test_delete_wins_over_edit_and_no_resurrection(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid, v1 = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    r = (await a.push([a.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 1, node="a"))])).json()
    assert r["results"][0]["status"] == "applied"
    r = (
        await b.push(
            [
                b.mutation(
                    "visit", vid, {"notes": "late edit"}, hlc=stamp(NOW_MS + 9, node="b"), base_version=v1
                )
            ]
        )
    ).json()
    assert r["results"][0]["status"] == "rejected"
    assert r["results"][0]["error"]["code"] == "deleted"
    changes = await b.pull_all()
    assert {
        "entity": "visit",
        "id": str(vid),
        "op": "delete",
        "version": changes[-1]["version"],
    } in changes or all(c["id"] != str(vid) for c in changes)
    assert ("visit", str(vid)) not in b.replica


async def test_status_only_moves_forward(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    vid, _ = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    r = (await a.push([a.mutation("visit", vid, {"status": "completed"}, hlc=stamp(NOW_MS + 1))])).json()
    assert r["results"][0]["status"] == "applied"
    r = (
        await a.push(
            [a.mutation("visit", vid, {"status": "in_progress", "notes": "n"}, hlc=stamp(NOW_MS + 2))]
        )
    ).json()["results"][0]
    assert r["status"] == "merged"
    assert r["conflicts"][0]["field"] == "status"
    assert r["conflicts"][0]["code"] == "invalid_transition"
    r = (await a.push([a.mutation("visit", vid, {"status": "planned"}, hlc=stamp(NOW_MS + 3))])).json()[
        "results"
    ][0]
    assert r["status"] == "rejected"
    assert r["error"]["code"] == "invalid_transition"


async def test_forward_status_wins_even_with_an_older_clock(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid, _ = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    await a.push([a.mutation("visit", vid, {"status": "in_progress"}, hlc=stamp(NOW_MS + 50, node="a"))])
    r = (
        await b.push([b.mutation("visit", vid, {"status": "completed"}, hlc=stamp(NOW_MS + 10, node="b"))])
    ).json()
    assert r["results"][0]["status"] == "applied"


async def test_edits_after_manager_review_are_locked(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    vid, _ = await _visit(rep, world.customers["c0"], hlc=stamp(NOW_MS), status="completed")
    r = await client.post(
        f"/v1/visits/{vid}/review", json={"status": "approved", "comment": "ok"}, headers=manager.headers
    )
    assert r.status_code == 200
    assert r.json()["review"]["status"] == "approved"
    r = (
        await rep.push(
            [
                rep.mutation(
                    "visit",
                    vid,
                    {
                        "check_in": {"at": "2026-01-01T00:00:00.000Z", "lat": 31.23, "lon": 121.47},
                        "notes": "still mine",
                    },
                    hlc=stamp(NOW_MS + 5),
                )
            ]
        )
    ).json()["results"][0]
    assert r["status"] == "merged"
    assert [(c["field"], c["code"]) for c in r["conflicts"]] == [("check_in", "locked")]
    r = (await rep.push([rep.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 6))])).json()["results"][
        0
    ]
    assert r["status"] == "rejected"
    assert r["error"]["code"] == "locked"


async def test_rep_cannot_write_server_authoritative_fields(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    vid, _ = await _visit(rep, world.customers["c0"], hlc=stamp(NOW_MS))
    r = (
        await rep.push(
            [
                rep.mutation(
                    "visit",
                    vid,
                    {
                        "review": {"status": "approved"},
                        "notes": "x",
                        "check_in_verdict": {"status": "verified"},
                    },
                    hlc=stamp(NOW_MS + 1),
                )
            ]
        )
    ).json()["results"][0]
    assert r["status"] in {"merged", "rejected"}
    codes = {(c["field"], c.get("code")) for c in r.get("conflicts", [])}
    assert ("review", "read_only") in codes
    got = (await client.get(f"/v1/visits/{vid}", headers=rep.headers)).json()
    assert got["review"] is None
    assert got["check_in_verdict"] != {"status": "verified"}


async def test_client_clock_a_year_ahead_is_clamped(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    year = 365 * 24 * 3600 * 1000
    vid = uuid.uuid4()
    r = (
        await rep.push(
            [
                rep.mutation(
                    "visit",
                    vid,
                    {"customer_id": str(world.customers["c0"]), "notes": "future"},
                    hlc=stamp(NOW_MS + year),
                )
            ]
        )
    ).json()
    assert r["results"][0]["status"] == "applied"
    assert r["results"][0]["notes"] == ["clock_skew"]
    assert int(r["server_hlc"][:16]) < NOW_MS + year // 2
    # A manager's edit made now still wins: the year-ahead stamp was not kept.
    r = await client.patch(f"/v1/visits/{vid}", json={"notes": "manager"}, headers=manager.headers)
    assert r.status_code == 200
    assert r.json()["notes"] == "manager"


async def test_manager_write_beats_an_offline_reps_older_write(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    vid, v1 = await _visit(rep, world.customers["c0"], hlc=stamp(NOW_MS - 3_600_000))
    r = await client.patch(
        f"/v1/visits/{vid}", json={"next_steps": "call back Friday"}, headers=manager.headers
    )
    assert r.status_code == 200
    # The rep edited offline an hour ago; it arrives now and loses, and is told so.
    r = (
        await rep.push(
            [
                rep.mutation(
                    "visit", vid, {"next_steps": "nothing"}, hlc=stamp(NOW_MS - 1_800_000), base_version=v1
                )
            ]
        )
    ).json()["results"][0]
    assert r["status"] == "merged"
    assert r["conflicts"][0]["outcome"] == "kept_server"
    assert r["conflicts"][0]["server_value"] == "call back Friday"


async def test_reassigned_customer_is_evicted_and_reenters(client, world) -> None:
    rep1 = await Phone.sign_in(client, "rep1")
    rep2 = await Phone.sign_in(client, "rep2")
    await rep1.pull_all()
    await rep2.pull_all()
    cid = str(world.customers["c0"])
    assert ("customer", cid) in rep1.replica
    assert ("customer", cid) not in rep2.replica
    manager = await Phone.sign_in(client, "manager1")
    r = await client.patch(
        f"/v1/customers/{cid}", json={"assigned_rep_id": str(world.users["rep2"])}, headers=manager.headers
    )
    assert r.status_code == 200
    ch1 = await rep1.pull_all()
    assert any(c["op"] == "evict" and c["id"] == cid for c in ch1)
    assert ("customer", cid) not in rep1.replica
    await rep2.pull_all()
    assert ("customer", cid) in rep2.replica
    # Manager sees no eviction: the customer stayed in the team.
    mch = await manager.pull_all()
    assert not any(c["op"] == "evict" for c in mch)
    # Back to rep1: it re-enters as an upsert.
    await client.patch(
        f"/v1/customers/{cid}", json={"assigned_rep_id": str(world.users["rep1"])}, headers=manager.headers
    )
    ch1 = await rep1.pull_all()
    assert any(c["op"] == "upsert" and c["id"] == cid for c in ch1)
    assert ("customer", cid) in rep1.replica
    await rep2.pull_all()
    assert ("customer", cid) not in rep2.replica


async def test_bootstrap_paging_at_exact_page_boundaries(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    first = await rep.pull_all(limit=1000)
    total = len(first)
    assert total >= 3
    for limit in (1, total - 1, total, total + 1):
        phone = await Phone.sign_in(client, "rep1")
        pages = await phone.pull_all(limit=limit)
        assert len({(c["entity"], c["id"]) for c in pages}) == total
        assert phone.replica == rep.replica
    # A page exactly full of the remaining changes still ends with has_more false on the next call.
    r = await client.get("/v1/sync/pull", headers=rep.headers, params={"cursor": rep.cursor})
    assert r.json()["changes"] == []
    assert r.json()["has_more"] is False


async def test_tampered_and_foreign_cursors_are_refused(client, world) -> None:
    rep1 = await Phone.sign_in(client, "rep1")
    rep2 = await Phone.sign_in(client, "rep2")
    await rep1.pull_all()
    cursor = rep1.cursor
    assert cursor
    r = await client.get("/v1/sync/pull", headers=rep2.headers, params={"cursor": cursor})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_cursor"
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    r = await client.get("/v1/sync/pull", headers=rep1.headers, params={"cursor": tampered})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_cursor"
    r = await client.get("/v1/sync/pull", headers=rep1.headers, params={"cursor": "%%%garbage"})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_cursor"


async def test_schema_versions_and_envelope_errors(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    m = rep.mutation("visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS))
    r = await rep.push([m], schema_version=99)
    assert r.status_code == 409
    assert r.json()["code"] == "schema_version_unsupported"
    assert "1" in r.json()["detail"]
    r = await rep.push([m], client_id=uuid.uuid4())
    assert r.status_code == 403
    assert r.json()["code"] == "client_mismatch"
    r = await client.post(
        "/v1/sync/push", headers={**rep.headers, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"
    info = (await client.get("/v1/sync/info", headers=rep.headers)).json()
    assert info["schema_versions"] == [0, 1]
    assert info["limits"]["max_mutations"] == 1000
    # Nothing above was processed.
    r = (await rep.push([m])).json()
    assert r["results"][0]["status"] == "applied"
    assert r["last_seq"] == 1


async def test_oversized_batches_are_refused_whole(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    muts = [
        rep.mutation(
            "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + i)
        )
        for i in range(1001)
    ]
    r = await rep.push(muts)
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"
    big = [
        rep.mutation(
            "visit",
            uuid.uuid4(),
            {"customer_id": str(world.customers["c0"]), "notes": "x" * 9000},
            hlc=stamp(NOW_MS),
        )
        for _ in range(700)
    ]
    r = await rep.push(big)
    assert r.status_code == 413
    assert (await client.get("/v1/visits", headers=rep.headers)).json()["total"] == 0


async def test_foreign_ids_are_not_found_and_other_tenants_id_conflict(client, world) -> None:
    rep2 = await Phone.sign_in(client, "rep2")
    rep_b = await Phone.sign_in(client, "rep_b")
    r = (
        await rep2.push(
            [rep2.mutation("customer", world.customers["c0"], {"notes": "mine now"}, hlc=stamp(NOW_MS))]
        )
    ).json()["results"][0]
    assert r["status"] == "rejected"
    assert r["error"]["code"] == "not_found"
    r = (
        await rep_b.push(
            [rep_b.mutation("customer", world.customers["c0"], {"name": "stolen id"}, hlc=stamp(NOW_MS))]
        )
    ).json()["results"][0]
    assert r["status"] == "rejected"
    assert r["error"]["code"] == "id_conflict"


async def test_last_seq_lets_the_phone_trim_its_outbox(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    await rep.push(
        [rep.mutation("visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS))]
    )
    r = await client.get("/v1/sync/pull", headers=rep.headers)
    assert r.json()["last_seq"] == 1


async def test_action_payloads_are_validated_per_kind(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    vid, _ = await _visit(rep, world.customers["c0"], hlc=stamp(NOW_MS))
    ok = rep.mutation(
        "visit_action",
        uuid.uuid4(),
        {
            "visit_id": str(vid),
            "kind": "order_intent",
            "payload": {"items": [{"sku": "SKU-1", "quantity": 3}]},
        },
        hlc=stamp(NOW_MS + 1),
    )
    bad = rep.mutation(
        "visit_action",
        uuid.uuid4(),
        {"visit_id": str(vid), "kind": "order_intent", "payload": {"items": []}},
        hlc=stamp(NOW_MS + 2),
    )
    wrong_kind = rep.mutation(
        "visit_action",
        uuid.uuid4(),
        {"visit_id": str(vid), "kind": "dance", "payload": {}},
        hlc=stamp(NOW_MS + 3),
    )
    foreign_visit = rep.mutation(
        "visit_action",
        uuid.uuid4(),
        {"visit_id": str(uuid.uuid4()), "kind": "training", "payload": {"topic": "x"}},
        hlc=stamp(NOW_MS + 4),
    )
    res = (await rep.push([ok, bad, wrong_kind, foreign_visit])).json()["results"]
    assert [r["status"] for r in res] == ["applied", "rejected", "rejected", "rejected"]
    assert res[1]["error"]["code"] == "validation_failed"
    assert res[3]["error"]["code"] == "not_found"


class _LoseResponses:
    """An ASGI wrapper whose next ``count`` responses on ``path`` never reach the client."""

    def __init__(self, app, path: str, count: int = 1) -> None:
        self.app, self.path, self.count = app, path, count

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or self.count == 0:
            await self.app(scope, receive, send)
            return
        self.count -= 1

        async def lost(message) -> None:
            raise ConnectionResetError("the connection dropped before the response")

        await self.app(scope, receive, lost)


async def test_crash_between_apply_and_response_replays_without_applying_twice(app, client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    vid = uuid.uuid4()
    batch = [
        phone.mutation("visit", vid, {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS)),
        phone.mutation("visit", vid, {"notes": "first"}, hlc=stamp(NOW_MS + 1)),
        phone.mutation(
            "visit", vid, {"status": "planned", "review": {"status": "approved"}}, hlc=stamp(NOW_MS + 2)
        ),
    ]
    # The server applies and commits the push, then the connection drops before the response.
    app.asgi_handler = _LoseResponses(app.asgi_handler, "/v1/sync/push")
    with pytest.raises((ConnectionResetError, LitestarException)):
        await phone.push(batch)
    # The push committed although the phone never heard back: its next pull says so.
    page = (await phone.pull_page()).json()
    assert page["last_seq"] == 3
    # The phone re-sends its outbox, with one new mutation after it.
    batch.append(phone.mutation("visit", vid, {"outcome": "ordered"}, hlc=stamp(NOW_MS + 3)))
    r = (await phone.push(batch)).json()
    assert [x["status"] for x in r["results"]] == ["duplicate", "duplicate", "duplicate", "applied"]
    assert [x.get("original_status") for x in r["results"][:3]] == ["applied", "applied", "rejected"]
    assert r["results"][2]["error"]["code"] == "read_only"
    assert r["last_seq"] == 4
    visits = (await client.get("/v1/visits", headers=phone.headers)).json()
    assert visits["total"] == 1
    assert visits["items"][0]["version"] == r["results"][3]["version"]
    log = (await client.get("/v1/sync/conflicts", headers=phone.headers)).json()
    assert log["total"] == 1
    item = log["items"][0]
    assert (item["status"], item["seq"], item["error"]) == ("rejected", 3, r["results"][2]["error"])
    assert [(c["field"], c["code"], c["client_value"]) for c in item["conflicts"]] == [
        ("review", "read_only", {"status": "approved"})
    ]


async def test_database_failure_mid_push_keeps_what_was_processed(app, client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    service = app.state.push_service
    service.chunk = 2

    async def database_goes_away(session, spec, row, changed, actor):
        if getattr(row, "notes", None) == "boom":
            raise OperationalError(
                "UPDATE visits", {}, Exception("server closed the connection unexpectedly")
            )
        return {}

    service.after_merge.append(database_goes_away)
    ids = [uuid.uuid4() for _ in range(5)]
    batch = [
        phone.mutation(
            "visit",
            vid,
            {"customer_id": str(world.customers["c0"]), "notes": "boom" if i == 3 else f"n{i}"},
            hlc=stamp(NOW_MS + i),
        )
        for i, vid in enumerate(ids)
    ]
    r = await phone.push(batch)
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["last_seq"] == 2
    assert r.headers["retry-after"]
    service.after_merge.remove(database_goes_away)
    # The client retries from last_seq + 1 (re-sending the rest is just as safe).
    r = (await phone.push(batch)).json()
    assert [x["status"] for x in r["results"]] == ["duplicate", "duplicate", "applied", "applied", "applied"]
    assert (await client.get("/v1/visits", headers=phone.headers)).json()["total"] == 5


async def test_retries_of_rejections_and_gaps_are_answered_consistently(client, world) -> None:
    phone = await Phone.sign_in(client, "rep1")
    rejected = phone.mutation("visit", uuid.uuid4(), {"customer_id": str(uuid.uuid4())}, hlc=stamp(NOW_MS))
    ok = phone.mutation(
        "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + 1)
    )
    later = [
        phone.mutation(
            "visit", uuid.uuid4(), {"customer_id": str(world.customers["c0"])}, hlc=stamp(NOW_MS + i)
        )
        for i in (2, 3)
    ]
    # Out of order inside one batch, and a gap: only what follows last_seq in order is processed.
    r = (await phone.push([ok, rejected, later[1]])).json()
    assert [x["status"] for x in r["results"]] == ["out_of_order", "rejected", "out_of_order"]
    assert r["results"][1]["error"]["code"] == "not_found"
    assert r["last_seq"] == 1
    r = (await phone.push([rejected, ok, later[0], later[0], later[1]])).json()
    assert [x["status"] for x in r["results"]] == ["duplicate", "applied", "applied", "duplicate", "applied"]
    assert r["results"][0]["original_status"] == "rejected"
    assert r["results"][0]["error"]["code"] == "not_found"
    assert r["last_seq"] == 4
    # An empty push just reports where the server is.
    r = (await phone.push([])).json()
    assert (r["last_seq"], r["results"]) == (4, [])
    assert (await client.get("/v1/visits", headers=phone.headers)).json()["total"] == 3


async def test_edit_then_delete_from_two_devices_ends_deleted(client, world) -> None:
    a = await Phone.sign_in(client, "rep1")
    b = await Phone.sign_in(client, "rep1")
    vid, v1 = await _visit(a, world.customers["c0"], hlc=stamp(NOW_MS))
    await b.pull_all()
    # a edits (stamped later), b deletes (stamped earlier): a delete still wins, whatever the clocks.
    r = (
        await a.push([a.mutation("visit", vid, {"notes": "edit"}, hlc=stamp(NOW_MS + 50), base_version=v1)])
    ).json()
    assert r["results"][0]["status"] == "applied"
    r = (
        await b.push([b.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 10), base_version=v1)])
    ).json()
    assert r["results"][0]["status"] == "applied"
    for phone in (a, b):
        await phone.pull_all()
        assert ("visit", str(vid)) not in phone.replica
    r = (await a.push([a.mutation("visit", vid, op="delete", hlc=stamp(NOW_MS + 60))])).json()
    assert r["results"][0]["status"] == "applied"  # deleting twice is harmless


async def test_expense_locked_for_the_rep_after_approval(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    eid = uuid.uuid4()
    r = (
        await rep.push(
            [
                rep.mutation(
                    "expense",
                    eid,
                    {"merchant": "Cafe", "total": "12.50", "currency": "CNY", "status": "submitted"},
                    hlc=stamp(NOW_MS),
                )
            ]
        )
    ).json()
    assert r["results"][0]["status"] == "applied", r
    await manager.pull_all()
    seen = manager.replica[("expense", str(eid))]["version"]
    r = (
        await manager.push(
            [
                manager.mutation(
                    "expense",
                    eid,
                    {"review": {"status": "approved"}},
                    hlc=stamp(NOW_MS + 5, node="m"),
                    base_version=seen,
                )
            ]
        )
    ).json()
    assert r["results"][0]["status"] == "applied", r
    # The rep edited offline before the approval reached the phone: refused, and told why.
    r = (
        await rep.push(
            [rep.mutation("expense", eid, {"total": "99.00", "notes": "typo"}, hlc=stamp(NOW_MS + 9))]
        )
    ).json()
    res = r["results"][0]
    assert res["status"] == "rejected"
    assert {(c["field"], c["code"]) for c in res["conflicts"]} == {("total", "locked"), ("notes", "locked")}
    r = (await rep.push([rep.mutation("expense", eid, op="delete", hlc=stamp(NOW_MS + 10))])).json()
    assert r["results"][0]["error"]["code"] == "locked"
    await rep.pull_all()
    data = rep.replica[("expense", str(eid))]
    assert (data["total"], data["status"]) == ("12.50", "approved")


async def _rep_expense(rep: Phone, status: str, *, hlc: str) -> uuid.UUID:
    eid = uuid.uuid4()
    fields = {"merchant": "Cafe", "total": "12.50", "currency": "CNY", "status": status}
    r = (await rep.push([rep.mutation("expense", eid, fields, hlc=hlc)])).json()
    assert r["results"][0]["status"] == "applied", r
    return eid


async def _review_by_sync(manager: Phone, eid: uuid.UUID, decision: str, *, hlc: str) -> dict:
    review = {"status": decision, "comment": "checked"}
    r = await manager.push([manager.mutation("expense", eid, {"review": review}, hlc=hlc)])
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


async def test_manager_approves_a_submitted_expense_through_sync(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    eid = await _rep_expense(rep, "submitted", hlc=stamp(NOW_MS))
    res = await _review_by_sync(manager, eid, "approved", hlc=stamp(NOW_MS + 5, node="m"))
    assert res["status"] == "applied", res
    got = (await client.get(f"/v1/expenses/{eid}", headers=rep.headers)).json()
    assert got["status"] == "approved"
    assert (got["review"]["status"], got["review"]["by"]) == ("approved", str(world.users["manager1"]))


async def test_manager_review_through_sync_needs_a_submitted_expense(client, world, session_factory) -> None:
    # Same rule as POST /v1/expenses/{id}/review: only a submitted expense is decided.
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    cases = [(s, d) for s in ("draft", "needs_review") for d in ("approved", "rejected")]
    for index, (status, decision) in enumerate(cases):
        eid = await _rep_expense(rep, "draft", hlc=stamp(NOW_MS + 10 * index))
        if status != "draft":  # needs_review is the server's move (a receipt was read)
            async with write_session(session_factory) as session:
                await write_system(session, world.tenant_a, "expense", eid, {"status": status})
        before = (await client.get(f"/v1/expenses/{eid}", headers=rep.headers)).json()
        res = await _review_by_sync(manager, eid, decision, hlc=stamp(NOW_MS + 10 * index + 5, node="m"))
        assert res["status"] == "rejected", (status, decision, res)
        assert (res["error"]["code"], res["error"]["field"]) == ("invalid_transition", "review")
        assert [(c["field"], c["code"]) for c in res["conflicts"]] == [("review", "invalid_transition")]
        after = (await client.get(f"/v1/expenses/{eid}", headers=rep.headers)).json()
        assert (after["status"], after["review"], after["version"]) == (status, None, before["version"])
        review = {"status": decision, "comment": "checked"}
        rest = await client.post(f"/v1/expenses/{eid}/review", json=review, headers=manager.headers)
        assert (rest.status_code, rest.json()["code"]) == (409, res["error"]["code"])


async def test_approved_expense_is_not_reviewed_again_through_sync(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    manager = await Phone.sign_in(client, "manager1")
    eid = await _rep_expense(rep, "submitted", hlc=stamp(NOW_MS))
    first = await _review_by_sync(manager, eid, "approved", hlc=stamp(NOW_MS + 5, node="m"))
    assert first["status"] == "applied", first
    approved = (await client.get(f"/v1/expenses/{eid}", headers=rep.headers)).json()
    # Locked once approved: neither a second approval nor a late rejection changes it.
    for offset, decision in ((6, "approved"), (7, "rejected")):
        res = await _review_by_sync(manager, eid, decision, hlc=stamp(NOW_MS + offset, node="m"))
        assert res["status"] == "rejected", res
        assert res["error"]["code"] == "invalid_transition"
    after = (await client.get(f"/v1/expenses/{eid}", headers=rep.headers)).json()
    assert after == approved


async def test_a_manager_cannot_approve_their_own_expense_through_sync(client, world) -> None:
    # As POST /v1/expenses/{id}/review (403): a manager's own expense is decided by someone else.
    manager = await Phone.sign_in(client, "manager1")
    eid = await _rep_expense(manager, "submitted", hlc=stamp(NOW_MS))
    before = (await client.get(f"/v1/expenses/{eid}", headers=manager.headers)).json()
    assert before["rep_id"] == str(world.users["manager1"])
    for offset, decision in ((5, "approved"), (6, "rejected")):
        res = await _review_by_sync(manager, eid, decision, hlc=stamp(NOW_MS + offset, node="m"))
        assert res["status"] == "rejected", res
        assert (res["error"]["code"], res["error"]["field"]) == ("forbidden", "review")
    after = (await client.get(f"/v1/expenses/{eid}", headers=manager.headers)).json()
    assert after == before
    rest = await client.post(
        f"/v1/expenses/{eid}/review", json={"status": "approved", "comment": "mine"}, headers=manager.headers
    )
    assert (rest.status_code, rest.json()["code"]) == (403, "forbidden")
    admin = await Phone.sign_in(client, "admin")
    res = await _review_by_sync(admin, eid, "approved", hlc=stamp(NOW_MS + 7, node="a"))
    assert res["status"] == "applied", res


async def test_cursor_from_another_tenant_or_with_a_forged_position_is_invalid(client, world) -> None:
    rep = await Phone.sign_in(client, "rep1")
    rep_b = await Phone.sign_in(client, "rep_b")
    await rep_b.pull_all()
    r = await client.get("/v1/sync/pull", headers=rep.headers, params={"cursor": rep_b.cursor})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_cursor"
    # A well-formed cursor signed with another key (a forged position) is refused too.
    from sync.cursor import encode_cursor

    forged = encode_cursor(
        "not-the-server-secret", user_id=world.users["rep1"], tenant_id=world.tenant_a, after=0, floor=0
    )
    r = await client.get("/v1/sync/pull", headers=rep.headers, params={"cursor": forged})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_cursor"
    r = await client.get("/v1/sync/pull", headers=rep.headers, params={"cursor": ""})
    assert r.status_code == 200  # no cursor: a bootstrap


async def test_a_full_batch_of_creates_children_and_losing_edits(client, world, session_factory) -> None:
    phone = await Phone.sign_in(client, "rep1")
    other = await Phone.sign_in(client, "rep1")
    visits = [uuid.uuid4() for _ in range(120)]
    batch = []
    for i, vid in enumerate(visits):
        batch.append(
            phone.mutation(
                "visit",
                vid,
                {"customer_id": str(world.customers["c0"]), "notes": f"n{i}"},
                hlc=stamp(NOW_MS + i),
            )
        )
        batch.append(
            phone.mutation(
                "visit_action",
                uuid.uuid4(),
                {"visit_id": str(vid), "kind": "training", "payload": {"topic": f"t{i}"}},
                hlc=stamp(NOW_MS + i),
            )
        )
    r = (await phone.push(batch)).json()
    assert {x["status"] for x in r["results"]} == {"applied"}
    assert r["last_seq"] == 240
    # Another phone's older edits of every visit all lose, and every loss is logged.
    stale = [
        other.mutation("visit", vid, {"notes": "stale"}, hlc=stamp(NOW_MS - 1000, node="o"), base_version=0)
        for vid in visits
    ]
    r = (await other.push(stale)).json()
    assert {x["status"] for x in r["results"]} == {"merged"}
    assert all(x["conflicts"][0]["outcome"] == "kept_server" for x in r["results"])
    log = (await client.get("/v1/sync/conflicts", headers=other.headers, params={"limit": 1})).json()
    assert log["total"] == 120
    await other.pull_all(limit=1000)
    assert len(other.held("visit")) == 120
    assert len(other.held("visit_action")) == 120
    assert {other.replica[("visit", str(v))]["notes"] for v in visits} == {f"n{i}" for i in range(120)}
    # Values a row does not have are SQL NULL, not the JSON value null.
    from sqlalchemy import func, select

    from api.visits.models import Visit

    async with session_factory() as session:
        empty = await session.scalar(select(func.count()).select_from(Visit).where(Visit.check_in.is_(None)))
    assert empty == 120


async def test_text_with_a_nul_character_is_rejected_alone(client, world) -> None:
    """Neither database stores NUL characters: the mutation is rejected, its neighbours apply, and
    the phone is never told to retry a write that can never succeed."""
    phone = await Phone.sign_in(client, "rep1")
    customer = str(world.customers["c0"])
    batch = [
        phone.mutation("visit", uuid.uuid4(), {"customer_id": customer, "notes": "ok"}, hlc=stamp(NOW_MS)),
        phone.mutation(
            "visit", uuid.uuid4(), {"customer_id": customer, "notes": "a\u0000b"}, hlc=stamp(NOW_MS)
        ),
        phone.mutation(
            "visit_action",
            uuid.uuid4(),
            {"visit_id": str(uuid.uuid4()), "kind": "training", "payload": {"topic": "x\u0000"}},
            hlc=stamp(NOW_MS),
        ),
        phone.mutation(
            "visit", uuid.uuid4(), {"customer_id": customer, "notes": "ok too"}, hlc=stamp(NOW_MS)
        ),
    ]
    r = await phone.push(batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["applied", "rejected", "rejected", "applied"]
    assert results[1]["error"] == {
        "code": "validation_failed",
        "message": "text may not contain NUL characters",
        "field": "notes",
    }
    assert results[2]["error"]["field"] == "payload"
    assert r.json()["last_seq"] == 4


async def test_a_date_shaped_value_that_is_no_date_is_rejected_alone(client, world) -> None:
    """ "2026-13-01" passes the wire format's shape check; its conversion refuses it, and that is a
    validation failure of this mutation (not a server error that would fail the whole push)."""
    manager = await Phone.sign_in(client, "manager1")
    rep = str(world.users["rep1"])
    plans = [uuid.uuid4() for _ in range(3)]
    batch = [
        manager.mutation("route_plan", plans[0], {"rep_id": rep, "date": "2026-11-30"}, hlc=stamp(NOW_MS)),
        manager.mutation("route_plan", plans[1], {"rep_id": rep, "date": "2026-13-01"}, hlc=stamp(NOW_MS)),
        manager.mutation("route_plan", plans[2], {"rep_id": rep, "date": "2026-02-30"}, hlc=stamp(NOW_MS)),
    ]
    r = await manager.push(batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["applied", "rejected", "rejected"]
    assert {(x["error"]["code"], x["error"]["field"]) for x in results[1:]} == {("validation_failed", "date")}
    assert r.json()["last_seq"] == 3
