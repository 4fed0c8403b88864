"""The server keeps its startup objects out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from api.lib.heap import YOUNG_THRESHOLD, frozen_heap


def test_objects_alive_at_startup_are_frozen_until_the_server_stops() -> None:
    kept = [object() for _ in range(10)]
    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    with frozen_heap():
        assert gc.get_freeze_count() >= len(kept)
        # Request work allocates many short-lived containers: the young generation waits longer.
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


async def test_the_app_freezes_its_heap_while_it_serves(app) -> None:
    async with app.lifespan():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
