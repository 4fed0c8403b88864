"""The write pipe sends writes in order, in the background, and reports the first failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sync.write_pipe import WritePipe


def _write(log: list[str], name: str, *, delay: float = 0.0, fail: bool = False) -> Any:
    async def write(session: Any) -> None:
        log.append(f"start {name}")
        await asyncio.sleep(delay)
        if fail:
            raise RuntimeError(f"{name} failed")
        log.append(f"done {name}")

    return write


async def test_writes_run_one_after_another_in_the_order_sent() -> None:
    log: list[str] = []
    pipe = WritePipe(session=None)  # type: ignore[arg-type]
    pipe.send(_write(log, "a", delay=0.02))
    pipe.send(_write(log, "b"))
    pipe.send(None)  # nothing to write
    pipe.send(_write(log, "c", delay=0.01))
    assert pipe.busy
    log.append("caller goes on")  # the caller is not held up by the writes
    await pipe.drain()
    assert not pipe.busy
    assert log == ["caller goes on", "start a", "done a", "start b", "done b", "start c", "done c"]


async def test_a_failed_write_stops_the_later_ones_and_drain_raises_it() -> None:
    log: list[str] = []
    pipe = WritePipe(session=None)  # type: ignore[arg-type]
    pipe.send(_write(log, "a"))
    pipe.send(_write(log, "b", fail=True))
    pipe.send(_write(log, "c"))
    with pytest.raises(RuntimeError, match="b failed"):
        await pipe.drain()
    assert log == ["start a", "done a", "start b"]
    await pipe.drain()  # nothing left


async def test_settle_waits_for_the_writes_and_swallows_their_error() -> None:
    log: list[str] = []
    pipe = WritePipe(session=None)  # type: ignore[arg-type]
    pipe.send(_write(log, "a", delay=0.01, fail=True))
    pipe.send(_write(log, "b"))
    await pipe.settle()
    assert log == ["start a"]
    assert not pipe.busy
