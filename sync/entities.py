"""The synced entities: their fields, who may write what, scope and domain rules.

Everything here is plain data and pure functions; :mod:`sync.policy` applies them and
:mod:`sync.writer` persists the outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.accounts.models import User
from api.accounts.schemas import Email, normal_email
from api.customers.models import Customer
from api.db.base import Base
from api.expenses.approval import REVIEW_DECISIONS, REVIEWABLE
from api.expenses.models import Expense
from api.lib.values import (
    ActionKind,
    Contact,
    Currency,
    ExpenseStatus,
    Fix,
    IsoDate,
    LineString,
    LongText,
    Money,
    Name,
    Radius,
    ReviewInput,
    ShortText,
    StatusTag,
    Stop,
    UtcTime,
    VisitStatus,
)
from api.lib.values import Lat as LatT
from api.lib.values import Lon as LonT
from api.photos.models import Photo
from api.reference.models import ExpenseCategory, Product
from api.routes.models import RoutePlan
from api.visits.models import Visit, VisitAction
from api.visits.payloads import validate_payload
from sync.fields import FieldSpec, date_field

Values = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who writes: a user with a role (``system`` for the server's own writes)."""

    user_id: uuid.UUID | None
    role: str
    rep_scope: frozenset[uuid.UUID] | None = None

    def sees(self, rep_id: uuid.UUID | None) -> bool:
        return self.rep_scope is None or (rep_id is not None and rep_id in self.rep_scope)


@dataclass(frozen=True)
class EntitySpec:
    name: str
    model: type[Base]
    fields: dict[str, FieldSpec]
    #: Roles allowed to create / delete; updates are checked per field (access) and scope.
    create_roles: frozenset[str]
    delete_roles: frozenset[str]
    #: ``(field, entity)`` of the parent whose scope this entity inherits.
    parent: tuple[str, str] | None = None
    #: Field-level transition rules: ``{field: fn(old, new, actor) -> bool}`` (ignore clocks).
    transitions: dict[str, Callable[[Any, Any, Actor], bool]] = field(default_factory=dict)
    #: Fields a rep may no longer change once the row is locked (see ``locked``).
    lock_fields: frozenset[str] = frozenset()
    locked: Callable[[Values], bool] | None = None
    #: Field rules that depend on the rest of the row (ignore clocks):
    #: ``{field: fn(row before the mutation, new value, actor) -> refusal code or None}``.
    guards: dict[str, Callable[[Values, Any, Actor], str | None]] = field(default_factory=dict)
    #: Server-filled defaults on create: fn(values, actor) -> updates.
    on_create: Callable[[Values, Actor], Values] | None = None
    #: Rep who owns the row (its scope); for children the parent's owner is used instead.
    owner: Callable[[Values], uuid.UUID | None] = lambda v: None
    #: Validates a whole candidate row (after merge); returns an error message or None.
    check_row: Callable[[Values], str | None] | None = None
    #: Rows visible to everyone in the tenant (reference data).
    tenant_wide: bool = False
    #: Fields whose value no two rows of a tenant share, deleted rows included (a unique key in
    #: the database): a write that would repeat one is refused with ``duplicate_value``.
    unique: tuple[str, ...] = ()
    #: The ``unique`` values are unique in the whole database, not per tenant (sign-in emails).
    unique_across_tenants: bool = False


def _f(name: str, tp: Any, **kw: Any) -> tuple[str, FieldSpec]:
    return name, FieldSpec(name, tp, **kw)


# ---------------------------------------------------------------- visits
_VISIT_ORDER = {"planned": 0, "in_progress": 1, "completed": 2, "cancelled": 2}
_VISIT_NEXT = {
    "planned": {"in_progress", "completed", "cancelled"},
    "in_progress": {"completed", "cancelled"},
    "completed": set(),
    "cancelled": set(),
}


def visit_status_allowed(old: str | None, new: str, actor: Actor) -> bool:
    """Visit status only moves forward: planned → in_progress → completed, or → cancelled."""
    if old is None or old == new:
        return True
    return new in _VISIT_NEXT.get(old, set())


def _reviewed(values: Values) -> bool:
    review = values.get("review") or {}
    return review.get("status") in {"approved", "rejected"}


def _visit_defaults(values: Values, actor: Actor) -> Values:
    out: Values = {}
    if actor.role == "rep" or values.get("rep_id") is None:
        out["rep_id"] = actor.user_id
    if values.get("status") is None:
        out["status"] = "planned"
    return out


# ---------------------------------------------------------------- expenses
_REP_EXPENSE_STATUS = {
    # to: allowed from
    "draft": {"draft", "rejected", "needs_review"},
    "submitted": {"draft", "needs_review", "rejected", "submitted"},
}


