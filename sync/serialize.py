"""Rows → the wire ``data`` of a pull change (the whole current server view of the entity)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Text,
    Uuid,
    case,
    cast,
    func,
    literal_column,
)

from api.db.types import UTCDateTime
from api.lib.clock import rfc3339
from sync.entities import EntitySpec

#: Columns shown beside an entity's fields.
_COMMON = ("id", "version", "created_at", "updated_at", "deleted_at")
_EXTRA = {"customer": ("created_by_id",)}


def _optional_str(value: Any) -> str | None:
    return str(value) if value is not None else None


def entity_data(spec: EntitySpec, row: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(row.id),
        "version": row.version,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }
    for name, fs in spec.fields.items():
        data[name] = fs.to_wire(getattr(row, name))
    if spec.name == "customer":
        data["created_by_id"] = _optional_str(row.created_by_id)
    return data


def change(spec: EntitySpec, row: Any) -> dict[str, Any]:
    if row.deleted_at is not None:
        return {"entity": spec.name, "id": str(row.id), "op": "delete", "version": row.version}
    return {
        "entity": spec.name,
        "id": str(row.id),
        "op": "upsert",
        "version": row.version,
        "data": entity_data(spec, row),
    }


_COLUMNS: dict[str, tuple[Column[Any], ...]] = {}
_CONVERTERS: dict[str, tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def wire_columns(spec: EntitySpec) -> tuple[Column[Any], ...]:
    """The table columns a pull reads for ``spec`` (never geometry or bookkeeping columns)."""
    columns = _COLUMNS.get(spec.name)
    if columns is None:
        table: Any = spec.model.__table__  # type: ignore[attr-defined]
        names = (*_COMMON, *spec.fields, *_EXTRA.get(spec.name, ()))
        columns = _COLUMNS[spec.name] = tuple(table.c[n] for n in names)
    return columns


def _converters(spec: EntitySpec) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    converters = _CONVERTERS.get(spec.name)
    if converters is None:
        pairs = [(name, fs.to_wire) for name, fs in spec.fields.items()]
        pairs += [(name, _optional_str) for name in _EXTRA.get(spec.name, ())]
        converters = _CONVERTERS[spec.name] = tuple(pairs)
    return converters


def change_from_row(spec: EntitySpec, row: Any) -> dict[str, Any]:
    """A pull change from a row of :func:`wire_columns` (same shape as :func:`change`)."""
    ident = str(row[0])
    if row[4] is not None:
        return {"entity": spec.name, "id": ident, "op": "delete", "version": row[1]}
    data: dict[str, Any] = {
        "id": ident,
        "version": row[1],
        "created_at": rfc3339(row[2]),
        "updated_at": rfc3339(row[3]),
    }
    for offset, (name, convert) in enumerate(_converters(spec), start=5):
        data[name] = convert(row[offset])
    return {"entity": spec.name, "id": ident, "op": "upsert", "version": row[1], "data": data}


# --- PostgreSQL: the database writes each change's JSON ------------------------------------------

_PG_CHANGE: dict[str, ColumnElement[str]] = {}
_RFC3339 = literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'""")


def _text(value: str) -> ColumnElement[str]:
    """A constant piece of the document (keys and punctuation: no quote to escape)."""
    return literal_column("'" + value.replace("'", "''") + "'", type_=Text)


_NULL = _text("null")
_QUOTE = _text('"')


def _quoted(expr: ColumnElement[Any]) -> ColumnElement[str]:
    return _QUOTE.concat(expr).concat(_QUOTE)


def _pg_value(column: Column[Any]) -> ColumnElement[str]:
    """The column's JSON text as the wire shows it (timestamps and dates formatted like
    :func:`rfc3339`), ``null`` for SQL NULL. Each type is written directly: UUIDs, numbers,
    booleans and JSON documents are their own text; strings and floats go through ``to_json``
    (escaping, and ``NaN`` quoted as ``json_build_object`` would)."""
    kind = column.type
    if isinstance(kind, UTCDateTime | DateTime):
        value = _quoted(func.to_char(func.timezone(literal_column("'UTC'"), column), _RFC3339))
    elif isinstance(kind, Date):
        value = _quoted(func.to_char(column, literal_column("'YYYY-MM-DD'")))
    elif isinstance(kind, Uuid):
        value = _quoted(cast(column, Text))
    elif isinstance(kind, Integer | Boolean | JSON):
        value = cast(column, Text)
    else:
        value = cast(func.to_json(column), Text)
    return value if not column.nullable else func.coalesce(value, _NULL)


def _document(pieces: list[ColumnElement[str] | str]) -> ColumnElement[str]:
    """One ``concat`` of constant text and column values: far cheaper for PostgreSQL than
    ``json_build_object``, which looks up every argument's type again on every row."""
    args: list[ColumnElement[str]] = []
    pending = ""
    for piece in pieces:
        if isinstance(piece, str):
            pending += piece
            continue
        if pending:
            args.append(_text(pending))
            pending = ""
        args.append(piece)
    if pending:
        args.append(_text(pending))
    return func.concat(*args, type_=Text)


def pg_change_json(spec: EntitySpec) -> ColumnElement[str]:
    """One change of ``spec`` as compact JSON text, written by PostgreSQL: the same document as
    :func:`change_from_row` (checked by the tests), without a Python object per row or field."""
    expr = _PG_CHANGE.get(spec.name)
    if expr is None:
        columns = {c.name: c for c in wire_columns(spec)}
        head: list[ColumnElement[str] | str] = [
            f'{{"entity":"{spec.name}","id":',
            _pg_value(columns["id"]),
        ]
        version: list[ColumnElement[str] | str] = [',"version":', _pg_value(columns["version"])]
        data: list[ColumnElement[str] | str] = []
        for name, column in columns.items():
            if name != "deleted_at":
                data += [("," if data else "") + f'"{name}":', _pg_value(column)]
        upsert = _document([*head, ',"op":"upsert"', *version, ',"data":{', *data, "}}"])
        delete = _document([*head, ',"op":"delete"', *version, "}"])
        expr = _PG_CHANGE[spec.name] = case((columns["deleted_at"].is_(None), upsert), else_=delete)
    return expr


def pg_eviction_json(table: Any) -> ColumnElement[str]:
    """An eviction (a row of ``sync_evictions``) as compact JSON text, written by PostgreSQL."""
    return _document(
        [
            '{"entity":',
            _pg_value(table.c.entity),
            ',"id":',
            _pg_value(table.c.entity_id),
            ',"op":"evict","version":',
            _pg_value(table.c.version),
            "}",
        ]
    )
