"""Every job kind the worker knows, and the periodic jobs it schedules.

Kinds are registered here (one line each) so the in-process worker and ``fieldline worker``
processes run the same set.
"""

from __future__ import annotations

from datetime import timedelta

from api.db.engine import write_session
from api.expenses.ocr_job import receipt_ocr_kind
from api.jobs import queue
from api.jobs.worker import JobContext, JobKind, Schedule
from api.lib.clock import utcnow

#: Finished jobs are kept this long for inspection.
KEEP_DONE_JOBS = timedelta(days=7)


async def prune_jobs(ctx: JobContext, lease: queue.Lease) -> None:
    async with write_session(ctx.db.sessions) as session:
        while await queue.prune_finished(session, utcnow() - KEEP_DONE_JOBS):
            pass
        await queue.complete(session, lease)


def job_kinds() -> list[JobKind]:
    return [
        JobKind("jobs.prune", prune_jobs),
        receipt_ocr_kind(),
    ]


def schedules() -> list[Schedule]:
    return [
        Schedule("jobs.prune", every_s=24 * 3600),
    ]
