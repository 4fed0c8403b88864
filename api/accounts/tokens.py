"""Access tokens (JWT, HS256 pinned) and the claims the contract fixes: sub, tid, role, did."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from litestar.security.jwt import Token

from api.lib.clock import utcnow


@dataclass
class AccessToken(Token):
    """A Litestar JWT token with Fieldline's claims as top-level fields."""

    tid: str | None = None
    role: str | None = None
    did: str | None = None
    #: Issued-at in milliseconds: logout revokes every token issued up to that instant.
    ims: int | None = None


def issue_access_token(
    *,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    role: str,
    device_id: uuid.UUID,
    ttl_s: int,
    secret: str,
    algorithm: str,
) -> str:
    now = utcnow()
    token = AccessToken(
        sub=str(user_id),
        exp=now + timedelta(seconds=ttl_s),
        iat=now,
        jti=uuid.uuid4().hex,
        tid=str(tenant_id),
        role=role,
        did=str(device_id),
        ims=int(now.timestamp() * 1000),
    )
    return token.encode(secret=secret, algorithm=algorithm)


def new_refresh_token() -> tuple[str, str]:
    """A random refresh token and the SHA-256 the server keeps."""
    token = secrets.token_urlsafe(40)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
