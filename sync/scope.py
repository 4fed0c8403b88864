"""Which rows a user replicates (the *scope*), as SQL filters.

A rep: their own records (``scope_rep_id`` = the rep). A manager: their team's reps and themselves.
An admin: the whole tenant. Reference data is tenant-wide. During a bootstrap, visits are limited
to 90 days back (and all future) and route plans to 7 days back; later changes arrive whatever
their age.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, true

from api.lib.clock import utcnow
from sync.entities import EntitySpec

VISIT_HISTORY_DAYS = 90
ROUTE_PLAN_HISTORY_DAYS = 7


def scope_filter(spec: EntitySpec, rep_scope: frozenset[uuid.UUID] | None) -> ColumnElement[bool]:
    model: Any = spec.model
    if spec.tenant_wide or rep_scope is None:
        return true()
    return model.scope_rep_id.in_(sorted(rep_scope))


def bootstrap_window(spec: EntitySpec) -> ColumnElement[bool]:
    model: Any = spec.model
    now = utcnow()
    if spec.name == "visit":
        since = now - timedelta(days=VISIT_HISTORY_DAYS)
        return or_(model.planned_at.is_(None) & (model.created_at >= since), model.planned_at >= since)
    if spec.name == "route_plan":
        return model.date >= (now - timedelta(days=ROUTE_PLAN_HISTORY_DAYS)).date()
    return true()


def in_scope(rep_scope: frozenset[uuid.UUID] | None, owner: uuid.UUID | None, tenant_wide: bool) -> bool:
    return tenant_wide or rep_scope is None or (owner is not None and owner in rep_scope)
