"""Route plans: a rep's ordered stops for one day (written by managers, read by reps)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, SyncedMixin
from api.db.types import JSONType


class RoutePlan(SyncedMixin, Base):
    __tablename__ = "route_plans"
    __table_args__ = (
        Index("ix_route_plans_tenant_version", "tenant_id", "version"),
        Index("ix_route_plans_rep_date", "rep_id", "date"),
    )

    rep_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    #: Ordered ``[{customer_id, planned_at?}]``.
    stops: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    #: Optional GeoJSON LineString of the planned road route.
    path: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
