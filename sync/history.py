"""The history window: sync history older than ``days`` is pruned in short, bounded batches.

Pruned, per tenant:
- tombstones: rows deleted before the cutoff (children before parents; a tombstone still referenced
  by another row waits until that row is pruned; user records are never pruned, since sign-in
  history refers to them);
- evictions recorded before the cutoff;
- the conflict log and the stored push results (replayed for retries) older than the cutoff.

Each batch is one transaction that also raises the tenant's ``purged_through`` to the highest change
number it removed. A pull whose cursor is older than ``purged_through`` could miss a deletion or an
eviction, so it is answered ``cursor_expired`` and the phone bootstraps again (see :mod:`sync.pull`).

:func:`prune_history` is a plain function over a session: ``fieldline sync prune`` calls it, and so
can a scheduled job.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Table, case, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import sort_tables

from api.db.engine import begin_write
from api.db.registry import metadata
from sync.entities import ENTITIES, EntitySpec
from sync.models import SyncClock, SyncConflict, SyncEviction, SyncPushResult

DEFAULT_BATCH = 500


@dataclass
class PruneReport:
    cutoff: datetime
    tombstones: int = 0
    evictions: int = 0
    conflicts: int = 0
    push_results: int = 0
    #: Per tenant, the highest change number pruned so far (older cursors expire).
    purged_through: dict[uuid.UUID, int] = field(default_factory=dict)


@functools.cache
def _references() -> tuple[tuple[Column[Any], Table], ...]:
    """Every column that points at another table's rows: ``(column, target table)``, by foreign key
    or as a reference the sync writer checks (see :func:`api.db.base.checked_reference`). The
    schema does not change while the process runs: worked out once."""
    found: list[tuple[Column[Any], Table]] = []
    for table in metadata.sorted_tables:
        found.extend((fk.parent, fk.column.table) for fk in table.foreign_keys)
        for column in table.c:
            target = column.info.get("references")
            if target:
                found.append((column, metadata.tables[target.split(".")[0]]))
    return tuple(found)


def _prunable_specs() -> list[EntitySpec]:
    """Entities whose tombstones are pruned, rows that reference others first."""
    by_table = {spec.model.__tablename__: spec for spec in ENTITIES.values() if spec.name != "user"}
    ordered = sort_tables(
        metadata.tables.values(),
        extra_dependencies=[(target, column.table) for column, target in _references()],
    )
    return [by_table[t.name] for t in reversed(ordered) if t.name in by_table]


def _references_to(table: Table) -> list[Column[Any]]:
    """Columns elsewhere that point at ``table``."""
    return [column for column, target in _references() if target is table and column.table is not table]


async def _advance(session: AsyncSession, tenant_id: uuid.UUID, version: int) -> None:
    await session.execute(
        update(SyncClock)
        .where(SyncClock.tenant_id == tenant_id)
        .values(
            purged_through=case((SyncClock.purged_through < version, version), else_=SyncClock.purged_through)
        )
    )


def _deleting(session: AsyncSession, table: Any) -> Any:
    """A ``remove`` step for :func:`_batches`: delete the rows whose ids the batch selected."""

    async def remove(rows: Sequence[Any]) -> None:
        await session.execute(delete(table).where(table.c.id.in_([r[0] for r in rows])))

    return remove


async def _batches(session: AsyncSession, select_batch: Any, remove: Any, batch_size: int) -> int:
    """Run ``select_batch`` → ``remove`` in transactions of at most ``batch_size`` rows."""
    total = 0
    while True:
        await begin_write(session)
        rows: Sequence[Any] = (await session.execute(select_batch.limit(batch_size))).all()
        if rows:
            await remove(rows)
        await session.commit()
        total += len(rows)
        if len(rows) < batch_size:
            return total


async def prune_history(
    session: AsyncSession, now: datetime, days: int, *, batch_size: int = DEFAULT_BATCH
) -> PruneReport:
    """Prune sync history older than ``now - days``. Commits after every batch."""
    if days < 1:
        raise ValueError("the history window is at least one day")
    cutoff = now - timedelta(days=days)
    report = PruneReport(cutoff=cutoff)
    tenants = list(await session.scalars(select(SyncClock.tenant_id).order_by(SyncClock.tenant_id)))
    await session.commit()
    for tenant_id in tenants:
        await _prune_tenant(session, tenant_id, cutoff, batch_size, report)
    report.push_results = await _batches(
        session,
        select(SyncPushResult.id).where(SyncPushResult.created_at < cutoff).order_by(SyncPushResult.id),
        _deleting(session, SyncPushResult.__table__),
        batch_size,
    )
    return report


async def _prune_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, cutoff: datetime, batch_size: int, report: PruneReport
) -> None:
    async def remove_versioned(table: Table, rows: Sequence[Any]) -> None:
        await _deleting(session, table)(rows)
        await _advance(session, tenant_id, max(int(r[1]) for r in rows))

    for spec in _prunable_specs():
        model: Any = spec.model
        table: Table = model.__table__
        still_referenced = [exists().where(col == model.id) for col in _references_to(table)]
        stmt = (
            select(model.id, model.version)
            .where(
                model.tenant_id == tenant_id,
                model.deleted_at.is_not(None),
                model.deleted_at < cutoff,
                *(~cond for cond in still_referenced),
            )
            .order_by(model.version)
        )
        report.tombstones += await _batches(
            session, stmt, lambda rows, table=table: remove_versioned(table, rows), batch_size
        )
    report.evictions += await _batches(
        session,
        select(SyncEviction.id, SyncEviction.version)
        .where(SyncEviction.tenant_id == tenant_id, SyncEviction.created_at < cutoff)
        .order_by(SyncEviction.id),
        lambda rows: remove_versioned(SyncEviction.__table__, rows),  # type: ignore[arg-type]
        batch_size,
    )
    report.conflicts += await _batches(
        session,
        select(SyncConflict.id)
        .where(SyncConflict.tenant_id == tenant_id, SyncConflict.created_at < cutoff)
        .order_by(SyncConflict.id),
        _deleting(session, SyncConflict.__table__),
        batch_size,
    )
    purged = await session.scalar(select(SyncClock.purged_through).where(SyncClock.tenant_id == tenant_id))
    await session.commit()
    report.purged_through[tenant_id] = int(purged or 0)
