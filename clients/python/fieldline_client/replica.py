"""The local replica: the server's view of this user's scope, as of the last pull, plus the cursor.

Rows are applied by ``version`` (a pull may deliver a change twice). A bootstrap (a pull from no
cursor, first sign-in or after ``cursor_expired``) tags every row it delivers with a new
*generation*; when it completes, rows of older generations are dropped, so entities deleted or
moved out of scope while the cursor was lost disappear too. What the app reads is this server
view with the outbox laid over it (:func:`overlay`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fieldline_client.models import FIELDS
from fieldline_client.outbox import Mutation
from fieldline_client.storage import StorageAdapter, commit, read

PREFIX = "replica/"
CURSOR_KEY = "sync/cursor"
GEN_KEY = "sync/gen"
BOOTSTRAP_KEY = "sync/bootstrap"

Key = tuple[str, str]


def row_key(entity: str, ident: str) -> str:
    return f"{PREFIX}{entity}/{ident}"


@dataclass
class PageResult:
    applied: int = 0
    evicted: list[Key] = field(default_factory=list)
    deleted: list[Key] = field(default_factory=list)


class Replica:
    def __init__(self, storage: StorageAdapter) -> None:
        self.storage = storage
        self.rows: dict[Key, tuple[int, dict[str, Any]]] = {}
        self.cursor: str | None = None
        self.gen = 0
        self.bootstrapping = False
        self._loaded = False

    async def load(self) -> None:
        if self._loaded:
            return
        for key in await self.storage.keys(PREFIX):
            raw = await read(self.storage, key)
            if raw is None:
                continue
            entity, ident = key[len(PREFIX) :].split("/", 1)
            stored = json.loads(raw)
            self.rows[(entity, ident)] = (int(stored["g"]), stored["d"])
        self.cursor = await read(self.storage, CURSOR_KEY)
        self.gen = int(await read(self.storage, GEN_KEY) or 0)
        self.bootstrapping = (await read(self.storage, BOOTSTRAP_KEY)) == "1"
        self._loaded = True

    def get(self, entity: str, ident: str) -> dict[str, Any] | None:
        row = self.rows.get((entity, ident))
        return None if row is None else row[1]

    def version(self, entity: str, ident: str) -> int | None:
        row = self.get(entity, ident)
        return None if row is None else int(row.get("version") or 0)

    def ids(self, entity: str) -> list[str]:
        return [ident for (e, ident) in self.rows if e == entity]

    def snapshot(self) -> dict[Key, dict[str, Any]]:
        """The server view as ``{(entity, id): data}`` (for comparisons and tests)."""
        return {k: v[1] for k, v in self.rows.items()}

    async def start_bootstrap(self) -> None:
        """Forget the cursor and start pulling from nothing; rows stay until the bootstrap ends."""
        self.gen += 1
        await commit(self.storage, {GEN_KEY: str(self.gen), BOOTSTRAP_KEY: "1"}, [CURSOR_KEY])
        self.cursor = None
        self.bootstrapping = True

    async def apply_page(self, changes: list[dict[str, Any]], cursor: str) -> PageResult:
        """Apply one pull page and its cursor in one atomic step."""
        final: dict[Key, dict[str, Any]] = {}
        for ch in changes:
            final[(ch["entity"], ch["id"])] = ch  # pages are ordered by version: the last one wins
        result = PageResult()
        items: dict[str, str] = {CURSOR_KEY: cursor}
        deletes: list[str] = []
        new_rows: dict[Key, tuple[int, dict[str, Any]] | None] = {}
        for key, ch in final.items():
            current = self.rows.get(key)
            current_version = int(current[1].get("version") or 0) if current else -1
            if ch["op"] == "upsert":
                if int(ch["version"]) < current_version:
                    continue  # an older copy delivered again
                items[row_key(*key)] = json.dumps({"g": self.gen, "d": ch["data"]}, separators=(",", ":"))
                new_rows[key] = (self.gen, ch["data"])
                result.applied += 1
            else:
                if current is not None and int(ch.get("version") or 0) < current_version:
                    continue
                deletes.append(row_key(*key))
                new_rows[key] = None
                (result.evicted if ch["op"] == "evict" else result.deleted).append(key)
                result.applied += 1
        await commit(self.storage, items, deletes)
        self.cursor = cursor
        for key, row in new_rows.items():
            if row is None:
                self.rows.pop(key, None)
            else:
                self.rows[key] = row
        return result

    async def finish_bootstrap(self) -> list[Key]:
        """End a bootstrap: drop rows it did not deliver. Returns their keys."""
        stale = [k for k, (g, _) in self.rows.items() if g < self.gen]
        await commit(self.storage, {}, [row_key(*k) for k in stale] + [BOOTSTRAP_KEY])
        for k in stale:
            self.rows.pop(k, None)
        self.bootstrapping = False
        return stale

    async def clear(self) -> None:
        await commit(
            self.storage, {}, [row_key(*k) for k in self.rows] + [CURSOR_KEY, GEN_KEY, BOOTSTRAP_KEY]
        )
        self.rows = {}
        self.cursor = None
        self.gen = 0
        self.bootstrapping = False


def blank(entity: str, ident: str) -> dict[str, Any]:
    """A row created on this device and not on the server yet: every field ``None``, version 0."""
    row: dict[str, Any] = dict.fromkeys(FIELDS.get(entity, ()), None)
    row.update({"id": ident, "version": 0})
    return row


#: Entities that belong to a visit. The server deletes them with their visit, so a device shows them
#: only while it shows their visit.
VISIT_CHILDREN = frozenset({"visit_action", "photo"})


def overlay(
    entity: str, ident: str, base: dict[str, Any] | None, mutations: list[Mutation]
) -> dict[str, Any] | None:
    """The server row with this device's outstanding mutations applied in ``seq`` order."""
    row = dict(base) if base is not None else None
    deleted = False
    for m in mutations:
        if m.op == "delete":
            row, deleted = None, True
        elif not deleted:
            if row is None:
                row = blank(entity, ident)
            row.update(m.effective_fields())
    return row
