"""Small, explicit test data built through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from api.accounts.users_service import create_team, create_user
from api.db.engine import write_session
from api.lib.ids import uuid7
from api.tenancy.models import Tenant
from sync.clock_repository import ensure_clock
from sync.entities import Actor
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.writer import SyncWriter

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    tenant_a: uuid.UUID
    tenant_b: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    customers: dict[str, uuid.UUID] = field(default_factory=dict)
    teams: dict[str, uuid.UUID] = field(default_factory=dict)


async def _tenant(session: Any, slug: str, tz: str) -> uuid.UUID:
    t = Tenant(id=uuid7(), slug=slug, name=slug.title(), timezone=tz, settings={})
    session.add(t)
    await session.flush()
    await ensure_clock(session, t.id)
    return t.id


async def write_system(
    session: Any, tenant_id: uuid.UUID, entity: str, ident: uuid.UUID, fields: dict[str, Any]
) -> None:
    writer = SyncWriter(session, tenant_id, Actor(user_id=None, role="system"))
    (outcome,) = await writer.apply(
        [
            Incoming(
                entity=entity,
                id=ident,
                op="upsert",
                hlc=HybridClock().now(),
                base_version=None,
                fields=fields,
            )
        ]
    )
    assert outcome.status in {"applied", "merged"}, outcome.error


async def build_world(factory: Any) -> World:
    async with write_session(factory) as s:
        a = await _tenant(s, "alpha", "Asia/Shanghai")
        b = await _tenant(s, "beta", "Europe/London")
        w = World(tenant_a=a, tenant_b=b)

        async def user(key: str, tenant: uuid.UUID, role: str, team: uuid.UUID | None = None) -> uuid.UUID:
            u = await create_user(
                s,
                tenant_id=tenant,
                email=f"{key}@test.example",
                name=key.title(),
                role=role,
                password=PASSWORD,
                team_id=team,
            )
            w.users[key] = u.id
            return u.id

        await user("admin", a, "admin")
        m1 = await user("manager1", a, "manager")
        m2 = await user("manager2", a, "manager")
        t1 = await create_team(s, tenant_id=a, name="North", manager_id=m1)
        t2 = await create_team(s, tenant_id=a, name="South", manager_id=m2)
        w.teams = {"north": t1.id, "south": t2.id}
        await user("rep1", a, "rep", t1.id)
        await user("rep2", a, "rep", t1.id)
        await user("rep3", a, "rep", t2.id)
        await user("admin_b", b, "admin")
        await user("rep_b", b, "rep")
        # Customers around People's Square, Shanghai; distances grow with the index.
        for i, rep in enumerate(["rep1", "rep1", "rep2", "rep3"]):
            cid = uuid7()
            w.customers[f"c{i}"] = cid
            await write_system(
                s,
                a,
                "customer",
                cid,
                {
                    "name": f"Customer {i}",
                    "lat": 31.2304 + 0.001 * (i + 1),
                    "lon": 121.4737,
                    "assigned_rep_id": str(w.users[rep]),
                    "address": f"{i} Nanjing Road",
                },
            )
        cid = uuid7()
        w.customers["b0"] = cid
        await write_system(
            s,
            b,
            "customer",
            cid,
            {"name": "Beta shop", "lat": 51.5, "lon": -0.12, "assigned_rep_id": str(w.users["rep_b"])},
        )
    return w


async def login(client: Any, key: str, device: uuid.UUID | None = None) -> dict[str, Any]:
    device = device or uuid.uuid5(uuid.NAMESPACE_DNS, key)
    r = await client.post(
        "/v1/auth/token",
        json={"email": f"{key}@test.example", "password": PASSWORD, "device_id": str(device)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    body["device_id"] = str(device)
    body["headers"] = {"Authorization": f"Bearer {body['access_token']}"}
    return body
