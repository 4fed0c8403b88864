"""Declarative base and the columns every synced entity shares."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from api.db.types import JSONType, UTCDateTime
from api.lib.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, uuid.UUID: Uuid}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


def checked_reference(target: str) -> dict[str, Any]:
    """``info`` of a column that refers to ``target`` (``"table.column"``) without a foreign key.

    On the tables sync writes most (thousands of rows per second), PostgreSQL's per-row foreign-key
    triggers cost as much as the rest of the insert. There the sync writer checks the reference
    instead: the row it points at exists in the tenant and is not deleted, and nothing is ever
    pointed at a tombstone (see ``sync.writer``). Rows are removed for good only by history pruning,
    which keeps every tombstone such a column still points at (see ``sync.history``)."""
    return {"references": target}


class TenantMixin:
    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        # The type is given: a statement built before ``tenants`` is mapped would otherwise bind
        # the column untyped.
        return mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False)


class CheckedTenantMixin:
    """``tenant_id`` as a checked reference (see :func:`checked_reference`), for the busiest tables.

    Not indexed on its own: those tables lead an index with it."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        return mapped_column(Uuid, nullable=False, info=checked_reference("tenants.id"))


class SyncedMixin(TenantMixin, TimestampMixin):
    """Columns of every entity that phones replicate.

    - ``version``: per-tenant change number, assigned in commit order; pulls page by it.
    - ``deleted_at``: set on delete; the row stays as a tombstone for the history window.
    - ``field_meta``: per field, ``[hlc, version]`` of its last write (field-level LWW).
    - ``scope_rep_id``: the rep whose scope holds the row (``None``: tenant-wide reference data).
    """

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    field_meta: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    scope_rep_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
