"""End-to-end: the SDK against a real server — offline work, concurrent devices, convergence."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fieldline_client import ConflictEvent, FieldlineClient, NetworkError, models
from fieldline_client.testing import NetworkSimulator
from sdk_server import PASSWORD

pytestmark = pytest.mark.anyio


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fix(lat: float, lon: float) -> dict[str, Any]:
    return {"at": now_iso(), "lat": lat, "lon": lon, "accuracy_m": 8.0, "provider": "gps"}


async def assert_converged(client: FieldlineClient, fresh: FieldlineClient) -> None:
    """The device's replica equals the server's view of its scope (a new device's bootstrap)."""
    await fresh.sync()
    assert client.replica.snapshot() == fresh.replica.snapshot()
    assert len(client.outbox) == 0, client.outbox.ordered()


async def test_a_reps_day_offline_is_synced_later(server, signed_in) -> None:
    net = NetworkSimulator()
    rep = await signed_in("rep3", transport=net)
    await rep.sync()  # in the morning, online: the day's customers arrive
    customer_id = str(server.world.customers["c3"])
    customer = await rep.get("customer", customer_id)
    assert customer is not None
    assert customer["name"] == "Customer 3"

    net.online = False  # in the field, no signal all day
    visit = await rep.create("visit", {"customer_id": customer_id, "planned_at": now_iso()})
    await rep.update(
        "visit", visit, {"status": "in_progress", "check_in": fix(customer["lat"], customer["lon"])}
    )
    order = await rep.create(
        "visit_action",
        {
            "visit_id": visit,
            "kind": "order_intent",
            "payload": {"items": [{"sku": "SKU-1001", "quantity": 24}]},
        },
    )
    report = await rep.create(
        "visit_action",
        {
            "visit_id": visit,
            "kind": "competitor_report",
            "payload": {"competitor": "Acme Tea", "price": "3.90"},
        },
    )
    expense = await rep.create(
        "expense",
        {
            "visit_id": visit,
            "merchant": "Qiangsheng Taxi",
            "date": datetime.now(UTC).date().isoformat(),
            "total": "42.50",
            "currency": "CNY",
            "category_code": "transport",
        },
    )
    await rep.update(
        "visit",
        visit,
        {
            "status": "completed",
            "check_out": fix(customer["lat"], customer["lon"]),
            "notes": "Met the buyer",
            "outcome": "Order for 24 bottles",
        },
    )
    with pytest.raises(NetworkError):
        await rep.sync()
    # Offline, the app sees its own work as if it were saved.
    offline_view = await rep.get("visit", visit)
    assert offline_view is not None
    assert offline_view["status"] == "completed"
    assert offline_view["notes"] == "Met the buyer"
    assert offline_view["version"] == 0  # not on the server yet
    assert len(await rep.list("visit_action", lambda a: a["visit_id"] == visit)) == 2
    assert [m.seq for m in await rep.pending()] == [1, 2, 3, 4, 5, 6]

    net.online = True  # back at the office
    result = await rep.sync()
    assert result.pushed == 6
    assert result.rejected == []
    assert result.conflicts == []
    assert await rep.pending() == []

    manager = await signed_in("manager2")
    on_server = await manager.request("GET", f"/v1/visits/{visit}")
    assert on_server["status"] == "completed"
    assert on_server["notes"] == "Met the buyer"
    assert on_server["check_in_verdict"]["status"] == "verified"
    actions = await manager.request("GET", "/v1/visit-actions", params={"visit_id": visit})
    assert sorted(a["id"] for a in actions["items"]) == sorted([order, report])
    spent = await manager.request("GET", f"/v1/expenses/{expense}")
    assert (spent["total"], spent["currency"], spent["visit_id"]) == ("42.50", "CNY", visit)

    # The replica now holds the server's view, server-computed fields included.
    synced = await rep.get("visit", visit)
    assert synced is not None
    assert synced["version"] > 0
    assert synced["check_in_verdict"]["status"] == "verified"
    assert synced["rep_id"] == str(server.world.users["rep3"])
    # Pulled entities have exactly the fields of the generated models.
    assert set(synced) == set(models.Visit.__annotations__)
    assert set(await rep.get("expense", expense) or {}) == set(models.Expense.__annotations__)
    await assert_converged(rep, await signed_in("rep3"))


async def test_two_devices_of_a_rep_and_a_manager_converge(server, signed_in) -> None:
    base = int(time.time() * 1000)
    # Wall clocks a second apart, so the last writer by HLC is known: phone < tablet < manager.
    phone = await signed_in("rep1", clock=lambda: int(time.time() * 1000))
    tablet = await signed_in("rep1", clock=lambda: int(time.time() * 1000) + 1000)
    manager = await signed_in("manager1", clock=lambda: int(time.time() * 1000) + 2000)
    assert base <= int(time.time() * 1000)
    events: dict[str, list[ConflictEvent]] = {"phone": [], "tablet": [], "manager": []}
    for name, client in (("phone", phone), ("tablet", tablet), ("manager", manager)):
        client.on_conflict(events[name].append)

    customer = str(server.world.customers["c0"])
    visit = await phone.create("visit", {"customer_id": customer, "notes": "plan"})
    action = await phone.create(
        "visit_action", {"visit_id": visit, "kind": "display_check", "payload": {"compliant": True}}
    )
    for client in (phone, tablet, manager):
        await client.sync()
    assert (await tablet.get("visit", visit) or {})["notes"] == "plan"
    assert (await manager.get("visit_action", action) or {})["kind"] == "display_check"

    # Everyone edits offline at the same time.
    await phone.update("visit", visit, {"notes": "phone notes", "outcome": "phone outcome"})
    await phone.delete("visit_action", action)
    await phone.update("customer", customer, {"notes": "loading dock at the back"})
    await tablet.update("visit", visit, {"notes": "tablet notes", "next_steps": "call on Friday"})
    await tablet.update("visit_action", action, {"payload": {"compliant": False, "facings": 3}})
    await manager.update("visit", visit, {"notes": "manager notes"})
    await manager.update("customer", customer, {"status_tag": "red", "status_reason": "overdue invoice"})
    extra = await tablet.create("expense", {"merchant": "Metro", "total": "12.00", "currency": "CNY"})

    for client in (phone, tablet, manager, phone, tablet, manager):
        await client.sync()

    # Field-level last writer wins; each field's latest write survives.
    final = await phone.get("visit", visit)
    assert final is not None
    assert (final["notes"], final["outcome"], final["next_steps"]) == (
        "manager notes",
        "phone outcome",
        "call on Friday",
    )
    shop = await manager.get("customer", customer)
    assert shop is not None
    assert (shop["notes"], shop["status_tag"]) == ("loading dock at the back", "red")
    # The delete won over the tablet's later edit, and the tablet was told.
    assert await tablet.get("visit_action", action) is None
    rejected = [e for e in events["tablet"] if e.status == "rejected"]
    assert [(e.entity, e.id, e.error["code"]) for e in rejected] == [("visit_action", action, "deleted")]
    # Writers that replaced a value they had not seen were told too (never about their own writes).
    overwrote = [
        c for e in events["tablet"] + events["manager"] for c in e.conflicts if c["outcome"] == "overwrote"
    ]
    assert {c["server_value"] for c in overwrote} == {"phone notes", "tablet notes"}
    assert events["phone"] == []
    assert (await manager.get("expense", extra) or {})["merchant"] == "Metro"

    for client, user in ((phone, "rep1"), (tablet, "rep1"), (manager, "manager1")):
        await assert_converged(client, await signed_in(user))


async def test_a_visit_deleted_offline_hides_its_children_at_once_and_the_server_deletes_them(
    server, signed_in
) -> None:
    net = NetworkSimulator()
    rep = await signed_in("rep2", transport=net)
    customer = str(server.world.customers["c2"])
    visit = await rep.create("visit", {"customer_id": customer})
    action = await rep.create(
        "visit_action", {"visit_id": visit, "kind": "training", "payload": {"topic": "pricing"}}
    )
    photo = await rep.create("photo", {"visit_id": visit, "caption": "shelf"})
    await rep.sync()
    assert rep.replica.get("visit_action", action) is not None

    net.online = False
    await rep.delete("visit", visit)
    assert await rep.get("visit_action", action) is None
    assert await rep.get("photo", photo) is None
    assert [a for a in await rep.list("visit_action") if a["visit_id"] == visit] == []
    assert rep.replica.get("photo", photo) is not None  # the server has not been told yet

    net.online = True
    await rep.sync()
    assert rep.replica.get("visit_action", action) is None  # the server deleted it: pulled
    assert rep.replica.get("photo", photo) is None
    await assert_converged(rep, await signed_in("rep2"))


async def test_a_fleet_signing_in_and_syncing_at_once(server, make_client) -> None:
    """Sixteen phones start at the same moment: sign-in, first push and bootstrap all succeed."""
    users = ["rep1", "rep2", "rep3", "manager1", "manager2", "admin", "rep_b", "admin_b"] * 2
    clients = [make_client() for _ in users]

    async def start(client: FieldlineClient, user: str) -> None:
        await client.login(server.email(user), PASSWORD)
        await client.sync()

    await asyncio.gather(*(start(c, u) for c, u in zip(clients, users, strict=True)))
    roles = {"rep1": "rep", "rep2": "rep", "rep3": "rep", "rep_b": "rep", "manager1": "manager"}
    roles |= {"manager2": "manager", "admin": "admin", "admin_b": "admin"}
    assert [(c.user or {}).get("role") for c in clients] == [roles[u] for u in users]
    assert all(c.replica.cursor for c in clients)
