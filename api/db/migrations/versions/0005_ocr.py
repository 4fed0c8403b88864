"""OCR: receipt scans (hashes, raw text, parsed fields per receipt upload)

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import api.db.types as fl_types

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('receipt_scans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('expense_id', sa.Uuid(), nullable=False),
    sa.Column('media_id', sa.Uuid(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('phash', sa.String(length=16), nullable=True),
    sa.Column('engine', sa.String(length=200), nullable=False),
    sa.Column('languages', sa.String(length=64), nullable=False),
    sa.Column('unreadable', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('raw_text', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('timings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', fl_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', fl_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_receipt_scans_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_scans')),
    sa.UniqueConstraint('media_id', name=op.f('uq_receipt_scans_media_id'))
    )
    with op.batch_alter_table('receipt_scans', schema=None) as batch_op:
        batch_op.create_index('ix_receipt_scans_expense_id', ['expense_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_scans_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_receipt_scans_tenant_sha256', ['tenant_id', 'sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('receipt_scans', schema=None) as batch_op:
        batch_op.drop_index('ix_receipt_scans_tenant_sha256')
        batch_op.drop_index(batch_op.f('ix_receipt_scans_tenant_id'))
        batch_op.drop_index('ix_receipt_scans_expense_id')

    op.drop_table('receipt_scans')
