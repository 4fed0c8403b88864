"""Synced rows as plain column values, read and written with SQLAlchemy Core.

The writer handles batches of hundreds of mutations; building and flushing one ORM object per row
would cost more than the merge itself. Here a row is a :class:`RowView` (its column values, read
and written as attributes, so hooks and serializers treat it like a mapped object), loaded with
one ``SELECT`` per entity type and saved with one statement per entity type and set of changed
columns. Mapped objects of the same rows already in the session are kept in step.

On PostgreSQL a batch travels as few messages as possible: ids are looked up with one array
parameter (``id = ANY($1)``), new rows arrive through ``COPY`` and changed rows through one
``UPDATE … FROM unnest(…)`` (each column one array); SQLite gets the same rows through
``executemany``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any

import msgspec
from geoalchemy2 import Geometry
from sqlalchemy import JSON, Column, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from api.db.engine import driver_connection
from sync.entities import EntitySpec

#: A write whose parameters are already taken from the rows: later changes to the rows do not
#: affect it. Sent with ``await write(session)``.
Write = Callable[[AsyncSession], Awaitable[Any]]


class RowView:
    """One row's column values, as attributes. Remembers which columns were set since loading."""

    __slots__ = ("_dirty", "_new", "_spec", "_values")

    def __init__(
        self, spec: EntitySpec, values: dict[str, Any], *, new: bool = False, dirty: Iterable[str] = ()
    ) -> None:
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_dirty", set(dirty))
        object.__setattr__(self, "_new", new)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value
        self._dirty.add(name)

    def set_many(self, values: dict[str, Any]) -> None:
        """Set several columns at once (as many ``setattr`` calls would)."""
        self._values.update(values)
        self._dirty.update(values)

    @property
    def spec(self) -> EntitySpec:
        return self._spec

    @property
    def is_new(self) -> bool:
        """Not in the database yet: its insert has not been prepared."""
        return self._new

    def inserted(self) -> None:
        """Its insert is prepared: later changes are written as updates."""
        object.__setattr__(self, "_new", False)
        self._dirty.clear()

    @property
    def dirty(self) -> set[str]:
        return self._dirty

    def values(self) -> dict[str, Any]:
        return self._values


def _table(spec: EntitySpec) -> Table:
    return spec.model.__table__  # type: ignore[attr-defined,no-any-return]


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else ""


_PLAIN: dict[str, list[Column[Any]]] = {}
_BLANK: dict[str, dict[str, None]] = {}
#: ``None`` in a JSON column is stored as SQL NULL (not the JSON value ``null``).
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_encode_json = msgspec.json.encode


def _plain_columns(table: Table) -> list[Column[Any]]:
    """Every column but geometry (written from lat/lon, never read back by the writer)."""
    columns = _PLAIN.get(table.name)
    if columns is None:
        columns = _PLAIN[table.name] = [c for c in table.c if not isinstance(c.type, Geometry)]
    return columns


def _bind(table: Table, name: str) -> Any:
    column = table.c[name]
    return bindparam(f"v_{name}", type_=_JSON_OR_NULL if isinstance(column.type, JSON) else column.type)


def _json_text(value: Any) -> str | None:
    """A JSON column's value as the text PostgreSQL parses (``None``: SQL NULL)."""
    return None if value is None else _encode_json(value).decode()


# --- reading -------------------------------------------------------------------------------------

_LOADS: dict[tuple[str, str, bool], Any] = {}


def _load_statement(table: Table, column: str, lock: bool) -> Any:
    """SQLite: ``column IN (…)``, one parameter per id."""
    key = (table.name, column, lock)
    stmt = _LOADS.get(key)
    if stmt is None:
        where = table.c[column].in_(bindparam("ids", expanding=True))
        stmt = _LOADS[key] = select(*_plain_columns(table)).where(where)
    return stmt


_PG_LOADS: dict[tuple[str, str, bool], tuple[str, tuple[str, ...]]] = {}
_decode_json = msgspec.json.decode


