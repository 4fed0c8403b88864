"""The worker's registry: every scheduled kind has a handler, and housekeeping jobs run to completion."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.db.engine import write_session
from api.db.session import Database
from api.jobs import queue
from api.jobs.models import Job
from api.jobs.registry import job_kinds, schedules
from api.jobs.runtime import build_worker


def test_every_schedule_has_a_handler_and_names_are_unique() -> None:
    names = [k.name for k in job_kinds()]
    assert len(names) == len(set(names))
    assert {s.kind for s in schedules()} <= set(names)


async def test_housekeeping_jobs_complete(settings: Any, session_factory: Any, world: Any) -> None:
    db = Database(engine=session_factory.kw["bind"], sessions=session_factory)
    worker = build_worker(db, settings)
    await worker.enqueue_schedules()
    for _ in range(10):
        if not await worker.run_once():
            break
    async with session_factory() as session:
        jobs = {j.kind: j for j in (await session.scalars(select(Job))).all()}
    assert {s.kind for s in schedules()} <= set(jobs)
    assert {k: j.status for k, j in jobs.items()} == {k: "done" for k in jobs}
    # A second pass in the same period enqueues nothing new.
    await worker.enqueue_schedules()
    async with write_session(session_factory) as session:
        assert await queue.queue_depth(session) == {(k, "done"): 1 for k in jobs}
