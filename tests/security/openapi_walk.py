"""Walk the app's own OpenAPI document: operations with path ids, and minimal valid bodies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

METHODS = ("get", "put", "patch", "post", "delete")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def path_params(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        params = [resolve(doc, p) for p in self.spec.get("parameters", [])]
        return [p for p in params if p.get("in") == "path"]

    def body_schema(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        content = (self.spec.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json")
        return media.get("schema") if media else None


def operations_with_path_params(doc: dict[str, Any]) -> list[Operation]:
    out = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            merged = {**spec, "parameters": [*item.get("parameters", []), *spec.get("parameters", [])]}
            op = Operation(path, method, merged)
            if op.path_params(doc):
                out.append(op)
    return out


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def minimal(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """The smallest instance of ``schema`` that validates: required members only, lowest values."""
    schema = resolve(doc, schema)
    if depth > 12:
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [resolve(doc, o) for o in schema[key]]
            usable = [o for o in options if o.get("type") != "null"] or options
            return minimal(doc, usable[0], depth + 1)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = minimal(doc, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: minimal(doc, props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal(doc, schema.get("items", {}), depth + 1) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if fmt == "date":
            return date.today().isoformat()
        return "x" * max(schema.get("minLength", 1), 1)
    if kind in {"integer", "number"}:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(low, 0) if schema.get("maximum", 1) >= 0 else low
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            value = schema["exclusiveMinimum"] + 1
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return None


def fill_path(doc: dict[str, Any], op: Operation, ident: uuid.UUID) -> str:
    """The operation's path with every uuid parameter set to ``ident`` and the others to minimal values."""
    path = op.path
    for param in op.path_params(doc):
        schema = resolve(doc, param.get("schema", {}))
        if schema.get("format") == "uuid":
            value = str(ident)
        elif schema.get("format") == "date" or param["name"] in {"day", "date"}:
            value = "2026-03-04"
        else:
            value = str(minimal(doc, schema))
        path = path.replace("{" + param["name"] + "}", value)
    return path
