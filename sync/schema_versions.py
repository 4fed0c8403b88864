"""Entity schema versions: the current one, and an adapter for the one before it.

The server speaks schema version 1 and still accepts version 0, which older app releases use. What
changed between them (docs/sync.md, "Schema versions"):

- ``visit.comment`` (version 0) was renamed ``visit.notes`` (version 1);
- ``customer.status_reason`` did not exist in version 0.

A version-0 push is translated to version 1 before the merge (``comment`` → ``notes``; a field that
version 0 did not have is refused like any unknown field), and everything a version-0 app reads
back is translated the other way: pulled entities, and the field names in push results and
conflicts. Any other version is refused whole (``schema_version_unsupported``).

Plain functions over wire dictionaries: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CURRENT = 1
SUPPORTED: tuple[int, ...] = (0, 1)


@dataclass(frozen=True)
class EntityDelta:
    """How one entity looked in the previous schema version, relative to the current one."""

    #: ``{old name: current name}``
    renamed: dict[str, str] = field(default_factory=dict)
    #: Current fields the previous version did not have.
    added: frozenset[str] = frozenset()

    def to_current(self, name: str) -> str | None:
        """The current name of an old field, or ``None`` if the old version had no such field."""
        if name in self.added or name in self.renamed.values():
            return None
        return self.renamed.get(name, name)

    def to_old(self, name: str) -> str | None:
        if name in self.added:
            return None
        for old, new in self.renamed.items():
            if new == name:
                return old
        return name


#: Version 0, relative to version 1.
V0: dict[str, EntityDelta] = {
    "visit": EntityDelta(renamed={"comment": "notes"}),
    "customer": EntityDelta(added=frozenset({"status_reason"})),
}


def is_supported(version: int) -> bool:
    return version in SUPPORTED


def upgrade_fields(
    version: int, entity: Any, fields: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A mutation's fields in ``version`` → current names; or a ``validation_failed`` error."""
    delta = V0.get(entity) if version == 0 and isinstance(entity, str) else None
    if delta is None:
        return fields, None
    out: dict[str, Any] = {}
    for name, value in fields.items():
        current = delta.to_current(name)
        if current is None:
            return {}, {
                "code": "validation_failed",
                "message": f"unknown field {name!r} in schema version {version}",
                "field": name,
            }
        out[current] = value
    return out, None


def _old_name(delta: EntityDelta | None, name: Any) -> Any:
    if delta is None or not isinstance(name, str):
        return name
    return delta.to_old(name) or name


def downgrade_change(version: int, change: dict[str, Any]) -> dict[str, Any]:
    """A pull change in current names → ``version``."""
    delta = V0.get(change["entity"]) if version == 0 else None
    if delta is None or "data" not in change:
        return change
    data = {}
    for name, value in change["data"].items():
        old = delta.to_old(name)
        if old is not None:
            data[old] = value
    return {**change, "data": data}


def downgrade_result(version: int, entity: Any, result: dict[str, Any]) -> dict[str, Any]:
    """A push result in current names → ``version`` (conflict and error field names)."""
    delta = V0.get(entity) if version == 0 and isinstance(entity, str) else None
    if delta is None:
        return result
    out = dict(result)
    if result.get("conflicts"):
        out["conflicts"] = [{**c, "field": _old_name(delta, c.get("field"))} for c in result["conflicts"]]
    if result.get("error"):
        out["error"] = {**result["error"], "field": _old_name(delta, result["error"].get("field"))}
    return out
