"""Pull: changes in the caller's scope after their cursor, ordered by change number.

The upper bound of every page is the tenant clock's committed value, read first: change numbers
are assigned in commit order, so every number up to it is already visible and no page can skip a
change that commits late.

A page costs a bounded number of queries whatever its size: the clock, one query that finds the
page's last change number across every entity table and the eviction log (change numbers only),
then one query per entity type that has rows on the page, the evictions, the caller's
``last_seq`` and a second look at the clock (a prune that committed while the page was read expires
the cursor instead of silently dropping a deletion). The statements are built once, with bound
parameters, and reused by every page. On PostgreSQL the database writes each change's JSON
(:func:`sync.serialize.pg_change_json`); the response is assembled around it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.accounts.principal import Principal
from api.lib.clock import utcnow
from sync.clock_repository import read_clock
from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.entities import ENTITIES, EntitySpec
from sync.models import SyncClient, SyncEviction
from sync.schema_versions import CURRENT, downgrade_change
from sync.scope import bootstrap_params, bootstrap_window, in_scope
from sync.serialize import change_from_row, pg_change_json, wire_columns

_SPECS: tuple[EntitySpec, ...] = tuple(ENTITIES.values())
_EVICTIONS = len(_SPECS)  # the eviction log's tag in the page-boundary query


class CursorExpired(Exception):
    """The cursor predates the history the server keeps (or another schema); bootstrap again."""


@dataclass(frozen=True)
class _Shape:
    """What a page's statements depend on besides their parameters."""

    bootstrapping: bool
    scoped: bool  # False for admins: the whole tenant, nothing ever leaves their scope


def _table(spec: EntitySpec) -> Any:
    return spec.model.__table__  # type: ignore[attr-defined]


def _entity_conditions(spec: EntitySpec, shape: _Shape) -> list[ColumnElement[bool]]:
    t = _table(spec)
    cond = [
        t.c.tenant_id == bindparam("tenant"),
        t.c.version > bindparam("after"),
        t.c.version <= bindparam("cut"),
    ]
    if shape.scoped and not spec.tenant_wide:
        cond.append(t.c.scope_rep_id.in_(bindparam("scope", expanding=True)))
    if shape.bootstrapping:
        # A replica built from nothing never held what was deleted before the bootstrap began, and
        # takes history only from the bootstrap window; later changes arrive whatever their age.
        newer = t.c.version > bindparam("floor")
        cond.append(t.c.deleted_at.is_(None) | newer)
        cond.append(bootstrap_window(spec, t) | newer)
    return cond


def _eviction_conditions() -> list[ColumnElement[bool]]:
    ev: Any = SyncEviction.__table__
    return [
        ev.c.tenant_id == bindparam("tenant"),
        ev.c.version > bindparam("evict_after"),
        ev.c.version <= bindparam("cut"),
        (ev.c.viewer_id.is_(None) & ev.c.scope_rep_id.in_(bindparam("scope", expanding=True)))
        | (ev.c.viewer_id == bindparam("viewer")),
    ]


@dataclass(frozen=True)
class _Statements:
    boundary: Select[Any]
    as_json: dict[int, Select[Any]]  # PostgreSQL: (version, change JSON)
    as_columns: dict[int, Select[Any]]  # elsewhere: the wire columns
    evictions: Select[Any] | None


_STATEMENTS: dict[_Shape, _Statements] = {}


def _statements(shape: _Shape) -> _Statements:
    built = _STATEMENTS.get(shape)
    if built is not None:
        return built
    conds = {i: _entity_conditions(spec, shape) for i, spec in enumerate(_SPECS)}
    ev: Any = SyncEviction.__table__
    if shape.scoped:
        conds[_EVICTIONS] = _eviction_conditions()
    parts = []
    for tag, cond in conds.items():
        version = ev.c.version if tag == _EVICTIONS else _table(_SPECS[tag]).c.version
        sub = select(literal(tag).label("k"), version.label("v")).where(*cond).order_by(version)
        sub = sub.limit(bindparam("probe")).subquery()
        parts.append(select(sub.c.k, sub.c.v))
    both = union_all(*parts).subquery()
    boundary = select(both.c.k, both.c.v).order_by(both.c.v).limit(bindparam("probe"))
    as_json = {
        i: select(_table(spec).c.version, pg_change_json(spec)).where(*conds[i])
        for i, spec in enumerate(_SPECS)
    }
    as_columns = {i: select(*wire_columns(spec)).where(*conds[i]) for i, spec in enumerate(_SPECS)}
    evictions = (
        select(ev.c.version, ev.c.entity, ev.c.entity_id).where(*conds[_EVICTIONS]) if shape.scoped else None
    )
    built = _STATEMENTS[shape] = _Statements(boundary, as_json, as_columns, evictions)
    return built


