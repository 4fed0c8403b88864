"""Ids: UUIDv7 (time-ordered) for rows the server creates (RFC 9562), and parsing ids from the wire."""

from __future__ import annotations

import os
import time
import uuid

try:  # asyncpg's UUID: a uuid.UUID, parsed, hashed and sent to PostgreSQL in C
    from asyncpg.pgproto.pgproto import UUID as _FAST_UUID
except ImportError:  # pragma: no cover - asyncpg is a dependency
    _FAST_UUID = uuid.UUID


def parse_uuid(text: str) -> uuid.UUID:
    """A UUID from its text. Raises ``ValueError``, like ``uuid.UUID``.

    The result is a ``uuid.UUID`` (equal to, and hashing like, the standard one) implemented in C:
    a push parses, hashes and writes hundreds of these."""
    return _FAST_UUID(text)  # type: ignore[no-any-return]


def uuid7() -> uuid.UUID:
    ms = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
