"""Writes of one transaction, sent in order by a background task.

The writer decides a batch in steps. Each step's writes, their parameters already taken from the
rows, go to a :class:`WritePipe`, which sends them one after another while the writer decides the
next step: the database applies one part of a push while Python merges the next.

Whoever else uses the session waits for the pipe first (:meth:`WritePipe.drain`, or
:meth:`WritePipe.call` for a read). A failed write fails every write sent after it (they are never
sent: the transaction is lost anyway), and its error is raised by the next :meth:`~WritePipe.drain`.

The pipe also counts how long its users waited for the database (:attr:`WritePipe.waited`): the
part of a push spent on PostgreSQL rather than on deciding.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from sync.rows import Write

T = TypeVar("T")


class WritePipe:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._tail: asyncio.Future[None] | None = None
        #: Seconds spent waiting in :meth:`drain`, :meth:`settle` and :meth:`call`.
        self.waited = 0.0

    @property
    def busy(self) -> bool:
        """Writes are still being sent."""
        return self._tail is not None and not self._tail.done()

    def send(self, write: Write | None) -> None:
        """Send ``write`` after every write sent before it."""
        if write is None:
            return
        previous = self._tail

        async def run() -> None:
            if previous is not None:
                await previous
            await write(self.session)

        self._tail = asyncio.ensure_future(run())

    async def drain(self) -> None:
        """Wait until every write is done; raises the first write's error."""
        tail, self._tail = self._tail, None
        if tail is not None:
            started = perf_counter()
            try:
                await tail
            finally:
                self.waited += perf_counter() - started

    async def settle(self) -> None:
        """Wait until every write is done or failed, errors ignored (the caller is failing)."""
        tail, self._tail = self._tail, None
        if tail is not None:
            started = perf_counter()
            with contextlib.suppress(Exception):
                await tail
            self.waited += perf_counter() - started

    async def call(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` (a read) on the session once every write is done, and return its result."""
        await self.drain()
        started = perf_counter()
        try:
            return await work(self.session)
        finally:
            self.waited += perf_counter() - started
