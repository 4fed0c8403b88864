"""Rows → the wire ``data`` of a pull change (the whole current server view of the entity)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column

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
