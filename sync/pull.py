"""Pull: changes in the caller's scope after their cursor, ordered by change number.

The upper bound of every page is the tenant clock's committed value, read first: change numbers
are assigned in commit order, so every number up to it is already visible and no page can skip a
change that commits late.

A page costs a bounded number of queries whatever its size: the clock, one query that finds the
page's last change number across every entity table and the eviction log (change numbers only),
then one query per entity type that has rows on the page (plain columns, no ORM objects), the
evictions, the caller's ``last_seq`` and a second look at the clock (a prune that committed while
the page was read expires the cursor instead of silently dropping a deletion).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from sync.clock_repository import read_clock
from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.entities import ENTITIES, EntitySpec
from sync.models import SyncClient, SyncEviction
from sync.schema_versions import CURRENT, downgrade_change
from sync.scope import bootstrap_window, in_scope, scope_filter
from sync.serialize import change_from_row, wire_columns

_SPECS: tuple[EntitySpec, ...] = tuple(ENTITIES.values())
_EVICTIONS = len(_SPECS)  # the eviction log's tag in the page-boundary query


class CursorExpired(Exception):
    """The cursor predates the history the server keeps (or another schema); bootstrap again."""


@dataclass(frozen=True)
class _Window:
    tenant_id: uuid.UUID
    after: int
    upper: int
    floor: int
    scope: frozenset[uuid.UUID] | None
    viewer: uuid.UUID

    @property
    def bootstrapping(self) -> bool:
        return self.after < self.floor


def _entity_conditions(
    spec: EntitySpec, w: _Window, window: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    model: Any = spec.model
    cond = [
        model.tenant_id == w.tenant_id,
        model.version > w.after,
        model.version <= w.upper,
        scope_filter(spec, w.scope),
    ]
    if w.bootstrapping:
        # A replica built from nothing never held what was deleted before the bootstrap began, and
        # takes history only from the bootstrap window; later changes arrive whatever their age.
        cond.append(model.deleted_at.is_(None) | (model.version > w.floor))
        cond.append(window | (model.version > w.floor))
    return cond


def _eviction_conditions(w: _Window) -> list[ColumnElement[bool]]:
    assert w.scope is not None
    ev = SyncEviction
    return [
        ev.tenant_id == w.tenant_id,
        ev.version > (max(w.after, w.floor) if w.bootstrapping else w.after),
        ev.version <= w.upper,
        (ev.viewer_id.is_(None) & ev.scope_rep_id.in_(sorted(w.scope))) | (ev.viewer_id == w.viewer),
    ]


def _boundary_query(w: _Window, conds: dict[int, list[ColumnElement[bool]]], limit: int) -> Select[Any]:
    parts = []
    for tag, cond in conds.items():
        version = SyncEviction.version if tag == _EVICTIONS else _SPECS[tag].model.version  # type: ignore[attr-defined]
        sub = select(literal(tag).label("k"), version.label("v")).where(*cond).order_by(version)
        sub = sub.limit(limit + 1).subquery()
        parts.append(select(sub.c.k, sub.c.v))
    both = union_all(*parts).subquery()
    return select(both.c.k, both.c.v).order_by(both.c.v).limit(limit + 1)


async def pull(
    session: AsyncSession,
    principal: Principal,
    *,
    secret: str,
    cursor_text: str | None,
    limit: int,
    schema_version: int = CURRENT,
) -> dict[str, Any]:
    upper, purged = await read_clock(session, principal.tenant_id)
    if cursor_text:
        cursor = decode_cursor(secret, cursor_text, user_id=principal.user_id, tenant_id=principal.tenant_id)
        if cursor.schema != schema_version or max(cursor.after, cursor.floor) < purged:
            raise CursorExpired
    else:
        cursor = Cursor(1, principal.user_id.hex, principal.tenant_id.hex, 0, upper, schema_version)
    w = _Window(
        tenant_id=principal.tenant_id,
        after=cursor.after,
        upper=upper,
        floor=cursor.floor,
        scope=principal.rep_scope,
        viewer=principal.user_id,
    )
    windows = {spec.name: bootstrap_window(spec) for spec in _SPECS} if w.bootstrapping else {}
    conds: dict[int, list[ColumnElement[bool]]] = {
        i: _entity_conditions(spec, w, windows.get(spec.name, literal(True))) for i, spec in enumerate(_SPECS)
    }
    if w.scope is not None:  # admins see the whole tenant: nothing ever leaves their scope
        conds[_EVICTIONS] = _eviction_conditions(w)

    marks = (await session.execute(_boundary_query(w, conds, limit))).all()
    has_more = len(marks) > limit
    marks = marks[:limit]
    cut = marks[-1][1] if has_more else upper
    present = {int(k) for k, _ in marks}

    candidates: list[tuple[int, dict[str, Any]]] = []
    for tag in sorted(present):
        if tag == _EVICTIONS:
            candidates.extend(await _evictions(session, conds[tag], w, cut))
            continue
        spec = _SPECS[tag]
        model: Any = spec.model
        stmt = select(*wire_columns(spec)).where(*conds[tag], model.version <= cut)
        for row in (await session.execute(stmt)).all():
            candidates.append((row.version, change_from_row(spec, row)))
    candidates.sort(key=lambda c: c[0])
    changes = [c for _, c in candidates]
    if schema_version != CURRENT:
        changes = [downgrade_change(schema_version, c) for c in changes]

    last_seq = await session.scalar(
        select(SyncClient.last_seq).where(
            SyncClient.user_id == principal.user_id, SyncClient.client_id == principal.device_id
        )
    )
    _, purged_now = await read_clock(session, principal.tenant_id)
    if purged_now != purged and max(cursor.after, cursor.floor) < purged_now:
        raise CursorExpired
    return {
        "cursor": encode_cursor(
            secret,
            user_id=principal.user_id,
            tenant_id=principal.tenant_id,
            after=cut,
            floor=cursor.floor,
            schema=schema_version,
        ),
        "has_more": has_more,
        "last_seq": int(last_seq or 0),
        "changes": changes,
    }


async def _evictions(
    session: AsyncSession, cond: list[ColumnElement[bool]], w: _Window, cut: int
) -> list[tuple[int, dict[str, Any]]]:
    rows = (
        await session.execute(
            select(SyncEviction.version, SyncEviction.entity, SyncEviction.entity_id).where(
                *cond, SyncEviction.version <= cut
            )
        )
    ).all()
    by_entity: dict[str, set[uuid.UUID]] = defaultdict(set)
    for _, entity, entity_id in rows:
        by_entity[entity].add(entity_id)
    owners: dict[tuple[str, uuid.UUID], tuple[uuid.UUID | None, int]] = {}
    for name, ids in by_entity.items():
        model: Any = ENTITIES[name].model
        found = await session.execute(
            select(model.id, model.scope_rep_id, model.version).where(model.id.in_(sorted(ids)))
        )
        for rid, owner, version in found.all():
            owners[(name, rid)] = (owner, version)
    out: list[tuple[int, dict[str, Any]]] = []
    for version, entity, entity_id in rows:
        owner, current = owners.get((entity, entity_id), (None, 0))
        # Still (or again) in scope at a later version: the upsert supersedes the eviction.
        if in_scope(w.scope, owner, ENTITIES[entity].tenant_wide) and current > version:
            continue
        out.append((version, {"entity": entity, "id": str(entity_id), "op": "evict", "version": version}))
    return out
