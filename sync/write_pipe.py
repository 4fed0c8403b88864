"""Writes of one transaction, sent in order by a background task.

The writer decides a batch in steps. Each step's writes, their parameters already taken from the
rows, go to a :class:`WritePipe`, which sends them one after another while the writer decides the
next step: the database applies one part of a push while Python merges the next.

Whoever else uses the session waits for the pipe first (:meth:`WritePipe.drain`). A failed write
fails every write sent after it (they are never sent: the transaction is lost anyway), and its
error is raised by the next :meth:`~WritePipe.drain`.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncSession

from sync.rows import Write


class WritePipe:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._tail: asyncio.Future[None] | None = None

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
            await tail

    async def settle(self) -> None:
        """Wait until every write is done or failed, errors ignored (the caller is failing)."""
        tail, self._tail = self._tail, None
        if tail is not None:
            with contextlib.suppress(Exception):
                await tail
