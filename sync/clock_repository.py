"""The per-tenant change clock (see :class:`sync.models.SyncClock`)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sync.models import SyncClock


async def ensure_clock(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    exists = await session.scalar(select(SyncClock.tenant_id).where(SyncClock.tenant_id == tenant_id))
    if exists is None:
        session.add(SyncClock(tenant_id=tenant_id, version=0, purged_through=0))
        await session.flush()


async def allocate_versions(session: AsyncSession, tenant_id: uuid.UUID, count: int) -> int:
    """Reserve ``count`` change numbers; returns the first. Call last in the write transaction:
    the row lock taken here is held until commit, so numbers become visible in order."""
    result = await session.execute(
        update(SyncClock)
        .where(SyncClock.tenant_id == tenant_id)
        .values(version=SyncClock.version + count)
        .returning(SyncClock.version)
    )
    last = result.scalar_one_or_none()
    if last is None:
        await ensure_clock(session, tenant_id)
        return await allocate_versions(session, tenant_id, count)
    return int(last) - count + 1


async def read_clock(session: AsyncSession, tenant_id: uuid.UUID) -> tuple[int, int]:
    """``(committed version, purged_through)`` for pulls."""
    row = (
        await session.execute(
            select(SyncClock.version, SyncClock.purged_through).where(SyncClock.tenant_id == tenant_id)
        )
    ).first()
    if row is None:
        return 0, 0
    return int(row[0]), int(row[1])
