"""Typed models of the Fieldline entities, generated from the server's OpenAPI document.

Do not edit: regenerate with ``python clients/python/scripts/gen_models.py`` (a test fails when
this file and the server disagree).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Contact(TypedDict):
    """The ``Contact`` value type."""

    name: str
    phone: NotRequired[str | None]
    role: NotRequired[str | None]


class Fix(TypedDict):
    """The ``Fix`` value type."""

    #: RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z
    at: str
    #: WGS84 latitude, degrees
    lat: float
    #: WGS84 longitude, degrees
    lon: float
    accuracy_m: NotRequired[float | None]
    provider: NotRequired[str | None]
    is_mock: NotRequired[bool | None]
    #: RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z
    fix_at: NotRequired[str | None]


class LineString(TypedDict):
    """The ``LineString`` value type."""

    type: Literal["LineString"]
    coordinates: list[tuple[float, float]]


class ReviewInput(TypedDict):
    """The ``ReviewInput`` value type."""

    status: Literal["pending", "approved", "rejected"]
    comment: NotRequired[str | None]


class Stop(TypedDict):
    """The ``Stop`` value type."""

    customer_id: str
    #: RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z
    planned_at: NotRequired[str | None]


class Customer(TypedDict):
    """A ``customer`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    name: str | None
    address: str | None
    #: WGS84 latitude, degrees
    lat: float | None
    #: WGS84 longitude, degrees
    lon: float | None
    #: geofence radius, metres
    geofence_radius_m: float | None
    status_tag: Literal["green", "yellow", "red"] | None
    status_reason: str | None
    assigned_rep_id: str | None
    contacts: list[Contact] | None
    notes: str | None
    is_prospect: bool | None
    created_by_id: str | None


class CustomerCreate(TypedDict):
    """Fields of a ``customer`` a client may send when creating."""

    id: NotRequired[str]
    name: NotRequired[str]
    address: NotRequired[str | None]
    #: WGS84 latitude, degrees
    lat: NotRequired[float | None]
    #: WGS84 longitude, degrees
    lon: NotRequired[float | None]
    #: geofence radius, metres
    geofence_radius_m: NotRequired[float | None]
    status_tag: NotRequired[Literal["green", "yellow", "red"] | None]
    status_reason: NotRequired[str | None]
    assigned_rep_id: NotRequired[str | None]
    contacts: NotRequired[list[Contact]]
    notes: NotRequired[str | None]
    is_prospect: NotRequired[bool]


class CustomerUpdate(TypedDict):
    """Fields of a ``customer`` a client may send when updating."""

    name: NotRequired[str]
    address: NotRequired[str | None]
    #: WGS84 latitude, degrees
    lat: NotRequired[float | None]
    #: WGS84 longitude, degrees
    lon: NotRequired[float | None]
    #: geofence radius, metres
    geofence_radius_m: NotRequired[float | None]
    status_tag: NotRequired[Literal["green", "yellow", "red"] | None]
    status_reason: NotRequired[str | None]
    assigned_rep_id: NotRequired[str | None]
    contacts: NotRequired[list[Contact]]
    notes: NotRequired[str | None]
    is_prospect: NotRequired[bool]


class Expense(TypedDict):
    """An ``expense`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    rep_id: str | None
    visit_id: str | None
    receipt_media_id: str | None
    status: Literal["draft", "processing", "needs_review", "submitted", "approved", "rejected"] | None
    merchant: str | None
    #: calendar date YYYY-MM-DD
    date: str | None
    #: decimal string, e.g. "12.50"
    total: str | None
    #: decimal string, e.g. "12.50"
    tax: str | None
    #: ISO 4217 code
    currency: str | None
    category_code: str | None
    notes: str | None
    extraction: dict[str, Any] | None
    flags: list[dict[str, Any]] | None
    review: ReviewInput | None


