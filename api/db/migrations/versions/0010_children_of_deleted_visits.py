"""Actions and photos of deleted visits are deleted too

Deleting a visit now deletes its actions and photos in the same transaction (docs/sync.md).
Before, they stayed live: replicas kept orders and photos of visits they no longer had. Upgrade
gives every such child a tombstone: the visit's ``deleted_at``, and a new change number from its
tenant's clock (in id order), so phones pull the deletion like any other. Downgrade keeps the
tombstones (they are valid data under the old rules too).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILD_TABLES = ("visit_actions", "photos")


def upgrade() -> None:
    bind = op.get_bind()
    # By tenant: each child's table, id and its visit's deletion time (as stored), in id order.
    orphans: dict[Any, list[tuple[str, Any, Any]]] = defaultdict(list)
    for table in CHILD_TABLES:
        found = bind.execute(
            sa.text(
                f"SELECT c.tenant_id, c.id, v.deleted_at FROM {table} c JOIN visits v ON v.id = c.visit_id "
                "WHERE c.deleted_at IS NULL AND v.deleted_at IS NOT NULL ORDER BY c.id"
            )
        ).all()
        for tenant_id, child_id, deleted_at in found:
            orphans[tenant_id].append((table, child_id, deleted_at))
    for tenant_id, children in orphans.items():
        last = bind.execute(
            sa.text("SELECT version FROM sync_clocks WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
        bind.execute(
            sa.text("UPDATE sync_clocks SET version = :v WHERE tenant_id = :t"),
            {"v": last + len(children), "t": tenant_id},
        )
        numbered = list(enumerate(children, start=last + 1))
        for table in CHILD_TABLES:
            params = [
                {"v": v, "at": at, "id": child_id} for v, (name, child_id, at) in numbered if name == table
            ]
            if params:
                bind.execute(
                    sa.text(
                        f"UPDATE {table} SET version = :v, deleted_at = :at, updated_at = :at WHERE id = :id"
                    ),
                    params,
                )


def downgrade() -> None:
    pass
