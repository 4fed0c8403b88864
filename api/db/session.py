"""The request-scoped database session.

Committed when the handler returns (before the response is sent, so a failed commit becomes a 5xx
instead of a 2xx that stored nothing), rolled back when it raises.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.db.engine import begin_write


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def database_from_state(state: State) -> Database:
    db: Database = state["db"]
    return db


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """Read/write session for one request."""
    db = database_from_state(state)
    async with db.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            if session.in_transaction():
                await session.commit()


async def provide_write_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """A session whose transaction is a writer from the start (``BEGIN IMMEDIATE`` on SQLite)."""
    db = database_from_state(state)
    async with db.sessions() as session:
        await begin_write(session)
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            if session.in_transaction():
                await session.commit()
