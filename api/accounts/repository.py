"""Queries for users, devices, teams and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import Device, RefreshToken, User
from api.accounts.schemas import normal_email
from api.tenancy.models import Team

_CALLER = (
    select(
        User.id,
        User.tenant_id,
        User.role,
        User.name,
        User.team_id,
        User.is_active,
        User.deleted_at,
        Device.revoked_at,
    )
    .join(Device, Device.user_id == User.id)
    .where(User.id == bindparam("user_id"), Device.device_id == bindparam("device_id"))
)


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == normal_email(email)))

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def caller(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Row[Any] | None:
        """What authenticating a request needs of a user and their device, in one statement:
        ``(id, tenant_id, role, name, team_id, is_active, deleted_at, revoked_at)``."""
        result = await self.session.execute(_CALLER, {"user_id": user_id, "device_id": device_id})
        return result.first()

    async def team_rep_ids(self, manager_id: uuid.UUID) -> set[uuid.UUID]:
        rows = await self.session.scalars(
            select(User.id).join(Team, User.team_id == Team.id).where(Team.manager_id == manager_id)
        )
        return set(rows)

    async def device(self, user_id: uuid.UUID, device_id: uuid.UUID) -> Device | None:
        return await self.session.scalar(
            select(Device).where(Device.user_id == user_id, Device.device_id == device_id)
        )

    async def refresh_token(self, token_hash: str) -> RefreshToken | None:
        return await self.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))

    async def claim_refresh_token(self, token_id: uuid.UUID, at: datetime) -> bool:
        """Mark a refresh token used, unless another request used or revoked it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None)
            )
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_device_tokens(self, device_pk: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.device_pk == device_pk, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )
