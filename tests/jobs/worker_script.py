"""A worker process for the job-queue tests: runs ``test.record`` jobs, each writing one row.

Usage: python -m tests.jobs.worker_script DB_URL WORKER_ID SLEEP_S
The handler sleeps ``SLEEP_S`` (so a test can kill it mid-job), then inserts a ``tenants`` row
named after the job and completes the job in the same transaction.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import anyio

from api.db.engine import create_engine, create_session_factory, write_session
from api.db.session import Database
from api.jobs import queue
from api.jobs.worker import JobContext, JobKind, JobWorker
from api.tenancy.models import Tenant


async def record(ctx: JobContext, lease: queue.Lease) -> None:
    await anyio.sleep(float(ctx.services["sleep"]))
    async with write_session(ctx.db.sessions) as session:
        session.add(
            Tenant(
                id=uuid.uuid4(),
                slug=f"job-{lease.payload['n']}-{uuid.uuid4().hex[:6]}",
                name=f"job-{lease.payload['n']}",
                timezone="UTC",
                settings={"by": ctx.services["worker"]},
            )
        )
        await session.flush()
        await queue.complete(session, lease)


async def main(url: str, worker_id: str, sleep_s: str) -> None:
    engine = create_engine(url)
    ctx = JobContext(
        Database(engine, create_session_factory(engine)), {"sleep": sleep_s, "worker": worker_id}
    )
    worker = JobWorker(
        ctx, [JobKind("test.record", record, lease_seconds=3)], worker_id=worker_id, poll_interval=0.05
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