class ExpenseCreate(TypedDict):
    """Fields of a ``expense`` a client may send when creating."""

    id: NotRequired[str]
    visit_id: NotRequired[str | None]
    status: NotRequired[Literal["draft", "processing", "needs_review", "submitted", "approved", "rejected"]]
    merchant: NotRequired[str | None]
    #: calendar date YYYY-MM-DD
    date: NotRequired[str | None]
    #: decimal string, e.g. "12.50"
    total: NotRequired[str | None]
    #: decimal string, e.g. "12.50"
    tax: NotRequired[str | None]
    #: ISO 4217 code
    currency: NotRequired[str | None]
    category_code: NotRequired[str | None]
    notes: NotRequired[str | None]
    review: NotRequired[ReviewInput | None]


class ExpenseUpdate(TypedDict):
    """Fields of a ``expense`` a client may send when updating."""

    visit_id: NotRequired[str | None]
    status: NotRequired[Literal["draft", "processing", "needs_review", "submitted", "approved", "rejected"]]
    merchant: NotRequired[str | None]
    #: calendar date YYYY-MM-DD
    date: NotRequired[str | None]
    #: decimal string, e.g. "12.50"
    total: NotRequired[str | None]
    #: decimal string, e.g. "12.50"
    tax: NotRequired[str | None]
    #: ISO 4217 code
    currency: NotRequired[str | None]
    category_code: NotRequired[str | None]
    notes: NotRequired[str | None]
    review: NotRequired[ReviewInput | None]


class ExpenseCategory(TypedDict):
    """An ``expense_category`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    code: str | None
    name: str | None
    #: decimal string, e.g. "12.50"
    daily_limit: str | None
    #: ISO 4217 code
    currency: str | None


class ExpenseCategoryCreate(TypedDict):
    """Fields of a ``expense_category`` a client may send when creating."""

    id: NotRequired[str]
    code: NotRequired[str]
    name: NotRequired[str]
    #: decimal string, e.g. "12.50"
    daily_limit: NotRequired[str | None]
    #: ISO 4217 code
    currency: NotRequired[str | None]


class ExpenseCategoryUpdate(TypedDict):
    """Fields of a ``expense_category`` a client may send when updating."""

    name: NotRequired[str]
    #: decimal string, e.g. "12.50"
    daily_limit: NotRequired[str | None]
    #: ISO 4217 code
    currency: NotRequired[str | None]


class Photo(TypedDict):
    """A ``photo`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    visit_id: str | None
    media_id: str | None
    caption: str | None
    evidence: dict[str, Any] | None


class PhotoCreate(TypedDict):
    """Fields of a ``photo`` a client may send when creating."""

    id: NotRequired[str]
    visit_id: NotRequired[str]
    caption: NotRequired[str | None]


class PhotoUpdate(TypedDict):
    """Fields of a ``photo`` a client may send when updating."""

    caption: NotRequired[str | None]


class Product(TypedDict):
    """A ``product`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    sku: str | None
    name: str | None
    unit: str | None
    #: decimal string, e.g. "12.50"
    price: str | None
    #: ISO 4217 code
    currency: str | None


class ProductCreate(TypedDict):
    """Fields of a ``product`` a client may send when creating."""

    id: NotRequired[str]
    sku: NotRequired[str]
    name: NotRequired[str]
    unit: NotRequired[str | None]
    #: decimal string, e.g. "12.50"
    price: NotRequired[str | None]
    #: ISO 4217 code
    currency: NotRequired[str | None]


class ProductUpdate(TypedDict):
    """Fields of a ``product`` a client may send when updating."""

    sku: NotRequired[str]
    name: NotRequired[str]
    unit: NotRequired[str | None]
    #: decimal string, e.g. "12.50"
    price: NotRequired[str | None]
    #: ISO 4217 code
    currency: NotRequired[str | None]