def _pg_load_sql(table: Table, column: str, lock: bool) -> tuple[str, tuple[str, ...]]:
    """PostgreSQL: ``column = ANY($1)``, one array parameter whatever the number of ids (one
    prepared statement, reused), read straight from the driver: its values are the ones the
    column types would give (aware UTC datetimes, UUIDs), JSON columns as text (decoded here with
    msgspec, several times faster than the driver's ``json.loads``). Also returns the JSON columns."""
    key = (table.name, column, lock)
    built = _PG_LOADS.get(key)
    if built is None:
        plain = _plain_columns(table)
        as_json = tuple(c.name for c in plain if isinstance(c.type, JSON))
        columns = ", ".join(
            f'"{c.name}"::text AS "{c.name}"' if c.name in as_json else f'"{c.name}"' for c in plain
        )
        sql = f'SELECT {columns} FROM "{table.name}" WHERE "{column}" = ANY($1::uuid[])'
        if lock:
            sql += " ORDER BY id FOR UPDATE"
        built = _PG_LOADS[key] = (sql, as_json)
    return built


async def load_rows(
    session: AsyncSession, spec: EntitySpec, column: str, ids: Collection[uuid.UUID], *, lock: bool = False
) -> list[RowView]:
    """Rows of ``spec`` whose ``column`` is one of ``ids`` (locked, in id order, on PostgreSQL when
    ``lock``)."""
    if not ids:
        return []
    table = _table(spec)
    if _dialect(session) == "postgresql":
        sql, as_json = _pg_load_sql(table, column, lock)
        async with driver(session, f"SELECT {table.name}") as raw:
            records = await raw.fetch(sql, list(ids))
        rows = []
        for record in records:
            values = dict(record)
            for name in as_json:
                text = values[name]
                if text is not None:
                    values[name] = _decode_json(text)
            rows.append(RowView(spec, values))
        return rows
    connection = await session.connection()
    result = await connection.execute(_load_statement(table, column, lock), {"ids": list(ids)})
    names = [c.name for c in _plain_columns(table)]
    return [RowView(spec, dict(zip(names, row, strict=True))) for row in result.all()]


#: The row holding a unique value: ``(id, deleted)``.
Holder = tuple[uuid.UUID, bool]


async def load_holders(
    session: AsyncSession, spec: EntitySpec, tenant_id: uuid.UUID, name: str, values: Collection[Any]
) -> dict[Any, Holder]:
    """The rows of ``spec`` holding one of ``values`` in ``name`` (one of ``spec.unique``): the
    tenant's, or every tenant's when the values are unique across tenants."""
    if not values:
        return {}
    table = _table(spec)
    column = table.c[name]
    stmt = select(column, table.c.id, table.c.deleted_at).where(column.in_(list(values)))
    if not spec.unique_across_tenants:
        stmt = stmt.where(table.c.tenant_id == tenant_id)
    rows = (await (await session.connection()).execute(stmt)).all()
    return {value: (ident, deleted_at is not None) for value, ident, deleted_at in rows}


# --- new rows ------------------------------------------------------------------------------------


def new_row(spec: EntitySpec, values: dict[str, Any]) -> RowView:
    """A row to insert: every plain column present (``None`` unless given), all to be written."""
    table = _table(spec)
    blank = _BLANK.get(table.name)
    if blank is None:
        blank = _BLANK[table.name] = {c.name: None for c in _plain_columns(table)}
    full = {**blank, **values}
    return RowView(spec, full, new=True, dirty=values)


def _default(column: Column[Any]) -> Any:
    if column.default is None:
        return None
    arg = column.default.arg  # type: ignore[attr-defined]
    return arg(None) if callable(arg) else arg


_NOT_NULL_DEFAULTS: dict[str, list[Column[Any]]] = {}


def _not_null_defaults(table: Table) -> list[Column[Any]]:
    found = _NOT_NULL_DEFAULTS.get(table.name)
    if found is None:
        found = _NOT_NULL_DEFAULTS[table.name] = [
            c for c in _plain_columns(table) if not c.nullable and c.default is not None
        ]
    return found


