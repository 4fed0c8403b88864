"""Migrations create the whole schema from empty, downgrade cleanly, and match the models."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from api.db.engine import create_engine
from api.db.migrate import check, downgrade, upgrade
from api.db.registry import metadata


def _tables(url: str) -> set[str]:
    async def go() -> set[str]:
        engine = create_engine(url, null_pool=True)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _spatial_index_exists(url: str) -> bool:
    async def go() -> bool:
        engine = create_engine(url, null_pool=True)
        try:
            async with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    q = (
                        "SELECT count(*) FROM pg_indexes "
                        "WHERE tablename = 'customers' AND indexdef ILIKE '%gist%'"
                    )
                else:
                    q = (
                        "SELECT count(*) FROM geometry_columns "
                        "WHERE f_table_name = 'customers' AND spatial_index_enabled = 1"
                    )
                return bool((await conn.exec_driver_sql(q)).scalar())
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_upgrade_check_downgrade_roundtrip(db_url: str) -> None:
    # db_url is already at head (from the template): the models and migrations agree.
    check(db_url)
    assert set(metadata.tables) <= _tables(db_url)
    assert _spatial_index_exists(db_url)
    downgrade(db_url, "base")
    remaining = set(metadata.tables) & _tables(db_url)
    assert remaining == set()
    upgrade(db_url)
    assert set(metadata.tables) <= _tables(db_url)
    check(db_url)
