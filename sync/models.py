"""Server-side sync state: the per-tenant change clock, clients, results, conflicts, evictions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, CheckedTenantMixin, TenantMixin
from api.db.types import JSONType, UTCDateTime
from api.lib.clock import utcnow


class SyncClock(Base):
    """One row per tenant. ``version`` is the last change number handed out.

    Writers increment it once their first writes are ready, holding the row lock until commit, so
    change numbers become visible in the order they were assigned (see docs/sync.md).
    ``purged_through`` is the highest change number whose history was pruned: older cursors expire.
    """

    __tablename__ = "sync_clocks"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    purged_through: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class SyncClient(TenantMixin, Base):
    """A (user, device) pair that pushes: remembers the last ``seq`` processed."""

    __tablename__ = "sync_clients"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SyncPushResult(Base):
    """The results of a run of processed ``seq`` numbers, replayed for retried mutations.

    Kept for the history window (:mod:`sync.history`); a retry older than that is still not applied
    again, it is answered ``duplicate`` without its original result.
    """

    __tablename__ = "sync_push_results"
    __table_args__ = (
        Index("ix_sync_push_results_client_last", "sync_client_id", "last_seq"),
        Index("ix_sync_push_results_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    sync_client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sync_clients.id", ondelete="CASCADE"), nullable=False
    )
    first_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: Kept as written (``json``, not ``jsonb``, on PostgreSQL): it is stored with every push and
    #: read back only for retries, so it is not worth parsing into ``jsonb`` (migration 0009).
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SyncConflict(CheckedTenantMixin, Base):
    """A mutation that did not take effect as sent, kept for managers and support.

    One row per mutation, as its client was told: ``status`` (``merged`` or ``rejected``), the
    fields that were refused or lost (``conflicts``, the entries of the push result, each with the
    value the client sent as ``client_value``) or, for a mutation refused as a whole, ``error``.
    Written at the rate of conflicts (a push of stale edits can add a thousand rows), so its tenant
    is a checked reference, not a foreign key (see :func:`api.db.base.checked_reference`)."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        Index("ix_sync_conflicts_tenant_scope_created", "tenant_id", "scope_rep_id", "created_at"),
        Index("ix_sync_conflicts_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    scope_rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    conflicts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    client_hlc: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SyncEviction(TenantMixin, Base):
    """An entity left a scope at ``version``.

    ``viewer_id`` null: the entity left rep ``scope_rep_id`` (a customer reassigned, a visit given to
    another rep); every replica whose scope holds that rep drops it, unless the entity is still in
    its scope. ``viewer_id`` set: only that user's replica drops it, because the user's own scope
    shrank (rep ``scope_rep_id`` moved to a team this manager does not lead).
    """

    __tablename__ = "sync_evictions"
    __table_args__ = (
        Index("ix_sync_evictions_tenant_version", "tenant_id", "version"),
        Index("ix_sync_evictions_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    scope_rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    viewer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
