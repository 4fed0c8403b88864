"""Receipt OCR in worker processes: a worker killed mid-OCR, and several workers on PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from media.ocr.recognize import available_languages
from media.storage import LocalStorage
from tests.conftest import ENGINE
from tests.expenses.receipts import Receipts, codes
from tests.expenses.test_ocr_job import english

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "tests.expenses.ocr_worker_script"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif("eng" not in available_languages(), reason="needs tesseract with eng"),
]


def _start(db_url: str, store: Path, worker_id: str, hold_s: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", SCRIPT, db_url, str(store), worker_id, str(hold_s)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(15)


async def _wait_for(predicate: Any, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def _all_done(receipts: Receipts, n: int) -> bool:
    jobs = await receipts.jobs()
    return len(jobs) == n and all(job.status == "done" for job in jobs)


async def test_worker_killed_mid_ocr_is_redone_exactly_once(
    db_url: str, receipts: Receipts, storage: LocalStorage
) -> None:
    expense_id = await receipts.upload(english().jpeg())
    doomed = _start(db_url, storage.root, "doomed", 60.0)
    try:
        assert doomed.stdout is not None
        with anyio.fail_after(60):
            line = await anyio.to_thread.run_sync(doomed.stdout.readline)
        assert line.startswith("ocr ")  # the OCR step has begun
        assert [j.status for j in await receipts.jobs()] == ["running"]
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    assert (await receipts.expense(expense_id)).status == "processing"
    heir = _start(db_url, storage.root, "heir", 0.0)
    try:
        await _wait_for(lambda: _all_done(receipts, 1))
    finally:
        _stop([heir])
    [job] = await receipts.jobs()
    assert job.attempts == 2
    assert job.locked_by == "heir"
    assert len(await receipts.scans(expense_id)) == 1
    expense = await receipts.expense(expense_id)
    assert expense.status == "needs_review"
    assert expense.total == "31.64"
    assert codes(expense) == []


@pytest.mark.skipif(ENGINE != "postgres", reason="several worker processes: the PostgreSQL deployment")
async def test_several_worker_processes_process_each_receipt_once(
    db_url: str, receipts: Receipts, storage: LocalStorage
) -> None:
    expense_ids = [await receipts.upload(english(days_ago=i + 1, seed=i).jpeg()) for i in range(4)]
    procs = [_start(db_url, storage.root, f"w{i}", 0.0) for i in range(3)]
    try:
        await _wait_for(lambda: _all_done(receipts, 4))
    finally:
        _stop(procs)
    jobs = await receipts.jobs()
    assert [job.attempts for job in jobs] == [1, 1, 1, 1]
    assert {job.locked_by for job in jobs} <= {"w0", "w1", "w2"}
    for expense_id in expense_ids:
        assert len(await receipts.scans(expense_id)) == 1
        expense = await receipts.expense(expense_id)
        assert expense.status == "needs_review"
        assert expense.total == "31.64"
        assert codes(expense) == []


async def test_the_api_process_reads_receipts_itself_by_default(settings: Any, receipts: Receipts) -> None:
    """The embedded default (``FIELDLINE_RUN_WORKER=1``): the API's lifespan runs the worker, which
    finds the storage from the settings."""
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    embedded = dataclasses.replace(settings, run_worker=True, worker_poll_interval_s=0.05)
    receipts.storage = LocalStorage(embedded.media_root, fsync=False)
    async with AsyncTestClient(app=create_app(embedded)):
        expense_id = await receipts.upload(english().jpeg())

        async def read() -> bool:
            return (await receipts.expense(expense_id)).status == "needs_review"

        await _wait_for(read)
    expense = await receipts.expense(expense_id)
    assert expense.total == "31.64"
    assert [(j.status, j.attempts) for j in await receipts.jobs()] == [("done", 1)]
