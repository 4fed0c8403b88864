"""Prometheus metrics beyond Litestar's per-route request metrics.

- ``fieldline_sync_push_batch_size`` / ``fieldline_sync_pull_page_size``: histograms of mutations
  per push and changes per pull page.
- ``fieldline_sync_mutations_total{status}``: pushed mutations by result status.
- ``fieldline_sync_push_seconds{part}``: where each push's time went: ``lock``, ``db`` (waiting
  for the database while applying), ``commit`` and ``app`` (see :mod:`sync.push_timing`).
- ``fieldline_sync_conflicts_total{entity,reason}``: every loss reported to a phone: field
  conflicts (``kept_server``, ``overwrote``, ``read_only``, ``locked``, ``invalid_transition``)
  and rejected mutations (their error code). Retries (``duplicate``) are not counted again.
- ``fieldline_jobs{kind,status}`` and ``fieldline_job_oldest_queued_seconds{kind}``: the job
  queue, counted in the database when Prometheus scrapes (:class:`JobQueueCollector`).
- ``fieldline_job_duration_seconds{kind,outcome}``: observed by job workers through
  :func:`observe_job`.
- ``fieldline_login_throttled_total{scope}``: sign-ins refused by throttling (account or ip).

Label values that come from clients are checked against known names so a client cannot create
new time series.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import func, select

from api.db.session import Database
from api.jobs.models import Job
from api.lib.clock import utcnow

log = logging.getLogger("fieldline.metrics")

_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

PUSH_BATCH_SIZE = Histogram(
    "fieldline_sync_push_batch_size",
    "Mutations per sync push",
    buckets=(0, 1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
PULL_PAGE_SIZE = Histogram(
    "fieldline_sync_pull_page_size",
    "Changes per sync pull page",
    buckets=(0, 1, 10, 50, 100, 250, 500, 1000),
)
PUSH_SECONDS = Histogram(
    "fieldline_sync_push_seconds",
    "Seconds of each sync push, by part: lock, db (waiting for the database), commit, app",
    ["part"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SYNC_MUTATIONS = Counter("fieldline_sync_mutations_total", "Pushed mutations by result status", ["status"])
SYNC_CONFLICTS = Counter(
    "fieldline_sync_conflicts_total",
    "Conflicts and refusals reported to phones, by entity and reason",
    ["entity", "reason"],
)
JOB_DURATION = Histogram(
    "fieldline_job_duration_seconds",
    "Time a job worker spent on one job",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LOGIN_THROTTLED = Counter("fieldline_login_throttled_total", "Sign-ins refused by throttling", ["scope"])

#: Job statuses counted at scrape time (``done`` rows are history, not queue).
QUEUE_STATUSES = ("queued", "running", "failed")


#: Strings already checked against :data:`_LABEL` (a push checks the same few hundreds of times).
_CHECKED: dict[str, str] = {}


def _label(value: Any, known: Iterable[str] | None = None) -> str:
    if value.__class__ is not str:
        return "other"
    label = _CHECKED.get(value)
    if label is None:
        label = value if _LABEL.match(value) else "other"
        if len(_CHECKED) < 1024:
            _CHECKED[value] = label
    if known is not None and label not in known:
        return "other"
    return label


def observe_push_timing(parts: dict[str, float]) -> None:
    """Record where one push's time went (:meth:`sync.push_timing.PushTiming.parts`)."""
    for part, seconds in parts.items():
        PUSH_SECONDS.labels(part).observe(seconds)


def observe_push(mutations: Sequence[Any], results: Sequence[dict[str, Any]]) -> None:
    """Record one push: its size, each result's status, and every conflict or refusal."""
    from sync.entities import ENTITIES

    PUSH_BATCH_SIZE.observe(len(mutations))
    entity_by_seq: dict[Any, Any] | None = None  # built on the first conflict or refusal
    # Counted first, then added once per label set: a push carries up to a thousand results.
    statuses: dict[str, int] = {}
    conflicts: dict[tuple[str, str], int] = {}
    for result in results:
        status = _label(result.get("status"))
        statuses[status] = statuses.get(status, 0) + 1
        if status == "duplicate":
            continue
        if status != "rejected" and not result.get("conflicts"):
            continue
        if entity_by_seq is None:
            entity_by_seq = {getattr(m, "seq", None): getattr(m, "entity", None) for m in mutations}
        entity = _label(entity_by_seq.get(result.get("seq")), ENTITIES)
        for conflict in result.get("conflicts") or ():
            outcome = conflict.get("outcome")
            reason = conflict.get("code") if outcome == "rejected" else outcome
            key = (entity, _label(reason))
            conflicts[key] = conflicts.get(key, 0) + 1
        if status == "rejected" and isinstance(result.get("error"), dict):
            key = (entity, _label(result["error"].get("code")))
            conflicts[key] = conflicts.get(key, 0) + 1
    for status, count in statuses.items():
        SYNC_MUTATIONS.labels(status).inc(count)
    for (entity, reason), count in conflicts.items():
        SYNC_CONFLICTS.labels(entity, reason).inc(count)


def observe_pull(count: int) -> None:
    """Record one pull page of ``count`` changes."""
    PULL_PAGE_SIZE.observe(count)


def observe_job(kind: str, seconds: float, outcome: str) -> None:
    """For job workers: one finished job (``outcome``: ``done``, ``failed``, ``retry``, ...)."""
    JOB_DURATION.labels(_label(kind), _label(outcome)).observe(max(seconds, 0.0))


class JobQueueCollector(Collector):
    """Job counts by kind and status, read from the database when Prometheus scrapes.

    ``collect`` is synchronous, so the scrape handler awaits :meth:`refresh` first and
    ``collect`` reports that snapshot. If the database does not answer, the queue metrics are
    left out and ``fieldline_job_queue_scrape_ok`` is 0.
    """

    def __init__(self) -> None:
        self._counts: list[tuple[str, str, int]] = []
        self._oldest: list[tuple[str, float]] = []
        self._ok = False

    async def refresh(self, db: Database, timeout_s: float = 2.0) -> None:
        try:
            async with asyncio.timeout(timeout_s), db.sessions() as session:
                counts = await session.execute(
                    select(Job.kind, Job.status, func.count())
                    .where(Job.status.in_(QUEUE_STATUSES))
                    .group_by(Job.kind, Job.status)
                )
                oldest = await session.execute(
                    select(Job.kind, func.min(Job.run_after)).where(Job.status == "queued").group_by(Job.kind)
                )
                now = utcnow()
                self._counts = [(str(k), str(s), int(n)) for k, s, n in counts]
                self._oldest = [(str(k), max((now - t).total_seconds(), 0.0)) for k, t in oldest if t]
                self._ok = True
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("job queue metrics unavailable: %s", type(exc).__name__)
            self._counts, self._oldest, self._ok = [], [], False

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily("fieldline_job_queue_scrape_ok", "1 if the job queue could be counted")
        ok.add_metric([], 1.0 if self._ok else 0.0)
        yield ok
        jobs = GaugeMetricFamily("fieldline_jobs", "Jobs by kind and status", labels=["kind", "status"])
        for kind, status, n in self._counts:
            jobs.add_metric([kind, status], n)
        yield jobs
        oldest = GaugeMetricFamily(
            "fieldline_job_oldest_queued_seconds", "Age of the oldest queued job", labels=["kind"]
        )
        for kind, age in self._oldest:
            oldest.add_metric([kind], age)
        yield oldest


JOB_QUEUE = JobQueueCollector()
REGISTRY.register(JOB_QUEUE)