def expense_status_allowed(old: str | None, new: str, actor: Actor) -> bool:
    """Reps submit (from draft, needs_review or rejected) or return to draft; the server and
    managers drive processing, needs_review, approved and rejected."""
    if old == new:
        return True
    if actor.role in {"system"}:
        return True
    if actor.role in {"manager", "admin"}:
        return new in {"draft", "submitted"} and (old in _REP_EXPENSE_STATUS[new] or old is None)
    if old is None:
        return new in {"draft", "submitted"}
    allowed_from = _REP_EXPENSE_STATUS.get(new)
    return allowed_from is not None and old in allowed_from


def expense_review_refusal(row: Values, review: Any, actor: Actor) -> str | None:
    """A decision (approved / rejected) follows ``POST /v1/expenses/{id}/review``
    (:mod:`api.expenses.approval`): a manager never decides their own expense (``forbidden``; an
    admin may), and only a submitted expense is decided (``invalid_transition``)."""
    decision = review.get("status") if isinstance(review, dict) else None
    if decision not in REVIEW_DECISIONS:
        return None
    owner = row.get("rep_id", actor.user_id)
    if actor.role not in {"admin", "system"} and owner == actor.user_id:
        return "forbidden"
    if row.get("status") not in REVIEWABLE:
        return "invalid_transition"
    return None


def _expense_locked(values: Values) -> bool:
    review = values.get("review") or {}
    return review.get("status") == "approved" or values.get("status") == "approved"


def _expense_defaults(values: Values, actor: Actor) -> Values:
    out: Values = {}
    if actor.role == "rep" or values.get("rep_id") is None:
        out["rep_id"] = actor.user_id
    if values.get("status") is None:
        out["status"] = "draft"
    if values.get("flags") is None:
        out["flags"] = []
    return out


def _customer_defaults(values: Values, actor: Actor) -> Values:
    out: Values = {"created_by_id": actor.user_id}
    if actor.role == "rep":
        out["is_prospect"] = True
    elif values.get("is_prospect") is None:
        out["is_prospect"] = False
    if values.get("contacts") is None:
        out["contacts"] = []
    return out


def _customer_row(values: Values) -> str | None:
    if (values.get("lat") is None) != (values.get("lon") is None):
        return "lat and lon must be given together"
    return None


def _action_row(values: Values) -> str | None:
    try:
        validate_payload(values["kind"], values.get("payload") or {})
    except Exception as exc:
        return f"payload: {exc}"
    return None


def _non_negative(value: str) -> None:
    if value.startswith("-"):
        raise ValueError("must not be negative")


CUSTOMER = EntitySpec(
    name="customer",
    model=Customer,
    fields=dict(
        [
            _f("name", Name, required=True),
            _f("address", LongText | None),
            _f("lat", LatT | None),
            _f("lon", LonT | None),
            _f("geofence_radius_m", Radius | None),
            _f("status_tag", StatusTag | None),
            _f("status_reason", LongText | None),
            _f("assigned_rep_id", uuid.UUID | None, access="manager"),
            _f("contacts", list[Contact]),
            _f("notes", LongText | None),
            _f("is_prospect", bool, access="manager"),
        ]
    ),
    create_roles=frozenset({"rep", "manager", "admin", "system"}),
    delete_roles=frozenset({"manager", "admin", "system"}),
    on_create=_customer_defaults,
    owner=lambda v: v.get("assigned_rep_id") or v.get("created_by_id"),
    check_row=_customer_row,
)

ROUTE_PLAN = EntitySpec(
    name="route_plan",
    model=RoutePlan,
    fields=dict(
        [
            _f("rep_id", uuid.UUID, access="manager", required=True),
            ("date", date_field("date", access="manager", required=True)),
            _f("name", ShortText | None, access="manager"),
            _f("stops", list[Stop], access="manager"),
            _f("path", LineString | None, access="manager"),
        ]
    ),
    create_roles=frozenset({"manager", "admin", "system"}),
    delete_roles=frozenset({"manager", "admin", "system"}),
    owner=lambda v: v.get("rep_id"),
    on_create=lambda v, a: {} if v.get("stops") is not None else {"stops": []},
)

VISIT = EntitySpec(
    name="visit",
    model=Visit,
    fields=dict(
        [
            _f("customer_id", uuid.UUID, required=True),
            _f("rep_id", uuid.UUID, access="manager"),
            _f("route_plan_id", uuid.UUID | None),
            _f("planned_at", UtcTime | None),
            _f("status", VisitStatus),
            _f("check_in", Fix | None),
            _f("check_out", Fix | None),
            _f("check_in_verdict", dict[str, Any] | None, access="server"),
            _f("notes", LongText | None),
            _f("outcome", LongText | None),
            _f("next_steps", LongText | None),
            _f("review", ReviewInput | None, access="manager"),
        ]
    ),
    create_roles=frozenset({"rep", "manager", "admin", "system"}),
    delete_roles=frozenset({"rep", "manager", "admin", "system"}),
    transitions={"status": visit_status_allowed},
    lock_fields=frozenset({"check_in", "check_out", "status"}),
    locked=_reviewed,
    on_create=_visit_defaults,
    owner=lambda v: v.get("rep_id"),
)