async def pull(
    session: AsyncSession,
    principal: Principal,
    *,
    secret: str,
    cursor_text: str | None,
    limit: int,
    schema_version: int = CURRENT,
) -> dict[str, Any]:
    """One page: ``cursor``, ``has_more``, ``last_seq`` and ``changes``, each change already JSON."""
    upper, purged = await read_clock(session, principal.tenant_id)
    if cursor_text:
        cursor = decode_cursor(secret, cursor_text, user_id=principal.user_id, tenant_id=principal.tenant_id)
        if cursor.schema != schema_version or max(cursor.after, cursor.floor) < purged:
            raise CursorExpired
    else:
        cursor = Cursor(1, principal.user_id.hex, principal.tenant_id.hex, 0, upper, schema_version)
    shape = _Shape(bootstrapping=cursor.after < cursor.floor, scoped=principal.rep_scope is not None)
    stmts = _statements(shape)
    params: dict[str, Any] = {
        "tenant": principal.tenant_id,
        "after": cursor.after,
        "cut": upper,
        "floor": cursor.floor,
        "evict_after": max(cursor.after, cursor.floor),
        "scope": sorted(principal.rep_scope or ()),
        "viewer": principal.user_id,
        "probe": limit + 1,
        **bootstrap_params(utcnow()),
    }
    conn = await session.connection()
    marks = (await conn.execute(stmts.boundary, params)).all()
    has_more = len(marks) > limit
    marks = marks[:limit]
    cut = marks[-1][1] if has_more else upper
    params["cut"] = cut
    present = {int(k) for k, _ in marks}

    in_sql = schema_version == CURRENT and conn.dialect.name == "postgresql"
    encode = msgspec.json.encode
    candidates: list[tuple[int, bytes]] = []
    for tag in sorted(present):
        if tag == _EVICTIONS:
            assert stmts.evictions is not None
            found = await _evictions(conn, stmts.evictions, params, principal.rep_scope)
            candidates.extend((v, encode(c)) for v, c in found)
        elif in_sql:
            # PostgreSQL writes each change's JSON: no Python object per row or field.
            rows = (await conn.execute(stmts.as_json[tag], params)).all()
            candidates.extend((v, j.encode()) for v, j in rows)
        else:
            spec = _SPECS[tag]
            for row in (await conn.execute(stmts.as_columns[tag], params)).all():
                change = change_from_row(spec, row)
                if schema_version != CURRENT:
                    change = downgrade_change(schema_version, change)
                candidates.append((row.version, encode(change)))
    candidates.sort(key=lambda c: c[0])

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
        "changes": [c for _, c in candidates],
    }


async def _evictions(
    conn: AsyncConnection, stmt: Select[Any], params: dict[str, Any], scope: frozenset[uuid.UUID] | None
) -> list[tuple[int, dict[str, Any]]]:
    rows = (await conn.execute(stmt, params)).all()
    by_entity: dict[str, set[uuid.UUID]] = defaultdict(set)
    for _, entity, entity_id in rows:
        by_entity[entity].add(entity_id)
    owners: dict[tuple[str, uuid.UUID], tuple[uuid.UUID | None, int]] = {}
    for name, ids in by_entity.items():
        t = _table(ENTITIES[name])
        found = await conn.execute(
            select(t.c.id, t.c.scope_rep_id, t.c.version).where(t.c.id.in_(sorted(ids)))
        )
        for rid, owner, version in found.all():
            owners[(name, rid)] = (owner, version)
    out: list[tuple[int, dict[str, Any]]] = []
    for version, entity, entity_id in rows:
        owner, current = owners.get((entity, entity_id), (None, 0))
        # Still (or again) in scope at a later version: the upsert supersedes the eviction.
        if in_scope(scope, owner, ENTITIES[entity].tenant_wide) and current > version:
            continue
        out.append((version, {"entity": entity, "id": str(entity_id), "op": "evict", "version": version}))
    return out


def page_json(page: dict[str, Any], *, schema_version: int, server_hlc: str) -> bytes:
    """The pull response document (:class:`sync.schemas.PullResponse`) around pre-encoded changes."""
    head = msgspec.json.encode(
        {
            "schema_version": schema_version,
            "cursor": page["cursor"],
            "has_more": page["has_more"],
            "last_seq": page["last_seq"],
            "server_hlc": server_hlc,
        }
    )
    return b"".join((head[:-1], b',"changes":[', b",".join(page["changes"]), b"]}"))
