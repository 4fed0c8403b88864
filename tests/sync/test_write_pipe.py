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


async def test_waited_counts_the_time_callers_spent_waiting_for_the_database() -> None:
    log: list[str] = []
    pipe = WritePipe(session="the session")  # type: ignore[arg-type]
    pipe.send(_write(log, "a", delay=0.05))
    await asyncio.sleep(0.03)  # the caller works meanwhile: not waiting
    await pipe.drain()
    first = pipe.waited
    assert 0.01 <= first < 0.045

    async def read(session: Any) -> str:
        log.append("read")
        await asyncio.sleep(0.02)
        return f"rows of {session}"

    pipe.send(_write(log, "b", delay=0.01))
    assert await pipe.call(read) == "rows of the session"
    assert log[-3:] == ["start b", "done b", "read"]  # the read waits for the writes sent before it
    assert pipe.waited - first >= 0.03
    await pipe.drain()  # nothing on its way: no wait
    assert pipe.waited - first < 0.1


async def test_a_failed_read_is_counted_and_raised() -> None:
    pipe = WritePipe(session=None)  # type: ignore[arg-type]

    async def read(session: Any) -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("read failed")

    with pytest.raises(RuntimeError, match="read failed"):
        await pipe.call(read)
    assert pipe.waited >= 0.01
