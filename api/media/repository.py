"""Queries for media records, tus uploads and the rows an upload is linked to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import User
from api.customers.models import Customer
from api.expenses.models import Expense
from api.photos.models import Photo
from api.tenancy.models import Tenant
from api.visits.models import Visit
from media.models import Media, Upload


@dataclass(frozen=True)
class RenderSubject:
    """Everything the rendition of one visit photo needs from the database."""

    media: Media
    photo: Photo | None
    visit: Visit
    customer: Customer | None
    rep: User | None
    tenant: Tenant


@dataclass(frozen=True)
class PriorPrint:
    photo_id: uuid.UUID
    sha256: str
    fingerprint: dict[str, Any] | None


class MediaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- link targets ---------------------------------------------------------------------------
    async def visit(self, tenant_id: uuid.UUID, visit_id: uuid.UUID) -> Visit | None:
        return await self.session.scalar(
            select(Visit).where(
                Visit.id == visit_id, Visit.tenant_id == tenant_id, Visit.deleted_at.is_(None)
            )
        )

    async def expense(self, tenant_id: uuid.UUID, expense_id: uuid.UUID) -> Expense | None:
        return await self.session.scalar(
            select(Expense).where(
                Expense.id == expense_id, Expense.tenant_id == tenant_id, Expense.deleted_at.is_(None)
            )
        )

    async def entity_scope(self, media: Media) -> uuid.UUID | None:
        """The rep whose scope holds the row the media is linked to."""
        model: Any = Visit if media.kind == "visit_photo" else Expense
        return await self.session.scalar(select(model.scope_rep_id).where(model.id == media.entity_id))

    # -- media ----------------------------------------------------------------------------------
    async def media(self, tenant_id: uuid.UUID, media_id: uuid.UUID) -> Media | None:
        return await self.session.scalar(
            select(Media).where(Media.id == media_id, Media.tenant_id == tenant_id)
        )

    async def media_by_id(self, media_id: uuid.UUID) -> Media | None:
        return await self.session.get(Media, media_id)

    async def same_content(
        self, tenant_id: uuid.UUID, kind: str, entity_id: uuid.UUID, sha256: str
    ) -> Media | None:
        """An earlier, not failed upload of the same bytes to the same row (uploads are idempotent)."""
        return await self.session.scalar(
            select(Media)
            .where(
                Media.tenant_id == tenant_id,
                Media.sha256 == sha256,
                Media.kind == kind,
                Media.entity_id == entity_id,
                Media.status != "failed",
            )
            .order_by(Media.created_at)
            .limit(1)
        )

    async def by_rendition(self, tenant_id: uuid.UUID, sha256: str) -> Media | None:
        return await self.session.scalar(
            select(Media).where(Media.tenant_id == tenant_id, Media.rendition_sha256 == sha256).limit(1)
        )

    async def photo_for(self, media_id: uuid.UUID) -> Photo | None:
        return await self.session.scalar(
            select(Photo).where(Photo.media_id == media_id).order_by(Photo.created_at).limit(1)
        )

    async def render_subject(self, media_id: uuid.UUID) -> RenderSubject | None:
        media = await self.session.get(Media, media_id)
        if media is None or media.entity_id is None:
            return None
        visit = await self.session.get(Visit, media.entity_id)
        tenant = await self.session.get(Tenant, media.tenant_id)
        if visit is None or tenant is None:
            return None
        return RenderSubject(
            media=media,
            photo=await self.photo_for(media.id),
            visit=visit,
            customer=await self.session.get(Customer, visit.customer_id),
            rep=await self.session.get(User, visit.rep_id),
            tenant=tenant,
        )

    async def prior_prints(self, media: Media, visit_id: uuid.UUID) -> list[PriorPrint]:
        """Photos of the tenant uploaded before ``media``, at other visits, with their hashes."""
        rows = await self.session.execute(
            select(Photo.id, Media.sha256, Media.fingerprint)
            .join(Media, Media.id == Photo.media_id)
            .where(
                Media.tenant_id == media.tenant_id,
                Media.kind == "visit_photo",
                Media.id != media.id,
                Media.created_at <= media.created_at,
                Photo.visit_id != visit_id,
                Photo.deleted_at.is_(None),
            )
        )
        return [PriorPrint(photo_id, sha, fp) for photo_id, sha, fp in rows]

    async def mark_failed(self, media_id: uuid.UUID, error: str) -> None:
        await self.session.execute(
            update(Media)
            .where(Media.id == media_id, Media.status != "ready")
            .values(status="failed", error=error[:2000])
            .execution_options(synchronize_session=False)
        )

    # -- uploads --------------------------------------------------------------------------------
    async def upload(self, tenant_id: uuid.UUID, owner_id: uuid.UUID, upload_id: uuid.UUID) -> Upload | None:
        return await self.session.scalar(
            select(Upload).where(
                Upload.id == upload_id, Upload.tenant_id == tenant_id, Upload.owner_id == owner_id
            )
        )

    async def advance(self, upload_id: uuid.UUID, old_offset: int, new_offset: int, now: datetime) -> bool:
        """Move the committed offset, fenced on the old one (a racing writer cannot skip bytes)."""
        result = await self.session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.offset == old_offset, Upload.status == "receiving")
            .values(offset=new_offset, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_upload(self, upload_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Upload).where(Upload.id == upload_id).execution_options(synchronize_session=False)
        )

    async def existing_uploads(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self.session.scalars(select(Upload.id).where(Upload.id.in_(ids)))
        return set(rows)

    async def expired_uploads(self, now: datetime, limit: int = 500) -> list[uuid.UUID]:
        rows = await self.session.scalars(select(Upload.id).where(Upload.expires_at < now).limit(limit))
        return list(rows)