VISIT_ACTION = EntitySpec(
    name="visit_action",
    model=VisitAction,
    fields=dict(
        [
            _f("visit_id", uuid.UUID, required=True, immutable=True),
            _f("kind", ActionKind, required=True),
            _f("payload", dict[str, Any]),
        ]
    ),
    create_roles=frozenset({"rep", "manager", "admin", "system"}),
    delete_roles=frozenset({"rep", "manager", "admin", "system"}),
    parent=("visit_id", "visit"),
    check_row=_action_row,
    on_create=lambda v, a: {} if v.get("payload") is not None else {"payload": {}},
)

EXPENSE = EntitySpec(
    name="expense",
    model=Expense,
    fields=dict(
        [
            _f("rep_id", uuid.UUID, access="server"),
            _f("visit_id", uuid.UUID | None),
            _f("receipt_media_id", uuid.UUID | None, access="server"),
            _f("status", ExpenseStatus),
            _f("merchant", ShortText | None),
            _f("date", IsoDate | None),
            _f("total", Money | None, check=_non_negative),
            _f("tax", Money | None, check=_non_negative),
            _f("currency", Currency | None),
            _f("category_code", ShortText | None),
            _f("notes", LongText | None),
            _f("extraction", dict[str, Any] | None, access="server"),
            _f("flags", list[dict[str, Any]], access="server"),
            _f("review", ReviewInput | None, access="manager"),
        ]
    ),
    create_roles=frozenset({"rep", "manager", "admin", "system"}),
    delete_roles=frozenset({"rep", "manager", "admin", "system"}),
    transitions={"status": expense_status_allowed},
    guards={"review": expense_review_refusal},
    lock_fields=frozenset(
        {"visit_id", "status", "merchant", "date", "total", "tax", "currency", "category_code", "notes"}
    ),
    locked=_expense_locked,
    on_create=_expense_defaults,
    owner=lambda v: v.get("rep_id"),
)

PHOTO = EntitySpec(
    name="photo",
    model=Photo,
    fields=dict(
        [
            _f("visit_id", uuid.UUID, required=True, immutable=True),
            _f("media_id", uuid.UUID | None, access="server"),
            _f("caption", LongText | None),
            _f("evidence", dict[str, Any] | None, access="server"),
        ]
    ),
    create_roles=frozenset({"rep", "manager", "admin", "system"}),
    delete_roles=frozenset({"rep", "manager", "admin", "system"}),
    parent=("visit_id", "visit"),
)

USER = EntitySpec(
    name="user",
    model=User,
    fields=dict(
        [
            _f("name", Name),
            _f("phone", ShortText | None),
            # Stored as sign-in looks it up, so the user can still sign in.
            _f("email", Email, access="admin", to_column=normal_email),
            _f("role", ShortText, access="admin"),
            _f("team_id", uuid.UUID | None, access="admin"),
            _f("is_active", bool, access="admin"),
        ]
    ),
    create_roles=frozenset({"system"}),
    delete_roles=frozenset({"system"}),
    owner=lambda v: v.get("id"),
    unique=("email",),
    unique_across_tenants=True,
)

EXPENSE_CATEGORY = EntitySpec(
    name="expense_category",
    model=ExpenseCategory,
    fields=dict(
        [
            _f("code", ShortText, access="admin", required=True, immutable=True),
            _f("name", Name, access="admin", required=True),
            _f("daily_limit", Money | None, access="admin"),
            _f("currency", Currency | None, access="admin"),
        ]
    ),
    create_roles=frozenset({"admin", "system"}),
    delete_roles=frozenset({"admin", "system"}),
    tenant_wide=True,
    unique=("code",),
)

PRODUCT = EntitySpec(
    name="product",
    model=Product,
    fields=dict(
        [
            _f("sku", ShortText, access="admin", required=True),
            _f("name", Name, access="admin", required=True),
            _f("unit", ShortText | None, access="admin"),
            _f("price", Money | None, access="admin"),
            _f("currency", Currency | None, access="admin"),
        ]
    ),
    create_roles=frozenset({"admin", "system"}),
    delete_roles=frozenset({"admin", "system"}),
    tenant_wide=True,
    unique=("sku",),
)

#: Pull and write order: parents before children.
ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (USER, EXPENSE_CATEGORY, PRODUCT, CUSTOMER, ROUTE_PLAN, VISIT, VISIT_ACTION, EXPENSE, PHOTO)
}
