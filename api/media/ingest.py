"""Accepting a complete upload: validate, store the original, create the media record, link it.

Used by both upload paths (tus and one-shot) once all bytes are in a local file:

1. the target row is checked (kind, exists in the caller's tenant, in the caller's scope, not
   locked);
2. the file is validated from its bytes (``media.validate``) and, for photos, fingerprinted -
   in a worker thread;
3. the original is stored unchanged, content-addressed by SHA-256;
4. one transaction creates the ``media`` row, links it through the sync writer (a ``photo`` for a
   visit photo, the expense's ``receipt_media_id`` and status ``processing`` for a receipt) and
   enqueues its job (``media.render`` / ``ocr.receipt``), so phones see the link on their next
   pull and the job exists exactly when the link does.

A refused file raises before anything is stored or written. The same bytes uploaded again to the
same row return the existing record.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from api.db.engine import write_session
from api.db.session import Database
from api.jobs import queue
from api.lib.clock import utcnow
from api.lib.errors import Conflict, DomainError, NotFound, Unavailable, ValidationFailed, field_error
from api.lib.ids import uuid7
from api.media.repository import MediaRepository
from api.media.runtime import MediaRuntime
from api.resources.service import outcome_error
from media import images
from media.fingerprint import Fingerprint, fingerprint
from media.models import Media, Upload
from media.storage import StorageError
from media.validate import MediaRejected, ValidatedMedia, validate_upload
from sync.entities import Actor
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.writer import AfterMerge, SyncWriter

KINDS: Final = ("visit_photo", "receipt")
RENDER_JOB: Final = "media.render"
OCR_JOB: Final = "ocr.receipt"
SYSTEM: Final = Actor(user_id=None, role="system")
#: Fingerprints are computed on a copy this small (they work on <= 256 px anyway).
_FINGERPRINT_SIDE: Final = 512


class MediaRefused(DomainError):
    """An upload refused by validation, with the validator's code and HTTP status."""

    def __init__(self, rejected: MediaRejected) -> None:
        super().__init__(rejected.detail, code=rejected.code)
        self.status = rejected.http_status
        self.title = "Upload refused"


def storage_failure(exc: StorageError) -> DomainError:
    if exc.code == "no_space":
        error = Unavailable("media storage is full", code="storage_full")
        error.status = 507
        return error
    return Unavailable("media storage is unavailable; retry later", code="storage_unavailable")


def check_kind(kind: str | None) -> str:
    if kind not in KINDS:
        raise ValidationFailed(
            f"kind must be one of {', '.join(KINDS)}",
            code="invalid_kind",
            errors=[field_error("kind", "invalid", "visit_photo or receipt")],
        )
    return kind


async def check_target(repo: MediaRepository, principal: Principal, kind: str, entity_id: uuid.UUID) -> Any:
    """The visit or expense an upload goes to: in the caller's tenant and scope (404 otherwise),
    and open for a new receipt (an approved expense is locked: 409)."""
    check_kind(kind)
    name = "visit" if kind == "visit_photo" else "expense"
    row = await (repo.visit if kind == "visit_photo" else repo.expense)(principal.tenant_id, entity_id)
    if row is None or not principal.sees_rep(row.scope_rep_id):
        raise NotFound(f"{name} {entity_id} not found", errors=[field_error("entity_id", "not_found", name)])
    if kind == "receipt":
        review = row.review or {}
        if row.status == "approved" or review.get("status") == "approved":
            raise Conflict("the expense is approved; its receipt can no longer change", code="locked")
    return row


@dataclass(frozen=True)
class Inspected:
    validated: ValidatedMedia
    fingerprint: Fingerprint | None


def inspect_file(path: Path, declared_type: str | None, kind: str, runtime: MediaRuntime) -> Inspected:
    """Validate (and fingerprint a photo) in one decode. Synchronous: run in a thread."""
    validated = validate_upload(path, declared_type, kind, runtime.limits, keep_image=kind == "visit_photo")  # type: ignore[arg-type]
    photo_print: Fingerprint | None = None
    if validated.image is not None:
        try:
            upright = images.upright(validated.image)
            photo_print = fingerprint(images.resize_within(upright, _FINGERPRINT_SIDE))
        finally:
            validated.image.close()
    return Inspected(validated, photo_print)


def exif_json(exif: images.ExifData | None) -> dict[str, Any] | None:
    """EXIF claims as stored on the media row (naive times stay naive: no offset was given)."""
    if exif is None or (exif.is_empty and exif.make is None and exif.orientation is None):
        return None
    return {
        "taken_at": exif.taken_at.isoformat() if exif.taken_at else None,
        "gps_at": exif.gps_at.isoformat() if exif.gps_at else None,
        "lat": exif.lat,
        "lon": exif.lon,
        "altitude_m": exif.altitude_m,
        "make": exif.make,
        "model": exif.model,
        "orientation": exif.orientation,
    }


