"""The merge policy, as one pure function.

Order of precedence for every field of an upsert:
1. validation (a malformed mutation is rejected whole: ``validation_failed``);
2. server authority: fields the writer's role may not write are refused (``read_only``);
3. domain rules: immutable fields, locks after review (``locked``), forward-only status and
   reviews of submitted expenses only (``invalid_transition``) — these ignore clocks;
4. field-level last-writer-wins by HLC; a losing field keeps the server's value (``kept_server``),
   a winning field that replaced a value its client had not seen is reported as ``overwrote``.
Deletes leave tombstones and win over concurrent edits; a deleted id is never resurrected.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from sync.entities import Actor, EntitySpec, Values
from sync.fields import NUL_MESSAGE, holds_nul, identity

Op = Literal["create", "update", "delete", "none"]


@dataclass
class Current:
    """The server's view of one row, as column values."""

    values: Values
    meta: dict[str, list[Any]]
    version: int
    deleted: bool = False


@dataclass
class Incoming:
    entity: str
    id: uuid.UUID
    op: str
    hlc: str
    base_version: int | None
    fields: dict[str, Any]
    seq: int | None = None


@dataclass
class Decision:
    status: Literal["applied", "merged", "rejected"]
    op: Op = "none"
    changes: Values = field(default_factory=dict)
    stamped: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @classmethod
    def reject(cls, code: str, message: str, field_name: str | None = None) -> Decision:
        return cls(status="rejected", error={"code": code, "message": message, "field": field_name})


def _refusal(spec: EntitySpec, name: str, code: str, current: Current | None) -> dict[str, Any]:
    server_value = None
    server_hlc = None
    if current is not None:
        server_value = spec.fields[name].to_wire(current.values.get(name))
        server_hlc = (current.meta.get(name) or [None])[0]
    return {
        "field": name,
        "outcome": "rejected",
        "code": code,
        "server_value": server_value,
        "server_hlc": server_hlc,
    }


_SHAPES: dict[str, type[msgspec.Struct]] = {}
_AT_FIELD = re.compile(r"at `\$\.([A-Za-z0-9_]+)")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def _shape(spec: EntitySpec) -> type[msgspec.Struct]:
    """A struct of every field of ``spec``, each optional: one conversion checks a whole mutation."""
    shape = _SHAPES.get(spec.name)
    if shape is None:
        shape = _SHAPES[spec.name] = msgspec.defstruct(
            f"{spec.name}_fields",
            [(name, fs.type, msgspec.UNSET) for name, fs in spec.fields.items()],
            forbid_unknown_fields=True,
            kw_only=True,
        )
    return shape


def _failure(exc: Exception, raw: dict[str, Any]) -> dict[str, Any]:
    text = str(exc)
    if unknown := _UNKNOWN.search(text):
        name = unknown.group(1)
        return {"code": "validation_failed", "message": f"unknown field {name!r}", "field": name}
    at = _AT_FIELD.search(text)
    name = at.group(1) if at else None
    if name is not None and raw.get(name, ...) is None:
        text = "may not be null"
    return {"code": "validation_failed", "message": text.split(" - at ")[0] or "invalid value", "field": name}


_PLAIN: dict[str, frozenset[str]] = {}
#: Values msgspec gives that are column values as they are (no check, no conversion).
_SCALARS = frozenset({str, int, float, bool, uuid.UUID, dt.datetime, dt.date})


def _plain(spec: EntitySpec) -> frozenset[str]:
    """Fields stored as converted: no extra check, no column conversion."""
    plain = _PLAIN.get(spec.name)
    if plain is None:
        plain = _PLAIN[spec.name] = frozenset(
            name for name, fs in spec.fields.items() if fs.check is None and fs.to_column is identity
        )
    return plain


def validate_fields(spec: EntitySpec, raw: dict[str, Any]) -> tuple[Values, dict[str, Any] | None]:
    """Convert wire values to column values; the first invalid field rejects the mutation."""
    try:
        parsed = msgspec.convert(raw, _shape(spec))
    except msgspec.ValidationError as exc:
        if not all(isinstance(name, str) for name in raw):  # msgspec refuses them too
            return {}, {"code": "validation_failed", "message": "field names are strings", "field": None}
        return {}, _failure(exc, raw)
    out: Values = {}
    plain = _plain(spec)
    for name in raw:
        value = getattr(parsed, name)
        if value.__class__ is str and "\x00" in value:
            return {}, {"code": "validation_failed", "message": NUL_MESSAGE, "field": name}
        if value is None or (name in plain and value.__class__ in _SCALARS):
            out[name] = value
            continue
        fs = spec.fields[name]
        if isinstance(value, msgspec.Struct | list | dict):
            value = msgspec.to_builtins(value)
            if holds_nul(value):
                return {}, {"code": "validation_failed", "message": NUL_MESSAGE, "field": name}
        try:
            if fs.check is not None:
                fs.check(value)
            # The conversion checks too: "2026-13-01" has a date's shape, not a date's value.
            out[name] = fs.to_column(value)
        except (ValueError, TypeError) as exc:
            return {}, {"code": "validation_failed", "message": str(exc) or "invalid value", "field": name}
    return out, None


