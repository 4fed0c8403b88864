"""The job worker: claims due jobs, runs their handler, records the outcome.

Runs in-process next to the API on the embedded default (``FIELDLINE_RUN_WORKER=1``) and as
``fieldline worker`` processes in production, any number of them against one PostgreSQL database.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import exists, select

from api.db.engine import write_session
from api.db.session import Database
from api.jobs import queue
from api.jobs.models import Job
from api.lib.clock import utcnow

log = logging.getLogger("fieldline.jobs")


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad input); the job fails at once."""


@dataclass
class JobContext:
    """What handlers get: the database and the process's shared services (storage, settings…)."""

    db: Database
    services: dict[str, Any] = field(default_factory=dict)


JobRun = Callable[[JobContext, queue.Lease], Awaitable[None]]
JobGiveUp = Callable[[JobContext, queue.Lease, str], Awaitable[None]]
JobObserver = Callable[[str, float, str], None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job and its handler.

    ``run`` should commit its result together with :func:`api.jobs.queue.complete` in one
    transaction (exactly-once effect); if it returns without doing so the worker completes the job.
    ``on_give_up`` runs once when the job finally fails, so no record is left waiting forever.
    """

    name: str
    run: JobRun
    on_give_up: JobGiveUp | None = None
    lease_seconds: float = 120.0


@dataclass(frozen=True)
class Schedule:
    """Enqueue ``kind`` once every ``every_s`` seconds across all workers (deduplicated by time bucket)."""

    kind: str
    every_s: float
    payload: dict[str, Any] = field(default_factory=dict)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobWorker:
    def __init__(
        self,
        ctx: JobContext,
        kinds: Sequence[JobKind],
        *,
        worker_id: str | None = None,
        concurrency: int = 1,
        poll_interval: float = 1.0,
        schedules: Sequence[Schedule] = (),
        observer: JobObserver | None = None,
    ) -> None:
        self.ctx = ctx
        self.kinds = {k.name: k for k in kinds}
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.schedules = tuple(schedules)
        self.observer = observer
        self._wake = anyio.Event()
        self._stopping = False
        self._buckets: dict[str, int] = {}
        #: Set when :meth:`run` has returned (after :meth:`stop`, the current jobs finish first).
        self.stopped = anyio.Event()

    # -- control -----------------------------------------------------------------------------------
    def wake(self) -> None:
        """Look for work now instead of at the next poll (called after enqueueing in-process)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # -- one step ----------------------------------------------------------------------------------
    async def _anything_due(self) -> bool:
        """A cheap read before taking the write lock a claim needs."""
        now = utcnow()
        async with self.ctx.db.sessions() as session:
            due = queue.due_filter(tuple(self.kinds), now)
            return bool(await session.scalar(select(exists().where(due))))

    async def run_once(self) -> bool:
        """Claim and run one job; False when nothing was due."""
        if not await self._anything_due():
            return False
        lease = await queue.claim(
            self.ctx.db.sessions,
            self.worker_id,
            tuple(self.kinds),
            lease_seconds=max(k.lease_seconds for k in self.kinds.values()),
        )
        if lease is None:
            return False
        kind = self.kinds[lease.kind]
        if lease.exhausted:
            await self._give_up(kind, lease, "the worker stopped during the last attempt")
            return True
        started = time.perf_counter()
        outcome = "done"
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._heartbeat, lease, kind.lease_seconds)
            try:
                await kind.run(self.ctx, lease)
            except Exception as exc:  # any handler failure is recorded on the job
                failure = exc
            finally:
                tg.cancel_scope.cancel()
        if isinstance(failure, queue.LeaseLost):
            outcome = "lease_lost"
            log.warning("job %s (%s): lease lost, result discarded", lease.job_id, lease.kind)
        elif failure is not None:
            outcome = await self._record_failure(kind, lease, failure)
        else:
            try:
                async with write_session(self.ctx.db.sessions) as session:
                    await queue.complete(session, lease)
            except queue.LeaseLost:
                pass  # the handler completed it in its own transaction (or the lease moved on)
        if self.observer is not None:
            self.observer(lease.kind, time.perf_counter() - started, outcome)
        return True

    async def _record_failure(self, kind: JobKind, lease: queue.Lease, failure: Exception) -> str:
        permanent = isinstance(failure, PermanentJobError)
        error = f"{type(failure).__name__}: {failure}"
        log.warning("job %s (%s) attempt %d failed: %s", lease.job_id, lease.kind, lease.attempt, error)
        log.debug("%s", "".join(traceback.format_exception(failure)))
        try:
            async with write_session(self.ctx.db.sessions) as session:
                final = await queue.fail(session, lease, error, permanent=permanent)
        except queue.LeaseLost:
            return "lease_lost"
        if not final:
            return "retry"
        await self._give_up(kind, lease, error)
        return "failed"

    async def _give_up(self, kind: JobKind, lease: queue.Lease, error: str) -> None:
        if lease.exhausted:
            async with write_session(self.ctx.db.sessions) as session:
                await queue.fail(session, lease, error, permanent=True)
        if kind.on_give_up is not None:
            try:
                await kind.on_give_up(self.ctx, lease, error)
            except Exception:
                log.exception("job %s (%s): give-up handler failed", lease.job_id, lease.kind)

    async def _heartbeat(self, lease: queue.Lease, lease_seconds: float) -> None:
        while True:
            await anyio.sleep(lease_seconds / 3)
            if not await queue.extend(self.ctx.db.sessions, lease, lease_seconds):
                return

    async def enqueue_schedules(self) -> None:
        now = time.time()
        for sched in self.schedules:
            bucket = int(now // sched.every_s)
            if self._buckets.get(sched.kind) == bucket:
                continue
            async with write_session(self.ctx.db.sessions) as session:
                await queue.enqueue(
                    session, sched.kind, dict(sched.payload), dedupe_key=f"{sched.kind}@{bucket}"
                )
            self._buckets[sched.kind] = bucket

    # -- loops -------------------------------------------------------------------------------------
    async def _loop(self) -> None:
        failing = False
        while not self._stopping:
            try:
                if self.schedules:
                    await self.enqueue_schedules()
                worked = await self.run_once()
            except Exception:
                # The database may be restarting: log the first failure of a streak, keep polling.
                (log.debug if failing else log.exception)("job worker %s: poll failed", self.worker_id)
                failing, worked = True, False
            else:
                failing = False
            if worked:
                continue
            with anyio.move_on_after(self.poll_interval):
                await self._wake.wait()
            if self._wake.is_set() and not self._stopping:
                self._wake = anyio.Event()

    async def run(self) -> None:
        """Poll until :meth:`stop` (or cancellation)."""
        log.info(
            "job worker %s: kinds=%s concurrency=%d", self.worker_id, sorted(self.kinds), self.concurrency
        )
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(self.concurrency):
                    tg.start_soon(self._loop)
        finally:
            self.stopped.set()

    async def shutdown(self, grace_s: float = 10.0) -> None:
        """Stop polling and let running jobs finish (up to ``grace_s``); cancel after that."""
        self.stop()
        with anyio.move_on_after(grace_s):
            await self.stopped.wait()


async def job_status(db: Database, job_id: uuid.UUID) -> str | None:
    async with db.sessions() as session:
        return await session.scalar(select(Job.status).where(Job.id == job_id))
