"""Migrations create the whole schema from empty, downgrade cleanly, and match the models."""

from __future__ import annotations

import asyncio
import json

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


def _run_sql(url: str, statements: list[str], query: str | None = None) -> list[tuple]:
    async def go() -> list[tuple]:
        engine = create_engine(url, null_pool=True)
        try:
            async with engine.begin() as conn:
                for sql in statements:
                    await conn.exec_driver_sql(sql)
                if query is None:
                    return []
                return [tuple(row) for row in (await conn.exec_driver_sql(query)).all()]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_conflict_log_rows_become_one_per_mutation_and_back(db_url: str) -> None:
    """0008: each per-field row of the old log becomes a row of one entry (a refusal keeps its
    code); downgrading gives every entry its own row again."""
    downgrade(db_url, "0007")
    tenant, user, entity = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
        ("33333333-3333-4333-8333-333333333333"),
    )
    uuid_text = (lambda u: u.replace("-", "")) if "sqlite" in db_url else (lambda u: u)
    columns = (
        "tenant_id, user_id, scope_rep_id, seq, entity, entity_id, field, outcome, client_value, "
        "server_value, client_hlc, server_hlc, created_at"
    )
    head = f"'{uuid_text(tenant)}', '{uuid_text(user)}', '{uuid_text(user)}'"
    _run_sql(
        db_url,
        [
            f"INSERT INTO sync_conflicts ({columns}) VALUES ({head}, 7, 'visit', '{uuid_text(entity)}', "
            "'notes', 'kept_server', '\"mine\"', '\"theirs\"', 'h7', 'h6', '2026-11-20 10:00:00+00:00')",
            f"INSERT INTO sync_conflicts ({columns}) VALUES ({head}, 8, 'visit', '{uuid_text(entity)}', "
            "'status', 'invalid_transition', '\"planned\"', '\"completed\"', 'h8', 'h7', "
            "'2026-11-20 10:01:00+00:00')",
        ],
    )
    upgrade(db_url)
    check(db_url)
    rows = _run_sql(db_url, [], "SELECT seq, status, conflicts, error FROM sync_conflicts ORDER BY seq")
    decoded = [(seq, status, _json(entries), error) for seq, status, entries, error in rows]
    assert decoded == [
        (
            7,
            "merged",
            [{"field": "notes", "outcome": "kept_server", "client_value": "mine", "server_value": "theirs",
              "server_hlc": "h6"}],
            None,
        ),
        (
            8,
            "rejected",
            [{"field": "status", "outcome": "rejected", "code": "invalid_transition",
              "client_value": "planned", "server_value": "completed", "server_hlc": "h7"}],
            None,
        ),
    ]  # fmt: skip
    # A mutation of two entries, logged by this version, becomes two rows of the old log.
    entries = (
        '[{"field": "notes", "outcome": "overwrote", "client_value": "a", "server_value": "b",'
        ' "server_hlc": "h1"}, {"field": "outcome", "outcome": "kept_server", "client_value": "c",'
        ' "server_value": "d", "server_hlc": "h2"}]'
    )
    _run_sql(
        db_url,
        [
            "INSERT INTO sync_conflicts (tenant_id, user_id, scope_rep_id, seq, entity, entity_id, status, "
            f"conflicts, error, client_hlc, created_at) VALUES ({head}, 9, 'visit', '{uuid_text(entity)}', "
            f"'merged', '{entries}', NULL, 'h9', '2026-11-20 10:02:00+00:00')",
        ],
    )
    downgrade(db_url, "0007")
    old = _run_sql(
        db_url,
        [],
        "SELECT seq, field, outcome, client_value, server_hlc FROM sync_conflicts ORDER BY seq, field",
    )
    assert [(seq, field, outcome, _json(value), hlc) for seq, field, outcome, value, hlc in old] == [
        (7, "notes", "kept_server", "mine", "h6"),
        (8, "status", "invalid_transition", "planned", "h7"),
        (9, "notes", "overwrote", "a", "h1"),
        (9, "outcome", "kept_server", "c", "h2"),
    ]
    upgrade(db_url)
    check(db_url)


def _json(value: object) -> object:
    """A JSON column read through the driver: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) and value[:1] in '["{' else value