def _stamp_review(value: Any, actor: Actor, now_iso: str) -> Any:
    if isinstance(value, dict):
        return {**value, "by": str(actor.user_id) if actor.user_id else None, "at": now_iso}
    return value


#: An upsert's fields after :func:`validate_fields`: ``(column values, error or None)``.
Checked = tuple[Values, dict[str, Any] | None]


def merge(
    spec: EntitySpec,
    current: Current | None,
    incoming: Incoming,
    actor: Actor,
    *,
    now_iso: str,
    checked: Checked | None = None,
) -> Decision:
    """Decide the effect of one mutation on one row. Pure: no I/O, no clock reads.

    ``checked``: the result of :func:`validate_fields` for this upsert, when the caller has it."""
    if incoming.op == "delete":
        return _merge_delete(spec, current, actor)
    if incoming.op != "upsert":
        return Decision.reject("validation_failed", f"unknown op {incoming.op!r}", "op")
    values, error = checked if checked is not None else validate_fields(spec, incoming.fields)
    if error:
        return Decision(status="rejected", error=error)
    if "review" in values:
        values["review"] = _stamp_review(values["review"], actor, now_iso)
    if current is None:
        return _merge_create(spec, values, actor)
    if current.deleted:
        return Decision.reject("deleted", f"{spec.name} was deleted")
    return _merge_update(spec, current, incoming, values, actor)


def _merge_delete(spec: EntitySpec, current: Current | None, actor: Actor) -> Decision:
    if current is None:
        return Decision.reject("not_found", f"{spec.name} not found")
    if current.deleted:
        return Decision(status="applied", op="none")
    if actor.role not in spec.delete_roles:
        return Decision.reject("forbidden", f"{actor.role} may not delete a {spec.name}")
    if actor.role == "rep" and spec.locked is not None and spec.locked(current.values):
        return Decision.reject("locked", f"{spec.name} was reviewed")
    return Decision(status="applied", op="delete")


_WRITABLE: dict[tuple[str, str], frozenset[str]] = {}
_REQUIRED: dict[str, tuple[str, ...]] = {}


def _writable(spec: EntitySpec, role: str) -> frozenset[str]:
    """The fields of ``spec`` that ``role`` may write."""
    found = _WRITABLE.get((spec.name, role))
    if found is None:
        found = _WRITABLE[(spec.name, role)] = frozenset(
            name for name, fs in spec.fields.items() if fs.writable_by(role)
        )
    return found


def _required(spec: EntitySpec) -> tuple[str, ...]:
    found = _REQUIRED.get(spec.name)
    if found is None:
        found = _REQUIRED[spec.name] = tuple(name for name, fs in spec.fields.items() if fs.required)
    return found


_FREE: dict[tuple[str, str], frozenset[str]] = {}


def _free_on_create(spec: EntitySpec, role: str) -> frozenset[str]:
    """The fields ``role`` may set on a new row with no further check (no guard, no transition)."""
    found = _FREE.get((spec.name, role))
    if found is None:
        checked = spec.guards.keys() | spec.transitions.keys()
        found = _FREE[(spec.name, role)] = _writable(spec, role) - checked
    return found


def _merge_create(spec: EntitySpec, values: Values, actor: Actor) -> Decision:
    if actor.role not in spec.create_roles:
        return Decision.reject("forbidden", f"{actor.role} may not create a {spec.name}")
    conflicts: list[dict[str, Any]] = []
    if values.keys() <= _free_on_create(spec, actor.role):
        # The usual create: every field writable and unguarded, nothing to decide field by field.
        accepted: Values = dict(values)
    else:
        accepted = _accept_on_create(spec, values, actor, conflicts)
    if spec.on_create is not None:
        accepted.update(spec.on_create(accepted, actor))
    for name in _required(spec):
        if accepted.get(name) is None:
            return Decision.reject("validation_failed", f"{name} is required", name)
    if spec.check_row is not None and (problem := spec.check_row(accepted)):
        return Decision.reject("validation_failed", problem)
    _derive(spec, accepted, accepted.keys())
    fields = spec.fields
    stamped = [n for n in accepted if n in fields]
    return Decision(
        status="merged" if conflicts else "applied",
        op="create",
        changes=accepted,
        stamped=stamped,
        conflicts=conflicts,
    )


