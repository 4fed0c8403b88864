"""Where the SDK keeps its state: a tiny async key-value interface over strings.

Implement :class:`StorageAdapter` to put the SDK's state in your app's own database. ``set_many``
and ``delete_many`` must be atomic (one transaction): an outbox append and the counters that go
with it, or a pulled page and its cursor, must survive a crash together or not at all.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class StorageAdapter(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``, sorted."""
        ...

    async def set_many(self, items: dict[str, str]) -> None:
        """Write all items in one transaction."""
        ...

    async def delete_many(self, keys: list[str]) -> None:
        """Delete all keys in one transaction (missing keys are ignored)."""
        ...


class MemoryStorage:
    """State in a dict: for tests and for apps that do not need to survive a restart."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def set(self, key: str, value: str) -> None:
        self.data[key] = value

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))

    async def set_many(self, items: dict[str, str]) -> None:
        self.data.update(items)

    async def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.data.pop(key, None)


class SqliteStorage:
    """State in one SQLite file (stdlib ``sqlite3``), one row per key, WAL journal.

    Calls run in a worker thread so a slow disk never blocks the event loop.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)")

    def _get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _keys(self, prefix: str) -> list[str]:
        upper = prefix + "\U0010ffff"
        with self._lock:
            rows = self._conn.execute(
                "SELECT k FROM kv WHERE k >= ? AND k < ? ORDER BY k", (prefix, upper)
            ).fetchall()
        return [str(r[0]) for r in rows]

    def _write(self, items: dict[str, str], deletes: list[str]) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if deletes:
                    self._conn.executemany("DELETE FROM kv WHERE k = ?", [(k,) for k in deletes])
                if items:
                    self._conn.executemany(
                        "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                        list(items.items()),
                    )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def get(self, key: str) -> str | None:
        return await asyncio.to_thread(self._get, key)

    async def set(self, key: str, value: str) -> None:
        await asyncio.to_thread(self._write, {key: value}, [])

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._write, {}, [key])

    async def keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._keys, prefix)

    async def set_many(self, items: dict[str, str]) -> None:
        await asyncio.to_thread(self._write, dict(items), [])

    async def delete_many(self, keys: list[str]) -> None:
        await asyncio.to_thread(self._write, {}, list(keys))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


#: Value written in place of a deleted key inside an atomic ``set_many``; readers treat it as absent.
TOMBSTONE = ""


async def commit(storage: StorageAdapter, items: dict[str, str], deletes: list[str]) -> None:
    """Write ``items`` and delete ``deletes`` as one atomic step.

    The deletes ride in the same ``set_many`` as tombstones (so a crash can never keep half of
    the change), and are removed for good afterwards.
    """
    doomed = [k for k in deletes if k not in items]
    await storage.set_many({**items, **dict.fromkeys(doomed, TOMBSTONE)})
    if doomed:
        await storage.delete_many(doomed)


async def read(storage: StorageAdapter, key: str) -> str | None:
    value = await storage.get(key)
    return None if value is None or value == TOMBSTONE else value
