"""Opaque pull cursors, signed and bound to the user and tenant.

A cursor carries the last change number delivered (``after``), the change number the bootstrap
started at (``floor``: deletions and evictions at or below it are skipped, since a replica built
from nothing never held those entities) and the entity schema version the replica was built with
(a replica of another schema version must bootstrap again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import msgspec

VERSION = 1


class CursorError(ValueError):
    """The cursor is malformed, altered, or belongs to someone else."""


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    v: int
    user: str
    tenant: str
    after: int
    floor: int
    schema: int = 1


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:16]


def encode_cursor(
    secret: str, *, user_id: uuid.UUID, tenant_id: uuid.UUID, after: int, floor: int, schema: int = 1
) -> str:
    payload = msgspec.msgpack.encode(Cursor(VERSION, user_id.hex, tenant_id.hex, after, floor, schema))
    sig = _sign(secret.encode(), payload)
    return base64.urlsafe_b64encode(payload + sig).rstrip(b"=").decode()


def decode_cursor(secret: str, text: str, *, user_id: uuid.UUID, tenant_id: uuid.UUID) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise CursorError("cursor is not valid") from exc
    if len(raw) < 17:
        raise CursorError("cursor is not valid")
    payload, sig = raw[:-16], raw[-16:]
    if not hmac.compare_digest(sig, _sign(secret.encode(), payload)):
        raise CursorError("cursor is not valid")
    try:
        cursor = msgspec.msgpack.decode(payload, type=Cursor)
    except msgspec.DecodeError as exc:
        raise CursorError("cursor is not valid") from exc
    if cursor.v != VERSION or cursor.user != user_id.hex or cursor.tenant != tenant_id.hex:
        raise CursorError("cursor belongs to another user")
    if cursor.after < 0 or cursor.floor < 0:
        raise CursorError("cursor is not valid")
    return cursor
