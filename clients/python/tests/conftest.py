"""SDK tests: unit tests, and end-to-end tests against a real server subprocess.

The server runs on the engine ``FIELDLINE_TEST_DB`` selects (as in tests/conftest.py): a copy of
the migrated SQLite template, or a PostgreSQL database created from the migrated template. One
server serves the whole session; tests that use it are marked ``db`` and so run on both engines.
Each test uses its own devices (fresh storage) and its own entities.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fieldline_client import FieldlineClient, MemoryStorage, RetryPolicy  # noqa: E402
from fieldline_client.storage import StorageAdapter  # noqa: E402
from sdk_server import PASSWORD, Server, seed_world, start_server, stop_server  # noqa: E402

from tests.conftest import ENGINE, _pg_admin, _pg_url, anyio_backend, db_template  # noqa: E402

__all__ = ["anyio_backend", "db_template"]

SERVER_FIXTURES = {"server", "make_client", "signed_in"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: uses a database (runs on SQLite and on PostgreSQL)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if asyncio.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture(scope="session")
def server(db_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from api.settings import normalise_database_url

    var_dir = tmp_path_factory.mktemp("sdk-server")
    pg_name = None
    if ENGINE == "postgres":
        pg_name = f"fl_sdk_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f"CREATE DATABASE {pg_name} TEMPLATE {db_template}"))
        db_url = normalise_database_url(_pg_url(pg_name))
    else:
        path = var_dir / "fieldline.db"
        shutil.copyfile(db_template, path)
        db_url = f"sqlite+aiosqlite:///{path}"
    world = asyncio.run(seed_world(db_url))
    srv = start_server(db_url, var_dir, world)
    try:
        yield srv
    finally:
        stop_server(srv)
        if pg_name:
            asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))


def fast_retry(attempts: int = 8) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base=0.01, cap=0.1)


MakeClient = Callable[..., FieldlineClient]


@pytest.fixture
async def make_client(server: Server) -> AsyncIterator[MakeClient]:
    """Build clients of the test server with quick retries; closed after the test."""
    made: list[FieldlineClient] = []

    def build(storage: StorageAdapter | None = None, **kwargs: Any) -> FieldlineClient:
        kwargs.setdefault("retry", fast_retry())
        client = FieldlineClient(server.url, storage if storage is not None else MemoryStorage(), **kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.close()


SignedIn = Callable[..., Any]


@pytest.fixture
def signed_in(server: Server, make_client: MakeClient) -> SignedIn:
    """``await signed_in("rep1")``: a new device of that user, logged in."""

    async def go(key: str, storage: StorageAdapter | None = None, **kwargs: Any) -> FieldlineClient:
        client = make_client(storage, **kwargs)
        await client.login(server.email(key), PASSWORD)
        return client

    return go
