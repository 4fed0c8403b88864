"""Fixtures for the expense tests: local storage, the receipt uploader and job runner, categories."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from api.db.session import Database
from media.storage import LocalStorage
from tests.expenses.receipts import Receipts, add_categories

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

#: Tenant alpha's categories in these tests: (code, daily limit, currency).
CATEGORIES = [
    ("meals", "60.00", "USD"),
    ("lodging", "800.00", "CNY"),
    ("office_supplies", None, None),
    ("other", None, None),
]


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store", fsync=False)


@pytest.fixture
async def receipts(session_factory: Any, settings: Any, storage: LocalStorage, world: Any) -> Receipts:
    await add_categories(session_factory, world, CATEGORIES)
    db = Database(engine=session_factory.kw["bind"], sessions=session_factory)
    return Receipts(db=db, storage=storage, world=world, services={"storage": storage, "settings": settings})
