"""Worker processes against one database: no job runs twice, and a killed worker's job is redone once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.db.engine import write_session
from api.jobs import queue
from api.jobs.models import Job
from api.tenancy.models import Tenant

ROOT = Path(__file__).resolve().parents[2]


def _start(db_url: str, worker_id: str, sleep_s: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.worker_script", db_url, worker_id, str(sleep_s)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


async def _wait_for(predicate: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _enqueue_many(session_factory: Any, n: int) -> None:
    async with write_session(session_factory) as session:
        for i in range(n):
            await queue.enqueue(session, "test.record", {"n": i})


async def _count(session_factory: Any, stmt: Any) -> int:
    async with session_factory() as session:
        return int(await session.scalar(stmt) or 0)


async def test_three_worker_processes_run_each_job_once(db_url: str, session_factory: Any) -> None:
    await _enqueue_many(session_factory, 30)
    procs = [_start(db_url, f"w{i}", 0.01) for i in range(3)]
    try:

        async def all_done() -> bool:
            return await _count(session_factory, select(func.count()).where(Job.status == "done")) == 30

        await _wait_for(all_done)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    async with session_factory() as session:
        names = (await session.scalars(select(Tenant.name).where(Tenant.name.like("job-%")))).all()
        workers = {t.settings["by"] for t in (await session.scalars(select(Tenant))).all() if t.settings}
    assert len(names) == 30
    assert sorted(names) == sorted(f"job-{i}" for i in range(30))
    assert workers <= {"w0", "w1", "w2"}


async def test_worker_killed_mid_job_is_redone_exactly_once(db_url: str, session_factory: Any) -> None:
    await _enqueue_many(session_factory, 1)
    first = _start(db_url, "doomed", 30.0)

    async def running() -> bool:
        return await _count(session_factory, select(func.count()).where(Job.status == "running")) == 1

    try:
        await _wait_for(running)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = _start(db_url, "heir", 0.0)
    try:

        async def done() -> bool:
            return await _count(session_factory, select(func.count()).where(Job.status == "done")) == 1

        await _wait_for(done)
    finally:
        second.terminate()
        second.wait(10)
    async with session_factory() as session:
        rows = (await session.scalars(select(Tenant).where(Tenant.name == "job-0"))).all()
        job = await session.scalar(select(Job))
    assert [r.settings["by"] for r in rows] == ["heir"]
    assert job is not None
    assert job.attempts == 2
