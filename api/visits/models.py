"""Visits to customers and the actions recorded during them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, CheckedTenantMixin, SyncedMixin, checked_reference
from api.db.types import JSONType, UTCDateTime


class Visit(CheckedTenantMixin, SyncedMixin, Base):
    """The busiest synced table: its references are checked by the sync writer, not by foreign keys
    (see :func:`api.db.base.checked_reference`)."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_tenant_version", "tenant_id", "version"),
        Index("ix_visits_rep_planned", "rep_id", "planned_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, index=True, nullable=False, info=checked_reference("customers.id")
    )
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, info=checked_reference("users.id"))
    route_plan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned")
    check_in: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    check_out: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    check_in_verdict: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class VisitAction(SyncedMixin, Base):
    __tablename__ = "visit_actions"
    __table_args__ = (Index("ix_visit_actions_tenant_version", "tenant_id", "version"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
