"""Photos taken at visits (the image itself is a ``media`` record)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, SyncedMixin
from api.db.types import JSONType


class Photo(SyncedMixin, Base):
    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_tenant_version", "tenant_id", "version"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visits.id"), index=True, nullable=False)
    media_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    caption: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
