"""The storage interface: content-addressed, immutable originals and renditions.

Keys are ``<prefix>/<sha[0:2]>/<sha[2:4]>/<sha256>`` of the stored bytes, so the key *is* the
integrity check and a put of content that is already stored is a no-op (``created=False``): an
original is never rewritten. Prefixes name the kind of object (``originals``, ``renditions``,
``thumbnails``).

All methods are async; implementations do blocking I/O in worker threads and never hold a whole
object in memory (puts and gets stream in chunks). A failed put leaves no object behind and
raises :class:`StorageError` with a stable ``code``.
"""

from __future__ import annotations

import errno
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DEFAULT_PREFIX: Final = "originals"
CHUNK_SIZE: Final = 1024 * 1024

_PREFIX_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_KEY_RE: Final = re.compile(r"^([a-z0-9][a-z0-9_-]{0,31})/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")

#: errno values that mean "out of space" (device full, quota, file size limit).
NO_SPACE_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class StorageError(Exception):
    """A storage operation failed. Codes: ``no_space``, ``io_error``, ``not_found``,
    ``checksum_mismatch``, ``backend_error``, ``invalid_key``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ObjectNotFound(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__("not_found", f"no object {key}")
        self.key = key


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    created: bool  # False when the content was already stored (the put was a no-op)


def content_key(sha256: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The key of content with this SHA-256 (lower-case hex) under ``prefix``."""
    if not _PREFIX_RE.match(prefix):
        raise StorageError("invalid_key", f"invalid prefix {prefix!r}")
    if not _SHA_RE.match(sha256):
        raise StorageError("invalid_key", "sha256 must be 64 lower-case hex digits")
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def check_key(key: str) -> str:
    """Validate a key (no traversal, no foreign layout) and return its SHA-256."""
    match = _KEY_RE.match(key)
    if match is None or match.group(2) != match.group(4)[:2] or match.group(3) != match.group(4)[2:4]:
        raise StorageError("invalid_key", "malformed storage key")
    return match.group(4)


def os_error(exc: OSError, action: str) -> StorageError:
    """Map an ``OSError`` to a :class:`StorageError` (disk full gets its own code)."""
    if exc.errno in NO_SPACE_ERRNOS:
        return StorageError("no_space", f"storage is full while {action}")
    return StorageError("io_error", f"I/O error while {action}: {exc.strerror or exc}")


class Storage(ABC):
    """Content-addressed object storage."""

    @abstractmethod
    async def put_file(
        self,
        path: str | Path,
        *,
        prefix: str = DEFAULT_PREFIX,
        expected_sha256: str | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        """Store a file's bytes, streaming. ``expected_sha256`` (e.g. a tus checksum) is
        verified: a mismatch raises ``checksum_mismatch`` and stores nothing."""

    @abstractmethod
    async def put_stream(
        self,
        chunks: AsyncIterable[bytes],
        *,
        prefix: str = DEFAULT_PREFIX,
        expected_sha256: str | None = None,
        content_type: str | None = None,
    ) -> StoredObject:
        """Store bytes from an async iterator without holding them in memory."""

    async def put_bytes(
        self, data: bytes, *, prefix: str = DEFAULT_PREFIX, content_type: str | None = None
    ) -> StoredObject:
        """Store a small object held in memory (renditions, thumbnails)."""

        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(one(), prefix=prefix, content_type=content_type)

    @abstractmethod
    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Stream an object's bytes. Raises :class:`ObjectNotFound`."""

    async def read_bytes(self, key: str) -> bytes:
        """A small object's bytes."""
        return b"".join([chunk async for chunk in self.iter_chunks(key)])

    @abstractmethod
    def local_path(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local file with the object's bytes for the duration of the ``async with`` block
        (the stored file itself for local storage: read it, never write it)."""

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def size(self, key: str) -> int:
        """Size in bytes. Raises :class:`ObjectNotFound`."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove an object (retention, tenant deletion). Deleting a missing key is not an error."""

    async def url(self, key: str, expires_in: int = 900) -> str | None:
        """A time-limited URL a client can GET directly, or ``None`` when the API must serve
        the bytes itself."""
        return None
