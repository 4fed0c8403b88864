"""Readiness checks: can this process serve requests right now?

Each check answers ``"ok"`` or a short reason (never an internal message) and gives up after a
timeout, so a hung dependency makes the process unready instead of hanging the probe.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from sqlalchemy import text

from api.db.session import Database
from api.settings import Settings

TIMEOUT_S = 2.0


async def check_database(db: Database, timeout_s: float = TIMEOUT_S) -> str:
    try:
        async with asyncio.timeout(timeout_s), db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return "timeout"
    except Exception:
        return "unreachable"
    return "ok"


def _probe_directory(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".ready-", dir=root)
    try:
        os.write(fd, b"ok")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)


def _probe_bucket(settings: Settings) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        config=Config(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S, retries={"max_attempts": 1}),
    )
    client.head_bucket(Bucket=settings.s3_bucket)


async def check_storage(settings: Settings, timeout_s: float = TIMEOUT_S) -> str:
    """Local storage: the media root is writable. S3: the bucket answers to these credentials."""
    probe = (
        (lambda: _probe_bucket(settings))
        if settings.storage == "s3"
        else (lambda: _probe_directory(settings.media_root))
    )
    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.to_thread(probe)
    except TimeoutError:
        return "timeout"
    except PermissionError:
        return "not_writable"
    except OSError:
        return "unavailable"
    except Exception:
        return "unreachable"
    return "ok"
