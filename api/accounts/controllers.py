"""Auth endpoints and ``GET /v1/me``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.auth_service import AuthService
from api.accounts.guards import provide_principal
from api.accounts.principal import Principal
from api.accounts.repository import AccountsRepository
from api.accounts.schemas import MeOut, RefreshRequest, TokenPair, TokenRequest
from api.db.session import provide_db_session, provide_write_session
from api.lib.errors import NotFound
from api.tenancy.models import Tenant


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]
    # Every auth call writes (devices, refresh tokens): take the writer lock up front, so phones
    # signing in at once queue for it on SQLite instead of failing with "database is locked".
    dependencies = {"session": Provide(provide_write_session)}

    @post("/token", operation_id="IssueToken", status_code=200, opt={"public": True})
    async def token(
        self,
        request: Request[Any, Any, Any],
        state: State,
        session: NamedDependency[AsyncSession],
        data: JSONBody[TokenRequest],
    ) -> TokenPair:
        service = AuthService(session, state["settings"], throttle=state.get("login_throttle"))
        return await service.login(data, client_ip=request.client.host if request.client else None)

    @post("/refresh", operation_id="RefreshToken", status_code=200, opt={"public": True})
    async def refresh(
        self, state: State, session: NamedDependency[AsyncSession], data: JSONBody[RefreshRequest]
    ) -> TokenPair:
        return await AuthService(session, state["settings"]).refresh(data)

    @post(
        "/logout",
        operation_id="Logout",
        status_code=204,
        dependencies={"principal": Provide(provide_principal)},
    )
    async def logout(
        self, state: State, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> None:
        await AuthService(session, state["settings"]).logout(principal)


class MeController(Controller):
    path = "/v1/me"
    tags = ["auth"]
    dependencies = {"session": Provide(provide_db_session), "principal": Provide(provide_principal)}

    @get("", operation_id="GetMe")
    async def me(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> MeOut:
        user = await AccountsRepository(session).user(principal.user_id)
        tenant = await session.get(Tenant, principal.tenant_id)
        if user is None or tenant is None:
            raise NotFound("user not found")
        return MeOut(
            id=user.id,
            tenant_id=user.tenant_id,
            email=user.email,
            name=user.name,
            role=user.role,
            team_id=user.team_id,
            device_id=principal.device_id,
            timezone=tenant.timezone,
        )
