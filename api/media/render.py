"""The ``media.render`` job: a visit photo's watermarked, signed rendition, thumbnail and evidence.

For one media record: decode the stored original, apply its EXIF orientation, draw the band
(server receive time in the tenant's zone, the visit's check-in position and the customer's
address, customer, rep and visit), sign it (Ed25519, embedded), make a thumbnail, store both, and
compare the photo's EXIF with the check-in and its fingerprint with the tenant's earlier photos.
One transaction then marks the media ``ready`` and writes ``photo.evidence`` through the sync
writer (a server-authoritative field, so phones get it on their next pull), together with the
job's completion. A job that keeps failing marks the media ``failed``.

Also ``media.sweep_uploads``: removes expired tus uploads (rows and part files).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any, Final

from api.db.engine import write_session
from api.jobs import queue
from api.jobs.worker import JobContext, PermanentJobError
from api.lib.clock import parse_rfc3339, rfc3339, utcnow
from api.media.ingest import SYSTEM, MediaIngest
from api.media.repository import MediaRepository, PriorPrint, RenderSubject
from api.media.runtime import MediaRuntime
from api.media.uploads import UploadService
from api.resources.service import outcome_error
from media import evidence as ev
from media.fingerprint import Fingerprint
from media.models import Media
from media.rendition import PhotoFacts, RenderedPhoto, render_photo
from media.storage import StorageError
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.writer import SyncWriter

RENDITIONS: Final = "renditions"
THUMBNAILS: Final = "thumbnails"
#: Evidence flag of a photo whose visit has no check-in to compare with.
NO_CHECK_IN: Final = "no_check_in"


def _runtime(ctx: JobContext) -> MediaRuntime:
    runtime: MediaRuntime = ctx.services["media"]
    return runtime


def photo_facts(subject: RenderSubject) -> PhotoFacts:
    """The server-trusted facts of the band, all read from the database."""
    media, visit, customer = subject.media, subject.visit, subject.customer
    check_in = visit.check_in or {}
    verdict = (visit.check_in_verdict or {}).get("status")
    lat, lon = check_in.get("lat"), check_in.get("lon")
    note = None
    if lat is None or lon is None:
        lat, lon = None, None
    elif verdict and verdict != "verified":
        note = f"check-in {verdict}"
    return PhotoFacts(
        media_id=str(media.id),
        visit_id=str(visit.id),
        rep_id=str(visit.rep_id),
        issued_at=media.created_at,
        time_zone=subject.tenant.timezone or "UTC",
        customer_name=customer.name if customer is not None else "-",
        rep_name=subject.rep.name if subject.rep is not None else "-",
        lat=lat,
        lon=lon,
        address=customer.address if customer is not None else None,
        place_note=note,
    )


def _check_in(visit: Any) -> ev.CheckIn | None:
    fix = visit.check_in or {}
    try:
        return ev.CheckIn(
            at=parse_rfc3339(fix["at"]), lat=fix["lat"], lon=fix["lon"], accuracy_m=fix.get("accuracy_m")
        )
    except (KeyError, TypeError, ValueError):
        return None


def _priors(prints: list[PriorPrint]) -> list[ev.PriorPhoto]:
    out: list[ev.PriorPhoto] = []
    for p in prints:
        fp = None
        if p.fingerprint and isinstance(p.fingerprint.get("hex"), str):
            try:
                fp = Fingerprint.from_hex(p.fingerprint["hex"])
            except ValueError:
                fp = None
        out.append(ev.PriorPhoto(str(p.photo_id), p.sha256, fp))
    return out


def photo_evidence(
    subject: RenderSubject, rendered: RenderedPhoto, priors: list[PriorPrint], received_at: datetime
) -> dict[str, Any]:
    """``photo.evidence`` as stored: EXIF claims vs the check-in, and re-use of an earlier photo
    (``reused_from`` names the earlier *photo*)."""
    media, visit = subject.media, subject.visit
    check_in = _check_in(visit)
    check_out = visit.check_out or {}
    try:
        visit_end = parse_rfc3339(check_out["at"]) if check_out.get("at") else received_at
    except (TypeError, ValueError):
        visit_end = received_at
    fp = None
    if media.fingerprint and isinstance(media.fingerprint.get("hex"), str):
        fp = Fingerprint.from_hex(media.fingerprint["hex"])
    found = ev.evidence_for_photo(
        rendered.exif,
        check_in,
        _priors(priors),
        fingerprint=fp,
        sha256=media.sha256,
        visit_end=visit_end,
        time_zone=subject.tenant.timezone or "UTC",
    )
    flags = list(found.flags)
    if check_in is None:
        flags.append(NO_CHECK_IN)
    return {
        "exif_at": rfc3339(found.exif_at) if found.exif_at else None,
        "exif_lat": found.exif_lat,
        "exif_lon": found.exif_lon,
        "distance_to_check_in_m": found.distance_to_check_in_m,
        "time_diff_s": found.time_diff_s,
        "reused_from": found.reused_from,
        "flags": flags,
    }


async def render_media(ctx: JobContext, lease: queue.Lease) -> None:
    runtime = _runtime(ctx)
    try:
        media_id = uuid.UUID(str(lease.payload["media_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentJobError("payload has no valid media_id") from exc
    async with ctx.db.sessions() as session:
        repo = MediaRepository(session)
        subject = await repo.render_subject(media_id)
        if subject is None or subject.media.kind != "visit_photo":
            raise PermanentJobError(f"media {media_id} is not a visit photo of an existing visit")
        if subject.media.status == "ready":
            return  # already rendered (a retry after a lost completion)
        priors = await repo.prior_prints(subject.media, subject.visit.id)
    facts = photo_facts(subject)
    media = subject.media
    try:
        async with runtime.storage.local_path(media.storage_key) as path:
            rendered = await asyncio.to_thread(render_photo, path, media.content_type, facts, runtime.signer)
        rendition = await runtime.storage.put_bytes(
            rendered.rendition, prefix=RENDITIONS, content_type="image/jpeg"
        )
        thumbnail = await runtime.storage.put_bytes(
            rendered.thumbnail.data, prefix=THUMBNAILS, content_type=rendered.thumbnail.content_type
        )
    except StorageError as exc:
        raise RuntimeError(f"storage: {exc.code}") from exc  # transient: retried with backoff
    evidence = photo_evidence(subject, rendered, priors, media.created_at)
    record = rendered.record

    async with write_session(ctx.db.sessions) as session:
        row = await session.get(Media, media.id)
        if row is None:
            raise PermanentJobError(f"media {media.id} was deleted")
        row.rendition_key = rendition.key
        row.rendition_sha256 = record.file_sha256
        row.thumbnail_key = thumbnail.key
        row.provenance = {
            "key_id": record.key_id,
            "file_sha256": record.file_sha256,
            "content_sha256": record.content_sha256,
            "token": record.token,
            "width": rendered.width,
            "height": rendered.height,
            "size": rendition.size,
            "thumbnail_size": thumbnail.size,
        }
        row.status = "ready"
        row.error = None
        row.updated_at = utcnow()
        await session.flush()
        await queue.complete(session, lease)
        if subject.photo is not None and subject.photo.deleted_at is None:
            writer = SyncWriter(session, media.tenant_id, SYSTEM, lock_rows=True)
            (outcome,) = await writer.apply(
                [
                    Incoming(
                        entity="photo",
                        id=subject.photo.id,
                        op="upsert",
                        hlc=HybridClock().now(),
                        base_version=None,
                        fields={"evidence": evidence},
                    )
                ]
            )
            if (error := outcome_error(outcome)) is not None:
                raise PermanentJobError(f"photo evidence refused: {error.code}")


async def render_failed(ctx: JobContext, lease: queue.Lease, error: str) -> None:
    """The job gave up: the media is ``failed`` (its original is kept; the error is recorded)."""
    try:
        media_id = uuid.UUID(str(lease.payload["media_id"]))
    except (KeyError, ValueError):
        return
    async with write_session(ctx.db.sessions) as session:
        await MediaRepository(session).mark_failed(media_id, error)


async def sweep_uploads(ctx: JobContext, lease: queue.Lease) -> None:
    runtime = _runtime(ctx)
    uploads = UploadService(MediaIngest(ctx.db, runtime, HybridClock()))
    await uploads.sweep_expired()
    sweep = getattr(runtime.storage, "sweep_temp", None)
    if sweep is not None:
        await asyncio.to_thread(sweep)
