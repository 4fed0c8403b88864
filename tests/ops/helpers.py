"""Helpers for operations tests: apps with adjusted settings, captured log lines, metric samples."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from api.app import create_app
from api.observability.logging import JsonFormatter, RequestIdFilter


@asynccontextmanager
async def client_for(settings: Any, **overrides: Any) -> AsyncIterator[Any]:
    """A test client for an app built with ``settings`` changed by ``overrides``."""
    app = create_app(dataclasses.replace(settings, **overrides))
    async with AsyncTestClient(app=app) as client:
        yield client


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def captured_lines(logger: str) -> Iterator[list[dict[str, Any]]]:
    """JSON lines written to ``logger`` (formatted by the app's own formatter) while inside."""
    handler = _Lines()
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield handler.lines
    finally:
        target.removeHandler(handler)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
