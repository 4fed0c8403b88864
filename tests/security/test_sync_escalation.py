"""Role escalation through sync, and pull cursors altered or carried across users and tenants.

A rep's phone is an untrusted client: whatever it pushes, manager-only and server fields stay as
they were, and records outside its scope are neither changed nor revealed. (The visit ``review``
case is in tests/sync/test_conformance.py.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid

import msgspec

from sync.cursor import Cursor
from tests.factories import login


class Rep:
    def __init__(self, client, body) -> None:
        self.client = client
        self.headers = body["headers"]
        self.device = body["device_id"]
        self.seq = 0

    async def push(self, *mutations: tuple[str, uuid.UUID, dict | None, str]) -> list[dict]:
        batch = []
        for entity, ident, fields, op in mutations:
            self.seq += 1
            m = {
                "seq": self.seq,
                "entity": entity,
                "id": str(ident),
                "op": op,
                "hlc": f"{int(time.time() * 1000) + self.seq:016d}-0000-phone",
            }
            if fields is not None:
                m["fields"] = fields
            batch.append(m)
        r = await self.client.post(
            "/v1/sync/push",
            json={"schema_version": 1, "client_id": self.device, "mutations": batch},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        return r.json()["results"]


def _refusals(result: dict) -> set[tuple[str | None, str]]:
    out = {(c["field"], c.get("code") or c["outcome"]) for c in result.get("conflicts", [])}
    if result.get("error"):
        out.add((result["error"].get("field"), result["error"]["code"]))
    return out


async def test_rep_cannot_approve_or_reassign_through_sync(client, world) -> None:
    rep = Rep(client, await login(client, "rep1"))
    admin = (await login(client, "admin"))["headers"]
    expense, visit, customer = uuid.uuid4(), uuid.uuid4(), world.customers["c0"]
    created = await rep.push(
        (
            "expense",
            expense,
            {"merchant": "Tea", "total": "8.00", "currency": "CNY", "status": "submitted"},
            "upsert",
        ),
        ("visit", visit, {"customer_id": str(customer), "rep_id": str(world.users["rep2"])}, "upsert"),
    )
    assert created[0]["status"] == "applied"
    assert ("rep_id", "read_only") in _refusals(created[1])
    results = await rep.push(
        ("expense", expense, {"status": "approved"}, "upsert"),
        ("expense", expense, {"review": {"status": "approved", "comment": "self"}}, "upsert"),
        (
            "expense",
            expense,
            {"rep_id": str(world.users["rep2"]), "flags": [{"code": "ok"}], "extraction": {"engine": "me"}},
            "upsert",
        ),
        ("customer", customer, {"assigned_rep_id": str(world.users["rep2"]), "is_prospect": True}, "upsert"),
        (
            "user",
            world.users["rep1"],
            {"role": "admin", "is_active": True, "team_id": str(world.teams["south"])},
            "upsert",
        ),
        ("user", world.users["rep1"], {"email": "boss@test.example"}, "upsert"),
    )
    assert ("status", "invalid_transition") in _refusals(results[0])
    assert ("review", "read_only") in _refusals(results[1])
    assert {("rep_id", "read_only"), ("flags", "read_only"), ("extraction", "read_only")} <= _refusals(
        results[2]
    )
    assert {("assigned_rep_id", "read_only"), ("is_prospect", "read_only")} <= _refusals(results[3])
    assert {("role", "read_only"), ("team_id", "read_only")} <= _refusals(results[4])
    assert ("email", "read_only") in _refusals(results[5])
    assert all(r["status"] in {"merged", "rejected"} for r in results)

    got = (await client.get(f"/v1/expenses/{expense}", headers=admin)).json()
    assert (got["status"], got["review"], got["rep_id"]) == ("submitted", None, str(world.users["rep1"]))
    assert got["extraction"] is None
    assert (await client.get(f"/v1/visits/{visit}", headers=admin)).json()["rep_id"] == str(
        world.users["rep1"]
    )
    assert (await client.get(f"/v1/customers/{customer}", headers=admin)).json()["assigned_rep_id"] == str(
        world.users["rep1"]
    )
    me = (await client.get(f"/v1/users/{world.users['rep1']}", headers=admin)).json()
    assert (me["role"], me["email"], me["team_id"]) == ("rep", "rep1@test.example", str(world.teams["north"]))
    again = await login(client, "rep1")
    assert again["user"]["role"] == "rep"
    await _rep_cannot_create_manager_or_admin_records(client, world)


async def _rep_cannot_create_manager_or_admin_records(client, world) -> None:
    rep = Rep(client, await login(client, "rep1", device=uuid.uuid4()))
    plan, product, category, user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    results = await rep.push(
        ("route_plan", plan, {"rep_id": str(world.users["rep1"]), "date": "2026-01-05"}, "upsert"),
        ("product", product, {"sku": "X", "name": "X"}, "upsert"),
        ("expense_category", category, {"code": "x", "name": "X"}, "upsert"),
        ("user", user, {"name": "Ghost"}, "upsert"),
        ("customer", world.customers["c0"], None, "delete"),
    )
    assert [r["status"] for r in results] == ["rejected"] * 5
    assert [r["error"]["code"] for r in results] == ["forbidden"] * 5
    admin = (await login(client, "admin"))["headers"]
    for path in (
        f"/v1/route-plans/{plan}",
        f"/v1/products/{product}",
        f"/v1/expense-categories/{category}",
        f"/v1/users/{user}",
    ):
        assert (await client.get(path, headers=admin)).status_code == 404, path
    assert (await client.get(f"/v1/customers/{world.customers['c0']}", headers=admin)).status_code == 200


async def test_out_of_scope_records_are_neither_changed_nor_revealed(client, world) -> None:
    admin = (await login(client, "admin"))["headers"]
    rep3 = Rep(client, await login(client, "rep3"))
    (created,) = await rep3.push(
        ("visit", uuid.uuid4(), {"customer_id": str(world.customers["c3"])}, "upsert")
    )
    assert created["status"] == "applied"
    visits = (await client.get("/v1/visits", headers=admin)).json()["items"]
    rep3_visit = uuid.UUID(visits[0]["id"])
    manager1 = Rep(client, await login(client, "manager1"))
    rep1 = Rep(client, await login(client, "rep1"))
    rep_b = Rep(client, await login(client, "rep_b"))
    for phone, entity, ident, fields in (
        (manager1, "visit", rep3_visit, {"review": {"status": "approved"}}),
        (rep1, "visit", rep3_visit, {"notes": "mine now"}),
        (rep1, "customer", world.customers["c2"], {"notes": "mine now"}),
        (rep1, "user", world.users["rep2"], {"name": "Renamed"}),
        (rep_b, "visit", rep3_visit, {"notes": "from beta"}),
        (rep_b, "customer", world.customers["c0"], {"name": "Beta's now"}),
    ):
        (result,) = await phone.push((entity, ident, fields, "upsert"))
        assert result["status"] == "rejected", (entity, result)
        assert result["error"]["code"] in {"not_found", "forbidden", "id_conflict"}, result
        assert "server_value" not in str(result), result
    got = (await client.get(f"/v1/visits/{rep3_visit}", headers=admin)).json()
    assert (got["review"], got["notes"]) == (None, None)
    assert (await client.get(f"/v1/customers/{world.customers['c0']}", headers=admin)).json()[
        "name"
    ] == "Customer 0"
    assert (await client.get(f"/v1/users/{world.users['rep2']}", headers=admin)).json()["name"] == "Rep2"


def _pieces(cursor: str) -> tuple[bytes, bytes]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return raw[:-16], raw[-16:]


def _encode(payload: bytes, sig: bytes) -> str:
    return base64.urlsafe_b64encode(payload + sig).rstrip(b"=").decode()


async def test_altered_forged_and_foreign_cursors_are_refused(client, world) -> None:
    rep1 = await login(client, "rep1")
    r = await client.get("/v1/sync/pull", params={"limit": 1}, headers=rep1["headers"])
    cursor = r.json()["cursor"]
    payload, sig = _pieces(cursor)

    async def refused(text: str, headers=rep1["headers"]) -> None:
        r = await client.get("/v1/sync/pull", params={"cursor": text}, headers=headers)
        assert r.status_code == 400, (text[:40], r.status_code, r.text)
        assert r.json()["code"] == "invalid_cursor"

    # Every single-byte change of the payload or the signature.
    raw = payload + sig
    for i in range(len(raw)):
        changed = bytearray(raw)
        changed[i] ^= 0x01
        await refused(base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode())
    # Rewound to the beginning and signed with a guessed key.
    decoded = msgspec.msgpack.decode(payload, type=Cursor)
    rewound = msgspec.msgpack.encode(Cursor(decoded.v, decoded.user, decoded.tenant, 0, 0))
    for key in (b"", b"secret", b"fieldline", b"changeme"):
        await refused(_encode(rewound, hmac.new(key, rewound, hashlib.sha256).digest()[:16]))
    # The original signature on another payload, a truncation, an oversized blob.
    await refused(_encode(rewound, sig))
    await refused(cursor[: len(cursor) // 2])
    await refused("A" * 20_000)
    # Another tenant's user with this user's cursor.
    rep_b = await login(client, "rep_b")
    await refused(cursor, rep_b["headers"])
    assert (
        await client.get("/v1/sync/pull", params={"cursor": cursor}, headers=rep1["headers"])
    ).status_code == 200
