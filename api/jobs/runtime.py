"""Builds the worker a process runs: in the API's lifespan (embedded default) or ``fieldline worker``."""

from __future__ import annotations

from typing import Any

from api.db.session import Database
from api.jobs.registry import job_kinds, schedules
from api.jobs.worker import JobContext, JobWorker
from api.media.runtime import worker_services
from api.observability.metrics import observe_job
from api.settings import Settings


def build_worker(db: Database, settings: Settings, services: dict[str, Any] | None = None) -> JobWorker:
    ctx = JobContext(db=db, services={"settings": settings, **worker_services(settings, services)})
    return JobWorker(
        ctx,
        job_kinds(),
        concurrency=settings.worker_concurrency,
        poll_interval=settings.worker_poll_interval_s,
        schedules=schedules(),
        observer=observe_job,
    )
