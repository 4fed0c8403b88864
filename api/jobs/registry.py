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
from api.media.render import render_failed, render_media, sweep_uploads

#: Finished jobs are kept this long for inspection.
KEEP_DONE_JOBS = timedelta(days=7)


async def prune_sync_history(ctx: JobContext, lease: queue.Lease) -> None:
    """Tombstones, evictions and change records older than the history window (cursor_expired after)."""
    from sync.history import prune_history

    settings = ctx.services["settings"]
    async with ctx.db.sessions() as session:
        await prune_history(session, utcnow(), settings.sync_history_days)


async def prune_jobs(ctx: JobContext, lease: queue.Lease) -> None:
    async with write_session(ctx.db.sessions) as session:
        while await queue.prune_finished(session, utcnow() - KEEP_DONE_JOBS):
            pass
        await queue.complete(session, lease)


def job_kinds() -> list[JobKind]:
    return [
        JobKind("jobs.prune", prune_jobs),
        JobKind("sync.prune", prune_sync_history, lease_seconds=600.0),
        JobKind("media.render", render_media, on_give_up=render_failed, lease_seconds=300.0),
        JobKind("media.sweep_uploads", sweep_uploads),
        receipt_ocr_kind(),
    ]


def schedules() -> list[Schedule]:
    return [
        Schedule("jobs.prune", every_s=24 * 3600),
        Schedule("sync.prune", every_s=24 * 3600),
        Schedule("media.sweep_uploads", every_s=3600),
    ]
