"""Admin endpoints for users and teams (managers may read their team)."""

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.guards import provide_principal, requires_admin
from api.accounts.models import User
from api.accounts.passwords import hash_password
from api.accounts.principal import Principal
from api.accounts.schemas import TeamCreate, TeamOut, TeamUpdate, UserCreate, UserUpdate
from api.accounts.users_service import create_team, create_user
from api.db.session import provide_db_session
from api.lib.errors import Forbidden, NotFound, ValidationFailed
from api.resources.routes import service
from api.resources.schemas import out_struct
from api.tenancy.models import Team
from sync.entities import ENTITIES, Actor
from sync.serialize import entity_data

UserOut = out_struct("user")


def user_admin_handlers() -> dict[str, Any]:
    spec = ENTITIES["user"]

    @post("", operation_id="CreateUser", guards=[requires_admin])
    async def create_one(
        self: Any,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[UserCreate],
    ) -> UserOut:  # type: ignore[valid-type]
        user = await create_user(
            session,
            tenant_id=principal.tenant_id,
            email=data.email,
            name=data.name,
            role=data.role,
            password=data.password,
            team_id=data.team_id,
            phone=data.phone,
        )
        return entity_data(spec, user)  # type: ignore[return-value]

    @patch("/{item_id:uuid}", operation_id="UpdateUser")
    async def update_one(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[UserUpdate],
    ) -> UserOut:  # type: ignore[valid-type]
        svc = service(request, session, principal)
        row = await svc.get_row(spec, item_id)
        fields = msgspec.to_builtins(data)
        password = fields.pop("password", None)
        if principal.role != "admin":
            if item_id != principal.user_id:
                raise Forbidden("Only admins can change other users")
            if set(fields) - {"name", "phone"} or password is not None:
                raise Forbidden("You can change your name and phone")
        if "team_id" in fields and fields["team_id"] is not None:
            team = await session.get(Team, uuid.UUID(fields["team_id"]))
            if team is None or team.tenant_id != principal.tenant_id:
                raise ValidationFailed("team not found")
        if fields:
            await svc.write(spec, item_id, fields)
        if password is not None:
            row.password_hash = hash_password(password)
        await session.flush()
        return entity_data(spec, row)  # type: ignore[return-value]

    @delete("/{item_id:uuid}", operation_id="DeleteUser", status_code=204, guards=[requires_admin])
    async def delete_one(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
    ) -> None:
        svc = service(request, session, principal)
        await svc.get_row(spec, item_id)
        if item_id == principal.user_id:
            raise Forbidden("Admins cannot delete themselves")
        await svc.write(spec, item_id, {"is_active": False})
        await svc.write(spec, item_id, {}, op="delete", actor=Actor(user_id=principal.user_id, role="system"))

    return {"create_one": create_one, "update_one": update_one, "delete_one": delete_one}


async def _team_out(session: AsyncSession, team: Team) -> TeamOut:
    members = list(
        await session.scalars(select(User.id).where(User.team_id == team.id, User.deleted_at.is_(None)))
    )
    return TeamOut(id=team.id, name=team.name, manager_id=team.manager_id, member_ids=members)


class TeamController(Controller):
    path = "/v1/teams"
    tags = ["teams"]
    dependencies = {"session": Provide(provide_db_session), "principal": Provide(provide_principal)}

    async def _get(self, session: AsyncSession, principal: Principal, team_id: uuid.UUID) -> Team:
        team = await session.get(Team, team_id)
        if team is None or team.tenant_id != principal.tenant_id:
            raise NotFound("team not found")
        if principal.role == "manager" and team.manager_id != principal.user_id:
            raise NotFound("team not found")
        if principal.role == "rep" and principal.team_id != team.id:
            raise NotFound("team not found")
        return team

    @get("", operation_id="ListTeams")
    async def list_teams(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> dict[str, Any]:
        stmt = select(Team).where(Team.tenant_id == principal.tenant_id).order_by(Team.name)
        if principal.role == "manager":
            stmt = stmt.where(Team.manager_id == principal.user_id)
        elif principal.role == "rep":
            stmt = stmt.where(Team.id == principal.team_id)
        teams = list(await session.scalars(stmt))
        items = [msgspec.to_builtins(await _team_out(session, t)) for t in teams]
        return {"items": items, "limit": len(items), "offset": 0, "total": len(items)}

    @get("/{team_id:uuid}", operation_id="GetTeam")
    async def get_team(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        team_id: FromPath[uuid.UUID],
    ) -> TeamOut:
        return await _team_out(session, await self._get(session, principal, team_id))

    @post("", operation_id="CreateTeam", guards=[requires_admin])
    async def create(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[TeamCreate],
    ) -> TeamOut:
        team = await create_team(
            session, tenant_id=principal.tenant_id, name=data.name, manager_id=data.manager_id
        )
        return await _team_out(session, team)

    @patch("/{team_id:uuid}", operation_id="UpdateTeam", guards=[requires_admin])
    async def update(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        team_id: FromPath[uuid.UUID],
        data: JSONBody[TeamUpdate],
    ) -> TeamOut:
        team = await self._get(session, principal, team_id)
        if data.name is not msgspec.UNSET:
            team.name = data.name
        if data.manager_id is not msgspec.UNSET:
            team.manager_id = data.manager_id
        await session.flush()
        return await _team_out(session, team)

    @delete("/{team_id:uuid}", operation_id="DeleteTeam", status_code=204, guards=[requires_admin])
    async def delete_team(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        team_id: FromPath[uuid.UUID],
    ) -> None:
        team = await self._get(session, principal, team_id)
        await session.delete(team)
