"""A durable job queue in the ``jobs`` table.

The pattern (documented in docs/jobs.md):

- ``enqueue`` inserts a row in the caller's transaction, so a job exists exactly when the write that
  needs it commits. A ``dedupe_key`` makes enqueueing idempotent (``ON CONFLICT DO NOTHING``).
- ``claim`` leases one due job in its own short transaction: ``queued`` rows whose ``run_after`` has
  passed, or ``running`` rows whose lease expired (their worker died). On PostgreSQL the candidate is
  picked with ``FOR UPDATE SKIP LOCKED`` so any number of worker processes never claim the same row;
  on SQLite the claim runs under ``BEGIN IMMEDIATE`` (one writer at a time).
- Each claim increments ``attempts``. A handler finishes by calling :func:`complete` *in the same
  transaction as its result*; the update is fenced on ``(locked_by, attempts)``, so a worker whose
  lease was taken over cannot commit a second result (:class:`LeaseLost`).
- A failure re-queues with exponential backoff until ``max_attempts``, then the job is ``failed``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db.engine import write_session
from api.jobs.models import Job
from api.lib.clock import utcnow

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"

#: Longest wait between retries, seconds.
MAX_BACKOFF_S = 600.0


class LeaseLost(RuntimeError):
    """The job's lease passed to another worker; this worker's result must not commit."""


@dataclass(frozen=True)
class Lease:
    """One claimed job, as the worker sees it."""

    job_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    tenant_id: uuid.UUID | None
    attempt: int
    max_attempts: int
    worker_id: str

    @property
    def exhausted(self) -> bool:
        """Claimed beyond its last attempt (a worker died during the final one)."""
        return self.attempt > self.max_attempts


def backoff_seconds(attempt: int, *, base: float = 2.0, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in ``[0, min(cap, base * 2**attempt)]``, at least 1 s."""
    ceiling = min(MAX_BACKOFF_S, base * (2 ** max(attempt, 0)))
    return max(1.0, (rng or random).uniform(0, ceiling))


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    tenant_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> bool:
    """Add a job in the caller's transaction. Returns False when ``dedupe_key`` already exists."""
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "kind": kind,
        "payload": payload,
        "status": QUEUED,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or now,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def due_filter(kinds: tuple[str, ...], now: datetime) -> Any:
    return and_(
        Job.kind.in_(kinds),
        or_(
            and_(Job.status == QUEUED, Job.run_after <= now),
            and_(Job.status == RUNNING, Job.locked_until < now),
        ),
    )


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    worker_id: str,
    kinds: tuple[str, ...],
    *,
    lease_seconds: float = 120.0,
) -> Lease | None:
    """Lease the oldest due job of ``kinds`` for ``lease_seconds``; ``None`` when nothing is due."""
    now = utcnow()
    async with write_session(sessions) as session:
        candidate = (
            select(Job.id)
            .where(due_filter(kinds, now))
            .order_by(Job.run_after)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(Job)
            .where(Job.id == candidate, due_filter(kinds, now))
            .values(
                status=RUNNING,
                attempts=Job.attempts + 1,
                locked_by=worker_id,
                locked_until=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
            .returning(Job.id, Job.kind, Job.payload, Job.tenant_id, Job.attempts, Job.max_attempts)
            .execution_options(synchronize_session=False)
        )
        row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return Lease(
        job_id=row.id,
        kind=row.kind,
        payload=dict(row.payload or {}),
        tenant_id=row.tenant_id,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        worker_id=worker_id,
    )


def _fenced(lease: Lease) -> Any:
    return and_(
        Job.id == lease.job_id,
        Job.status == RUNNING,
        Job.locked_by == lease.worker_id,
        Job.attempts == lease.attempt,
    )


async def complete(session: AsyncSession, lease: Lease) -> None:
    """Mark the job done in the caller's transaction; raises :class:`LeaseLost` if it is not ours."""
    now = utcnow()
    result = await session.execute(
        update(Job)
        .where(_fenced(lease))
        .values(status=DONE, locked_until=None, last_error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise LeaseLost(str(lease.job_id))


async def fail(
    session: AsyncSession, lease: Lease, error: str, *, permanent: bool = False, retry_in: float | None = None
) -> bool:
    """Record a failed attempt; re-queue with backoff unless permanent or out of attempts.

    Returns True when the job is now finally ``failed``.
    """
    now = utcnow()
    final = permanent or lease.attempt >= lease.max_attempts
    values: dict[str, Any] = {
        "last_error": error[:2000],
        "locked_by": None,
        "locked_until": None,
        "updated_at": now,
    }
    if final:
        values["status"] = FAILED
    else:
        delay = retry_in if retry_in is not None else backoff_seconds(lease.attempt)
        values.update(status=QUEUED, run_after=now + timedelta(seconds=delay))
    result = await session.execute(
        update(Job).where(_fenced(lease)).values(**values).execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise LeaseLost(str(lease.job_id))
    return final


async def extend(sessions: async_sessionmaker[AsyncSession], lease: Lease, lease_seconds: float) -> bool:
    """Push the lease's expiry forward while a long job runs; False if the lease was lost."""
    async with write_session(sessions) as session:
        result = await session.execute(
            update(Job)
            .where(_fenced(lease))
            .values(locked_until=utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def queue_depth(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Jobs per ``(kind, status)`` — for metrics and the admin view."""
    rows = await session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
    return {(kind, status): int(n) for kind, status, n in rows}


async def prune_finished(session: AsyncSession, older_than: datetime, *, batch: int = 5000) -> int:
    """Delete ``done`` jobs last touched before ``older_than`` (failed ones are kept for inspection)."""
    ids = (
        await session.scalars(
            select(Job.id).where(Job.status == DONE, Job.updated_at < older_than).limit(batch)
        )
    ).all()
    if not ids:
        return 0
    await session.execute(delete(Job).where(Job.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)
