"""The generated models match the server's OpenAPI document, so the SDK cannot drift from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from fieldline_client import models

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gen_models.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_models", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def document() -> dict:
    return generator().load_from_app()


def test_models_py_is_what_the_generator_makes_from_the_servers_document(document: dict) -> None:
    expected = generator().render(document)
    assert Path(models.__file__).read_text() == expected, (
        "fieldline_client/models.py is out of date: run python clients/python/scripts/gen_models.py"
    )


def test_every_synced_entity_has_a_model_and_the_same_fields(document: dict) -> None:
    from sync.entities import ENTITIES

    assert set(models.ENTITY_TYPES) == set(ENTITIES)
    for name, spec in ENTITIES.items():
        assert set(spec.fields) <= set(models.FIELDS[name]), name
        declared = set(models.ENTITY_TYPES[name].__annotations__)
        assert {"id", "version", "created_at", "updated_at", *spec.fields} <= declared


def test_a_changed_document_changes_the_models(document: dict) -> None:
    gen = generator()
    changed = {**document, "components": {"schemas": dict(document["components"]["schemas"])}}
    visit = dict(changed["components"]["schemas"]["Visit"])
    visit["properties"] = {**visit["properties"], "mood": {"type": "string"}}
    changed["components"]["schemas"]["Visit"] = visit
    text = gen.render(changed)
    assert "    mood: NotRequired[str]\n" in text
    assert text != Path(models.__file__).read_text()