def prepare_insert_rows(
    session: AsyncSession, spec: EntitySpec, rows: Sequence[RowView], extra: Any = None
) -> Write | None:
    """The insert of new rows as one statement. ``extra(row) -> dict`` adds computed columns."""
    if not rows:
        return None
    table = _table(spec)
    defaults = _not_null_defaults(table)
    params = []
    for row in rows:
        values = row.values()
        missing = [column for column in defaults if values.get(column.name) is None]
        if missing or extra is not None:
            values = {**values, **{column.name: _default(column) for column in missing}}
            if extra is not None:
                values.update(extra(row))
        params.append(values)
    write = prepare_insert(session, table, params)
    for row in rows:
        row.inserted()
    return write


#: From this many rows on, PostgreSQL gets them through ``COPY`` (several times faster than an
#: ``executemany`` of ``INSERT``s); fewer rows are not worth the extra round trip.
COPY_FROM = 32


def prepare_insert(session: AsyncSession, table: Table, params: list[dict[str, Any]]) -> Write | None:
    """The insert of rows given as ``{column: value}`` (every row with the same columns)."""
    if not params:
        return None
    names = sorted(params[0])
    for values in params:
        if len(values) != len(names):
            raise ValueError(f"rows of one insert differ in columns: {sorted(values)} vs {names}")
    pick = itemgetter(*names)
    if len(names) == 1:
        records: list[Sequence[Any]] = [(pick(values),) for values in params]
    else:
        records = [pick(values) for values in params]
    return prepare_insert_records(session, table, names, records)


def prepare_insert_records(
    session: AsyncSession, table: Table, names: list[str], records: list[Sequence[Any]]
) -> Write | None:
    """The insert of rows given as value tuples in the order of ``names``."""
    if not records:
        return None
    geometry = any(isinstance(table.c[name].type, Geometry) for name in names)
    if len(records) >= COPY_FROM and not geometry and _dialect(session) == "postgresql":
        encoded = _copy_records(table, names, records)
        return lambda s: _copy(s, table, names, encoded)
    stmt = insert(table).values({name: _bind(table, name) for name in names})
    keys = [f"v_{name}" for name in names]
    multi = [dict(zip(keys, record, strict=True)) for record in records]
    return lambda s: s.execute(stmt, multi)


@asynccontextmanager
async def driver(session: AsyncSession, what: str) -> AsyncIterator[Any]:
    """The session's asyncpg connection, for statements sent straight to it; its errors leave as
    the SQLAlchemy errors callers handle (``what`` names the statement)."""
    import asyncpg  # PostgreSQL only

    raw = await driver_connection(await session.connection())
    try:
        yield raw
    except asyncpg.PostgresError as exc:
        raise db_error(what, exc) from exc


def db_error(what: str, exc: Exception) -> Exception:
    """An asyncpg error as the SQLAlchemy error the callers handle (retries keep working)."""
    import asyncpg

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(what, None, exc)
    return DBAPIError(what, None, exc)


def _copy_records(table: Table, names: list[str], records: list[Sequence[Any]]) -> list[Sequence[Any]]:
    """The rows as ``COPY`` records: JSON columns encoded."""
    json_at = [i for i, name in enumerate(names) if isinstance(table.c[name].type, JSON)]
    if not json_at:
        return records
    encoded: list[Sequence[Any]] = []
    for record in records:
        values = list(record)
        for i in json_at:
            values[i] = _json_text(values[i])
        encoded.append(values)
    return encoded


async def _copy(session: AsyncSession, table: Table, names: list[str], records: list[Any]) -> None:
    async with driver(session, f"COPY {table.name}") as raw:
        await raw.copy_records_to_table(table.name, records=records, columns=names)


