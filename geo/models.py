"""Raw GPS track points.

Stored so that one rep-day is one indexed read: ``(tenant_id, rep_id, local_date)``, where
``local_date`` is the calendar day in the tenant's time zone. For ingestion speed raw points carry
two indexes only (the ``(device_id, t_ms)`` key that makes re-sending idempotent, and the rep-day
index), no surrogate id, no spatial index and no foreign keys; derived geometry is computed per
day when analysed.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class TrackPoint(Base):
    """One fix. The key is ``(device_id, t_ms)``: a phone re-sending a fix is a no-op."""

    __tablename__ = "track_points"
    __table_args__ = (Index("ix_track_points_rep_day", "tenant_id", "rep_id", "local_date", "t_ms"),)

    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Fix time, milliseconds since the epoch (UTC).
    t_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    local_date: Mapped[date] = mapped_column(Date, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str | None] = mapped_column(String(16))
    is_mock: Mapped[bool | None] = mapped_column(Boolean)
