"""Server-side consequences of accepted writes, run inside the writer's transaction.

- A visit whose ``check_in`` changed gets a fresh ``check_in_verdict`` (see :mod:`geo.verdicts`).
"""

from __future__ import annotations

from typing import Any

from sync.writer import AfterMerge


def after_merge_hooks(state: Any) -> list[AfterMerge]:
    hooks: list[AfterMerge] = []
    try:
        from geo.verdicts import check_in_verdict_hook
    except ImportError:  # pragma: no cover - geo verdicts not installed
        return hooks
    hooks.append(check_in_verdict_hook)
    return hooks
