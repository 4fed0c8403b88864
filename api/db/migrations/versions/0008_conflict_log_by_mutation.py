"""The conflict log: one row per mutation instead of one per field

A conflicting edit used to add a row per refused or lost field (two for the usual stale edit of
two fields), each with its own index entries. Now a row holds the mutation as its client was told:
``status``, the ``conflicts`` entries of its push result (each with the value the client sent)
and, for a mutation refused as a whole, ``error``. Inserting the log of 100 two-field conflicts
took 1.2-1.7 ms as 100 such rows against 1.7-2.4 ms as 200 per-field rows (binary ``COPY``,
PostgreSQL 15).

Upgrade turns each existing row into a row of one entry (a refusal stays one entry with its
``code``), in one statement; downgrade gives every entry its own row again, in batches (the
message of an ``error`` had no column and is dropped).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
#: Outcomes of a field that lost to a newer write or replaced an unseen one; any other was a refusal.
LOST = "('kept_server', 'overwrote')"

UPGRADE = {
    "postgresql": f"""
        UPDATE sync_conflicts SET
          status = CASE WHEN outcome IN {LOST} THEN 'merged' ELSE 'rejected' END,
          conflicts = jsonb_build_array(
            CASE WHEN outcome IN {LOST}
              THEN jsonb_build_object('field', field, 'outcome', outcome, 'client_value', client_value,
                                      'server_value', server_value, 'server_hlc', server_hlc)
              ELSE jsonb_build_object('field', field, 'outcome', 'rejected', 'code', outcome,
                                      'client_value', client_value, 'server_value', server_value,
                                      'server_hlc', server_hlc)
            END)
    """,
    "sqlite": f"""
        UPDATE sync_conflicts SET
          status = CASE WHEN outcome IN {LOST} THEN 'merged' ELSE 'rejected' END,
          conflicts = json_array(
            CASE WHEN outcome IN {LOST}
              THEN json_object('field', field, 'outcome', outcome, 'client_value', json(client_value),
                               'server_value', json(server_value), 'server_hlc', server_hlc)
              ELSE json_object('field', field, 'outcome', 'rejected', 'code', outcome,
                               'client_value', json(client_value), 'server_value', json(server_value),
                               'server_hlc', server_hlc)
            END)
    """,
}

#: The log as this revision writes it and as the one before wrote it (for the downgrade).
NEW_LOG = sa.table(
    "sync_conflicts",
    *(sa.column(name) for name in ("id", "tenant_id", "user_id", "client_id", "scope_rep_id", "seq", "entity")),
    *(sa.column(name) for name in ("entity_id", "client_hlc", "created_at", "status")),
    sa.column("conflicts", JSON),
    sa.column("error", JSON),
)
OLD_LOG = sa.table(
    "sync_conflicts",
    *(sa.column(name) for name in ("tenant_id", "user_id", "client_id", "scope_rep_id", "seq", "entity")),
    *(sa.column(name) for name in ("entity_id", "client_hlc", "created_at", "status", "field", "outcome")),
    sa.column("conflicts", JSON),
    sa.column("client_value", JSON),
    sa.column("server_value", JSON),
    sa.column("server_hlc"),
)
SHARED = ("tenant_id", "user_id", "client_id", "scope_rep_id", "seq", "entity", "entity_id", "client_hlc")


def _old_rows(row: sa.Row) -> list[dict[str, object]]:
    """A row of this revision's log as rows of the one before: one per entry, one for an error."""
    shared = {name: getattr(row, name) for name in SHARED}
    shared.update(created_at=row.created_at, status=row.status, conflicts=[])
    out = [
        {
            **shared,
            "field": entry.get("field"),
            "outcome": entry.get("code") or entry.get("outcome"),
            "client_value": entry.get("client_value"),
            "server_value": entry.get("server_value"),
            "server_hlc": entry.get("server_hlc"),
        }
        for entry in row.conflicts or ()
    ]
    if row.error:
        out.append(
            {
                **shared,
                "field": row.error.get("field"),
                "outcome": row.error.get("code"),
                "client_value": None,
                "server_value": None,
                "server_hlc": None,
            }
        )
    return out


def upgrade() -> None:
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("conflicts", JSON, nullable=True))
        batch_op.add_column(sa.Column("error", JSON, nullable=True))
    bind = op.get_bind()
    op.execute(UPGRADE[bind.dialect.name])
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("conflicts", existing_type=JSON, nullable=False)
        batch_op.drop_column("field")
        batch_op.drop_column("outcome")
        batch_op.drop_column("client_value")
        batch_op.drop_column("server_value")
        batch_op.drop_column("server_hlc")


def downgrade() -> None:
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("field", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("client_value", JSON, nullable=True))
        batch_op.add_column(sa.Column("server_value", JSON, nullable=True))
        batch_op.add_column(sa.Column("server_hlc", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    # The rows there are now, oldest first, in batches (a large log is not read whole); the rows
    # they become are added after them.
    top = bind.execute(sa.select(sa.func.max(NEW_LOG.c.id))).scalar() or 0
    done = 0
    while done < top:
        query = sa.select(NEW_LOG).where(NEW_LOG.c.id > done, NEW_LOG.c.id <= top)
        rows = bind.execute(query.order_by(NEW_LOG.c.id).limit(1000)).all()
        if not rows:
            break
        done = rows[-1].id
        old = [expanded for row in rows for expanded in _old_rows(row)]
        if old:
            bind.execute(sa.insert(OLD_LOG), old)
        bind.execute(sa.delete(NEW_LOG).where(NEW_LOG.c.id.in_([row.id for row in rows])))
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("error")
        batch_op.drop_column("conflicts")
        batch_op.drop_column("status")
