"""End-to-end: network cuts, app restarts, conflicts, lost cursors, tokens and refused requests."""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fieldline_client import (
    AuthExpired,
    ConflictEvent,
    FieldlineClient,
    FieldlineError,
    MemoryStorage,
    NetworkError,
    RequestRejected,
    RetryPolicy,
    SqliteStorage,
)
from fieldline_client.testing import NetworkSimulator
from sdk_server import PASSWORD, SECRET, expire_history

pytestmark = pytest.mark.anyio


async def sync_until_done(client: FieldlineClient, tries: int = 30) -> None:
    for _ in range(tries):
        try:
            await client.sync()
            return
        except NetworkError:
            continue
    raise AssertionError("sync never got through")


async def test_random_network_cuts_during_push_and_pull_lose_and_duplicate_nothing(server, signed_in) -> None:
    rng = random.Random(20261123)
    net = NetworkSimulator(seed=5, drop_before=0.2, drop_after=0.2)
    # Few retries per call so that whole syncs fail too; small pages so pulls have many cut points.
    rep = await signed_in(
        "rep2", transport=net, retry=RetryPolicy(attempts=2, base=0.001, cap=0.01), pull_limit=2
    )
    await sync_until_done(rep)
    customer = str(server.world.customers["c2"])
    expected: dict[tuple[str, str], dict[str, Any]] = {}

    def remember(entity: str, ident: str, fields: dict[str, Any]) -> None:
        expected.setdefault((entity, ident), {}).update(fields)

    for round_no in range(12):
        for _ in range(rng.randint(2, 5)):
            visits = [k[1] for k in expected if k[0] == "visit"]
            roll = rng.random()
            if roll < 0.3 or not visits:
                fields = {"customer_id": customer, "notes": f"r{round_no} created"}
                remember("visit", await rep.create("visit", fields), fields)
            elif roll < 0.6:
                target = rng.choice(visits)
                fields = {"notes": f"r{round_no} note {rng.randint(0, 10**6)}"}
                await rep.update("visit", target, fields)
                remember("visit", target, fields)
            elif roll < 0.8:
                fields = {
                    "visit_id": rng.choice(visits),
                    "kind": "stock_check",
                    "payload": {"items": [{"sku": "SKU-1001", "quantity": rng.randint(0, 50)}]},
                }
                remember("visit_action", await rep.create("visit_action", fields), fields)
            else:
                fields = {
                    "merchant": f"Shop {round_no}",
                    "total": f"{rng.randint(1, 500)}.50",
                    "currency": "CNY",
                }
                remember("expense", await rep.create("expense", fields), fields)
        with contextlib.suppress(NetworkError):  # the next round tries again
            await rep.sync()

    net.drop_before = net.drop_after = 0.0
    await rep.sync()
    assert net.stats["dropped_before"] > 5, net.stats
    assert net.stats["dropped_after"] > 5, net.stats
    assert await rep.pending() == []
    # The server processed every seq of this device, exactly up to the last one.
    assert await rep._engine.last_seq() == rep.outbox.next_seq - 1  # type: ignore[union-attr]
    # No write was applied twice: a replayed old write would have lost to a newer one and been
    # logged as a kept_server conflict. (Overwriting this device's own earlier, not yet pulled,
    # write is logged by the server as "overwrote"; that is expected.)
    conflicts = await rep.request("GET", "/v1/sync/conflicts", params={"limit": 500})
    mine = [c for item in conflicts["items"] if item["client_id"] == rep.device_id for c in item["conflicts"]]
    assert all(c["outcome"] == "overwrote" and c["server_hlc"].endswith(rep.device_id) for c in mine), mine

    fresh = await signed_in("rep2")
    await fresh.sync()
    assert rep.replica.snapshot() == fresh.replica.snapshot()
    for (entity, ident), fields in expected.items():
        row = await fresh.get(entity, ident)
        assert row is not None, (entity, ident)
        assert {k: row[k] for k in fields} == fields
    for entity in ("visit", "visit_action", "expense"):
        on_server = {r["id"] for r in await fresh.list(entity)}
        assert on_server == {i for (e, i) in expected if e == entity}


