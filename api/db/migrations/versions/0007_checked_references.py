"""Visits and the conflict log: references checked by the sync writer instead of foreign keys

On PostgreSQL a foreign key is checked by a trigger per inserted row. For a visit (three keys:
tenant, customer, rep) those checks cost as much as the rest of the insert: inserting 5,000 visits
took 90-110 ms with them and 41-47 ms without them (and without the tenant index below), measured
with ``INSERT … SELECT`` on this schema. The conflict log, written two rows per conflicting edit,
pays the tenant check on every row.

The sync writer already checks every reference before it writes a row (the customer and the rep
exist in the tenant and are not deleted), and nothing points a new row at a tombstone; rows leave
for good only through history pruning, which keeps tombstones that are still referred to. The
columns stay declared as references in the models (``info["references"]``), where pruning reads
them.

Also dropped: the single-column ``tenant_id`` indexes of both tables, which the
``(tenant_id, version)`` and ``(tenant_id, created_at)`` indexes already lead with.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint("fk_visits_tenant_id_tenants", type_="foreignkey")
        batch_op.drop_constraint("fk_visits_customer_id_customers", type_="foreignkey")
        batch_op.drop_constraint("fk_visits_rep_id_users", type_="foreignkey")
        batch_op.drop_index("ix_visits_tenant_id")
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_sync_conflicts_tenant_id_tenants", type_="foreignkey")
        batch_op.drop_index("ix_sync_conflicts_tenant_id")


def downgrade() -> None:
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_sync_conflicts_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_sync_conflicts_tenant_id_tenants", "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_foreign_key("fk_visits_rep_id_users", "users", ["rep_id"], ["id"])
        batch_op.create_foreign_key("fk_visits_customer_id_customers", "customers", ["customer_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_visits_tenant_id_tenants", "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
