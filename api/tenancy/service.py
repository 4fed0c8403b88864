"""Reading and changing a tenant's settings (time zone and policy thresholds)."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.lib.errors import NotFound, ValidationFailed, field_error
from api.tenancy.models import Tenant
from api.tenancy.policy import TenantSettings, TenantSettingsUpdate, tenant_settings


def is_known_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this server knows (``Asia/Shanghai``, ``UTC`` ...)."""
    if name != name.strip() or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class TenantSettingsService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def _tenant(self) -> Tenant:
        tenant = await self.session.get(Tenant, self.tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        return tenant

    async def get(self) -> TenantSettings:
        tenant = await self._tenant()
        return tenant_settings(tenant.timezone, tenant.settings)

    async def update(self, change: TenantSettingsUpdate) -> TenantSettings:
        """Apply the fields given; the time zone is a column, the rest are stored overrides."""
        fields: dict[str, Any] = msgspec.to_builtins(change)
        zone = fields.pop("timezone", None)
        if zone is not None and not is_known_zone(zone):
            raise ValidationFailed(
                f"unknown time zone {zone!r}",
                errors=[
                    field_error("timezone", "unknown_timezone", "expected an IANA zone such as Asia/Shanghai")
                ],
            )
        tenant = await self._tenant()
        if zone is not None:
            tenant.timezone = zone
        if fields:
            tenant.settings = {**(tenant.settings or {}), **fields}
        await self.session.flush()
        return tenant_settings(tenant.timezone, tenant.settings)