@dataclass(frozen=True)
class Accepted:
    media: Media
    created: bool  # False: the same bytes were already attached to the same row


class MediaIngest:
    def __init__(
        self,
        db: Database,
        runtime: MediaRuntime,
        clock: HybridClock,
        *,
        after_merge: Sequence[AfterMerge] = (),
        wake_worker: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.clock = clock
        self.after_merge = after_merge
        self.wake_worker = wake_worker

    async def check(self, principal: Principal, kind: str, entity_id: uuid.UUID) -> None:
        async with self.db.sessions() as session:
            await check_target(MediaRepository(session), principal, kind, entity_id)

    async def accept(
        self,
        principal: Principal,
        path: Path,
        *,
        kind: str,
        entity_id: uuid.UUID,
        declared_type: str | None,
        filename: str | None,
        upload_id: uuid.UUID | None = None,
    ) -> Accepted:
        """Validate, store and link a complete file (see the module docstring)."""
        await self.check(principal, kind, entity_id)
        try:
            inspected = await asyncio.to_thread(inspect_file, path, declared_type, kind, self.runtime)
        except MediaRejected as exc:
            raise MediaRefused(exc) from exc
        validated = inspected.validated
        try:
            stored = await self.runtime.storage.put_file(path, content_type=validated.content_type)
        except StorageError as exc:
            raise storage_failure(exc) from exc

        async with write_session(self.db.sessions) as session:
            repo = MediaRepository(session)
            await check_target(repo, principal, kind, entity_id)
            existing = await repo.same_content(principal.tenant_id, kind, entity_id, stored.sha256)
            if existing is not None:
                await self._finish_upload(session, upload_id, existing.id)
                return Accepted(existing, created=False)
            media = Media(
                id=uuid7(),
                tenant_id=principal.tenant_id,
                owner_id=principal.user_id,
                kind=kind,
                entity_id=entity_id,
                sha256=stored.sha256,
                size=stored.size,
                content_type=validated.content_type,
                filename=(filename or None) and filename[:255],
                width=validated.width,
                height=validated.height,
                storage_key=stored.key,
                status="stored",  # a photo becomes "ready" (or "failed") with its rendition
                fingerprint={"v": 1, "hex": inspected.fingerprint.to_hex()}
                if inspected.fingerprint
                else None,
                exif=exif_json(validated.exif),
            )
            session.add(media)
            await session.flush()
            await self._finish_upload(session, upload_id, media.id)
            await self._link(session, principal, media)
        if self.wake_worker is not None:
            self.wake_worker()
        return Accepted(media, created=True)

    async def _finish_upload(
        self, session: AsyncSession, upload_id: uuid.UUID | None, media_id: uuid.UUID
    ) -> None:
        if upload_id is not None:
            await session.execute(
                update(Upload)
                .where(Upload.id == upload_id)
                .values(status="complete", media_id=media_id, offset=Upload.length, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    async def _link(self, session: AsyncSession, principal: Principal, media: Media) -> None:
        """Enqueue the media's job, then write the link through the sync writer (the writer
        reserves change numbers, which should come last in the transaction)."""
        media_id = str(media.id)
        if media.kind == "visit_photo":
            await queue.enqueue(
                session,
                RENDER_JOB,
                {"media_id": media_id},
                tenant_id=principal.tenant_id,
                dedupe_key=f"{RENDER_JOB}:{media_id}",
            )
            entity, ident = "photo", uuid7()
            fields: dict[str, Any] = {"visit_id": str(media.entity_id), "media_id": media_id}
        else:
            await queue.enqueue(
                session,
                OCR_JOB,
                {"expense_id": str(media.entity_id), "media_id": media_id},
                tenant_id=principal.tenant_id,
                dedupe_key=f"{OCR_JOB}:{media_id}",
            )
            entity, ident = "expense", media.entity_id
            fields = {"receipt_media_id": media_id, "status": "processing"}
        writer = SyncWriter(
            session, principal.tenant_id, SYSTEM, after_merge=self.after_merge, lock_rows=True
        )
        (outcome,) = await writer.apply(
            [
                Incoming(
                    entity=entity,
                    id=ident,
                    op="upsert",
                    hlc=self.clock.now(),
                    base_version=None,
                    fields=fields,
                )
            ]
        )
        if (error := outcome_error(outcome)) is not None:
            raise error
