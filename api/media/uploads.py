"""tus uploads: create, report the offset, append chunks, terminate, and finish into a media record.

Bytes go to a part file (``api.media.parts``) chunk by chunk; the committed offset lives in the
``uploads`` row. Database transactions are short and never span the body of a request (on SQLite
a long write transaction would stall every other writer).
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.accounts.principal import Principal
from api.db.engine import write_session
from api.lib.clock import utcnow
from api.lib.errors import BadRequest, DomainError, Gone, NotFound, ValidationFailed, field_error
from api.lib.ids import uuid7
from api.media import tus
from api.media.ingest import MediaIngest, MediaRefused, check_kind
from api.media.parts import (
    create_part,
    locked_part,
    part_path,
    part_size,
    remove_part,
    remove_stale_incoming,
    stale_parts,
)
from api.media.repository import MediaRepository
from media.models import Upload

#: Metadata keys as stock clients name them (Uppy sends ``filetype``/``name``).
_FILENAME_KEYS = ("filename", "name")
_TYPE_KEYS = ("content_type", "filetype", "type")


@dataclass(frozen=True)
class UploadState:
    id: uuid.UUID
    offset: int
    length: int
    expires_at: datetime | None  # None once complete
    media_id: uuid.UUID | None = None


def _first(metadata: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((metadata[k] for k in keys if metadata.get(k)), None)


def _entity_id(metadata: dict[str, str]) -> uuid.UUID:
    raw = metadata.get("entity_id")
    try:
        return uuid.UUID(raw or "")
    except ValueError:
        raise ValidationFailed(
            "Upload-Metadata must carry entity_id, the visit or expense id",
            code="invalid_metadata",
            errors=[field_error("entity_id", "invalid", "a UUID")],
        ) from None


def _state(upload: Upload, offset: int | None = None) -> UploadState:
    complete = upload.status == "complete"
    return UploadState(
        id=upload.id,
        offset=upload.length if complete else (upload.offset if offset is None else offset),
        length=upload.length,
        expires_at=None if complete else upload.expires_at,
        media_id=upload.media_id,
    )


class UploadService:
    def __init__(self, ingest: MediaIngest) -> None:
        self.ingest = ingest
        self.db = ingest.db
        self.runtime = ingest.runtime

    def _path(self, upload_id: uuid.UUID) -> Any:
        return part_path(self.runtime.upload_dir, upload_id)

    async def _load(self, principal: Principal, upload_id: uuid.UUID) -> Upload:
        async with self.db.sessions() as session:
            upload = await MediaRepository(session).upload(principal.tenant_id, principal.user_id, upload_id)
        if upload is None:
            raise NotFound("upload not found")
        if upload.status != "complete" and upload.expires_at < utcnow():
            raise Gone("the upload expired; start a new one", code="upload_expired")
        return upload

    # -- creation -------------------------------------------------------------------------------
    async def create(
        self,
        principal: Principal,
        *,
        length: int,
        metadata: dict[str, str],
        body: AsyncIterator[bytes] | None = None,
        checksum: tuple[str, bytes] | None = None,
    ) -> UploadState:
        kind = check_kind(metadata.get("kind"))
        entity_id = _entity_id(metadata)
        if length == 0:
            raise BadRequest("the file is empty", code="empty_file")
        await self.ingest.check(principal, kind, entity_id)
        now = utcnow()
        upload = Upload(
            id=uuid7(),
            tenant_id=principal.tenant_id,
            owner_id=principal.user_id,
            length=length,
            offset=0,
            upload_metadata=metadata,
            kind=kind,
            entity_id=entity_id,
            status="receiving",
            expires_at=now + timedelta(seconds=self.runtime.upload_expiry_s),
            created_at=now,
            updated_at=now,
        )
        async with write_session(self.db.sessions) as session:
            session.add(upload)
        await asyncio.to_thread(create_part, self._path(upload.id))
        if body is None:
            return _state(upload)
        return await self.append(principal, upload.id, offset=0, chunks=body, checksum=checksum)

    # -- offset ---------------------------------------------------------------------------------
    async def state(self, principal: Principal, upload_id: uuid.UUID) -> UploadState:
        upload = await self._load(principal, upload_id)
        if upload.status == "complete":
            return _state(upload)
        size = await asyncio.to_thread(part_size, self._path(upload.id))
        return _state(upload, min(upload.offset, size or 0))

    # -- append ---------------------------------------------------------------------------------
    async def append(
        self,
        principal: Principal,
        upload_id: uuid.UUID,
        *,
        offset: int,
        chunks: AsyncIterator[bytes],
        checksum: tuple[str, bytes] | None = None,
    ) -> UploadState:
        path = self._path(upload_id)
        if await asyncio.to_thread(part_size, path) is None:
            # Finished, terminated, unknown, or the part file was lost (then start again from 0).
            upload = await self._load(principal, upload_id)
            if upload.status == "complete":
                if offset != upload.length:
                    raise tus.offset_mismatch(upload.length, offset)
                return _state(upload)
            await asyncio.to_thread(lambda: create_part(path, exist_ok=True))
        async with locked_part(path) as part:
            upload = await self._load(principal, upload_id)  # read under the lock: owner, offset
            if upload.status == "complete":
                raise tus.offset_mismatch(upload.length, offset)
            size = await asyncio.to_thread(part_size, path)
            current = min(upload.offset, size or 0)
            if offset != current:
                raise tus.offset_mismatch(current, offset)
            hasher = tus.new_hasher(checksum[0]) if checksum else None
            result = await part.append(chunks, offset=current, limit=upload.length - current, hasher=hasher)
            if (
                checksum is not None
                and not result.interrupted
                and not hmac.compare_digest(result.digest or b"", checksum[1])
            ):
                await part.truncate(current)
                raise tus.checksum_mismatch()
            new_offset = current + result.written
            if new_offset != upload.offset:
                async with write_session(self.db.sessions) as session:
                    if not await MediaRepository(session).advance(
                        upload.id, upload.offset, new_offset, utcnow()
                    ):
                        await part.truncate(current)
                        raise tus.offset_mismatch(upload.offset, offset)
            if new_offset < upload.length or result.interrupted:
                return UploadState(upload.id, new_offset, upload.length, upload.expires_at)
            return await self._finish(principal, upload, path)

    async def _finish(self, principal: Principal, upload: Upload, path: Any) -> UploadState:
        """All bytes are in: validate, store, link. A refusal removes the upload entirely."""
        metadata = dict(upload.upload_metadata or {})
        try:
            accepted = await self.ingest.accept(
                principal,
                path,
                kind=upload.kind,
                entity_id=upload.entity_id,
                declared_type=_first(metadata, _TYPE_KEYS),
                filename=_first(metadata, _FILENAME_KEYS),
                upload_id=upload.id,
            )
        except DomainError as exc:
            # Refusals are final: nothing of the upload is kept. Other failures (storage down)
            # keep the bytes; the client retries with an empty PATCH at the full offset.
            if isinstance(exc, MediaRefused | NotFound | ValidationFailed) or exc.code == "locked":
                await self._discard(upload.id, path)
            raise
        await asyncio.to_thread(remove_part, path)
        return UploadState(upload.id, upload.length, upload.length, None, accepted.media.id)

    async def _discard(self, upload_id: uuid.UUID, path: Any) -> None:
        await asyncio.to_thread(remove_part, path)
        async with write_session(self.db.sessions) as session:
            await MediaRepository(session).delete_upload(upload_id)

    # -- termination ----------------------------------------------------------------------------
    async def terminate(self, principal: Principal, upload_id: uuid.UUID) -> None:
        """Delete the upload and its bytes. A finished upload's media record stays."""
        upload = await self._load(principal, upload_id)
        path = self._path(upload.id)
        if await asyncio.to_thread(part_size, path) is None:
            await self._discard(upload.id, path)
            return
        async with locked_part(path):
            await self._discard(upload.id, path)

    # -- housekeeping ---------------------------------------------------------------------------
    async def sweep_expired(self, now: datetime | None = None) -> int:
        """Remove expired uploads (rows and part files), and spool files a crash left without a
        row; returns how many uploads were removed."""
        now = now or utcnow()
        async with self.db.sessions() as session:
            expired = await MediaRepository(session).expired_uploads(now)
        for upload_id in expired:
            await self._discard(upload_id, self._path(upload_id))
        cutoff = (now - timedelta(seconds=self.runtime.upload_expiry_s)).timestamp()
        await asyncio.to_thread(remove_stale_incoming, self.runtime.upload_dir, now.timestamp() - 3600)
        leftovers = await asyncio.to_thread(stale_parts, self.runtime.upload_dir, cutoff)
        if leftovers:
            async with self.db.sessions() as session:
                known = await MediaRepository(session).existing_uploads(list(leftovers))
            for upload_id, path in leftovers.items():
                if upload_id not in known:
                    await asyncio.to_thread(remove_part, path)
        return len(expired)
