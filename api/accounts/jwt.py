"""Header-only JWT authentication (Litestar's ``JWTAuth``), resolving each token to a Principal."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.security.jwt import JWTAuth

from api.accounts.principal import Principal
from api.accounts.repository import AccountsRepository
from api.accounts.tokens import AccessToken
from api.db.session import database_from_state
from api.lib.ids import parse_uuid
from api.settings import Settings

PUBLIC_PATHS = [
    "^/v1/auth/token$",
    "^/v1/auth/refresh$",
    "^/schema",
    "^/health$",
    "^/ready$",
    "^/metrics$",
    "^/$",
]


async def principal_from_token(
    token: AccessToken, connection: ASGIConnection[Any, Any, Any, Any]
) -> Principal | None:
    """Load the caller: active user of the token's tenant, on a device not signed out since issue."""
    try:
        user_id = parse_uuid(token.sub)
        tenant_id = parse_uuid(token.tid or "")
        device_id = parse_uuid(token.did or "")
    except ValueError:
        return None
    db = database_from_state(connection.app.state)
    async with db.sessions() as session:
        repo = AccountsRepository(session)
        caller = await repo.caller(user_id, device_id)
        if caller is None:
            return None
        _, user_tenant, role, name, team_id, is_active, deleted_at, revoked_at = caller
        if user_tenant != tenant_id or not is_active or deleted_at is not None:
            return None
        if revoked_at is not None and (token.ims or 0) <= int(revoked_at.timestamp() * 1000):
            return None
        scope: frozenset[uuid.UUID] | None
        if role == "admin":
            scope = None
        elif role == "manager":
            scope = frozenset(await repo.team_rep_ids(user_id) | {user_id})
        else:
            scope = frozenset({user_id})
        return Principal(
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,
            device_id=device_id,
            name=name,
            team_id=team_id,
            rep_scope=scope,
        )


def build_jwt_auth(settings: Settings) -> JWTAuth[Principal, AccessToken]:
    return JWTAuth[Principal, AccessToken](
        retrieve_user_handler=principal_from_token,
        token_secret=settings.secret_key,
        algorithm=settings.jwt_algorithm,
        token_cls=AccessToken,
        exclude=PUBLIC_PATHS,
        exclude_opt_key="public",
        # Litestar skips HEAD by default; tus reports upload offsets with an authenticated HEAD.
        exclude_http_methods=["OPTIONS"],
    )