class RoutePlan(TypedDict):
    """A ``route_plan`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    rep_id: str | None
    #: calendar date YYYY-MM-DD
    date: str | None
    name: str | None
    stops: list[Stop] | None
    path: LineString | None


class RoutePlanCreate(TypedDict):
    """Fields of a ``route_plan`` a client may send when creating."""

    id: NotRequired[str]
    rep_id: NotRequired[str]
    #: calendar date YYYY-MM-DD
    date: NotRequired[str]
    name: NotRequired[str | None]
    stops: NotRequired[list[Stop]]
    path: NotRequired[LineString | None]


class RoutePlanUpdate(TypedDict):
    """Fields of a ``route_plan`` a client may send when updating."""

    rep_id: NotRequired[str]
    #: calendar date YYYY-MM-DD
    date: NotRequired[str]
    name: NotRequired[str | None]
    stops: NotRequired[list[Stop]]
    path: NotRequired[LineString | None]


class User(TypedDict):
    """An ``user`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    name: str | None
    phone: str | None
    email: str | None
    role: str | None
    team_id: str | None
    is_active: bool | None


class UserCreate(TypedDict):
    """Fields of a ``user`` a client may send when creating."""

    email: str
    name: str
    role: Literal["rep", "manager", "admin"]
    password: str
    team_id: NotRequired[str | None]
    phone: NotRequired[str | None]


class UserUpdate(TypedDict):
    """Fields of a ``user`` a client may send when updating."""

    name: NotRequired[str]
    role: NotRequired[Literal["rep", "manager", "admin"]]
    team_id: NotRequired[str | None]
    phone: NotRequired[str | None]
    is_active: NotRequired[bool]
    password: NotRequired[str]


class Visit(TypedDict):
    """A ``visit`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    customer_id: str | None
    rep_id: str | None
    route_plan_id: str | None
    #: RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z
    planned_at: str | None
    status: Literal["planned", "in_progress", "completed", "cancelled"] | None
    check_in: Fix | None
    check_out: Fix | None
    check_in_verdict: dict[str, Any] | None
    notes: str | None
    outcome: str | None
    next_steps: str | None
    review: ReviewInput | None


class VisitCreate(TypedDict):
    """Fields of a ``visit`` a client may send when creating."""

    id: NotRequired[str]
    customer_id: NotRequired[str]
    rep_id: NotRequired[str]
    route_plan_id: NotRequired[str | None]
    #: RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z
    planned_at: NotRequired[str | None]
    status: NotRequired[Literal["planned", "in_progress", "completed", "cancelled"]]
    check_in: NotRequired[Fix | None]
    check_out: NotRequired[Fix | None]
    notes: NotRequired[str | None]
    outcome: NotRequired[str | None]
    next_steps: NotRequired[str | None]
    review: NotRequired[ReviewInput | None]


class VisitUpdate(TypedDict):
    """Fields of a ``visit`` a client may send when updating."""

    customer_id: NotRequired[str]
    rep_id: NotRequired[str]
    route_plan_id: NotRequired[str | None]
    #: RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z
    planned_at: NotRequired[str | None]
    status: NotRequired[Literal["planned", "in_progress", "completed", "cancelled"]]
    check_in: NotRequired[Fix | None]
    check_out: NotRequired[Fix | None]
    notes: NotRequired[str | None]
    outcome: NotRequired[str | None]
    next_steps: NotRequired[str | None]
    review: NotRequired[ReviewInput | None]


class VisitAction(TypedDict):
    """A ``visit_action`` as the server shows it."""

    id: str
    version: int
    created_at: str
    updated_at: str
    visit_id: str | None
    kind: (
        Literal[
            "order_intent",
            "sample_drop",
            "competitor_report",
            "display_check",
            "price_check",
            "stock_check",
            "payment_collection",
            "complaint",
            "training",
            "survey",
            "contract",
            "delivery",
        ]
        | None
    )
    payload: dict[str, Any] | None


class VisitActionCreate(TypedDict):
    """Fields of a ``visit_action`` a client may send when creating."""

    id: NotRequired[str]
    visit_id: NotRequired[str]
    kind: NotRequired[
        Literal[
            "order_intent",
            "sample_drop",
            "competitor_report",
            "display_check",
            "price_check",
            "stock_check",
            "payment_collection",
            "complaint",
            "training",
            "survey",
            "contract",
            "delivery",
        ]
    ]
    payload: NotRequired[dict[str, Any]]


class VisitActionUpdate(TypedDict):
    """Fields of a ``visit_action`` a client may send when updating."""

    kind: NotRequired[
        Literal[
            "order_intent",
            "sample_drop",
            "competitor_report",
            "display_check",
            "price_check",
            "stock_check",
            "payment_collection",
            "complaint",
            "training",
            "survey",
            "contract",
            "delivery",
        ]
    ]
    payload: NotRequired[dict[str, Any]]


