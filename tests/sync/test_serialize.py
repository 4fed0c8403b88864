"""Pulled changes equal the REST view of every entity, field for field, on both engines.

On PostgreSQL the database writes each change's JSON (timestamps, dates, UUIDs, floats, JSON
documents); elsewhere Python does. Both must give the document :func:`sync.serialize.change` gives
for the mapped row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.db.engine import write_session
from sync.entities import ENTITIES, Actor
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.serialize import change
from sync.writer import SyncWriter
from tests.sync.helpers import Phone


async def _write_everything(session_factory, world) -> dict[str, uuid.UUID]:
    rep = str(world.users["rep1"])
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    day = tomorrow.date().isoformat()
    at = tomorrow.strftime("%Y-%m-%dT%H:%M:%S") + ".120Z"
    ids = {
        name: uuid.uuid4() for name in ("visit", "action", "photo", "expense", "plan", "product", "category")
    }
    gone = uuid.uuid4()
    clock = HybridClock()
    fields: list[tuple[str, uuid.UUID, str, dict[str, Any]]] = [
        (
            "product",
            ids["product"],
            "upsert",
            {"sku": "SKU-9", "name": "Tea", "unit": "box", "price": "12.30", "currency": "CNY"},
        ),
        (
            "expense_category",
            ids["category"],
            "upsert",
            {"code": "meals", "name": "Meals", "daily_limit": "150.00", "currency": "CNY"},
        ),
        (
            "route_plan",
            ids["plan"],
            "upsert",
            {
                "rep_id": rep,
                "date": day,
                "name": "Thursday",
                "stops": [{"customer_id": str(world.customers["c0"]), "planned_at": at}],
                "path": {"type": "LineString", "coordinates": [[121.4737, 31.2304], [121.48, 31.235]]},
            },
        ),
        (
            "visit",
            ids["visit"],
            "upsert",
            {
                "customer_id": str(world.customers["c0"]),
                "rep_id": rep,
                "route_plan_id": str(ids["plan"]),
                "planned_at": at,
                "status": "completed",
                "check_in": {
                    "at": at,
                    "lat": 31.2314,
                    "lon": 121.4737,
                    "accuracy_m": 8.5,
                },
                "notes": 'Met the buyer — 买家 "quoted"\nnext line',
                "review": {"status": "approved", "comment": "ok"},
            },
        ),
        (
            "visit_action",
            ids["action"],
            "upsert",
            {
                "visit_id": str(ids["visit"]),
                "kind": "order_intent",
                "payload": {"items": [{"sku": "SKU-9", "quantity": 3}]},
            },
        ),
        ("photo", ids["photo"], "upsert", {"visit_id": str(ids["visit"]), "caption": None}),
        (
            "expense",
            ids["expense"],
            "upsert",
            {
                "rep_id": rep,
                "visit_id": str(ids["visit"]),
                "merchant": "Cafe",
                "date": day,
                "total": "12.50",
                "tax": "0.75",
                "currency": "CNY",
                "status": "submitted",
            },
        ),
        ("visit", gone, "upsert", {"customer_id": str(world.customers["c1"]), "rep_id": rep}),
        ("visit", gone, "delete", {}),
    ]
    async with write_session(session_factory) as session:
        writer = SyncWriter(session, world.tenant_a, Actor(user_id=None, role="system"))
        outcomes = await writer.apply(
            [Incoming(entity, ident, op, clock.now(), None, data) for entity, ident, op, data in fields]
        )
        assert all(o.status in {"applied", "merged"} for o in outcomes), [o.error for o in outcomes]
    return ids


async def test_pulled_changes_equal_the_rest_view(client, world, session_factory) -> None:
    await _write_everything(session_factory, world)
    admin = await Phone.sign_in(client, "admin")
    pulled = await admin.pull_all(limit=4)
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    async with session_factory() as session:
        for spec in ENTITIES.values():
            model: Any = spec.model
            for row in (await session.scalars(select(model).where(model.tenant_id == world.tenant_a))).all():
                if row.deleted_at is None:
                    expected[(spec.name, str(row.id))] = change(spec, row)
    got = {(c["entity"], c["id"]): c for c in pulled if c["op"] == "upsert"}
    assert set(got) == set(expected)
    for key, doc in expected.items():
        assert got[key] == doc, key
    entities = {entity for entity, _ in got}
    assert entities == set(ENTITIES)
    deletes = [c for c in pulled if c["op"] == "delete"]
    assert deletes == []  # a bootstrap skips what was deleted before it began
    visit = next(d for (e, _), d in got.items() if e == "visit" and d["data"]["check_in"])
    assert visit["data"]["planned_at"].endswith(".120Z")
    assert visit["data"]["check_in"]["lat"] == 31.2314
