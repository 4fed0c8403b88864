"""Typed request/response structs for each synced entity, generated from its field specs.

One source of truth: the field specs in :mod:`sync.entities` decide what REST, sync and the
OpenAPI document accept and show.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

import msgspec

from sync.entities import ENTITIES, EntitySpec

_CAMEL = {
    "customer": "Customer",
    "route_plan": "RoutePlan",
    "visit": "Visit",
    "visit_action": "VisitAction",
    "expense": "Expense",
    "photo": "Photo",
    "user": "User",
    "expense_category": "ExpenseCategory",
    "product": "Product",
}


def _optional(tp: Any) -> Any:
    return tp | None if type(None) not in getattr(tp, "__args__", ()) else tp


@cache
def out_struct(name: str) -> type[msgspec.Struct]:
    spec = ENTITIES[name]
    fields: list[Any] = [("id", uuid.UUID), ("version", int), ("created_at", str), ("updated_at", str)]
    fields += [(f.name, _optional(f.type)) for f in spec.fields.values()]
    if name == "customer":
        fields.append(("created_by_id", uuid.UUID | None))
    return msgspec.defstruct(_CAMEL[name], fields, kw_only=True)


@cache
def create_struct(name: str) -> type[msgspec.Struct]:
    spec = ENTITIES[name]
    fields: list[Any] = [("id", uuid.UUID | msgspec.UnsetType, msgspec.UNSET)]
    for f in _client_fields(spec):
        fields.append((f.name, f.type | msgspec.UnsetType, msgspec.UNSET))
    return msgspec.defstruct(f"{_CAMEL[name]}Create", fields, kw_only=True, forbid_unknown_fields=True)


@cache
def update_struct(name: str) -> type[msgspec.Struct]:
    spec = ENTITIES[name]
    fields = [
        (f.name, f.type | msgspec.UnsetType, msgspec.UNSET) for f in _client_fields(spec) if not f.immutable
    ]
    return msgspec.defstruct(f"{_CAMEL[name]}Update", fields, kw_only=True, forbid_unknown_fields=True)


@cache
def page_struct(name: str) -> type[msgspec.Struct]:
    return msgspec.defstruct(
        f"{_CAMEL[name]}Page",
        [("items", list[out_struct(name)]), ("limit", int), ("offset", int), ("total", int)],
        kw_only=True,
    )


def _client_fields(spec: EntitySpec) -> list[Any]:
    return [f for f in spec.fields.values() if f.access != "server"]


def given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a client actually sent, as JSON-ready values."""
    out: dict[str, Any] = msgspec.to_builtins(data)
    return out