EntityName = Literal[
    "customer",
    "expense",
    "expense_category",
    "photo",
    "product",
    "route_plan",
    "user",
    "visit",
    "visit_action",
]

#: The TypedDict of each entity, by its sync name.
ENTITY_TYPES: dict[str, type] = {
    "customer": Customer,
    "expense": Expense,
    "expense_category": ExpenseCategory,
    "photo": Photo,
    "product": Product,
    "route_plan": RoutePlan,
    "user": User,
    "visit": Visit,
    "visit_action": VisitAction,
}

#: Fields of each entity's server view (beside id, version, timestamps).
FIELDS: dict[str, tuple[str, ...]] = {
    "customer": (
        "name",
        "address",
        "lat",
        "lon",
        "geofence_radius_m",
        "status_tag",
        "status_reason",
        "assigned_rep_id",
        "contacts",
        "notes",
        "is_prospect",
        "created_by_id",
    ),
    "expense": (
        "rep_id",
        "visit_id",
        "receipt_media_id",
        "status",
        "merchant",
        "date",
        "total",
        "tax",
        "currency",
        "category_code",
        "notes",
        "extraction",
        "flags",
        "review",
    ),
    "expense_category": ("code", "name", "daily_limit", "currency"),
    "photo": ("visit_id", "media_id", "caption", "evidence"),
    "product": ("sku", "name", "unit", "price", "currency"),
    "route_plan": ("rep_id", "date", "name", "stops", "path"),
    "user": ("name", "phone", "email", "role", "team_id", "is_active"),
    "visit": (
        "customer_id",
        "rep_id",
        "route_plan_id",
        "planned_at",
        "status",
        "check_in",
        "check_out",
        "check_in_verdict",
        "notes",
        "outcome",
        "next_steps",
        "review",
    ),
    "visit_action": ("visit_id", "kind", "payload"),
}

#: Fields a client may send when creating each entity.
CREATE_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": (
        "name",
        "address",
        "lat",
        "lon",
        "geofence_radius_m",
        "status_tag",
        "status_reason",
        "assigned_rep_id",
        "contacts",
        "notes",
        "is_prospect",
    ),
    "expense": (
        "visit_id",
        "status",
        "merchant",
        "date",
        "total",
        "tax",
        "currency",
        "category_code",
        "notes",
        "review",
    ),
    "expense_category": ("code", "name", "daily_limit", "currency"),
    "photo": ("visit_id", "caption"),
    "product": ("sku", "name", "unit", "price", "currency"),
    "route_plan": ("rep_id", "date", "name", "stops", "path"),
    "user": ("email", "name", "role", "password", "team_id", "phone"),
    "visit": (
        "customer_id",
        "rep_id",
        "route_plan_id",
        "planned_at",
        "status",
        "check_in",
        "check_out",
        "notes",
        "outcome",
        "next_steps",
        "review",
    ),
    "visit_action": ("visit_id", "kind", "payload"),
}

#: Fields a client may send when updating each entity.
UPDATE_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": (
        "name",
        "address",
        "lat",
        "lon",
        "geofence_radius_m",
        "status_tag",
        "status_reason",
        "assigned_rep_id",
        "contacts",
        "notes",
        "is_prospect",
    ),
    "expense": (
        "visit_id",
        "status",
        "merchant",
        "date",
        "total",
        "tax",
        "currency",
        "category_code",
        "notes",
        "review",
    ),
    "expense_category": ("name", "daily_limit", "currency"),
    "photo": ("caption",),
    "product": ("sku", "name", "unit", "price", "currency"),
    "route_plan": ("rep_id", "date", "name", "stops", "path"),
    "user": ("name", "role", "team_id", "phone", "is_active", "password"),
    "visit": (
        "customer_id",
        "rep_id",
        "route_plan_id",
        "planned_at",
        "status",
        "check_in",
        "check_out",
        "notes",
        "outcome",
        "next_steps",
        "review",
    ),
    "visit_action": ("kind", "payload"),
}
