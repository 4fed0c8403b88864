"""Creating users and teams (admins, the CLI and the demo seed share this)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import User
from api.accounts.passwords import hash_password
from api.accounts.schemas import normal_email
from api.lib.clock import utcnow
from api.lib.errors import Conflict, ValidationFailed
from api.lib.ids import uuid7
from api.tenancy.models import Team
from sync.clock_repository import allocate_versions


async def create_user(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    email: str,
    name: str,
    role: str,
    password: str,
    team_id: uuid.UUID | None = None,
    phone: str | None = None,
    user_id: uuid.UUID | None = None,
) -> User:
    email = normal_email(email)
    if role not in {"rep", "manager", "admin"}:
        raise ValidationFailed("role must be rep, manager or admin")
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with this email exists", code="email_taken")
    if team_id is not None:
        team = await session.get(Team, team_id)
        if team is None or team.tenant_id != tenant_id:
            raise ValidationFailed("team not found", code="validation_failed")
    version = await allocate_versions(session, tenant_id, 1)
    ident = user_id or uuid7()
    now = utcnow()
    user = User(
        id=ident,
        tenant_id=tenant_id,
        email=email,
        name=name,
        role=role,
        team_id=team_id,
        phone=phone,
        password_hash=hash_password(password),
        is_active=True,
        version=version,
        field_meta={},
        scope_rep_id=ident,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def create_team(
    session: AsyncSession, *, tenant_id: uuid.UUID, name: str, manager_id: uuid.UUID | None = None
) -> Team:
    team = Team(id=uuid7(), tenant_id=tenant_id, name=name, manager_id=manager_id)
    session.add(team)
    await session.flush()
    return team
