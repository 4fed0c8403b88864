"""Queries behind receipt processing and the finance export (no rules here, only reads and locks)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import User
from api.expenses.export import Person
from api.expenses.models import Expense, ReceiptScan
from api.expenses.receipts import Category, OtherExpense
from api.reference.models import ExpenseCategory
from api.tenancy.models import Tenant
from api.tenancy.policy import TenantSettings, tenant_settings
from media.models import Media
from media.ocr.flags import ReceiptRecord

#: Other expenses compared with a new receipt, newest first.
MAX_COMPARED = 500


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def get_expense(session: AsyncSession, expense_id: uuid.UUID, *, lock: bool = False) -> Expense | None:
    """The expense row; with ``lock``, held until the transaction ends (PostgreSQL row lock;
    SQLite write transactions are exclusive already)."""
    stmt = select(Expense).where(Expense.id == expense_id)
    if lock and _is_postgres(session):
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get_media(session: AsyncSession, media_id: uuid.UUID) -> Media | None:
    return await session.get(Media, media_id)


async def scan_exists(session: AsyncSession, media_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(ReceiptScan.media_id == media_id))))


async def latest_scan(session: AsyncSession, expense: Expense) -> ReceiptScan | None:
    """The scan of the expense's current receipt."""
    if expense.receipt_media_id is None:
        return None
    return await session.scalar(select(ReceiptScan).where(ReceiptScan.media_id == expense.receipt_media_id))


async def tenant_context(
    session: AsyncSession, tenant_id: uuid.UUID
) -> tuple[TenantSettings, dict[str, Category]]:
    """The tenant's settings (defaults merged) and its live expense categories by code."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {tenant_id} not found")
    settings = tenant_settings(tenant.timezone, tenant.settings)
    rows = await session.scalars(
        select(ExpenseCategory).where(
            ExpenseCategory.tenant_id == tenant_id, ExpenseCategory.deleted_at.is_(None)
        )
    )
    categories = {r.code: Category(r.code, r.daily_limit, r.currency) for r in rows}
    return settings, categories


async def serialize_receipt_checks(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """One receipt of a tenant at a time through the duplicate checks, so two copies processed by
    two workers at once see each other (PostgreSQL advisory lock until commit; SQLite write
    transactions are serial already)."""
    if _is_postgres(session):
        digest = hashlib.sha256(b"receipt-checks:" + tenant_id.bytes).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _receipt_number(fields: dict[str, Any] | None) -> str | None:
    found = (fields or {}).get("receipt_number")
    value = found.get("value") if isinstance(found, dict) else None
    return str(value) if value else None


async def other_expenses(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    expense_id: uuid.UUID,
    *,
    date: str | None,
    total: str | None,
    sha256: str | None,
) -> list[OtherExpense]:
    """The tenant's other live expenses that could be the same receipt or share its day: same
    date, same total, or the same file (by the media's or an earlier scan's sha256)."""
    same: list[Any] = []
    if date:
        same.append(Expense.date == date)
    if total:
        same.append(Expense.total == total)
    if sha256:
        same.append(
            Expense.receipt_media_id.in_(
                select(Media.id).where(Media.tenant_id == tenant_id, Media.sha256 == sha256)
            )
        )
        same.append(
            Expense.id.in_(
                select(ReceiptScan.expense_id).where(
                    ReceiptScan.tenant_id == tenant_id, ReceiptScan.sha256 == sha256
                )
            )
        )
    if not same:
        return []
    stmt = (
        select(
            Expense,
            func.coalesce(Media.sha256, ReceiptScan.sha256),
            ReceiptScan.phash,
            ReceiptScan.fields,
        )
        .outerjoin(Media, Media.id == Expense.receipt_media_id)
        .outerjoin(ReceiptScan, ReceiptScan.media_id == Expense.receipt_media_id)
        .where(
            Expense.tenant_id == tenant_id,
            Expense.id != expense_id,
            Expense.deleted_at.is_(None),
            or_(*same),
        )
        .order_by(Expense.created_at.desc())
        .limit(MAX_COMPARED)
    )
    out: list[OtherExpense] = []
    for expense, digest, phash, fields in (await session.execute(stmt)).all():
        record = ReceiptRecord(
            id=str(expense.id),
            sha256=digest,
            phash=phash,
            merchant=expense.merchant,
            date=expense.date,
            total=expense.total,
            currency=expense.currency,
            receipt_number=_receipt_number(fields),
            category_code=expense.category_code,
        )
        out.append(OtherExpense(record=record, rep_id=expense.rep_id, status=expense.status))
    return out


async def approved_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    rep_scope: frozenset[uuid.UUID] | None,
    *,
    changed_since: datetime | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Expense]:
    """One page of the tenant's live approved expenses in ``rep_scope`` (None: all), by id.

    ``changed_since`` narrows by ``updated_at`` (an approval is a change, so an expense approved
    since then was updated since then too); the exact approval day is checked by the caller.
    """
    stmt = select(Expense).where(
        Expense.tenant_id == tenant_id,
        Expense.deleted_at.is_(None),
        Expense.status == "approved",
    )
    if rep_scope is not None:
        stmt = stmt.where(Expense.scope_rep_id.in_(sorted(rep_scope)))
    if changed_since is not None:
        stmt = stmt.where(Expense.updated_at >= changed_since)
    if after is not None:
        stmt = stmt.where(Expense.id > after)
    return list((await session.scalars(stmt.order_by(Expense.id).limit(limit))).all())


async def people(session: AsyncSession, tenant_id: uuid.UUID, ids: set[uuid.UUID]) -> dict[uuid.UUID, Person]:
    """The tenant's users among ``ids``, by id."""
    if not ids:
        return {}
    rows = await session.execute(
        select(User.id, User.name, User.email).where(User.tenant_id == tenant_id, User.id.in_(sorted(ids)))
    )
    return {row.id: Person(row.name, row.email) for row in rows}


async def tenant_timezone(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    return str(await session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id)) or "UTC")
