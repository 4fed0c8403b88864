"""Rows that change scope as a side effect of a write, and the evictions that tell replicas.

Two writes move other rows between scopes:
- a visit given to another rep takes its children (actions, photos) along: they change owner, get
  a new change number (so they arrive at the new rep as upserts) and an eviction for the old rep;
- a user moved to another team leaves the old team manager's scope with everything they own: one
  eviction per row, addressed to that manager only, and a new change number per row when another
  manager now sees them (an entity entering a scope arrives as an upsert, whatever its age).

The decisions are plain functions over ids; :class:`sync.writer.SyncWriter` loads the rows and
persists the result within the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.tenancy.models import Team
from sync.entities import ENTITIES, EntitySpec
from sync.rows import RowView, load_rows

#: Lock order for rows a write may touch: children before parents, then the usual entity order.
#: Every writer locks in this order, so two writers never wait for each other in a cycle.
CHILD_SPECS: tuple[EntitySpec, ...] = tuple(s for s in ENTITIES.values() if s.parent == ("visit_id", "visit"))
CHILD_NAMES: frozenset[str] = frozenset(s.name for s in CHILD_SPECS)
LOCK_ORDER: tuple[EntitySpec, ...] = (
    *CHILD_SPECS,
    *(s for s in ENTITIES.values() if s not in CHILD_SPECS),
)
#: Entities that belong to a rep's scope (reference data is tenant-wide and never moves).
OWNED_SPECS: tuple[EntitySpec, ...] = tuple(s for s in LOCK_ORDER if not s.tenant_wide)


@dataclass(frozen=True)
class EvictionNote:
    entity: str
    id: uuid.UUID
    scope_rep_id: uuid.UUID | None
    viewer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class TeamMove:
    """A user's team changed: who stops and who starts seeing what they own."""

    user_id: uuid.UUID
    old_viewer: uuid.UUID | None
    new_viewer: uuid.UUID | None

    @property
    def evicts(self) -> bool:
        return self.old_viewer is not None and self.old_viewer not in {self.new_viewer, self.user_id}

    @property
    def arrives(self) -> bool:
        return self.new_viewer is not None and self.new_viewer not in {self.old_viewer, self.user_id}


def team_move(
    user_id: uuid.UUID, old_manager: uuid.UUID | None, new_manager: uuid.UUID | None
) -> TeamMove | None:
    """The scope change of moving ``user_id`` from a team led by ``old_manager`` to ``new_manager``."""
    move = TeamMove(user_id, old_manager, new_manager)
    return move if move.evicts or move.arrives else None


async def team_managers(session: AsyncSession, team_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    if not team_ids:
        return {}
    rows = await session.execute(select(Team.id, Team.manager_id).where(Team.id.in_(sorted(team_ids))))
    return {tid: manager for tid, manager in rows.all()}


def _locking(session: AsyncSession, stmt: Any, model: Any, lock: bool) -> Any:
    if lock and session.bind is not None and session.bind.dialect.name == "postgresql":
        return stmt.order_by(model.id).with_for_update()
    return stmt


async def load_children(
    session: AsyncSession, visit_ids: set[uuid.UUID], *, lock: bool = True
) -> dict[uuid.UUID, list[RowView]]:
    """The actions and photos of these visits, locked (children are locked before their visits)."""
    out: dict[uuid.UUID, list[RowView]] = {}
    if not visit_ids:
        return out
    for spec in CHILD_SPECS:
        for row in await load_rows(session, spec, "visit_id", visit_ids, lock=lock):
            out.setdefault(row.visit_id, []).append(row)
    return out


async def owned_rows(
    session: AsyncSession, tenant_id: uuid.UUID, owner: uuid.UUID, *, lock: bool = True
) -> list[tuple[EntitySpec, uuid.UUID]]:
    """Every live row in ``owner``'s scope, locked, in lock order."""
    out: list[tuple[EntitySpec, uuid.UUID]] = []
    for spec in OWNED_SPECS:
        model: Any = spec.model
        stmt = select(model.id).where(
            model.tenant_id == tenant_id, model.scope_rep_id == owner, model.deleted_at.is_(None)
        )
        out.extend((spec, rid) for rid in (await session.scalars(_locking(session, stmt, model, lock))).all())
    return out