def _accept_on_create(
    spec: EntitySpec, values: Values, actor: Actor, conflicts: list[dict[str, Any]]
) -> Values:
    """The fields of a new row that ``actor`` may set; each refused one is added to ``conflicts``."""
    accepted: Values = {}
    writable = _writable(spec, actor.role)
    transitions = spec.transitions
    for name, value in values.items():
        if name not in writable:
            conflicts.append(_refusal(spec, name, "read_only", None))
            continue
        guard = spec.guards.get(name)
        if guard is not None and (code := guard({}, value, actor)) is not None:
            conflicts.append(_refusal(spec, name, code, None))
            continue
        rule = transitions.get(name)
        if rule is not None and not rule(None, value, actor):
            conflicts.append(_refusal(spec, name, "invalid_transition", None))
            continue
        accepted[name] = value
    return accepted


def _merge_update(
    spec: EntitySpec, current: Current, incoming: Incoming, values: Values, actor: Actor
) -> Decision:
    conflicts: list[dict[str, Any]] = []
    changes: Values = {}
    stamped: list[str] = []
    base = incoming.base_version or 0
    locked = actor.role == "rep" and spec.locked is not None and spec.locked(current.values)
    writable = _writable(spec, actor.role)
    for name, value in values.items():
        fs = spec.fields[name]
        old = current.values.get(name)
        meta = current.meta.get(name)
        if name not in writable:
            if value != old:
                conflicts.append(_refusal(spec, name, "read_only", current))
            continue
        if fs.immutable and value != old:
            conflicts.append(_refusal(spec, name, "read_only", current))
            continue
        if locked and name in spec.lock_fields:
            if value != old:
                conflicts.append(_refusal(spec, name, "locked", current))
            continue
        guard = spec.guards.get(name)
        if guard is not None and (code := guard(current.values, value, actor)) is not None:
            conflicts.append(_refusal(spec, name, code, current))
            continue
        rule = spec.transitions.get(name)
        if rule is not None:
            if value == old:
                continue
            if rule(old, value, actor):
                changes[name] = value
                stamped.append(name)
            else:
                conflicts.append(_refusal(spec, name, "invalid_transition", current))
            continue
        stored_hlc = meta[0] if meta else None
        if stored_hlc is None or incoming.hlc > stored_hlc:
            stamped.append(name)
            if value != old:
                changes[name] = value
                if meta and meta[1] > base:
                    conflicts.append(
                        {
                            "field": name,
                            "outcome": "overwrote",
                            "server_value": fs.to_wire(old),
                            "server_hlc": stored_hlc,
                        }
                    )
        elif value != old:
            conflicts.append(
                {
                    "field": name,
                    "outcome": "kept_server",
                    "server_value": fs.to_wire(old),
                    "server_hlc": stored_hlc,
                }
            )
    if changes and spec.check_row is not None:
        candidate = {**current.values, **changes}
        if problem := spec.check_row(candidate):
            return Decision.reject("validation_failed", problem)
    if changes:
        derived = _derive(spec, {**current.values, **changes}, set(changes))
        changes.update(derived)
    refused = [c for c in conflicts if c["outcome"] == "rejected"]
    if not stamped and refused:
        first = refused[0]
        return Decision(
            status="rejected",
            conflicts=conflicts,
            error={
                "code": first["code"],
                "message": f"{first['field']} cannot be changed",
                "field": first["field"],
            },
        )
    status: Literal["applied", "merged"] = "merged" if conflicts else "applied"
    return Decision(
        status=status,
        op="update" if stamped else "none",
        changes=changes,
        stamped=stamped,
        conflicts=conflicts,
    )


def _derive(spec: EntitySpec, candidate: Values, changed: Collection[str]) -> Values:
    """Server-side consequences inside one entity (e.g. an expense review sets its status)."""
    out: Values = {}
    if spec.name == "expense" and "review" in changed:
        review = candidate.get("review") or {}
        if review.get("status") in {"approved", "rejected"}:
            out["status"] = review["status"]
            candidate["status"] = review["status"]
    return out
