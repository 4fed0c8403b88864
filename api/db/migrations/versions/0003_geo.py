"""Raw track points without a foreign key to tenants (bulk ingestion speed)

A per-row foreign-key check costs about as much as the rest of a bulk insert of track points on
PostgreSQL (measured with 10 000-point batches); raw points already carry no key to users or
devices. Tenants are never deleted by the application.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_track_points_tenant_id_tenants"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_track_points_tenant_id_tenants"), "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
