"""Raw GPS track points.

For ingestion speed raw points carry one index only, the ``(device_id, t_ms)`` key that makes
re-sending idempotent: no surrogate id, no spatial index, no foreign keys and no second index.
A rep-day is read along that key (the rep's devices from ``devices``, then each device's time
range of the day), so every stored point's device must be one of its rep's devices: ingestion
accepts only those, and a ``devices`` row is never deleted while its user is kept. The calendar
day is not stored: it follows from ``t_ms`` and the tenant's current zone when read. Derived
geometry is computed per day when analysed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Boolean, Float, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base


class TrackPoint(Base):
    """One fix. The key is ``(device_id, t_ms)``: a phone re-sending a fix is a no-op."""

    __tablename__ = "track_points"

    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Fix time, milliseconds since the epoch (UTC).
    t_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str | None] = mapped_column(String(16))
    is_mock: Mapped[bool | None] = mapped_column(Boolean)
