"""Wire shapes of the media endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec
from litestar.datastructures import UploadFile

from api.lib.clock import rfc3339
from media.models import Media
from media.provenance import VerificationResult


@dataclass
class MediaForm:
    """``POST /v1/media`` multipart fields."""

    kind: str
    entity_id: str
    file: UploadFile


@dataclass
class VerifyForm:
    """``POST /v1/media/verify`` multipart field."""

    file: UploadFile


class MediaOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    sha256: str
    size: int
    content_type: str
    status: str
    entity_id: uuid.UUID | None = None
    filename: str | None = None
    width: int | None = None
    height: int | None = None
    created_at: str

    @classmethod
    def of(cls, media: Media) -> MediaOut:
        return cls(
            id=media.id,
            kind=media.kind,
            sha256=media.sha256,
            size=media.size,
            content_type=media.content_type,
            status=media.status,
            entity_id=media.entity_id,
            filename=media.filename,
            width=media.width,
            height=media.height,
            created_at=rfc3339(media.created_at),
        )


class VerifyOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``authentic`` is the answer; ``reason`` says why (``verified``, ``not_issued``, ``altered``,
    ``no_record``, ``signature_invalid``)."""

    authentic: bool
    reason: str
    media_id: str | None = None
    visit_id: str | None = None
    rep_id: str | None = None
    issued_at: str | None = None
    lat: float | None = None
    lon: float | None = None

    @classmethod
    def of(cls, result: VerificationResult) -> VerifyOut:
        return cls(
            authentic=result.authentic,
            reason=result.reason,
            media_id=result.media_id,
            visit_id=result.visit_id,
            rep_id=result.rep_id,
            issued_at=rfc3339(result.issued_at) if result.issued_at else None,
            lat=result.lat,
            lon=result.lon,
        )


class KeysOut(msgspec.Struct, kw_only=True):
    """The public keys that sign renditions, as a JWK set (RFC 7517 / RFC 8037)."""

    keys: list[dict[str, str]]
