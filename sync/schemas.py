"""Wire types of the sync protocol (docs/sync.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec

Seq = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class MutationIn(msgspec.Struct, kw_only=True):
    """One mutation. Decoded leniently (``fields`` untyped) so one bad mutation is rejected alone."""

    seq: Seq
    entity: Any
    id: Any
    op: Any
    hlc: Any = None
    base_version: Any = None
    fields: Any = None


class PushRequest(msgspec.Struct, kw_only=True):
    schema_version: int
    client_id: uuid.UUID
    mutations: list[MutationIn]


class PushResponse(msgspec.Struct, kw_only=True):
    last_seq: int
    server_hlc: str
    results: list[dict[str, Any]]


class PullResponse(msgspec.Struct, kw_only=True):
    schema_version: int
    cursor: str
    has_more: bool
    last_seq: int
    server_hlc: str
    changes: list[dict[str, Any]]


class SyncLimits(msgspec.Struct, kw_only=True):
    max_mutations: int
    max_push_bytes: int
    max_pull_limit: int


class SyncInfo(msgspec.Struct, kw_only=True):
    server_hlc: str
    schema_versions: list[int]
    limits: SyncLimits
    history_days: int


class ConflictOut(msgspec.Struct, kw_only=True):
    """A mutation that did not take effect as sent, as its client was told (see the push results)."""

    id: int
    entity: Any
    entity_id: uuid.UUID
    #: ``merged`` (some fields took effect) or ``rejected`` (none did).
    status: str
    #: The refused or lost fields: the push result's entries, each with the value the client sent.
    conflicts: list[dict[str, Any]]
    #: Why the whole mutation was refused (``code``, ``message``, ``field``), when it was.
    error: dict[str, Any] | None
    client_hlc: str | None
    user_id: uuid.UUID | None
    client_id: uuid.UUID | None
    seq: int | None
    created_at: str


class ConflictPage(msgspec.Struct, kw_only=True):
    items: list[ConflictOut]
    limit: int
    offset: int
    total: int


PushStatus = Literal["applied", "merged", "rejected", "duplicate", "out_of_order"]
