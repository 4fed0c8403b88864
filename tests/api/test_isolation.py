"""Tenant and team isolation: foreign ids are 404, lists show only the caller's scope."""

from __future__ import annotations

from tests.factories import login


async def test_rep_sees_only_own_customers(client, world) -> None:
    rep1 = await login(client, "rep1")
    r = await client.get("/v1/customers", headers=rep1["headers"])
    names = {c["name"] for c in r.json()["items"]}
    assert names == {"Customer 0", "Customer 1"}
    other = world.customers["c2"]  # rep2's
    assert (await client.get(f"/v1/customers/{other}", headers=rep1["headers"])).status_code == 404
    r = await client.patch(f"/v1/customers/{other}", json={"notes": "x"}, headers=rep1["headers"])
    assert r.status_code == 404


async def test_manager_sees_only_their_team(client, world) -> None:
    m1 = await login(client, "manager1")
    names = {c["name"] for c in (await client.get("/v1/customers", headers=m1["headers"])).json()["items"]}
    assert names == {"Customer 0", "Customer 1", "Customer 2"}
    assert (
        await client.get(f"/v1/customers/{world.customers['c3']}", headers=m1["headers"])
    ).status_code == 404
    users = {u["email"] for u in (await client.get("/v1/users", headers=m1["headers"])).json()["items"]}
    assert users == {"manager1@test.example", "rep1@test.example", "rep2@test.example"}


async def test_other_tenant_is_invisible(client, world) -> None:
    admin_a = await login(client, "admin")
    rep_b = await login(client, "rep_b")
    assert (
        await client.get(f"/v1/customers/{world.customers['b0']}", headers=admin_a["headers"])
    ).status_code == 404
    assert (
        await client.get(f"/v1/customers/{world.customers['c0']}", headers=rep_b["headers"])
    ).status_code == 404
    r = await client.get(f"/v1/users/{world.users['rep1']}", headers=rep_b["headers"])
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    all_a = (await client.get("/v1/customers", headers=admin_a["headers"])).json()
    assert all_a["total"] == 4


async def test_rep_cannot_reassign_or_use_manager_endpoints(client, world) -> None:
    rep1 = await login(client, "rep1")
    cid = world.customers["c0"]
    r = await client.patch(
        f"/v1/customers/{cid}", json={"assigned_rep_id": str(world.users["rep2"])}, headers=rep1["headers"]
    )
    assert r.status_code == 403
    assert r.json()["code"] == "read_only"
    r = await client.post(
        "/v1/users",
        json={"email": "x@test.example", "name": "X", "role": "admin", "password": "longenough"},
        headers=rep1["headers"],
    )
    assert r.status_code == 403


async def test_manager_cannot_assign_outside_team(client, world) -> None:
    m1 = await login(client, "manager1")
    r = await client.patch(
        f"/v1/customers/{world.customers['c0']}",
        json={"assigned_rep_id": str(world.users["rep3"])},
        headers=m1["headers"],
    )
    assert r.status_code == 403
