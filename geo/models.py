"""Raw GPS track points.

Stored so that one rep-day is one indexed read: ``(tenant_id, rep_id, local_date)``, where
``local_date`` is the calendar day in the tenant's time zone. Raw points carry no spatial index and
no foreign keys (ingestion speed: a per-row key check costs as much as the rest of a bulk insert);
derived geometry is computed per day when analysed.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class TrackPoint(Base):
    __tablename__ = "track_points"
    __table_args__ = (
        UniqueConstraint("device_id", "t_ms"),
        Index("ix_track_points_rep_day", "tenant_id", "rep_id", "local_date", "t_ms"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    #: Fix time, milliseconds since the epoch (UTC).
    t_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    local_date: Mapped[date] = mapped_column(Date, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str | None] = mapped_column(String(16))
    is_mock: Mapped[bool | None] = mapped_column(Boolean)
