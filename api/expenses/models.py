"""Expenses, usually backed by a photographed receipt."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, SyncedMixin, TenantMixin, TimestampMixin
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


class ReceiptScan(TenantMixin, TimestampMixin, Base):
    """One OCR run over a receipt: what the server keeps beside the expense's ``extraction``.

    The hashes serve duplicate checks against later receipts, the raw text is shown to reviewers
    (``extraction.raw_text_ref``), and ``fields`` holds everything the parser found (line items,
    subtotal, receipt number) with confidences. One scan per media file: the unique ``media_id``
    makes a second result for the same upload impossible.
    """

    __tablename__ = "receipt_scans"
    __table_args__ = (
        Index("ix_receipt_scans_tenant_sha256", "tenant_id", "sha256"),
        Index("ix_receipt_scans_expense_id", "expense_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    expense_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    media_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: 64-bit perceptual hash of the cropped receipt, 16 hex digits (``None``: not an image).
    phash: Mapped[str | None] = mapped_column(String(16))
    engine: Mapped[str] = mapped_column(String(200), nullable=False)
    languages: Mapped[str] = mapped_column(String(64), nullable=False)
    unreadable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str | None] = mapped_column(String(32))
    raw_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
