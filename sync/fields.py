"""Field specs: how a synced field is validated, stored, shown on the wire and who may write it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from api.lib.clock import rfc3339

#: ``rw``: anyone who may write the entity; ``manager``: managers and admins (read-only for reps);
#: ``admin``: admins only; ``server``: computed by the server, read-only for every client.
Access = Literal["rw", "manager", "admin", "server"]
ROLE_RANK = {"rep": 0, "manager": 1, "admin": 2, "system": 3}
ACCESS_RANK = {"rw": 0, "manager": 1, "admin": 2, "server": 3}


def identity(value: Any) -> Any:
    """The default column conversion: the validated value as it is."""
    return value


def _date_to_column(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _wire(value: Any) -> Any:
    """Column value → JSON-ready wire value."""
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: Any
    access: Access = "rw"
    required: bool = False
    immutable: bool = False
    default: Any = None
    to_column: Callable[[Any], Any] = identity
    to_wire: Callable[[Any], Any] = _wire
    #: Custom validation after type conversion; raises ``ValueError`` with a message.
    check: Callable[[Any], None] | None = None

    def writable_by(self, role: str) -> bool:
        return ROLE_RANK[role] >= ACCESS_RANK[self.access]


#: Neither database stores text with NUL characters as sent (PostgreSQL refuses them outright).
NUL_MESSAGE = "text may not contain NUL characters"


def holds_nul(value: Any) -> bool:
    """Whether a JSON value has a NUL character in any string or key."""
    if value.__class__ is str:
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def date_field(name: str, **kw: Any) -> FieldSpec:
    from api.lib.values import IsoDate

    return FieldSpec(
        name, IsoDate | None if not kw.get("required") else IsoDate, to_column=_date_to_column, **kw
    )
