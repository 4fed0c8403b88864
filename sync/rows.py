"""Synced rows as plain column values, read and written with SQLAlchemy Core.

The writer handles batches of hundreds of mutations; building and flushing one ORM object per row
would cost more than the merge itself. Here a row is a :class:`RowView` (its column values, read
and written as attributes, so hooks and serializers treat it like a mapped object), loaded with
one ``SELECT`` per entity type and saved with one ``executemany`` per entity type and set of
changed columns. Mapped objects of the same rows already in the session are kept in step.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import JSON, Column, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from sync.entities import EntitySpec


class RowView:
    """One row's column values, as attributes. Remembers which columns were set since loading."""

    __slots__ = ("_dirty", "_new", "_spec", "_values")

    def __init__(self, spec: EntitySpec, values: dict[str, Any], *, new: bool = False) -> None:
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_dirty", set())
        object.__setattr__(self, "_new", new)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value
        self._dirty.add(name)

    @property
    def spec(self) -> EntitySpec:
        return self._spec

    @property
    def is_new(self) -> bool:
        return self._new

    @property
    def dirty(self) -> set[str]:
        return self._dirty

    def values(self) -> dict[str, Any]:
        return self._values


def _table(spec: EntitySpec) -> Table:
    return spec.model.__table__  # type: ignore[attr-defined,no-any-return]


_PLAIN: dict[str, list[Column[Any]]] = {}
#: ``None`` in a JSON column is stored as SQL NULL (not the JSON value ``null``).
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _plain_columns(table: Table) -> list[Column[Any]]:
    """Every column but geometry (written from lat/lon, never read back by the writer)."""
    columns = _PLAIN.get(table.name)
    if columns is None:
        columns = _PLAIN[table.name] = [c for c in table.c if not isinstance(c.type, Geometry)]
    return columns


def _bind(table: Table, name: str) -> Any:
    column = table.c[name]
    return bindparam(f"v_{name}", type_=_JSON_OR_NULL if isinstance(column.type, JSON) else column.type)


async def load_rows(
    session: AsyncSession, spec: EntitySpec, where: Any, *, lock: bool = False
) -> list[RowView]:
    """Rows of ``spec`` matching ``where`` (locked, in id order, on PostgreSQL when ``lock``)."""
    table = _table(spec)
    stmt = select(*_plain_columns(table)).where(where)
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.order_by(table.c.id).with_for_update()
    result = await session.execute(stmt)
    return [RowView(spec, dict(row)) for row in result.mappings().all()]


def new_row(spec: EntitySpec, values: dict[str, Any]) -> RowView:
    """A row to insert: every plain column present (``None`` unless given)."""
    full = {c.name: None for c in _plain_columns(_table(spec))}
    full.update(values)
    return RowView(spec, full, new=True)


def _default(column: Column[Any]) -> Any:
    if column.default is None:
        return None
    arg = column.default.arg  # type: ignore[attr-defined]
    return arg(None) if callable(arg) else arg


async def insert_rows(
    session: AsyncSession, spec: EntitySpec, rows: Sequence[RowView], extra: Any = None
) -> None:
    """Insert new rows with one ``executemany``. ``extra(row) -> dict`` adds computed columns."""
    if not rows:
        return
    table = _table(spec)
    not_null_defaults = {c.name: c for c in _plain_columns(table) if not c.nullable and c.default is not None}
    params = []
    for row in rows:
        values = dict(row.values())
        for name, column in not_null_defaults.items():
            if values.get(name) is None:
                values[name] = _default(column)
        if extra is not None:
            values.update(extra(row))
        params.append(values)
    await bulk_insert(session, table, params)
    for row in rows:
        row.dirty.clear()


#: From this many rows on, PostgreSQL gets them through ``COPY`` (several times faster than an
#: ``executemany`` of ``INSERT``s); fewer rows are not worth the extra round trip.
COPY_FROM = 32


async def bulk_insert(session: AsyncSession, table: Table, params: list[dict[str, Any]]) -> None:
    """Insert rows given as ``{column: value}`` (every row with the same columns)."""
    if not params:
        return
    names = sorted(params[0])
    for values in params:
        if len(values) != len(names):
            raise ValueError(f"rows of one insert differ in columns: {sorted(values)} vs {names}")
    geometry = any(isinstance(table.c[name].type, Geometry) for name in names)
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if len(params) >= COPY_FROM and not geometry and dialect == "postgresql":
        await _copy(session, table, names, params)
        return
    stmt = insert(table).values({name: _bind(table, name) for name in names})
    await session.execute(stmt, [{f"v_{k}": v for k, v in values.items()} for values in params])


async def _copy(session: AsyncSession, table: Table, names: list[str], params: list[dict[str, Any]]) -> None:
    import asyncpg  # PostgreSQL only

    as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
    records = [
        tuple(
            (None if values[n] is None else json.dumps(values[n])) if n in as_json else values[n]
            for n in names
        )
        for values in params
    ]
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    try:
        await raw.copy_records_to_table(table.name, records=records, columns=names)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(f"COPY {table.name}", None, exc) from exc


async def update_rows(
    session: AsyncSession, spec: EntitySpec, rows: Iterable[RowView], extra: Any = None
) -> None:
    """Write the changed columns of existing rows: one ``executemany`` per set of changed columns."""
    table = _table(spec)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        values = {name: row.values()[name] for name in row.dirty}
        if extra is not None:
            values.update(extra(row))
        if not values:
            continue
        groups[tuple(sorted(values))].append({"_id": row.id, **{f"v_{k}": v for k, v in values.items()}})
    for names, params in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: _bind(table, name) for name in names})
        )
        await session.execute(stmt, params)
    for row in rows:
        row.dirty.clear()


class Twins:
    """Mapped objects the session already holds, by (model, id): kept in step with Core writes."""

    def __init__(self, session: AsyncSession) -> None:
        self._map = session.sync_session.identity_map
        keys = self._map.keys()  # an IdentityMap is not a dict: ask for its keys
        self._held = {(key[0], key[1][0]) for key in keys if len(key[1]) == 1}

    def get(self, spec: EntitySpec, ident: uuid.UUID) -> Any:
        if (spec.model, ident) not in self._held:
            return None
        return self._map.get(identity_key(spec.model, ident))


def refresh_twin(twin: Any, spec: EntitySpec, values: dict[str, Any], names: Iterable[str]) -> None:
    """Make a mapped object show values written behind its back (without marking it changed)."""
    plain = {c.name for c in _plain_columns(_table(spec))}
    for name in names:
        if name in values and name in plain:
            set_committed_value(twin, name, values[name])
