"""``POST /v1/tracks``: a phone's batch of fixes, checked and stored once per (device, time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from api.accounts.repository import AccountsRepository
from api.lib.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, ValidationFailed, field_error
from api.tenancy.models import Tenant
from api.tenancy.policy import tenant_settings
from geo.ingest import BatchRefused, IngestLimits, ParsedBatch, parse_batch
from geo.schemas import RejectedPoint, TrackIngestResult
from geo.track_repository import TrackRepository

__all__ = ["TrackIngestService"]

MAX_POINTS = IngestLimits().max_points


class TrackIngestService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    async def ingest(self, body: bytes, now: datetime) -> TrackIngestResult:
        """Check and store one batch for the caller (the rep is the caller; the device must be one
        the caller signed in from)."""
        tenant = await self.session.get(Tenant, self.principal.tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        policy = tenant_settings(tenant.timezone, tenant.settings)
        limits = IngestLimits(future_tolerance_s=policy.max_clock_skew_s)
        batch = self._parse(body, int(now.timestamp() * 1000), limits)
        await self._check_device(batch)
        stored = await TrackRepository(self.session).insert(
            self.principal.tenant_id, self.principal.user_id, batch.device_id, batch
        )
        return TrackIngestResult(
            accepted=stored,
            duplicates=batch.count - stored + batch.repeated,
            rejected=[RejectedPoint(index=r.index, code=r.code, field=r.field) for r in batch.rejected],
        )

    @staticmethod
    def _parse(body: bytes, now_ms: int, limits: IngestLimits) -> ParsedBatch:
        try:
            return parse_batch(body, now_ms, limits)
        except BatchRefused as exc:
            if exc.kind == "too_many_points":
                raise PayloadTooLarge(exc.message, extra={"max_points": limits.max_points}) from exc
            if exc.kind == "malformed":
                raise BadRequest("The request body is not valid JSON", code="malformed_json") from exc
            raise ValidationFailed(exc.message, errors=[field_error(None, "invalid", exc.message)]) from exc

    async def _check_device(self, batch: ParsedBatch) -> None:
        if batch.device_id == self.principal.device_id:
            return
        device = await AccountsRepository(self.session).device(self.principal.user_id, batch.device_id)
        if device is None or device.tenant_id != self.principal.tenant_id or device.revoked_at is not None:
            raise Forbidden("device_id is not a device you signed in from", code="device_mismatch")
