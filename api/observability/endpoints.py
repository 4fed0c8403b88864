"""``/health`` (liveness), ``/ready`` (readiness) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api.db.session import database_from_state
from api.lib.errors import Unavailable
from api.observability.metrics import JOB_QUEUE
from api.observability.readiness import check_database, check_storage

_OPS = {"public": True, "ops": True}


@get("/health", opt=_OPS, include_in_schema=False)
async def health() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@get("/ready", opt=_OPS, include_in_schema=False)
async def ready(state: State) -> dict[str, Any]:
    """The database answers a trivial query and media storage is writable; else 503."""
    database, storage = await asyncio.gather(
        check_database(database_from_state(state)), check_storage(state["settings"])
    )
    checks = {"database": database, "storage": storage}
    if any(v != "ok" for v in checks.values()):
        failed = ", ".join(k for k, v in checks.items() if v != "ok")
        raise Unavailable(f"not ready: {failed}", extra={"checks": checks}, headers={"Retry-After": "5"})
    return {"status": "ready", "checks": checks}


def _registry() -> CollectorRegistry:
    """The process registry, or with ``PROMETHEUS_MULTIPROC_DIR`` the one gathering every process."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ and "prometheus_multiproc_dir" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(JOB_QUEUE)
    return registry


@get("/metrics", opt=_OPS, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    await JOB_QUEUE.refresh(database_from_state(request.app.state))
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
