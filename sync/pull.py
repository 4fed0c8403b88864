"""Pull: changes in the caller's scope after their cursor, ordered by change number.

The upper bound of every page is the tenant clock's committed value, read first: change numbers
are assigned in commit order, so every number up to it is already visible and no page can skip a
change that commits late.

A page costs two statements on PostgreSQL: the clock and the caller's ``last_seq``, then the page
itself. The page statement finds the page's last change number across every entity table and the
eviction log, writes every change's JSON (:func:`sync.serialize.pg_change_json`) and joins them
into one text in version order, drops evictions that a later upsert in scope supersedes, and looks
at ``purged_through`` again (a prune that committed while the page was read expires the cursor
instead of silently dropping a deletion); Python wraps the text in the response. Elsewhere (SQLite,
or an older schema version) the page is read with one query per entity type that has rows on it
and encoded in Python. The statements are built once, with bound parameters, and reused by every
page; memory is bounded by one page.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.accounts.principal import Principal
from api.lib.clock import utcnow
from sync.clock_repository import read_clock
from sync.cursor import Cursor, decode_cursor, encode_cursor
from sync.entities import ENTITIES, EntitySpec
from sync.models import SyncClient, SyncClock, SyncEviction
from sync.schema_versions import CURRENT, downgrade_change
from sync.scope import bootstrap_params, bootstrap_window, in_scope
from sync.serialize import change_from_row, pg_change_json, pg_eviction_json, wire_columns

_SPECS: tuple[EntitySpec, ...] = tuple(ENTITIES.values())
_EVICTIONS = len(_SPECS)  # the eviction log's tag in the page-boundary query
_CLOCKS: Any = SyncClock.__table__
_CLIENTS: Any = SyncClient.__table__
_EV: Any = SyncEviction.__table__


class CursorExpired(Exception):
    """The cursor predates the history the server keeps (or another schema); bootstrap again."""


@dataclass(frozen=True)
class Page:
    """One page of a pull. ``changes`` is the page's changes as JSON, comma-separated."""

    cursor: str
    has_more: bool
    last_seq: int
    changes: bytes
    count: int


@dataclass(frozen=True)
class _Shape:
    """What a page's statements depend on besides their parameters."""

    bootstrapping: bool
    scoped: bool  # False for admins: the whole tenant, nothing ever leaves their scope


def _table(spec: EntitySpec) -> Any:
    return spec.model.__table__  # type: ignore[attr-defined]


def _in_scope(column: Any, arrays: bool) -> ColumnElement[bool]:
    """``column`` is one of the caller's reps (one array parameter on PostgreSQL)."""
    if arrays:
        return column == any_(bindparam("scope", type_=ARRAY(Uuid())))
    return column.in_(bindparam("scope", expanding=True))  # type: ignore[no-any-return]


def _entity_conditions(
    spec: EntitySpec, shape: _Shape, cut: Any, *, arrays: bool = False
) -> list[ColumnElement[bool]]:
    t = _table(spec)
    cond = [
        t.c.tenant_id == bindparam("tenant"),
        t.c.version > bindparam("after"),
        t.c.version <= cut,
    ]
    if shape.scoped and not spec.tenant_wide:
        cond.append(_in_scope(t.c.scope_rep_id, arrays))
    if shape.bootstrapping:
        # A replica built from nothing never held what was deleted before the bootstrap began, and
        # takes history only from the bootstrap window; later changes arrive whatever their age.
        newer = t.c.version > bindparam("floor")
        cond.append(t.c.deleted_at.is_(None) | newer)
        cond.append(bootstrap_window(spec, t) | newer)
    return cond


def _eviction_conditions(cut: Any, *, arrays: bool = False) -> list[ColumnElement[bool]]:
    return [
        _EV.c.tenant_id == bindparam("tenant"),
        _EV.c.version > bindparam("evict_after"),
        _EV.c.version <= cut,
        (_EV.c.viewer_id.is_(None) & _in_scope(_EV.c.scope_rep_id, arrays))
        | (_EV.c.viewer_id == bindparam("viewer")),
    ]


# --- the first statement of every page: the clock and last_seq ----------------------------------

_HEAD = select(
    select(_CLOCKS.c.version).where(_CLOCKS.c.tenant_id == bindparam("tenant")).scalar_subquery(),
    select(_CLOCKS.c.purged_through).where(_CLOCKS.c.tenant_id == bindparam("tenant")).scalar_subquery(),
    select(_CLIENTS.c.last_seq)
    .where(_CLIENTS.c.user_id == bindparam("user"), _CLIENTS.c.client_id == bindparam("device"))
    .scalar_subquery(),
)


