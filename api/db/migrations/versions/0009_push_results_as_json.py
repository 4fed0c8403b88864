"""Stored push results: ``json`` instead of ``jsonb`` on PostgreSQL

Every push stores its results (a document of about 300 bytes per mutation with conflicts) and
reads them back only when a client retries. ``jsonb`` parses the document into its binary form on
the way in; ``json`` only checks it. Inserting the results of a 500-mutation push (157 kB) took
2.2 ms as ``jsonb`` and 1.2-1.3 ms as ``json`` (PostgreSQL 15, median of 20). SQLite stores JSON as
text either way: nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE sync_push_results ALTER COLUMN results TYPE json USING results::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE sync_push_results ALTER COLUMN results TYPE jsonb USING results::jsonb")
