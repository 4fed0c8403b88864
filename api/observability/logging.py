"""JSON log lines on stderr, each carrying the id of the request it was written for.

Configured through Litestar's ``LoggingConfig`` so the app owns its logging setup; every logger
(the app's, Litestar's, the libraries') writes one JSON object per line.
"""

from __future__ import annotations

import logging
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.logging.config import LoggingConfig

#: The id of the request being served, for every log line written while serving it.
request_id_var: ContextVar[str | None] = ContextVar("fieldline_request_id", default=None)

_encoder = msgspec.json.Encoder()


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (``None`` outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, and ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return _encoder.encode(line).decode()


def logging_config(level: str = "INFO") -> LoggingConfig:
    """Root, ``fieldline`` and ``litestar`` loggers as JSON on stderr.

    ``uvicorn.access`` is quietened: the app's own access line (with request id, route, user and
    duration) replaces it.
    """
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return LoggingConfig(
        formatters={"json": {"()": JsonFormatter}},
        filters={"request_id": {"()": RequestIdFilter}},
        handlers={"console": handler, "queue_listener": handler},
        loggers={
            "fieldline": {"level": level.upper(), "handlers": ["console"], "propagate": False},
            "litestar": {"level": level.upper(), "handlers": ["console"], "propagate": False},
            "uvicorn.access": {"level": "WARNING"},
        },
        root={"handlers": ["console"], "level": "WARNING"},
        configure_root_logger=True,
        log_exceptions="never",
    )
