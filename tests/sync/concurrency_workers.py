"""Processes for the multi-process pull test (imported by spawned children, so keep it light)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import httpx

PASSWORD = "correct-horse-battery"


def _login(base: str, email: str, device: uuid.UUID) -> dict[str, str]:
    r = httpx.post(
        f"{base}/v1/auth/token",
        json={"email": email, "password": PASSWORD, "device_id": str(device)},
        timeout=30,
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def http_writer(base: str, email: str, customer: str, batches: int, size: int, out: Any) -> None:
    """Push ``batches`` batches of new visits through the server; report ``{id: version}``."""
    device = uuid.uuid4()
    headers = _login(base, email, device)
    committed: dict[str, int] = {}
    seq = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(batches):
            mutations = []
            for _ in range(size):
                seq += 1
                stamp = f"{int(time.time() * 1000):016d}-{seq % 10000:04d}-{device.hex[:8]}"
                mutations.append(
                    {
                        "seq": seq,
                        "entity": "visit",
                        "id": str(uuid.uuid4()),
                        "op": "upsert",
                        "hlc": stamp,
                        "fields": {"customer_id": customer, "notes": f"from {email}"},
                    }
                )
            r = client.post(
                "/v1/sync/push", json={"schema_version": 1, "client_id": str(device), "mutations": mutations}
            )
            r.raise_for_status()
            for m, res in zip(mutations, r.json()["results"], strict=True):
                assert res["status"] == "applied", res
                committed[m["id"]] = res["version"]
    out.put(("writer", committed))


def slow_committer(db_url: str, tenant: str, rep: str, customer: str, transactions: int, out: Any) -> None:
    """Write through the service layer with its own engine, holding each transaction open a while
    after its change numbers were reserved, so its commit lands late."""
    asyncio.run(_slow_committer(db_url, uuid.UUID(tenant), uuid.UUID(rep), customer, transactions, out))


async def _slow_committer(
    db_url: str, tenant: uuid.UUID, rep: uuid.UUID, customer: str, transactions: int, out: Any
) -> None:
    from sqlalchemy import text

    from api.db.engine import create_engine, create_session_factory, write_session
    from sync.entities import Actor
    from sync.hlc import HybridClock
    from sync.policy import Incoming
    from sync.writer import SyncWriter

    engine = create_engine(db_url, pool_size=1)
    sessions = create_session_factory(engine)
    clock = HybridClock(node="slow")
    committed: dict[str, int] = {}
    rng = random.Random()
    try:
        for _ in range(transactions):
            async with write_session(sessions) as session:
                writer = SyncWriter(
                    session, tenant, Actor(user_id=rep, role="rep", rep_scope=frozenset({rep}))
                )
                batch = [
                    Incoming("visit", uuid.uuid4(), "upsert", clock.now(), None, {"customer_id": customer})
                    for _ in range(3)
                ]
                outcomes = await writer.apply(batch)
                await session.execute(text("SELECT pg_sleep(:s)"), {"s": rng.uniform(0.02, 0.12)})
                for m, outcome in zip(batch, outcomes, strict=True):
                    assert outcome.status == "applied", outcome.error
                    committed[str(m.id)] = int(outcome.version or 0)
    finally:
        await engine.dispose()
    out.put(("writer", committed))


def puller(base: str, email: str, limit: int, done: Any, out: Any) -> None:
    """Pull continuously until told to stop, then drain; report every visit seen, at its last version."""
    device = uuid.uuid4()
    headers = _login(base, email, device)
    seen: dict[str, int] = {}
    cursor: str | None = None
    pages = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:

        def pull_until_done() -> None:
            nonlocal cursor, pages
            while True:
                params: dict[str, Any] = {"limit": limit}
                if cursor:
                    params["cursor"] = cursor
                r = client.get("/v1/sync/pull", params=params)
                r.raise_for_status()
                page = r.json()
                pages += 1
                for ch in page["changes"]:
                    if ch["entity"] == "visit" and ch["op"] == "upsert":
                        seen[ch["id"]] = max(seen.get(ch["id"], 0), ch["version"])
                cursor = page["cursor"]
                if not page["has_more"]:
                    return

        while not done.is_set():
            pull_until_done()
        pull_until_done()
    out.put(("puller", {"seen": seen, "pages": pages}))