async def test_app_restart_with_a_non_empty_outbox(server, make_client, tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    storage = SqliteStorage(path)
    first = make_client(storage)
    await first.login(server.email("rep1"), PASSWORD)
    await first.sync()
    visit = await first.create("visit", {"customer_id": str(server.world.customers["c1"]), "notes": "before"})
    await first.update("visit", visit, {"notes": "written offline, never synced"})
    await first.close()
    storage.close()

    # The app is killed and started again: same file, new objects, still signed in.
    storage = SqliteStorage(path)
    second = make_client(storage)
    assert [m.seq for m in await second.pending()] == [1, 2]
    assert (await second.get("visit", visit) or {})["notes"] == "written offline, never synced"
    report = await second.sync()
    assert report.pushed == 2
    assert await second.pending() == []
    on_server = await second.request("GET", f"/v1/visits/{visit}")
    assert on_server["notes"] == "written offline, never synced"

    # Killed again after the server took a push but before the answer arrived. The write carries a
    # field a rep may not set, so its answer is "merged": that must still reach the app.
    lost_answer = NetworkSimulator(rules=[lambda r: "after" if r.url.path == "/v1/sync/push" else None])
    third = make_client(storage, transport=lost_answer, retry=RetryPolicy(attempts=1))
    other_rep = str(server.world.users["rep2"])
    await third.update("visit", visit, {"outcome": "sold", "rep_id": other_rep})
    with pytest.raises(NetworkError):
        await third.sync()
    await third.close()
    storage.close()

    storage = SqliteStorage(path)
    fourth = make_client(storage)
    events: list[ConflictEvent] = []
    fourth.on_conflict(events.append)
    assert [m.seq for m in await fourth.pending()] == [3]
    await fourth.sync()
    assert [(e.seq, e.status) for e in events] == [(3, "merged")]
    assert events[0].conflicts[0]["field"] == "rep_id"
    assert events[0].conflicts[0]["code"] == "read_only"
    row = await fourth.get("visit", visit)
    assert row is not None
    assert row["outcome"] == "sold"
    assert row["rep_id"] == str(server.world.users["rep1"])
    storage.close()


async def test_conflict_callbacks_receive_merged_and_rejected(server, signed_in) -> None:
    # The rep's phone clock is a minute behind: the manager's edit is later by HLC.
    rep = await signed_in("rep1", clock=lambda: int(time.time() * 1000) - 60_000)
    manager = await signed_in("manager1")
    events: list[ConflictEvent] = []
    rep.on_conflict(events.append)
    async_events: list[str] = []

    async def async_callback(event: ConflictEvent) -> None:
        async_events.append(event.status)

    rep.on_conflict(async_callback)
    visit = await rep.create("visit", {"customer_id": str(server.world.customers["c0"])})
    await rep.sync()
    await manager.sync()

    await manager.update("visit", visit, {"notes": "manager was here"})
    await manager.sync()
    # A rep may not review their own visit: that field is refused, the others apply.
    await rep.update(
        "visit", visit, {"notes": "rep was here", "outcome": "follow-up", "review": {"status": "approved"}}
    )
    report = await rep.sync()
    assert len(report.conflicts) == 1
    assert report.rejected == []
    merged = report.conflicts[0]
    assert (merged.entity, merged.id, merged.status) == ("visit", visit, "merged")
    by_field = {c["field"]: c for c in merged.conflicts}
    assert by_field["notes"]["outcome"] == "kept_server"
    assert by_field["notes"]["server_value"] == "manager was here"
    assert (by_field["review"]["outcome"], by_field["review"]["code"]) == ("rejected", "read_only")
    row = await rep.get("visit", visit)
    assert row is not None
    assert (row["notes"], row["outcome"]) == ("manager was here", "follow-up")
    assert row["review"] is None

    await manager.request("POST", f"/v1/visits/{visit}/review", json={"status": "approved", "comment": "ok"})
    await rep.update("visit", visit, {"status": "completed"})
    report = await rep.sync()
    assert [(e.status, e.error["code"]) for e in report.rejected] == [("rejected", "locked")]
    assert events == [merged, *report.rejected]
    assert async_events == ["merged", "rejected"]
    # The refused change is gone from the device's view: it shows the server's truth.
    row = await rep.get("visit", visit)
    assert row is not None
    assert row["status"] == "planned"
    assert row["review"]["status"] == "approved"


async def test_expired_and_invalid_cursors_bootstrap_again_and_keep_the_outbox(server, signed_in) -> None:
    rep = await signed_in("rep_b")
    admin = await signed_in("admin_b")
    await rep.sync()
    await admin.sync()
    shop = str(server.world.customers["b0"])
    doomed = await admin.create("customer", {"name": "Closing down", "assigned_rep_id": rep.user["id"]})
    await admin.sync()
    await rep.sync()
    assert await rep.get("customer", doomed) is not None

    # While the phone is away, the customer is deleted and the server prunes its history.
    await admin.request("DELETE", f"/v1/customers/{doomed}")
    await expire_history(server.db_url, server.world.tenant_b)
    await rep.update("customer", shop, {"notes": "written while the history was pruned"})
    report = await rep.sync()
    assert report.rebootstrapped
    assert await rep.get("customer", doomed) is None  # gone although its tombstone was never pulled
    assert doomed
    assert ("customer", doomed) in report.evicted
    assert (await rep.get("customer", shop) or {})["notes"] == "written while the history was pruned"
    assert len(rep.outbox) == 0

    # An altered cursor: the server refuses it, the SDK starts over.
    rep.replica.cursor = rep.replica.cursor[:-4] + "AAAA"  # type: ignore[index]
    await rep.update("customer", shop, {"notes": "after the bad cursor"})
    report = await rep.sync()
    assert report.rebootstrapped
    assert report.pushed == 1
    fresh = await signed_in("rep_b")
    await fresh.sync()
    assert rep.replica.snapshot() == fresh.replica.snapshot()


def _expired_token(client: FieldlineClient) -> str:
    """An access token of this device, signed by the server's key, that expired a minute ago."""
    user = client.user
    assert user is not None
    now = int(time.time())
    claims = {
        "sub": user["id"],
        "tid": user["tenant_id"],
        "role": user["role"],
        "did": client.device_id,
        "iat": now - 960,
        "exp": now - 60,
        "jti": uuid.uuid4().hex,
        "ims": (now - 960) * 1000,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def _plant_access_token(client: FieldlineClient, storage: MemoryStorage, token: str) -> None:
    tokens = client.session.tokens
    assert tokens is not None
    tokens.access_token = token
    await client.session.store(tokens)
    assert json.loads(storage.data["auth/tokens"])["access_token"] == token


async def test_token_refresh_rotation_and_reuse_detection(server, make_client) -> None:
    storage = MemoryStorage()
    rep = make_client(storage)
    await rep.login(server.email("rep3"), PASSWORD)
    first_refresh = rep.session.tokens.refresh_token  # type: ignore[union-attr]

    # The access token expired while the app slept: a 401, one refresh, and the call goes through.
    await _plant_access_token(rep, storage, _expired_token(rep))
    await rep.sync()
    stored = json.loads(storage.data["auth/tokens"])
    assert stored["refresh_token"] != first_refresh  # rotated, and persisted before use
    assert stored["access_token"] == rep.session.tokens.access_token  # type: ignore[union-attr]

    # A new client on the same storage (an app restart) is still signed in.
    again = make_client(storage)
    assert (await again.request("GET", "/v1/me"))["email"] == server.email("rep3")

    # Someone replays the spent refresh token: the server revokes the whole family.
    async with httpx.AsyncClient(base_url=server.url) as raw:
        r = await raw.post("/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert r.status_code == 401
    assert r.json()["code"] == "refresh_token_reused"

    visit = await again.create("visit", {"customer_id": str(server.world.customers["c3"])})
    await _plant_access_token(again, storage, _expired_token(again))
    with pytest.raises(AuthExpired):
        await again.sync()
    assert again.user is None
    assert [m.id for m in await again.pending()] == [visit]  # local data kept
    await again.login(server.email("rep3"), PASSWORD)
    report = await again.sync()
    assert report.pushed == 1
    assert (await again.request("GET", f"/v1/visits/{visit}"))["id"] == visit


class Scripted(httpx.AsyncBaseTransport):
    """Answers the first requests matching ``when`` with canned responses, then passes through."""

    def __init__(self, when: Callable[[httpx.Request], bool], canned: list[httpx.Response]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.when = when
        self.canned = list(canned)
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        if self.when(request) and self.canned:
            return self.canned.pop(0)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def problem(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": code, "status": status, "detail": code, "code": code}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json", **headers})


async def test_5xx_and_429_are_retried_with_backoff_honouring_retry_after(server, signed_in) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    def pushing_mutations(request: httpx.Request) -> bool:
        return request.url.path == "/v1/sync/push" and bool(json.loads(request.content)["mutations"])

    transport = Scripted(
        pushing_mutations,
        [
            problem(503, "unavailable", **{"Retry-After": "3"}),
            problem(429, "rate_limited", **{"Retry-After": "1"}),
        ],
    )
    rep = await signed_in(
        "rep3", transport=transport, retry=RetryPolicy(attempts=5, base=0.05, cap=0.1, sleep=record)
    )
    visit = await rep.create("visit", {"customer_id": str(server.world.customers["c3"])})
    report = await rep.sync()
    assert report.pushed == 1
    assert len(waits) == 2
    assert waits[0] >= 3.0
    assert waits[1] >= 1.0
    assert transport.seen.count("POST /v1/sync/push") == 1 + 3  # the sign-in's, then 2 refused and 1 taken
    assert (await rep.request("GET", f"/v1/visits/{visit}"))["id"] == visit


async def test_a_refused_request_stops_at_once_and_keeps_the_outbox(server, make_client) -> None:
    transport = Scripted(lambda r: False, [])
    rep = make_client(transport=transport)
    with pytest.raises(RequestRejected) as err:
        await rep.login(server.email("rep3"), "wrong password")
    assert (err.value.status, err.value.code) == (401, "invalid_credentials")
    assert transport.seen == ["POST /v1/auth/token"]  # no retry

    await rep.login(server.email("rep3"), PASSWORD)
    # Tokens of another device in this device's storage: the server refuses the push envelope.
    other = make_client()
    await other.login(server.email("rep3"), PASSWORD)
    rep.session.tokens = other.session.tokens
    await rep.create("visit", {"customer_id": str(server.world.customers["c3"])})
    transport.seen.clear()
    with pytest.raises(RequestRejected) as err:
        await rep.sync()
    assert (err.value.status, err.value.code) == (403, "client_mismatch")
    assert transport.seen.count("POST /v1/sync/push") == 1
    assert len(await rep.pending()) == 1
    assert isinstance(err.value, FieldlineError)
    assert err.value.detail


async def test_another_user_on_the_same_device(server, make_client) -> None:
    storage = MemoryStorage()
    phone = make_client(storage)
    await phone.login(server.email("rep1"), PASSWORD)
    await phone.sync()
    visit = await phone.create("visit", {"customer_id": str(server.world.customers["c0"])})
    await phone.sync()
    await phone.update("visit", visit, {"notes": "not synced yet"})
    await phone.logout()

    # The phone is handed to rep2 while rep1's change is still on it: refused, nothing lost.
    with pytest.raises(FieldlineError) as err:
        await phone.login(server.email("rep2"), PASSWORD)
    assert err.value.code == "pending_changes"
    assert [m.fields for m in await phone.pending()] == [{"notes": "not synced yet"}]
    await phone.login(server.email("rep1"), PASSWORD)
    await phone.sync()
    await phone.logout()

    # Now rep2 signs in: rep1's replica goes, and rep2's writes are numbered for rep2 on this device.
    await phone.login(server.email("rep2"), PASSWORD)
    assert await phone.get("visit", visit) is None
    assert phone.replica.snapshot() == {}
    mine = await phone.create("visit", {"customer_id": str(server.world.customers["c2"])})
    assert [m.seq for m in await phone.pending()] == [1]
    report = await phone.sync()
    assert report.pushed == 1
    assert report.rejected == []
    assert (await phone.get("visit", mine) or {})["rep_id"] == str(server.world.users["rep2"])
    assert await phone.get("visit", visit) is None  # rep1's visit is not in rep2's scope
