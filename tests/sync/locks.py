"""Row locks as another connection sees them (PostgreSQL)."""

from __future__ import annotations

import uuid

import asyncpg


def driver_dsn(db_url: str) -> str:
    """The test database's URL as asyncpg takes it."""
    return db_url.replace("postgresql+asyncpg://", "postgresql://")


async def locked_elsewhere(db_url: str, table: str, ident: uuid.UUID) -> bool:
    """Whether another connection finds the row of ``table`` with ``ident`` locked (it does not wait)."""
    conn = await asyncpg.connect(driver_dsn(db_url))
    try:
        async with conn.transaction():
            await conn.fetch(f"SELECT id FROM {table} WHERE id = $1 FOR UPDATE NOWAIT", ident)
        return False
    except asyncpg.LockNotAvailableError:
        return True
    finally:
        await conn.close()
