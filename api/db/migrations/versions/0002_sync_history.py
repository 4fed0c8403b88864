"""Sync history window: evictions addressed to one viewer, indexes for pruning old history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_evictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("viewer_id", sa.Uuid(), nullable=True))
        batch_op.create_index("ix_sync_evictions_tenant_created", ["tenant_id", "created_at"], unique=False)
    with op.batch_alter_table("sync_push_results", schema=None) as batch_op:
        batch_op.create_index("ix_sync_push_results_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_sync_conflicts_tenant_created", ["tenant_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_conflicts_tenant_created")
    with op.batch_alter_table("sync_push_results", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_push_results_created_at")
    with op.batch_alter_table("sync_evictions", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_evictions_tenant_created")
        batch_op.drop_column("viewer_id")
