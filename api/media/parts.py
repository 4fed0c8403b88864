"""Part files of tus uploads: bytes land on disk as they arrive, never whole in memory.

One file per upload under ``<upload dir>/parts/``. A PATCH holds an exclusive ``flock`` on the
file for as long as it writes (and, for the last chunk, while the upload is validated and stored),
so two requests for the same upload, in one process or several on the same volume, never
interleave: the second gets ``423 upload_locked``.

The database row holds the committed offset. A write first truncates the file to it, so bytes
written by a request that crashed before committing are dropped; a file shorter than the row
says (a crash before the page cache reached the disk) lowers the offset to the file's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from api.lib.errors import DomainError, NotFound, PayloadTooLarge

#: Bytes gathered from the request before one write to disk (bounds memory per request).
WRITE_BUFFER: Final = 1024 * 1024


class ClientDisconnected(Exception):
    """The client went away in the middle of a request body."""


class UploadLocked(DomainError):
    status, code, title = 423, "upload_locked", "Locked"


@dataclass(frozen=True)
class AppendResult:
    written: int
    interrupted: bool  # the client disconnected; ``written`` bytes were kept
    digest: bytes | None = None  # of the bytes written, when a checksum algorithm was asked for


def part_path(upload_dir: Path, upload_id: uuid.UUID) -> Path:
    return upload_dir / "parts" / f"{upload_id.hex}.part"


def create_part(path: Path, *, exist_ok: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (0 if exist_ok else os.O_EXCL), 0o600)
    os.close(fd)


def part_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def remove_part(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def stale_parts(upload_dir: Path, older_than: float) -> dict[uuid.UUID, Path]:
    """Part files not written since ``older_than`` (epoch seconds), by upload id."""
    found: dict[uuid.UUID, Path] = {}
    for path in (upload_dir / "parts").glob("*.part"):
        with contextlib.suppress(FileNotFoundError, ValueError):
            if path.stat().st_mtime < older_than:
                found[uuid.UUID(hex=path.stem)] = path
    return found


def remove_stale_incoming(upload_dir: Path, older_than: float) -> int:
    """One-shot uploads are spooled under ``incoming/`` for the length of a request; remove
    what a crash left behind."""
    removed = 0
    for path in (upload_dir / "incoming").glob("oneshot-*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
    return removed


class LockedPart:
    """An open, exclusively locked part file."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    async def truncate(self, size: int) -> None:
        await asyncio.to_thread(os.ftruncate, self.fd, size)

    def _write_at(self, data: bytes | bytearray, offset: int) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            view = view[written:]
            offset += written

    async def append(
        self,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        limit: int,
        hasher: Any = None,
    ) -> AppendResult:
        """Write ``chunks`` at ``offset``, at most ``limit`` bytes.

        More than ``limit`` bytes: the chunk is discarded (truncated back to ``offset``) and
        ``payload_too_large`` raised. A disconnect keeps what arrived, unless a checksum was asked
        for (a partial chunk cannot be verified, so it is discarded).
        """
        await self.truncate(offset)
        position = offset
        buffer = bytearray()
        interrupted = False
        try:
            try:
                async for chunk in chunks:
                    if position - offset + len(buffer) + len(chunk) > limit:
                        raise PayloadTooLarge(f"the body runs past Upload-Length ({limit} bytes were left)")
                    buffer += chunk
                    if len(buffer) >= WRITE_BUFFER:
                        await self._flush(buffer, position, hasher)
                        position += len(buffer)
                        buffer = bytearray()
            except ClientDisconnected:
                interrupted = True
            if buffer:
                await self._flush(buffer, position, hasher)
                position += len(buffer)
        except BaseException:
            await asyncio.shield(self.truncate(offset))
            raise
        if interrupted and hasher is not None:
            await self.truncate(offset)
            return AppendResult(0, True)
        return AppendResult(position - offset, interrupted, hasher.digest() if hasher is not None else None)

    async def _flush(self, data: bytearray, position: int, hasher: Any) -> None:
        def write() -> None:
            if hasher is not None:
                hasher.update(data)
            self._write_at(data, position)

        await asyncio.to_thread(write)


def _open_locked(path: Path) -> int:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    return fd


def _release(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@asynccontextmanager
async def locked_part(path: Path) -> AsyncIterator[LockedPart]:
    """Hold the part file's lock for the block; ``423 upload_locked`` if another request has it."""
    try:
        fd = await asyncio.to_thread(_open_locked, path)
    except BlockingIOError:
        raise UploadLocked("another request is writing to this upload") from None
    except FileNotFoundError:
        raise NotFound("upload not found") from None  # terminated or finished meanwhile
    try:
        yield LockedPart(path, fd)
    finally:
        await asyncio.shield(asyncio.to_thread(_release, fd))
