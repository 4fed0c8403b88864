"""Expenses, usually backed by a photographed receipt."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, SyncedMixin
from api.db.types import JSONType


class Expense(SyncedMixin, Base):
    __tablename__ = "expenses"
    __table_args__ = (
        Index("ix_expenses_tenant_version", "tenant_id", "version"),
        Index("ix_expenses_rep_date", "rep_id", "date"),
    )

    rep_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    visit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    receipt_media_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    merchant: Mapped[str | None] = mapped_column(String(300))
    #: ISO date ``YYYY-MM-DD`` as printed on the receipt (a calendar date, no zone).
    date: Mapped[str | None] = mapped_column(String(10))
    #: Money as a decimal string, e.g. ``"12.50"``.
    total: Mapped[str | None] = mapped_column(String(32))
    tax: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(3))
    category_code: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    extraction: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
