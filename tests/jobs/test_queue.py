"""The durable job queue: enqueue, claim, complete, retry with backoff, give up, lease takeover."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from api.db.engine import create_engine, write_session
from api.db.session import Database
from api.jobs import queue
from api.jobs.models import Job
from api.jobs.worker import JobContext, JobKind, JobWorker, PermanentJobError, Schedule
from api.lib.clock import utcnow


@pytest.fixture
async def db(session_factory: Any) -> Database:
    return Database(engine=session_factory.kw["bind"], sessions=session_factory)


async def _enqueue(
    db: Database, kind: str = "t.ok", payload: dict[str, Any] | None = None, **kw: Any
) -> bool:
    async with write_session(db.sessions) as session:
        return await queue.enqueue(session, kind, payload or {}, **kw)


async def _jobs(db: Database) -> list[Job]:
    async with db.sessions() as session:
        return list((await session.scalars(select(Job).order_by(Job.created_at))).all())


async def test_enqueue_claim_complete(db: Database) -> None:
    assert await _enqueue(db, payload={"x": 1})
    lease = await queue.claim(db.sessions, "w1", ("t.ok",))
    assert lease is not None
    assert lease.payload == {"x": 1}
    assert lease.attempt == 1
    assert await queue.claim(db.sessions, "w2", ("t.ok",)) is None  # leased, not due
    async with write_session(db.sessions) as session:
        await queue.complete(session, lease)
    [job] = await _jobs(db)
    assert job.status == "done"
    assert job.locked_until is None


async def test_claim_only_asked_kinds_and_due_jobs(db: Database) -> None:
    await _enqueue(db, "t.other")
    await _enqueue(db, "t.ok", run_after=utcnow() + timedelta(hours=1))
    assert await queue.claim(db.sessions, "w", ("t.ok",)) is None


async def test_dedupe_key_makes_enqueue_idempotent(db: Database) -> None:
    assert await _enqueue(db, dedupe_key="receipt:1")
    assert not await _enqueue(db, dedupe_key="receipt:1")
    assert len(await _jobs(db)) == 1


async def test_expired_lease_is_taken_over_and_old_worker_cannot_commit(db: Database) -> None:
    await _enqueue(db)
    first = await queue.claim(db.sessions, "w1", ("t.ok",), lease_seconds=60)
    assert first is not None
    async with write_session(db.sessions) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    second = await queue.claim(db.sessions, "w2", ("t.ok",))
    assert second is not None
    assert second.attempt == 2
    assert second.job_id == first.job_id
    with pytest.raises(queue.LeaseLost):
        async with write_session(db.sessions) as session:
            await queue.complete(session, first)
    async with write_session(db.sessions) as session:
        await queue.complete(session, second)
    assert (await _jobs(db))[0].status == "done"


async def test_failure_requeues_with_backoff_then_fails(db: Database) -> None:
    await _enqueue(db, max_attempts=2)
    lease = await queue.claim(db.sessions, "w", ("t.ok",))
    assert lease is not None
    async with write_session(db.sessions) as session:
        assert not await queue.fail(session, lease, "boom")
    [job] = await _jobs(db)
    assert job.status == "queued"
    assert job.run_after > utcnow()
    assert job.last_error == "boom"
    async with write_session(db.sessions) as session:
        await session.execute(update(Job).values(run_after=utcnow()))
    lease = await queue.claim(db.sessions, "w", ("t.ok",))
    assert lease is not None
    assert lease.attempt == 2
    async with write_session(db.sessions) as session:
        assert await queue.fail(session, lease, "boom again")
    assert (await _jobs(db))[0].status == "failed"


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    samples = [max(queue.backoff_seconds(a, rng=rng) for _ in range(200)) for a in (1, 4, 20)]
    assert samples[0] <= 4.0 < samples[1] <= 32.0
    assert samples[2] <= queue.MAX_BACKOFF_S


class Recorder:
    def __init__(self, fail_times: int = 0, permanent: bool = False) -> None:
        self.calls: list[int] = []
        self.gave_up: list[str] = []
        self.fail_times = fail_times
        self.permanent = permanent

    async def run(self, ctx: JobContext, lease: queue.Lease) -> None:
        self.calls.append(lease.attempt)
        if len(self.calls) <= self.fail_times:
            raise (PermanentJobError("bad input") if self.permanent else RuntimeError("flaky"))

    async def give_up(self, ctx: JobContext, lease: queue.Lease, error: str) -> None:
        self.gave_up.append(error)


async def _drain(worker: JobWorker, db: Database, rounds: int = 10) -> None:
    for _ in range(rounds):
        async with write_session(db.sessions) as session:  # skip the backoff waits
            await session.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow()))
        if not await worker.run_once():
            return


async def test_worker_retries_then_succeeds(db: Database) -> None:
    rec = Recorder(fail_times=2)
    worker = JobWorker(JobContext(db), [JobKind("t.ok", rec.run, rec.give_up)])
    await _enqueue(db)
    await _drain(worker, db)
    assert rec.calls == [1, 2, 3]
    assert rec.gave_up == []
    assert (await _jobs(db))[0].status == "done"


async def test_worker_gives_up_after_max_attempts(db: Database) -> None:
    rec = Recorder(fail_times=99)
    observed: list[tuple[str, str]] = []
    worker = JobWorker(
        JobContext(db),
        [JobKind("t.ok", rec.run, rec.give_up)],
        observer=lambda k, s, o: observed.append((k, o)),
    )
    await _enqueue(db, max_attempts=3)
    await _drain(worker, db)
    assert rec.calls == [1, 2, 3]
    assert rec.gave_up == ["RuntimeError: flaky"]
    assert observed == [("t.ok", "retry"), ("t.ok", "retry"), ("t.ok", "failed")]
    assert (await _jobs(db))[0].status == "failed"


async def test_permanent_error_fails_at_once(db: Database) -> None:
    rec = Recorder(fail_times=1, permanent=True)
    worker = JobWorker(JobContext(db), [JobKind("t.ok", rec.run, rec.give_up)])
    await _enqueue(db)
    await _drain(worker, db)
    assert rec.calls == [1]
    assert rec.gave_up == ["PermanentJobError: bad input"]


async def test_exhausted_expired_lease_gives_up_without_running(db: Database) -> None:
    rec = Recorder()
    worker = JobWorker(JobContext(db), [JobKind("t.ok", rec.run, rec.give_up)])
    await _enqueue(db, max_attempts=1)
    lease = await queue.claim(db.sessions, "dead-worker", ("t.ok",))
    assert lease is not None
    async with write_session(db.sessions) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert await worker.run_once()
    assert rec.calls == []
    assert len(rec.gave_up) == 1
    assert (await _jobs(db))[0].status == "failed"


async def test_schedule_enqueues_once_per_bucket_across_workers(db: Database) -> None:
    rec = Recorder()
    kinds = [JobKind("t.ok", rec.run)]
    a = JobWorker(JobContext(db), kinds, schedules=[Schedule("t.ok", every_s=3600)])
    b = JobWorker(JobContext(db), kinds, schedules=[Schedule("t.ok", every_s=3600)])
    await a.enqueue_schedules()
    await b.enqueue_schedules()
    await a.enqueue_schedules()
    assert len(await _jobs(db)) == 1


async def test_prune_keeps_failed_and_recent(db: Database) -> None:
    for status, age in (("done", 30), ("done", 1), ("failed", 30)):
        async with write_session(db.sessions) as session:
            await queue.enqueue(session, "t.ok", {}, dedupe_key=f"{status}{age}")
            await session.execute(
                update(Job)
                .where(Job.dedupe_key == f"{status}{age}")
                .values(status=status, updated_at=utcnow() - timedelta(days=age))
            )
    async with write_session(db.sessions) as session:
        assert await queue.prune_finished(session, utcnow() - timedelta(days=7)) == 1
    assert sorted((j.status, j.dedupe_key) for j in await _jobs(db)) == [
        ("done", "done1"),
        ("failed", "failed30"),
    ]


async def test_queue_depth_counts_by_kind_and_status(db: Database) -> None:
    await _enqueue(db, "a")
    await _enqueue(db, "a")
    await _enqueue(db, "b")
    async with db.sessions() as session:
        assert await queue.queue_depth(session) == {("a", "queued"): 2, ("b", "queued"): 1}


async def test_two_workers_in_one_process_never_run_a_job_twice(db: Database, settings: Any) -> None:
    seen: list[uuid.UUID] = []

    async def run(ctx: JobContext, lease: queue.Lease) -> None:
        seen.append(lease.job_id)

    engine2 = create_engine(settings.database_url)
    from api.db.engine import create_session_factory

    db2 = Database(engine2, create_session_factory(engine2))
    try:
        for _ in range(20):
            await _enqueue(db)
        w1 = JobWorker(JobContext(db), [JobKind("t.ok", run)])
        w2 = JobWorker(JobContext(db2), [JobKind("t.ok", run)])
        import anyio

        async def drain(w: JobWorker) -> None:
            while await w.run_once():
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, w1)
            tg.start_soon(drain, w2)
    finally:
        await engine2.dispose()
    assert len(seen) == 20
    assert len(set(seen)) == 20
    assert {j.status for j in await _jobs(db)} == {"done"}
