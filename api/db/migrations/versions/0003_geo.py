"""Track points keyed by (device_id, t_ms), without a surrogate id or a tenant foreign key

Bulk ingestion speed on PostgreSQL, measured as database CPU per 10 000-point batch: the per-row
foreign-key check cost about as much as the rest of the insert, and the surrogate ``id`` (a
sequence and a third index) another quarter. The ``(device_id, t_ms)`` unique key becomes the
primary key; raw points already carried no key to users or devices, and the application never
deletes tenants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_track_points_tenant_id_tenants"), type_="foreignkey")
        batch_op.drop_constraint(op.f("uq_track_points_device_id_t_ms"), type_="unique")
        batch_op.drop_constraint(op.f("pk_track_points"), type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key(op.f("pk_track_points"), ["device_id", "t_ms"])


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("pk_track_points"), type_="primary")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE track_points ADD COLUMN id bigserial NOT NULL")
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        if bind.dialect.name != "postgresql":
            batch_op.add_column(sa.Column("id", sa.Integer(), nullable=True))
        batch_op.create_primary_key(op.f("pk_track_points"), ["id"])
        batch_op.create_unique_constraint(op.f("uq_track_points_device_id_t_ms"), ["device_id", "t_ms"])
        batch_op.create_foreign_key(
            op.f("fk_track_points_tenant_id_tenants"), "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
