"""Rows → the wire ``data`` of a pull change (the whole current server view of the entity)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, ColumnElement, Date, DateTime, Text, case, cast, func, literal_column

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


def _pg_value(column: Column[Any]) -> ColumnElement[Any]:
    """The column as the wire shows it (timestamps and dates formatted like :func:`rfc3339`)."""
    if isinstance(column.type, UTCDateTime | DateTime):
        return func.to_char(func.timezone(literal_column("'UTC'"), column), _RFC3339)
    if isinstance(column.type, Date):
        return func.to_char(column, literal_column("'YYYY-MM-DD'"))
    return column


def pg_change_json(spec: EntitySpec) -> ColumnElement[str]:
    """One change of ``spec`` as JSON text, built by PostgreSQL: the same document as
    :func:`change_from_row` (checked by the tests), without a Python object per row or field."""
    expr = _PG_CHANGE.get(spec.name)
    if expr is None:
        columns = {c.name: c for c in wire_columns(spec)}
        data: list[Any] = []
        for name, column in columns.items():
            if name != "deleted_at":
                data += [literal_column(f"'{name}'"), _pg_value(column)]
        head = [
            literal_column("'entity'"),
            literal_column(f"'{spec.name}'"),
            literal_column("'id'"),
            columns["id"],
            literal_column("'op'"),
        ]
        version = [literal_column("'version'"), columns["version"]]
        upsert = func.json_build_object(
            *head,
            literal_column("'upsert'"),
            *version,
            literal_column("'data'"),
            func.json_build_object(*data),
        )
        delete = func.json_build_object(*head, literal_column("'delete'"), *version)
        expr = _PG_CHANGE[spec.name] = cast(
            case((columns["deleted_at"].is_(None), upsert), else_=delete), Text
        )
    return expr