# --- changed rows --------------------------------------------------------------------------------

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_UNNEST: dict[tuple[str, tuple[str, ...]], str] = {}
#: Rows of one set of changed columns: ``(id, {column: value})``.
Changed = list[tuple[uuid.UUID, dict[str, Any]]]


def _unnest_update(table: Table, names: tuple[str, ...]) -> str:
    """``UPDATE … FROM unnest(…)``: every changed row of one set of columns in one statement."""
    key = (table.name, names)
    sql = _UNNEST.get(key)
    if sql is None:
        arrays = ["$1::uuid[]"]
        sets = []
        for n, name in enumerate(names, start=2):
            column = table.c[name]
            if isinstance(column.type, JSON):
                arrays.append(f"${n}::text[]")
                sets.append(f'"{name}" = v."{name}"::jsonb')
            else:
                arrays.append(f"${n}::{column.type.compile(dialect=_PG)}[]")
                sets.append(f'"{name}" = v."{name}"')
        columns = ", ".join(['"_id"', *(f'"{name}"' for name in names)])
        sql = _UNNEST[key] = (
            f'UPDATE "{table.name}" AS t SET {", ".join(sets)} '
            f"FROM unnest({', '.join(arrays)}) AS v({columns}) WHERE t.id = v._id"
        )
    return sql


def prepare_update_rows(
    session: AsyncSession, spec: EntitySpec, rows: Iterable[RowView], extra: Any = None
) -> Write | None:
    """The writes of the changed columns of existing rows: one statement per set of columns."""
    table = _table(spec)
    groups: dict[tuple[str, ...], Changed] = defaultdict(list)
    for row in rows:
        current = row.values()
        values = {name: current[name] for name in row.dirty}
        if extra is not None:
            values.update(extra(row))
        row.dirty.clear()
        if not values:
            continue
        groups[tuple(sorted(values))].append((row.id, values))
    if not groups:
        return None
    postgres = _dialect(session) == "postgresql"
    writes: list[Write] = []
    for names, changed in groups.items():
        if postgres and not any(isinstance(table.c[name].type, Geometry) for name in names):
            writes.append(_prepare_unnest(table, names, changed))
            continue
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: _bind(table, name) for name in names})
        )
        multi = [{"_id": ident, **{f"v_{k}": v for k, v in values.items()}} for ident, values in changed]
        writes.append(lambda s, stmt=stmt, multi=multi: s.execute(stmt, multi))
    if len(writes) == 1:
        return writes[0]

    async def write_all(s: AsyncSession) -> None:
        for write in writes:
            await write(s)

    return write_all


def _prepare_unnest(table: Table, names: tuple[str, ...], changed: Changed) -> Write:
    arrays: list[list[Any]] = [[ident for ident, _ in changed]]
    for name in names:
        if isinstance(table.c[name].type, JSON):
            arrays.append([_json_text(values[name]) for _, values in changed])
        else:
            arrays.append([values[name] for _, values in changed])
    sql = _unnest_update(table, names)

    async def write(session: AsyncSession) -> None:
        async with driver(session, f"UPDATE {table.name}") as raw:
            await raw.execute(sql, *arrays)

    return write


class Twins:
    """Mapped objects the session already holds, by (model, id): kept in step with Core writes."""

    def __init__(self, session: AsyncSession) -> None:
        self._map = session.sync_session.identity_map
        keys = self._map.keys()  # an IdentityMap is not a dict: ask for its keys
        self._held = {(key[0], key[1][0]) for key in keys if len(key[1]) == 1}

    def get(self, spec: EntitySpec, ident: uuid.UUID) -> Any:
        if not self._held or (spec.model, ident) not in self._held:
            return None
        return self._map.get(identity_key(spec.model, ident))


def refresh_twin(twin: Any, spec: EntitySpec, values: dict[str, Any], names: Iterable[str]) -> None:
    """Make a mapped object show values written behind its back (without marking it changed)."""
    plain = {c.name for c in _plain_columns(_table(spec))}
    for name in names:
        if name in values and name in plain:
            set_committed_value(twin, name, values[name])
