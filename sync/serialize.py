"""Rows → the wire ``data`` of a pull change (the whole current server view of the entity)."""

from __future__ import annotations

from typing import Any

from api.lib.clock import rfc3339
from sync.entities import EntitySpec

_USER_EXTRA = ("email", "role", "team_id", "is_active")


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
        data["created_by_id"] = str(row.created_by_id) if row.created_by_id else None
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
