"""Pull: changes in the caller's scope after their cursor, ordered by change number.

The upper bound of every page is the tenant clock's committed value, read first: change numbers
are assigned in commit order, so every number up to it is already visible and no page can skip a
change that commits late.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from sync.clock_repository import read_clock
from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.entities import ENTITIES
from sync.models import SyncClient, SyncEviction
from sync.scope import bootstrap_window, in_scope, scope_filter
from sync.serialize import change


class CursorExpired(Exception):
    """The cursor predates the history the server keeps; bootstrap again."""


async def pull(
    session: AsyncSession, principal: Principal, *, secret: str, cursor_text: str | None, limit: int
) -> dict[str, Any]:
    upper, purged = await read_clock(session, principal.tenant_id)
    if cursor_text:
        cursor = decode_cursor(secret, cursor_text, user_id=principal.user_id, tenant_id=principal.tenant_id)
        if cursor.after < purged and cursor.floor < purged:
            raise CursorExpired
    else:
        cursor = Cursor(1, principal.user_id.hex, principal.tenant_id.hex, 0, upper)
    after, floor = cursor.after, cursor.floor
    bootstrapping = after < floor
    scope = principal.rep_scope

    candidates: list[tuple[int, dict[str, Any]]] = []
    for spec in ENTITIES.values():
        model: Any = spec.model
        stmt = (
            select(model)
            .where(
                model.tenant_id == principal.tenant_id,
                model.version > after,
                model.version <= upper,
                scope_filter(spec, scope),
            )
            .order_by(model.version)
            .limit(limit + 1)
        )
        if bootstrapping:
            stmt = stmt.where((model.deleted_at.is_(None)) | (model.version > floor))
            stmt = stmt.where(bootstrap_window(spec) | (model.version > floor))
        for row in (await session.scalars(stmt)).all():
            candidates.append((row.version, change(spec, row)))

    evictions = await _evictions(
        session, principal, after=max(after, floor) if bootstrapping else after, upper=upper, limit=limit
    )
    candidates.extend(evictions)
    candidates.sort(key=lambda c: c[0])
    page = candidates[:limit]
    has_more = len(candidates) > limit
    new_after = page[-1][0] if has_more else upper
    last_seq = await session.scalar(
        select(SyncClient.last_seq).where(
            SyncClient.user_id == principal.user_id, SyncClient.client_id == principal.device_id
        )
    )
    return {
        "cursor": encode_cursor(
            secret, user_id=principal.user_id, tenant_id=principal.tenant_id, after=new_after, floor=floor
        ),
        "has_more": has_more,
        "last_seq": int(last_seq or 0),
        "changes": [c for _, c in page],
    }


async def _evictions(
    session: AsyncSession, principal: Principal, *, after: int, upper: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    scope = principal.rep_scope
    if scope is None:
        return []  # admins see the whole tenant: nothing ever leaves their scope
    rows = (
        await session.scalars(
            select(SyncEviction)
            .where(
                SyncEviction.tenant_id == principal.tenant_id,
                SyncEviction.version > after,
                SyncEviction.version <= upper,
                SyncEviction.scope_rep_id.in_(sorted(scope)),
            )
            .order_by(SyncEviction.version)
            .limit(limit + 1)
        )
    ).all()
    if not rows:
        return []
    by_entity: dict[str, set[uuid.UUID]] = defaultdict(set)
    for ev in rows:
        by_entity[ev.entity].add(ev.entity_id)
    owners: dict[tuple[str, uuid.UUID], tuple[uuid.UUID | None, int]] = {}
    for name, ids in by_entity.items():
        model: Any = ENTITIES[name].model
        for rid, owner, version in (
            await session.execute(
                select(model.id, model.scope_rep_id, model.version).where(model.id.in_(ids))
            )
        ).all():
            owners[(name, rid)] = (owner, version)
    out: list[tuple[int, dict[str, Any]]] = []
    for ev in rows:
        owner, version = owners.get((ev.entity, ev.entity_id), (None, 0))
        # Still (or again) in scope at a later version: the upsert supersedes the eviction.
        if in_scope(scope, owner, ENTITIES[ev.entity].tenant_wide) and version > ev.version:
            continue
        out.append(
            (ev.version, {"entity": ev.entity, "id": str(ev.entity_id), "op": "evict", "version": ev.version})
        )
    return out
