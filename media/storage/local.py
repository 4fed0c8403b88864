"""Local-disk storage: atomic, durable writes under one root directory.

A put writes to ``<root>/.tmp/`` (same file system), ``fsync``s the file, then hard-links it to
its content key - which fails if the key exists, so an existing object is never replaced - and
``fsync``s the directory. Stored files are made read-only. Any failure (disk full included)
removes the temporary file: no partial object is ever visible.

``put_file`` copies in the kernel (``copy_file_range``, else ``sendfile``) and hashes the *copy*
(read back from the page cache, overlapped with the copy of the next chunk), so the key always
matches the stored bytes even if the source changes meanwhile. Streams are hashed as they are
written.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from media.storage.base import (
    CHUNK_SIZE,
    DEFAULT_PREFIX,
    ObjectNotFound,
    Storage,
    StorageError,
    StoredObject,
    check_key,
    content_key,
    os_error,
)

#: Buffer for hashing a file, and the unit of a kernel copy overlapped with hashing.
COPY_BUFFER: Final = 8 * 1024 * 1024
COPY_CHUNK: Final = 16 * 1024 * 1024
TEMP_DIR: Final = ".tmp"

# Indirections so tests can simulate a full disk on the write paths.
_write = os.write


def _copy_chunk(src: int, dst: int, count: int) -> int:
    """Copy up to ``count`` bytes between the current offsets of two descriptors, in the kernel."""
    try:
        return os.copy_file_range(src, dst, count)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    return os.sendfile(dst, src, None, count)


def _sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(COPY_BUFFER)
    view = memoryview(buffer)
    os.lseek(fd, 0, os.SEEK_SET)
    while n := os.readv(fd, [buffer]):
        digest.update(view[:n])
    return digest.hexdigest()


T = TypeVar("T")


async def _guarded(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking storage I/O in a thread, mapping ``OSError`` to :class:`StorageError`."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except OSError as exc:
        raise os_error(exc, action) from exc


class _TempFile:
    """A temporary file being filled, with its running SHA-256 and size."""

    def __init__(self, directory: Path, fsync: bool) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="put-")
        self.fd = fd
        self.path = Path(name)
        self.hash = hashlib.sha256()
        self.size = 0
        self._fsync = fsync
        self._open = True
        self._sha256: str | None = None
        self._buffer: bytearray | None = None

    def write(self, data: bytes | memoryview) -> None:
        self.hash.update(data)
        view = memoryview(data)
        while view:
            written = _write(self.fd, view)
            view = view[written:]
        self.size += len(data)

    def copy_from(self, source: Path) -> None:
        """Fill from a file: the kernel copies chunk k+1 while a second thread hashes chunk k
        as read back from the new file, so the hash is the stored bytes' hash."""
        with open(source, "rb", buffering=0) as src, ThreadPoolExecutor(1) as hasher:
            pending: Future[None] | None = None
            while True:
                n = _copy_chunk(src.fileno(), self.fd, COPY_CHUNK)
                if pending is not None:
                    pending.result()
                if n == 0:
                    break
                pending = hasher.submit(self._hash_range, self.size, n)
                self.size += n
        self._sha256 = self.hash.hexdigest()

    def _hash_range(self, offset: int, length: int) -> None:
        if self._buffer is None:
            self._buffer = bytearray(COPY_BUFFER)
        view = memoryview(self._buffer)
        while length > 0:
            n = os.preadv(self.fd, [view[: min(length, COPY_BUFFER)]], offset)
            if n == 0:
                raise OSError(errno.EIO, "short read of a freshly written file")
            self.hash.update(view[:n])
            offset += n
            length -= n

    def sha256(self) -> str:
        return self._sha256 if self._sha256 is not None else self.hash.hexdigest()

    def finish(self) -> None:
        if self._fsync:
            os.fsync(self.fd)
        os.fchmod(self.fd, stat.S_IRUSR | stat.S_IRGRP)
        os.close(self.fd)
        self._open = False

    def discard(self) -> None:
        if self._open:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self._open = False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class LocalStorage(Storage):
    def __init__(self, root: str | Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._tmp = self.root / TEMP_DIR
        # A root that cannot be created yet is not fatal: the process starts, /ready reports the
        # storage as unavailable, and writes fail with a storage error until it is fixed.
        with contextlib.suppress(OSError):
            self._tmp.mkdir(parents=True, exist_ok=True)

    # -- helpers ------------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        check_key(key)
        return self.root / key

    def _fsync_dir(self, directory: Path) -> None:
        if not self.fsync:
            return
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _commit(self, temp: _TempFile, prefix: str, expected_sha256: str | None) -> StoredObject:
        """Finish ``temp`` and move it to its content key (no-op if already stored)."""
        sha = temp.sha256()
        if expected_sha256 is not None and expected_sha256.lower() != sha:
            raise StorageError("checksum_mismatch", "the content does not match the expected SHA-256")
        key = content_key(sha, prefix)
        final = self.root / key
        if final.exists():
            return StoredObject(key, sha, temp.size, created=False)  # the temp file is discarded
        temp.finish()
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(temp.path, final)
            created = True
        except FileExistsError:
            created = False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                raise
            created = not final.exists()
            if created:
                os.rename(temp.path, final)
        if created:
            self._fsync_dir(final.parent)
        return StoredObject(key, sha, temp.size, created=created)

    def _put_file_sync(self, path: Path, prefix: str, expected_sha256: str | None) -> StoredObject:
        content_key("0" * 64, prefix)  # validate the prefix before any I/O
        try:
            if expected_sha256 is not None:
                existing = self._already_stored(path, prefix, expected_sha256.lower())
                if existing is not None:
                    return existing
            temp = _TempFile(self._tmp, self.fsync)
        except OSError as exc:
            raise os_error(exc, "reading the upload") from exc
        try:
            temp.copy_from(path)
            return self._commit(temp, prefix, expected_sha256)
        except OSError as exc:
            raise os_error(exc, "writing an object") from exc
        finally:
            temp.discard()

    def _already_stored(self, path: Path, prefix: str, expected_sha256: str) -> StoredObject | None:
        """With a claimed hash whose key exists, only hash the source (no copy)."""
        key = content_key(expected_sha256, prefix)
        if not (self.root / key).is_file():
            return None
        fd = os.open(path, os.O_RDONLY)
        try:
            actual = _sha256_fd(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if actual != expected_sha256:
            raise StorageError("checksum_mismatch", "the content does not match the expected SHA-256")
        return StoredObject(key, actual, size, created=False)

    # -- Storage ------------------------------------------------------------------------------

    async def put_file(
        self,
        path: str | Path,
        *,
        prefix: str = DEFAULT_PREFIX,
        expected_sha256: str | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        return await asyncio.to_thread(self._put_file_sync, Path(path), prefix, expected_sha256)

    async def put_stream(
        self,
        chunks: AsyncIterable[bytes],
        *,
        prefix: str = DEFAULT_PREFIX,
        expected_sha256: str | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        content_key("0" * 64, prefix)
        temp = await _guarded("creating a temporary file", _TempFile, self._tmp, self.fsync)
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:  # errors of the source propagate unchanged
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= CHUNK_SIZE:
                    await _guarded("writing an object", temp.write, b"".join(pending))
                    pending, pending_size = [], 0
            if pending:
                await _guarded("writing an object", temp.write, b"".join(pending))
            return await _guarded("writing an object", self._commit, temp, prefix, expected_sha256)
        finally:
            await asyncio.to_thread(temp.discard)

    async def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        path = self.path_for(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    @asynccontextmanager
    async def local_path(self, key: str) -> AsyncIterator[Path]:
        path = self.path_for(key)
        if not await asyncio.to_thread(path.is_file):
            raise ObjectNotFound(key)
        yield path

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self.path_for(key).stat)).st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    async def delete(self, key: str) -> None:
        path = self.path_for(key)

        def remove() -> None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

        await asyncio.to_thread(remove)

    def sweep_temp(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by a crash; returns how many were removed."""
        cutoff = time.time() - older_than_s
        removed = 0
        for entry in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed
