"""Wire types for auth, users and teams."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

#: No control characters (nor NUL, which PostgreSQL cannot store).
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]


def normal_email(email: str) -> str:
    """An email as it is stored and looked up: trimmed, lowercase."""
    return email.strip().lower()


Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Role = Literal["rep", "manager", "admin"]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    password: Password
    device_id: uuid.UUID
    device_name: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_CONTROL)] | None = None
    platform: Annotated[str, msgspec.Meta(max_length=32, pattern=NO_CONTROL)] | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class TokenUser(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    name: str


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    user: TokenUser
    token_type: str = "Bearer"


class UserOut(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    role: str
    team_id: uuid.UUID | None
    phone: str | None
    is_active: bool
    version: int
    created_at: str
    updated_at: str


class MeOut(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    role: str
    team_id: uuid.UUID | None
    device_id: uuid.UUID
    timezone: str


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Role
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
    team_id: uuid.UUID | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    team_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)] | msgspec.UnsetType = msgspec.UNSET


class TeamOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    manager_id: uuid.UUID | None
    member_ids: list[uuid.UUID]


class TeamCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    manager_id: uuid.UUID | None = None


class TeamUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    manager_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
