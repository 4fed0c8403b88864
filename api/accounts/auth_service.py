"""Sign-in, refresh-token rotation with reuse detection, and logout."""

from __future__ import annotations

import uuid
from datetime import timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import Device
from api.accounts.models import RefreshToken as RefreshTokenRow
from api.accounts.passwords import verify_password
from api.accounts.principal import Principal
from api.accounts.repository import AccountsRepository
from api.accounts.schemas import RefreshRequest, TokenPair, TokenRequest, TokenUser
from api.accounts.throttle import LoginThrottle
from api.accounts.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from api.db.engine import begin_write
from api.lib.clock import utcnow
from api.lib.errors import Unauthenticated
from api.settings import Settings


class AuthService:
    def __init__(
        self, session: AsyncSession, settings: Settings, throttle: LoginThrottle | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.repo = AccountsRepository(session)
        self.throttle = throttle

    async def login(self, data: TokenRequest, client_ip: str | None = None) -> TokenPair:
        attempt = await self.throttle.attempt(data.email, client_ip) if self.throttle else None
        user = await self.repo.user_by_email(data.email)
        # Argon2 takes tens of milliseconds of CPU: off the event loop.
        stored_hash = user.password_hash if user else None
        ok = await anyio.to_thread.run_sync(verify_password, stored_hash, data.password)
        if user is None or not ok or not user.is_active or user.deleted_at is not None:
            raise Unauthenticated("Wrong email or password", code="invalid_credentials")
        if attempt is not None and self.throttle is not None:
            await self.throttle.succeeded(attempt)
        # The writes run in their own short write transaction (on SQLite it takes the write lock
        # first, so concurrent sign-ins queue instead of failing), on a fresh read of the user.
        user_id = user.id
        await self.session.rollback()
        await begin_write(self.session)
        user = await self.repo.user(user_id)
        if user is None or not user.is_active or user.deleted_at is not None:
            raise Unauthenticated("Wrong email or password", code="invalid_credentials")
        device = await self.repo.device(user.id, data.device_id)
        now = utcnow()
        if device is None:
            device = Device(
                tenant_id=user.tenant_id,
                user_id=user.id,
                device_id=data.device_id,
                name=data.device_name,
                platform=data.platform,
                last_seen_at=now,
            )
            self.session.add(device)
            await self.session.flush()
        else:
            device.last_seen_at = now
            device.name = data.device_name or device.name
            device.platform = data.platform or device.platform
        return await self._issue(
            user.id, user.tenant_id, user.role, user.name, device, family_id=uuid.uuid4()
        )

    async def refresh(self, data: RefreshRequest) -> TokenPair:
        now = utcnow()
        await begin_write(self.session)
        row = await self.repo.refresh_token(hash_refresh_token(data.refresh_token))
        if row is None:
            raise Unauthenticated("Unknown refresh token", code="invalid_refresh_token")
        if row.expires_at <= now and row.used_at is None and row.revoked_at is None:
            raise Unauthenticated("Refresh token expired", code="refresh_token_expired")
        # The claim is one conditional update: of concurrent refreshes with one token, one wins.
        if (
            row.used_at is not None
            or row.revoked_at is not None
            or not await self.repo.claim_refresh_token(row.id, now)
        ):
            # A used token presented again: assume theft, cut off the whole family now.
            await self.repo.revoke_family(row.family_id, now)
            await self.session.commit()
            raise Unauthenticated("Refresh token was already used; signed out", code="refresh_token_reused")
        user = await self.repo.user(row.user_id)
        device = await self.session.get(Device, row.device_pk)
        if user is None or device is None or not user.is_active or user.deleted_at is not None:
            raise Unauthenticated("Account disabled", code="invalid_refresh_token")
        device.last_seen_at = now
        return await self._issue(
            user.id, user.tenant_id, user.role, user.name, device, family_id=row.family_id
        )

    async def logout(self, principal: Principal) -> None:
        device = await self.repo.device(principal.user_id, principal.device_id)
        if device is None:
            return
        now = utcnow()
        device.revoked_at = now
        await self.repo.revoke_device_tokens(device.id, now)

    async def _issue(
        self,
        user_id: uuid.UUID,
        tenant_id: uuid.UUID,
        role: str,
        name: str,
        device: Device,
        *,
        family_id: uuid.UUID,
    ) -> TokenPair:
        refresh, refresh_hash = new_refresh_token()
        now = utcnow()
        self.session.add(
            RefreshTokenRow(
                tenant_id=tenant_id,
                user_id=user_id,
                device_pk=device.id,
                family_id=family_id,
                token_hash=refresh_hash,
                issued_at=now,
                expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_s),
            )
        )
        access = issue_access_token(
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,
            device_id=device.device_id,
            ttl_s=self.settings.access_token_ttl_s,
            secret=self.settings.secret_key,
            algorithm=self.settings.jwt_algorithm,
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=self.settings.access_token_ttl_s,
            user=TokenUser(id=user_id, tenant_id=tenant_id, role=role, name=name),
        )
