"""Stored files (``media``) and resumable uploads in progress (``uploads``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, TenantMixin, TimestampMixin
from api.db.types import JSONType, UTCDateTime


class Media(TenantMixin, TimestampMixin, Base):
    __tablename__ = "media"
    __table_args__ = (
        Index("ix_media_tenant_sha256", "tenant_id", "sha256"),
        Index("ix_media_rendition_sha256", "rendition_sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str] = mapped_column(String(64), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(255), nullable=False)
    #: ``stored`` → ``processing`` → ``ready`` (rendition made) or ``failed``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="stored")
    rendition_key: Mapped[str | None] = mapped_column(String(255))
    rendition_sha256: Mapped[str | None] = mapped_column(String(64))
    thumbnail_key: Mapped[str | None] = mapped_column(String(255))
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    exif: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)


class Upload(TenantMixin, TimestampMixin, Base):
    """A tus upload: bytes land in a temporary file until ``offset == length``."""

    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    offset: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    upload_metadata: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    #: ``receiving`` → ``complete`` (media created) or ``failed``; terminated uploads are deleted.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="receiving")
    media_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
