"""A ``fieldline worker``-like process for the receipt tests: runs the registered ``ocr.receipt`` kind.

Usage: python -m tests.expenses.ocr_worker_script DB_URL STORE_DIR WORKER_ID HOLD_S

Prints ``ready`` once polling, and ``ocr <media id>`` when a receipt's OCR step starts; the OCR
step then holds ``HOLD_S`` seconds before reading, so a test can kill the process in the middle of
it. Leases last 3 s (heartbeats keep a live worker's lease), so a killed worker's job is claimed
again within seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from typing import Any

from api.db.engine import create_engine, create_session_factory
from api.db.session import Database
from api.expenses import ocr_job
from api.jobs.registry import job_kinds
from api.jobs.worker import JobContext, JobWorker
from media.storage import LocalStorage


def holding(hold_s: float) -> Any:
    real = ocr_job.read_receipt

    def read(data: bytes, content_type: str, options: ocr_job.OcrOptions) -> Any:
        print(f"ocr {len(data)}", flush=True)
        time.sleep(hold_s)
        return real(data, content_type, options)

    return read


async def main(url: str, store: str, worker_id: str, hold_s: str) -> None:
    ocr_job.read_receipt = holding(float(hold_s))  # type: ignore[assignment]
    engine = create_engine(url)
    ctx = JobContext(Database(engine, create_session_factory(engine)), {"storage": LocalStorage(store)})
    kinds = [dataclasses.replace(k, lease_seconds=3) for k in job_kinds() if k.name == ocr_job.KIND]
    worker = JobWorker(ctx, kinds, worker_id=worker_id, poll_interval=0.05)
    print("ready", flush=True)
    try:
        await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
