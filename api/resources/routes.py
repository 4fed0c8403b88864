"""REST controllers for synced entities: list/get/create/patch/delete per resource.

Handlers are built from the entity specs (typed request/response structs for OpenAPI); list
filters are written out per resource. Annotations here are real objects (no postponed evaluation)
because the types are generated at import time.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.guards import provide_principal
from api.accounts.models import User
from api.accounts.principal import Principal
from api.customers.models import Customer
from api.customers.near import near_customers, parse_near
from api.db.session import provide_db_session
from api.expenses.models import Expense
from api.lib.errors import ValidationFailed
from api.photos.models import Photo
from api.reference.models import Product
from api.resources.schemas import create_struct, given, out_struct, page_struct, update_struct
from api.resources.service import ResourceService
from api.routes.models import RoutePlan
from api.visits.models import Visit, VisitAction
from sync.entities import ENTITIES

Limit = Annotated[int, Parameter(ge=1, le=500, description="page size (max 500)")]
Offset = Annotated[int, Parameter(ge=0, le=10_000_000)]


def service(request: Request[Any, Any, Any], session: AsyncSession, principal: Principal) -> ResourceService:
    state = request.app.state
    return ResourceService(session, principal, state["clock"], state.get("after_merge", ()))


def _deps() -> dict[str, Provide]:
    return {"session": Provide(provide_db_session), "principal": Provide(provide_principal)}


def _crud_handlers(name: str, plural_tag: str, *, writable: bool = True) -> dict[str, Any]:
    spec = ENTITIES[name]
    out_type = out_struct(name)
    create_type = create_struct(name)
    update_type = update_struct(name)
    handlers: dict[str, Any] = {}

    async def get_one(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
    ) -> out_type:  # type: ignore[valid-type]
        return await service(request, session, principal).get(spec, item_id)  # type: ignore[return-value]

    handlers["get_one"] = get("/{item_id:uuid}", operation_id=f"Get{out_type.__name__}", tags=[plural_tag])(
        get_one
    )
    if not writable:
        return handlers

    async def create_one(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[create_type],
    ) -> out_type:  # type: ignore[valid-type]
        return await service(request, session, principal).create(spec, given(data))  # type: ignore[return-value]

    async def update_one(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[update_type],  # type: ignore[valid-type]
    ) -> out_type:  # type: ignore[valid-type]
        return await service(request, session, principal).update(spec, item_id, given(data))  # type: ignore[return-value]

    async def delete_one(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
    ) -> None:
        await service(request, session, principal).delete(spec, item_id)

    handlers["create_one"] = post("", operation_id=f"create_type{out_type.__name__}", tags=[plural_tag])(
        create_one
    )
    handlers["update_one"] = patch(
        "/{item_id:uuid}", operation_id=f"update_type{out_type.__name__}", tags=[plural_tag]
    )(update_one)
    handlers["delete_one"] = delete(
        "/{item_id:uuid}", operation_id=f"Delete{out_type.__name__}", tags=[plural_tag], status_code=204
    )(delete_one)
    return handlers


def _controller(
    name: str,
    path: str,
    tag: str,
    list_handler: Callable[..., Any],
    *,
    writable: bool = True,
    extra: dict[str, Any] | None = None,
) -> type[Controller]:
    attrs: dict[str, Any] = {"path": path, "tags": [tag], "dependencies": _deps(), "list_items": list_handler}
    attrs.update(_crud_handlers(name, tag, writable=writable))
    attrs.update(extra or {})
    return type(f"{out_struct(name).__name__}Controller", (Controller,), attrs)


def _day_bounds(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            f"{field} must be an RFC 3339 time",
            errors=[{"field": field, "code": "invalid", "message": "expected RFC 3339"}],
        ) from exc


# ------------------------------------------------------------------ list handlers
CustomerPage = page_struct("customer")


@get("", operation_id="ListCustomers")
async def list_customers(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    assigned_rep_id: FromQuery[uuid.UUID | None] = None,
    q: Annotated[str | None, Parameter(max_length=200)] = None,
    is_prospect: FromQuery[bool | None] = None,
    near: Annotated[str | None, Parameter(description="lat,lon: nearest first")] = None,
    within_m: Annotated[float | None, Parameter(gt=0, le=200_000)] = None,
) -> CustomerPage:  # type: ignore[valid-type]
    spec = ENTITIES["customer"]
    svc = service(request, session, principal)
    filters: list[ColumnElement[bool]] = []
    if assigned_rep_id is not None:
        filters.append(Customer.assigned_rep_id == assigned_rep_id)
    if q:
        filters.append(func.lower(Customer.name).contains(q.lower()))
    if is_prospect is not None:
        filters.append(Customer.is_prospect.is_(is_prospect))
    if near is not None:
        lat, lon = parse_near(near)
        return await near_customers(
            svc, spec, filters, lat=lat, lon=lon, within_m=within_m, limit=limit, offset=offset
        )  # type: ignore[return-value]
    return await svc.list(spec, filters, limit=limit, offset=offset, order_by=[Customer.name, Customer.id])  # type: ignore[return-value]


RoutePlanPage = page_struct("route_plan")


@get("", operation_id="ListRoutePlans")
async def list_route_plans(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    rep_id: FromQuery[uuid.UUID | None] = None,
    date_from: FromQuery[date | None] = None,
    date_to: FromQuery[date | None] = None,
) -> RoutePlanPage:  # type: ignore[valid-type]
    filters: list[ColumnElement[bool]] = []
    if rep_id is not None:
        filters.append(RoutePlan.rep_id == rep_id)
    if date_from is not None:
        filters.append(RoutePlan.date >= date_from)
    if date_to is not None:
        filters.append(RoutePlan.date <= date_to)
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["route_plan"], filters, limit=limit, offset=offset, order_by=[RoutePlan.date, RoutePlan.id]
    )


VisitPage = page_struct("visit")


@get("", operation_id="ListVisits")
async def list_visits(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    rep_id: FromQuery[uuid.UUID | None] = None,
    customer_id: FromQuery[uuid.UUID | None] = None,
    status: Annotated[str | None, Parameter(max_length=16)] = None,
    planned_from: FromQuery[str | None] = None,
    planned_to: FromQuery[str | None] = None,
) -> VisitPage:  # type: ignore[valid-type]
    filters: list[ColumnElement[bool]] = []
    if rep_id is not None:
        filters.append(Visit.rep_id == rep_id)
    if customer_id is not None:
        filters.append(Visit.customer_id == customer_id)
    if status is not None:
        filters.append(Visit.status == status)
    if (start := _day_bounds(planned_from, "planned_from")) is not None:
        filters.append(Visit.planned_at >= start)
    if (end := _day_bounds(planned_to, "planned_to")) is not None:
        filters.append(Visit.planned_at < end)
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["visit"], filters, limit=limit, offset=offset, order_by=[Visit.planned_at, Visit.id]
    )


VisitActionPage = page_struct("visit_action")


@get("", operation_id="ListVisitActions")
async def list_visit_actions(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    visit_id: FromQuery[uuid.UUID | None] = None,
    kind: Annotated[str | None, Parameter(max_length=32)] = None,
) -> VisitActionPage:  # type: ignore[valid-type]
    filters: list[ColumnElement[bool]] = []
    if visit_id is not None:
        filters.append(VisitAction.visit_id == visit_id)
    if kind is not None:
        filters.append(VisitAction.kind == kind)
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["visit_action"], filters, limit=limit, offset=offset
    )


ExpensePage = page_struct("expense")


@get("", operation_id="ListExpenses")
async def list_expenses(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    rep_id: FromQuery[uuid.UUID | None] = None,
    visit_id: FromQuery[uuid.UUID | None] = None,
    status: Annotated[str | None, Parameter(max_length=16)] = None,
) -> ExpensePage:  # type: ignore[valid-type]
    filters: list[ColumnElement[bool]] = []
    if rep_id is not None:
        filters.append(Expense.rep_id == rep_id)
    if visit_id is not None:
        filters.append(Expense.visit_id == visit_id)
    if status is not None:
        filters.append(Expense.status == status)
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["expense"], filters, limit=limit, offset=offset
    )


PhotoPage = page_struct("photo")


@get("", operation_id="ListPhotos")
async def list_photos(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    visit_id: FromQuery[uuid.UUID | None] = None,
) -> PhotoPage:  # type: ignore[valid-type]
    filters: list[ColumnElement[bool]] = [Photo.visit_id == visit_id] if visit_id is not None else []
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["photo"], filters, limit=limit, offset=offset
    )


ExpenseCategoryPage = page_struct("expense_category")


@get("", operation_id="ListExpenseCategories")
async def list_expense_categories(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 100,
    offset: FromQuery[Offset] = 0,
) -> ExpenseCategoryPage:  # type: ignore[valid-type]
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["expense_category"], [], limit=limit, offset=offset
    )


ProductPage = page_struct("product")


@get("", operation_id="ListProducts")
async def list_products(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 100,
    offset: FromQuery[Offset] = 0,
    q: Annotated[str | None, Parameter(max_length=200)] = None,
) -> ProductPage:  # type: ignore[valid-type]
    filters = [func.lower(Product.name).contains(q.lower())] if q else []
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["product"], filters, limit=limit, offset=offset, order_by=[Product.sku]
    )


UserPage = page_struct("user")


@get("", operation_id="ListUsers")
async def list_users(
    self: Any,
    request: Request,
    session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    limit: FromQuery[Limit] = 50,
    offset: FromQuery[Offset] = 0,
    role: Annotated[str | None, Parameter(max_length=16)] = None,
    team_id: FromQuery[uuid.UUID | None] = None,
) -> UserPage:  # type: ignore[valid-type]
    filters: list[ColumnElement[bool]] = []
    if role is not None:
        filters.append(User.role == role)
    if team_id is not None:
        filters.append(User.team_id == team_id)
    return await service(request, session, principal).list(  # type: ignore[return-value]
        ENTITIES["user"], filters, limit=limit, offset=offset, order_by=[User.email]
    )


def resource_controllers() -> list[type[Controller]]:
    from api.accounts.admin import user_admin_handlers
    from api.resources.actions import expense_actions, visit_actions

    return [
        _controller("customer", "/v1/customers", "customers", list_customers),
        _controller("route_plan", "/v1/route-plans", "route-plans", list_route_plans),
        _controller("visit", "/v1/visits", "visits", list_visits, extra=visit_actions()),
        _controller("visit_action", "/v1/visit-actions", "visit-actions", list_visit_actions),
        _controller("expense", "/v1/expenses", "expenses", list_expenses, extra=expense_actions()),
        _controller("photo", "/v1/photos", "photos", list_photos),
        _controller("expense_category", "/v1/expense-categories", "reference", list_expense_categories),
        _controller("product", "/v1/products", "reference", list_products),
        _controller("user", "/v1/users", "users", list_users, writable=False, extra=user_admin_handlers()),
    ]
