"""Customers (shops, clinics, distributors) that reps visit."""

from __future__ import annotations

import uuid
from typing import Any

from geoalchemy2 import WKBElement
from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, SyncedMixin
from api.db.types import JSONType, point_type


class Customer(SyncedMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_tenant_version", "tenant_id", "version"),
        Index("ix_customers_tenant_name", "tenant_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(300), nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    #: Derived from lat/lon on every write; answers nearest-customer queries through its spatial index.
    location: Mapped[WKBElement | None] = mapped_column(point_type(), nullable=True)
    geofence_radius_m: Mapped[float | None] = mapped_column(Float)
    status_tag: Mapped[str | None] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    assigned_rep_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    is_prospect: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
