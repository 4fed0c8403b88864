"""Generate ``fieldline_client/models.py`` from the server's OpenAPI document.

    python clients/python/scripts/gen_models.py              # from an app instance of this repo
    python clients/python/scripts/gen_models.py --url URL    # from a running server
    python clients/python/scripts/gen_models.py --check      # exit 1 if models.py is out of date

Entities are the schemas that have a ``<Name>Page`` list schema beside them; each becomes a
``TypedDict`` (the server view, every key present) with ``<Name>Create`` and ``<Name>Update``
(the fields a client may send), plus the value types they reference (``Fix``, ``Contact`` …).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent / "fieldline_client" / "models.py"
REPO_ROOT = HERE.parents[2]

HEADER = '''"""Typed models of the Fieldline entities, generated from the server's OpenAPI document.

Do not edit: regenerate with ``python clients/python/scripts/gen_models.py`` (a test fails when
this file and the server disagree).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict
'''


def load_from_app() -> dict[str, Any]:
    """GET /schema/openapi.json from an app instance of the server in this repository."""
    sys.path.insert(0, str(REPO_ROOT))
    from litestar.testing import TestClient

    from api.app import create_app
    from api.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            env="test",
            var_dir=Path(tmp),
            database_url=f"sqlite+aiosqlite:///{tmp}/openapi.db",
            secret_key="openapi-" + "x" * 40,
            media_root=Path(tmp) / "media",
            run_worker=False,
        )
        with TestClient(app=create_app(settings)) as client:
            response = client.get("/schema/openapi.json")
            response.raise_for_status()
            doc: dict[str, Any] = response.json()
            return doc


def load_from_url(base_url: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(base_url.rstrip("/") + "/schema/openapi.json", timeout=30)
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    return doc


def q(text: str) -> str:
    """A double-quoted string literal."""
    return json.dumps(text, ensure_ascii=False)


def format_source(text: str) -> str:
    """Lay the module out as ``ruff format`` would (the repository's style), when ruff is there."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return text
    return done.stdout


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def py_type(schema: dict[str, Any], refs: set[str]) -> str:
    """The Python annotation for one JSON schema (recording referenced component names)."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        refs.add(name)
        return name
    if "oneOf" in schema or "anyOf" in schema:
        options = [py_type(s, refs) for s in schema.get("oneOf") or schema["anyOf"]]
        return " | ".join(dict.fromkeys(options))
    if "const" in schema:
        return f"Literal[{q(schema['const'])}]"
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        text = f"Literal[{', '.join(q(v) if isinstance(v, str) else repr(v) for v in values)}]"
        return f"{text} | None" if None in schema["enum"] else text
    kind = schema.get("type")
    if isinstance(kind, list):
        options = [py_type({**schema, "type": k}, refs) for k in kind if k != "null"]
        text = " | ".join(options) or "Any"
        return f"{text} | None" if "null" in kind else text
    if kind == "string":
        return "str"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "null":
        return "None"
    if kind == "array":
        if "prefixItems" in schema:
            return f"tuple[{', '.join(py_type(s, refs) for s in schema['prefixItems'])}]"
        return f"list[{py_type(schema.get('items', {}), refs)}]"
    if kind == "object":
        if schema.get("properties"):
            return "dict[str, Any]"
        extra = schema.get("additionalProperties")
        value = py_type(extra, refs) if isinstance(extra, dict) and extra else "Any"
        return f"dict[str, {value}]"
    return "Any"


def render_typed_dict(name: str, schema: dict[str, Any], refs: set[str], *, doc: str) -> str:
    required = set(schema.get("required", []))
    lines = [f"class {name}(TypedDict):", f'    """{doc}"""', ""]
    for field, sub in schema.get("properties", {}).items():
        annotation = py_type(sub, refs)
        if field not in required:
            annotation = f"NotRequired[{annotation}]"
        description = sub.get("description")
        if description:
            lines.append(f"    #: {description}")
        lines.append(f"    {field}: {annotation}")
    return "\n".join(lines) + "\n"


def render(doc: dict[str, Any]) -> str:
    schemas: dict[str, Any] = doc["components"]["schemas"]
    entities = sorted(n for n in schemas if f"{n}Page" in schemas)
    refs: set[str] = set()
    entity_blocks: list[str] = []
    for name in entities:
        entity = snake(name)
        shown = f"{_article(entity)} ``{entity}`` as the server shows it."
        entity_blocks.append(render_typed_dict(name, schemas[name], refs, doc=shown))
        for suffix, what in (("Create", "may send when creating"), ("Update", "may send when updating")):
            if f"{name}{suffix}" in schemas:
                entity_blocks.append(
                    render_typed_dict(
                        f"{name}{suffix}",
                        schemas[f"{name}{suffix}"],
                        refs,
                        doc=f"Fields of a ``{entity}`` a client {what}.",
                    )
                )
    # Value types referenced from entities, and the ones they reference in turn.
    values: dict[str, str] = {}
    pending = sorted(refs - set(entities))
    while pending:
        name = pending.pop(0)
        if name in values:
            continue
        inner: set[str] = set()
        values[name] = render_typed_dict(name, schemas[name], inner, doc=f"The ``{name}`` value type.")
        pending.extend(sorted(inner - set(values) - set(entities)))

    out = [HEADER]
    out.extend("\n\n" + values[n] for n in sorted(values))
    out.extend("\n\n" + block for block in entity_blocks)
    names = {n: snake(n) for n in entities}
    out.append("\n\nEntityName = Literal[" + ", ".join(q(v) for v in names.values()) + "]\n")
    out.append("\n#: The TypedDict of each entity, by its sync name.\n")
    out.append("ENTITY_TYPES: dict[str, type] = {\n")
    out.extend(f"    {q(v)}: {n},\n" for n, v in names.items())
    out.append("}\n")

    def field_map(title: str, suffix: str, comment: str, drop: tuple[str, ...] = ()) -> None:
        out.append(f"\n#: {comment}\n")
        out.append(f"{title}: dict[str, tuple[str, ...]] = {{\n")
        for n, v in names.items():
            schema = schemas.get(f"{n}{suffix}")
            if schema is None:
                continue
            fields = tuple(f for f in schema.get("properties", {}) if f not in drop)
            items = ", ".join(q(f) for f in fields) + ("," if len(fields) == 1 else "")
            out.append(f"    {q(v)}: ({items}),\n")
        out.append("}\n")

    base = ("id", "version", "created_at", "updated_at")
    field_map("FIELDS", "", "Fields of each entity's server view (beside id, version, timestamps).", base)
    field_map("CREATE_FIELDS", "Create", "Fields a client may send when creating each entity.", ("id",))
    field_map("UPDATE_FIELDS", "Update", "Fields a client may send when updating each entity.")
    return format_source("".join(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running server (default: an app instance)")
    parser.add_argument("--check", action="store_true", help="exit 1 if models.py is out of date")
    args = parser.parse_args()
    doc = load_from_url(args.url) if args.url else load_from_app()
    text = render(doc)
    if args.check:
        if TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
