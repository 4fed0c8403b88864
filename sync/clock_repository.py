"""The per-tenant change clock (see :class:`sync.models.SyncClock`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sync.models import SyncClock
from sync.rows import driver


async def ensure_clock(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    exists = await session.scalar(select(SyncClock.tenant_id).where(SyncClock.tenant_id == tenant_id))
    if exists is None:
        session.add(SyncClock(tenant_id=tenant_id, version=0, purged_through=0))
        await session.flush()


_CLOCKS: Any = SyncClock.__table__
_ALLOCATE = (
    update(_CLOCKS)
    .where(_CLOCKS.c.tenant_id == bindparam("tenant"))
    .values(version=_CLOCKS.c.version + bindparam("count"))
    .returning(_CLOCKS.c.version)
)
_READ = select(_CLOCKS.c.version, _CLOCKS.c.purged_through).where(_CLOCKS.c.tenant_id == bindparam("tenant"))


async def allocate_versions(session: AsyncSession, tenant_id: uuid.UUID, count: int) -> int:
    """Reserve ``count`` change numbers; returns the first. Call as late as the write transaction
    allows: the row lock taken here is held until commit, so numbers become visible in order."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        last = await _allocate_pg(session, tenant_id, count)
    else:
        result = await connection.execute(_ALLOCATE, {"tenant": tenant_id, "count": count})
        last = result.scalar_one_or_none()
    if last is None:
        await ensure_clock(session, tenant_id)
        return await allocate_versions(session, tenant_id, count)
    return int(last) - count + 1


#: PostgreSQL: :data:`_ALLOCATE` as written, sent straight to the driver (nothing to compile).
_ALLOCATE_PG = "UPDATE sync_clocks SET version = version + $2 WHERE tenant_id = $1 RETURNING version"


async def _allocate_pg(session: AsyncSession, tenant_id: uuid.UUID, count: int) -> int | None:
    async with driver(session, "UPDATE sync_clocks") as raw:
        value = await raw.fetchval(_ALLOCATE_PG, tenant_id, count)
    return None if value is None else int(value)


async def read_clock(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[int, int]:
    """``(committed version, purged_through)`` for pulls."""
    connection = await session.connection()
    row = (await connection.execute(_READ, {"tenant": tenant_id})).first()
    if row is None:
        return 0, 0
    return int(row[0]), int(row[1])
