"""Tenants (companies) and teams (a manager and their reps)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, TenantMixin, TimestampMixin
from api.db.types import JSONType


class Tenant(TimestampMixin, Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    #: Overrides of :class:`api.tenancy.policy.TenantSettings` defaults.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class Team(TenantMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The team's manager (a user id; not a foreign key, to keep users and teams free of a cycle).
    manager_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
