"""Test harness: every database test runs on a freshly migrated database of the selected engine.

``FIELDLINE_TEST_DB=sqlite`` (default): SQLite + SpatiaLite files, migrated once into a template
that each test copies. ``FIELDLINE_TEST_DB=postgres``: PostgreSQL + PostGIS at
``FIELDLINE_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); a template
database is migrated once per run and each test gets ``CREATE DATABASE … TEMPLATE``.
Tests that use a database are marked ``db`` automatically; ``make test`` runs them on both engines.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("FIELDLINE_RUN_WORKER", "0")

ENGINE = os.environ.get("FIELDLINE_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("FIELDLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_FIXTURES = {"db_url", "app", "client", "world", "session_factory"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if asyncio.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: uses a database (runs on SQLite and on PostgreSQL)")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from api.db.migrate import upgrade
    from api.settings import normalise_database_url

    if ENGINE == "postgres":
        name = f"fl_tmpl_{os.getpid()}"
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name}"))
        asyncio.run(_pg_admin(f"CREATE DATABASE {name}"))
        upgrade(normalise_database_url(_pg_url(name)))
        yield name
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
def db_url(db_template: str, tmp_path: Path) -> Iterator[str]:
    from api.settings import normalise_database_url

    if ENGINE == "postgres":
        name = f"fl_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f"CREATE DATABASE {name} TEMPLATE {db_template}"))
        yield normalise_database_url(_pg_url(name))
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    else:
        path = tmp_path / "fieldline.db"
        shutil.copyfile(db_template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests sign many users in: hash their passwords with cheap Argon2 parameters.

    Verification reads the parameters from each stored hash, so logins against these users stay
    cheap too (also in server subprocesses). The product's parameters are tested on their own.
    """
    from argon2 import PasswordHasher

    import api.accounts.passwords as passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Any:
    from api.settings import Settings

    return Settings(
        env="test",
        var_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-" + "x" * 40,
        media_root=tmp_path / "media",
        run_worker=False,
    )


@pytest.fixture
async def session_factory(settings: Any) -> AsyncIterator[Any]:
    from api.db.engine import create_engine, create_session_factory

    engine = create_engine(settings.database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def app(settings: Any) -> Any:
    from api.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
async def world(session_factory: Any) -> Any:
    """Two tenants: A with an admin, two managers (teams), three reps and customers; B with a rep."""
    from tests.factories import build_world

    return await build_world(session_factory)
