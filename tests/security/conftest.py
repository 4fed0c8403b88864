"""Records of every kind in tenant alpha, owned by rep1 where they have an owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.factories import login


@dataclass
class AlphaRecords:
    #: Resource path prefix -> id of one alpha record served under it.
    by_prefix: dict[str, uuid.UUID] = field(default_factory=dict)
    #: Prefixes whose records belong to rep1 (the rest is tenant-wide reference data).
    rep1_owned: set[str] = field(default_factory=set)

    def ids(self, prefixes: set[str] | None = None) -> list[uuid.UUID]:
        return [v for k, v in self.by_prefix.items() if prefixes is None or k in prefixes]


async def _create(client: Any, headers: dict[str, str], path: str, body: dict[str, Any]) -> uuid.UUID:
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 201, (path, r.text)
    return uuid.UUID(r.json()["id"])


@pytest.fixture
async def alpha(client: Any, world: Any) -> AlphaRecords:
    rep1 = (await login(client, "rep1"))["headers"]
    admin = (await login(client, "admin"))["headers"]
    rec = AlphaRecords()
    visit = await _create(client, rep1, "/v1/visits", {"customer_id": str(world.customers["c0"])})
    rec.by_prefix = {
        "/v1/customers": world.customers["c0"],
        "/v1/visits": visit,
        "/v1/visit-actions": await _create(
            client,
            rep1,
            "/v1/visit-actions",
            {"visit_id": str(visit), "kind": "survey", "payload": {"answers": {}}},
        ),
        "/v1/expenses": await _create(
            client, rep1, "/v1/expenses", {"merchant": "Tea house", "total": "12.50", "currency": "CNY"}
        ),
        "/v1/photos": await _create(client, rep1, "/v1/photos", {"visit_id": str(visit)}),
        "/v1/route-plans": await _create(
            client, admin, "/v1/route-plans", {"rep_id": str(world.users["rep1"]), "date": "2026-01-05"}
        ),
        "/v1/users": world.users["rep1"],
        "/v1/teams": world.teams["north"],
        "/v1/products": await _create(client, admin, "/v1/products", {"sku": "TEA-1", "name": "Green tea"}),
        "/v1/expense-categories": await _create(
            client, admin, "/v1/expense-categories", {"code": "meals", "name": "Meals"}
        ),
    }
    rec.rep1_owned = {
        "/v1/customers",
        "/v1/visits",
        "/v1/visit-actions",
        "/v1/expenses",
        "/v1/photos",
        "/v1/route-plans",
        "/v1/users",
        "/v1/teams",
    }
    return rec
