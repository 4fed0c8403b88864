"""Reading media back: who may see what, which stored object answers, and verification.

Visibility follows the linked row: whoever's scope holds the visit or expense (the rep, their
managers, admins) and the uploader may read a media record; anyone else, and every other tenant,
gets 404. The original is served to the same people (there is no one who sees the rendition but
not the original).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.accounts.principal import Principal
from api.db.session import Database
from api.lib.errors import Conflict, NotFound
from api.media.repository import MediaRepository
from api.media.runtime import MediaRuntime
from media import provenance, sniff
from media.models import Media
from media.storage import check_key


@dataclass(frozen=True)
class Served:
    """One stored object to send: its key, its SHA-256 (the ETag) and its type."""

    key: str
    sha256: str
    content_type: str
    filename: str | None = None
    size: int | None = None


def etag(sha256: str) -> str:
    return f'"{sha256}"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 weak comparison of ``If-None-Match`` against our (strong) ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    candidates = (part.strip() for part in if_none_match.split(","))
    return any(c.removeprefix("W/") == tag for c in candidates)


class MediaReader:
    def __init__(self, db: Database, runtime: MediaRuntime) -> None:
        self.db = db
        self.runtime = runtime

    async def visible(self, principal: Principal, media_id: uuid.UUID) -> Media:
        async with self.db.sessions() as session:
            repo = MediaRepository(session)
            media = await repo.media(principal.tenant_id, media_id)
            if media is None:
                raise NotFound("media not found")
            scope = await repo.entity_scope(media)
        if not (principal.sees_rep(scope) or media.owner_id == principal.user_id):
            raise NotFound("media not found")
        return media

    async def original(self, principal: Principal, media_id: uuid.UUID) -> Served:
        media = await self.visible(principal, media_id)
        return Served(media.storage_key, media.sha256, media.content_type, media.filename, media.size)

    async def rendition(self, principal: Principal, media_id: uuid.UUID) -> Served:
        """The watermarked rendition of a photo; a receipt's own bytes (receipts have none)."""
        media = await self.visible(principal, media_id)
        if media.kind == "receipt":
            return Served(media.storage_key, media.sha256, media.content_type, media.filename, media.size)
        ready = self._ready(media)
        assert ready.rendition_key is not None
        assert ready.rendition_sha256 is not None
        size = (ready.provenance or {}).get("size")
        return Served(ready.rendition_key, ready.rendition_sha256, sniff.JPEG, size=size)

    async def thumbnail(self, principal: Principal, media_id: uuid.UUID) -> Served:
        media = await self.visible(principal, media_id)
        if media.kind == "receipt":
            raise NotFound("receipts have no thumbnail", code="no_thumbnail")
        ready = self._ready(media)
        assert ready.thumbnail_key is not None
        size = (ready.provenance or {}).get("thumbnail_size")
        return Served(ready.thumbnail_key, check_key(ready.thumbnail_key), sniff.WEBP, size=size)

    @staticmethod
    def _ready(media: Media) -> Media:
        if media.status == "failed":
            raise Conflict("the rendition could not be made", code="rendition_failed")
        if media.status != "ready" or media.rendition_key is None or media.thumbnail_key is None:
            raise Conflict(
                "the rendition is being made; retry shortly", code="not_ready", headers={"Retry-After": "2"}
            )
        return media

    async def verify(self, principal: Principal, data: bytes) -> provenance.VerificationResult:
        """Whether ``data`` is a rendition this server issued to the caller's tenant, unaltered.

        Records are found by the hash of the issued file (indexed), so only an exact copy finds
        its record; anything else is judged from the signature it carries, if any.
        """

        async def lookup(sha256: str) -> provenance.ProvenanceRecord | None:
            async with self.db.sessions() as session:
                media = await MediaRepository(session).by_rendition(principal.tenant_id, sha256)
            if media is None or not media.provenance:
                return None
            stored = media.provenance
            return provenance.ProvenanceRecord(
                media_id=str(media.id),
                key_id=stored["key_id"],
                file_sha256=stored["file_sha256"],
                content_sha256=stored["content_sha256"],
                token=stored["token"],
            )

        return await provenance.verify_async(data, lookup, self.runtime.keys)