async def _head(conn: AsyncConnection, principal: Principal) -> tuple[int, int, int]:
    """``(committed clock, purged_through, last_seq)`` in one round trip."""
    row = (
        await conn.execute(
            _HEAD, {"tenant": principal.tenant_id, "user": principal.user_id, "device": principal.device_id}
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


# --- PostgreSQL: the whole page in one statement -------------------------------------------------


def _superseded(scoped: bool) -> ColumnElement[bool]:
    """An eviction whose entity is in the caller's scope again at a later version: its upsert
    supersedes the eviction (the same rule as :func:`_evictions`)."""
    later = []
    for spec in _SPECS:
        t = _table(spec)
        found = [t.c.id == _EV.c.entity_id, t.c.version > _EV.c.version]
        if scoped and not spec.tenant_wide:
            found.append(_in_scope(t.c.scope_rep_id, True))
        later.append(and_(_EV.c.entity == spec.name, exists().where(*found)))
    return or_(*later)


def _key(name: str) -> Any:
    return literal_column(f"'{name}'")


def _pg_page_statement(shape: _Shape) -> Select[Any]:
    # The page's boundary: the first ``probe`` change numbers across every table (numbers only).
    firsts = []
    for spec in _SPECS:
        version = _table(spec).c.version
        cond = _entity_conditions(spec, shape, bindparam("cut"), arrays=True)
        firsts.append(select(version.label("v")).where(*cond).order_by(version).limit(bindparam("probe")))
    if shape.scoped:
        cond = _eviction_conditions(bindparam("cut"), arrays=True)
        firsts.append(
            select(_EV.c.version.label("v")).where(*cond).order_by(_EV.c.version).limit(bindparam("probe"))
        )
    merged = union_all(*(select(sub.subquery().c.v) for sub in firsts)).subquery()
    marks = select(merged.c.v).order_by(merged.c.v).limit(bindparam("probe")).cte("marks")
    has_more = select(func.count()).select_from(marks).scalar_subquery() > bindparam("limit")
    last = select(marks.c.v).order_by(marks.c.v).offset(bindparam("last_index")).limit(1).scalar_subquery()
    bound = select(case((has_more, last), else_=bindparam("cut")).label("cut")).cte("bound")
    cut = select(bound.c.cut).scalar_subquery()
    # The page's changes, each written as JSON by the database, joined in version order.
    parts = [
        select(_table(spec).c.version.label("v"), pg_change_json(spec).label("j")).where(
            *_entity_conditions(spec, shape, cut, arrays=True)
        )
        for spec in _SPECS
    ]
    if shape.scoped:
        parts.append(
            select(_EV.c.version.label("v"), pg_eviction_json(_EV).label("j")).where(
                *_eviction_conditions(cut, arrays=True), ~_superseded(shape.scoped)
            )
        )
    changes = union_all(*parts).subquery()
    text = func.string_agg(changes.c.j, aggregate_order_by(_key(","), changes.c.v))
    joined = select(
        # As bytes (UTF-8): the driver hands them over without decoding, the response as they are.
        func.convert_to(text, _key("UTF8"), type_=LargeBinary).label("changes"),
        func.count().label("n"),
    ).subquery()
    purged = select(_CLOCKS.c.purged_through).where(_CLOCKS.c.tenant_id == bindparam("tenant"))
    return select(
        cut.label("cut"),
        has_more.label("has_more"),
        joined.c.changes,
        joined.c.n,
        purged.scalar_subquery().label("purged"),
    )


_PG_PAGES: dict[_Shape, Select[Any]] = {}


async def _pg_page(
    conn: AsyncConnection, shape: _Shape, params: dict[str, Any], limit: int
) -> tuple[int, bool, bytes, int, int]:
    """``(cut, has_more, changes, count, purged_through)`` of one page, in one round trip."""
    stmt = _PG_PAGES.get(shape)
    if stmt is None:
        stmt = _PG_PAGES[shape] = _pg_page_statement(shape)
    row = (await conn.execute(stmt, {**params, "limit": limit, "last_index": limit - 1})).one()
    return int(row.cut), bool(row.has_more), bytes(row.changes or b""), int(row.n), int(row.purged or 0)


# --- elsewhere: one query per entity type on the page, encoded in Python --------------------------


@dataclass(frozen=True)
class _Statements:
    boundary: Select[Any]
    as_columns: dict[int, Select[Any]]  # the wire columns
    evictions: Select[Any] | None


_STATEMENTS: dict[_Shape, _Statements] = {}


def _statements(shape: _Shape) -> _Statements:
    built = _STATEMENTS.get(shape)
    if built is not None:
        return built
    cut = bindparam("cut")
    conds = {i: _entity_conditions(spec, shape, cut) for i, spec in enumerate(_SPECS)}
    if shape.scoped:
        conds[_EVICTIONS] = _eviction_conditions(cut)
    parts = []
    for tag, cond in conds.items():
        version = _EV.c.version if tag == _EVICTIONS else _table(_SPECS[tag]).c.version
        sub = select(literal(tag).label("k"), version.label("v")).where(*cond).order_by(version)
        sub = sub.limit(bindparam("probe")).subquery()
        parts.append(select(sub.c.k, sub.c.v))
    both = union_all(*parts).subquery()
    boundary = select(both.c.k, both.c.v).order_by(both.c.v).limit(bindparam("probe"))
    as_columns = {i: select(*wire_columns(spec)).where(*conds[i]) for i, spec in enumerate(_SPECS)}
    evictions = (
        select(_EV.c.version, _EV.c.entity, _EV.c.entity_id).where(*conds[_EVICTIONS])
        if shape.scoped
        else None
    )
    built = _STATEMENTS[shape] = _Statements(boundary, as_columns, evictions)
    return built


async def _page_in_python(
    conn: AsyncConnection,
    shape: _Shape,
    params: dict[str, Any],
    limit: int,
    upper: int,
    scope: frozenset[uuid.UUID] | None,
    schema_version: int,
) -> tuple[int, bool, bytes, int]:
    """``(cut, has_more, changes, count)`` of one page, read per entity type."""
    stmts = _statements(shape)
    marks = (await conn.execute(stmts.boundary, params)).all()
    has_more = len(marks) > limit
    marks = marks[:limit]
    cut = marks[-1][1] if has_more else upper
    params = {**params, "cut": cut}
    encode = msgspec.json.encode
    candidates: list[tuple[int, bytes]] = []
    for tag in sorted({int(k) for k, _ in marks}):
        if tag == _EVICTIONS:
            assert stmts.evictions is not None
            found = await _evictions(conn, stmts.evictions, params, scope)
            candidates.extend((v, encode(c)) for v, c in found)
            continue
        spec = _SPECS[tag]
        for row in (await conn.execute(stmts.as_columns[tag], params)).all():
            change = change_from_row(spec, row)
            if schema_version != CURRENT:
                change = downgrade_change(schema_version, change)
            candidates.append((row.version, encode(change)))
    candidates.sort(key=lambda c: c[0])
    return cut, has_more, b",".join(c for _, c in candidates), len(candidates)


async def pull(
    session: AsyncSession,
    principal: Principal,
    *,
    secret: str,
    cursor_text: str | None,
    limit: int,
    schema_version: int = CURRENT,
) -> Page:
    """One page: its cursor, ``has_more``, ``last_seq`` and the changes, already JSON."""
    conn = await session.connection()
    upper, purged, last_seq = await _head(conn, principal)
    if cursor_text:
        cursor = decode_cursor(secret, cursor_text, user_id=principal.user_id, tenant_id=principal.tenant_id)
        if cursor.schema != schema_version or max(cursor.after, cursor.floor) < purged:
            raise CursorExpired
    else:
        cursor = Cursor(1, principal.user_id.hex, principal.tenant_id.hex, 0, upper, schema_version)
    shape = _Shape(bootstrapping=cursor.after < cursor.floor, scoped=principal.rep_scope is not None)
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
    if schema_version == CURRENT and conn.dialect.name == "postgresql":
        # PostgreSQL writes the page's JSON: no Python object per row or field.
        cut, has_more, changes, count, purged_now = await _pg_page(conn, shape, params, limit)
    else:
        cut, has_more, changes, count = await _page_in_python(
            conn, shape, params, limit, upper, principal.rep_scope, schema_version
        )
        _, purged_now = await read_clock(session, principal.tenant_id)
    if purged_now != purged and max(cursor.after, cursor.floor) < purged_now:
        raise CursorExpired
    return Page(
        cursor=encode_cursor(
            secret,
            user_id=principal.user_id,
            tenant_id=principal.tenant_id,
            after=cut,
            floor=cursor.floor,
            schema=schema_version,
        ),
        has_more=has_more,
        last_seq=last_seq,
        changes=changes,
        count=count,
    )


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


def page_json(page: Page, *, schema_version: int, server_hlc: str) -> bytes:
    """The pull response document (:class:`sync.schemas.PullResponse`) around pre-encoded changes."""
    head = msgspec.json.encode(
        {
            "schema_version": schema_version,
            "cursor": page.cursor,
            "has_more": page.has_more,
            "last_seq": page.last_seq,
            "server_hlc": server_hlc,
        }
    )
    return b"".join((head[:-1], b',"changes":[', page.changes, b"]}"))
