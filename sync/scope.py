"""Which rows a user replicates (the *scope*), as SQL filters.

A rep: their own records (``scope_rep_id`` = the rep). A manager: their team's reps and themselves.
An admin: the whole tenant. Reference data is tenant-wide. During a bootstrap, visits are limited
to 90 days back (and all future) and route plans to 7 days back; later changes arrive whatever
their age.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, true

from sync.entities import EntitySpec

VISIT_HISTORY_DAYS = 90
ROUTE_PLAN_HISTORY_DAYS = 7


def scope_filter(spec: EntitySpec, rep_scope: frozenset[uuid.UUID] | None) -> ColumnElement[bool]:
    model: Any = spec.model
    if spec.tenant_wide or rep_scope is None:
        return true()
    return model.scope_rep_id.in_(sorted(rep_scope))


def bootstrap_window(spec: EntitySpec, table: Any) -> ColumnElement[bool]:
    """The history a bootstrap brings, with bound parameters (see :func:`bootstrap_params`)."""
    if spec.name == "visit":
        since = bindparam("visit_since")
        return or_(
            and_(table.c.planned_at.is_(None), table.c.created_at >= since), table.c.planned_at >= since
        )
    if spec.name == "route_plan":
        return table.c.date >= bindparam("plan_since")
    return true()


def bootstrap_params(now: datetime) -> dict[str, Any]:
    return {
        "visit_since": now - timedelta(days=VISIT_HISTORY_DAYS),
        "plan_since": (now - timedelta(days=ROUTE_PLAN_HISTORY_DAYS)).date(),
    }


def in_scope(rep_scope: frozenset[uuid.UUID] | None, owner: uuid.UUID | None, tenant_wide: bool) -> bool:
    return tenant_wide or rep_scope is None or (owner is not None and owner in rep_scope)
