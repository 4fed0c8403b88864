"""Engine and session factory for both supported databases.

SQLite + SpatiaLite (embedded default): every connection loads ``mod_spatialite`` and sets WAL,
foreign keys and a busy timeout. SQLite allows one writer at a time; write transactions start with
``BEGIN IMMEDIATE`` (see :func:`write_session`) so they queue on the busy timeout instead of failing
when a deferred transaction tries to upgrade its lock.

PostgreSQL + PostGIS (production): asyncpg with a connection pool.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

# Load the GEOS and PROJ that shapely and pyproj bundle before any connection loads mod_spatialite
# (linked against the system's GEOS/PROJ): the other order corrupts the heap at process exit.
import pyproj  # noqa: F401
import shapely  # noqa: F401
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

SPATIALITE_LIBRARY = os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
SQLITE_BEGIN_OPTION = "fieldline_sqlite_begin"


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def _attach_sqlite_listeners(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        driver = dbapi_conn.driver_connection  # aiosqlite.Connection
        await_only(driver.enable_load_extension(True))
        await_only(driver.load_extension(SPATIALITE_LIBRARY))
        await_only(driver.enable_load_extension(False))
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, null_pool: bool = False
) -> AsyncEngine:
    """Create the async engine for ``url`` with the listeners the engine needs."""
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite_url(url):
        kwargs["connect_args"] = {"timeout": 30}
        if null_pool:
            kwargs["poolclass"] = NullPool
    else:
        if null_pool:
            kwargs["poolclass"] = NullPool
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite_url(url):
        _attach_sqlite_listeners(engine.sync_engine)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def begin_write(session: AsyncSession) -> None:
    """Mark the session's transaction as a writer before its first statement.

    On SQLite this makes the transaction ``BEGIN IMMEDIATE`` (it takes the write lock up front and
    waits for it); on PostgreSQL it is a no-op.
    """
    if session.bind is not None and session.bind.dialect.name == "sqlite" and not session.in_transaction():
        await session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})


async def driver_connection(conn: AsyncConnection) -> Any:
    """The driver's own connection (asyncpg's on PostgreSQL) inside ``conn``'s transaction, for
    statements sent straight to it (``COPY``, array parameters)."""
    raw = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql" and not raw.is_in_transaction():
        # SQLAlchemy begins the driver's transaction at its first statement: a statement sent
        # straight to the driver before that would run (and release its row locks) on its own.
        await conn.exec_driver_sql("SELECT 1")
    return raw


@asynccontextmanager
async def write_session(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction writes: committed on success, rolled back on error."""
    async with factory() as session:
        await begin_write(session)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
