"""The benchmark scripts rewrite their own section of docs/benchmarks.md and nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_section", ROOT / "bench" / "docs_section.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DOC = "# Benchmarks\n\n## Geo\n\ngeo table\n\n## Load\n\nold load\n\n## Sync\n\nsync table\n"


def test_a_middle_section_is_replaced_and_its_neighbours_kept(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(DOC)
    _module().replace_section("## Load", "## Load\n\nnew load\n", path)
    assert path.read_text() == DOC.replace("old load", "new load")


def test_the_last_section_is_replaced_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(DOC)
    _module().replace_section("## Sync", "## Sync\n\nfaster\n", path)
    assert path.read_text() == DOC.replace("sync table", "faster")


def test_a_missing_section_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(DOC)
    _module().replace_section("## Media", "## Media\n\nphotos\n", path)
    assert path.read_text() == DOC + "\n## Media\n\nphotos\n"


def test_a_heading_that_only_starts_the_same_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(DOC.replace("## Load", "## Loader"))
    _module().replace_section("## Load", "## Load\n\nx\n", path)
    text = path.read_text()
    assert "## Loader\n\nold load" in text
    assert text.endswith("## Load\n\nx\n")
