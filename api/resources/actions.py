"""Action endpoints: review visits and expenses, submit expenses, online check-in.

Each is a single write through the sync writer (same rules as a phone's mutation).
"""

import uuid
from typing import Any, Literal

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from api.expenses.approval import check_review, check_submittable
from api.lib.errors import Forbidden
from api.lib.values import Fix
from api.resources.routes import service
from api.resources.schemas import out_struct
from sync.entities import ENTITIES
from sync.serialize import entity_data

VisitOut = out_struct("visit")
ExpenseOut = out_struct("expense")


class ReviewRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: Literal["approved", "rejected"]
    comment: str | None = msgspec.field(default=None)


async def _review(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    name: str,
    item_id: uuid.UUID,
    data: ReviewRequest,
) -> dict[str, Any]:
    if principal.role not in {"manager", "admin"}:
        raise Forbidden("Only the rep's manager or an admin can review")
    svc = service(request, session, principal)
    spec = ENTITIES[name]
    row = await svc.get_row(spec, item_id)
    if name == "visit" and row.rep_id == principal.user_id and principal.role != "admin":
        raise Forbidden("Managers cannot review their own visits")
    if name == "expense":
        check_review(
            row,
            reviewer_id=principal.user_id,
            reviewer_role=principal.role,
            decision=data.status,
            comment=data.comment,
        )
    review = {"status": data.status, "comment": data.comment}
    outcome = await svc.write(spec, item_id, {"review": review})
    return entity_data(spec, outcome.row or row)


#: Status a visit moves to when a fix is recorded, from the statuses that allow it.
_FIX_MOVES_STATUS = {
    "check_in": ({"planned"}, "in_progress"),
    "check_out": ({"planned", "in_progress"}, "completed"),
}


async def _record_fix(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    item_id: uuid.UUID,
    field: str,
    data: Fix,
) -> dict[str, Any]:
    """Record a check-in or check-out fix online, moving the visit's status forward."""
    svc = service(request, session, principal)
    spec = ENTITIES["visit"]
    row = await svc.get_row(spec, item_id)
    fields: dict[str, Any] = {field: msgspec.to_builtins(data)}
    from_statuses, to_status = _FIX_MOVES_STATUS[field]
    if row.status in from_statuses:
        fields["status"] = to_status
    outcome = await svc.write(spec, item_id, fields)
    return entity_data(spec, outcome.row or row)


def visit_actions() -> dict[str, Any]:
    @post("/{item_id:uuid}/review", operation_id="ReviewVisit", status_code=200)
    async def review_visit(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewRequest],
    ) -> VisitOut:  # type: ignore[valid-type]
        return await _review(request, session, principal, "visit", item_id, data)  # type: ignore[return-value]

    @post("/{item_id:uuid}/check-in", operation_id="CheckInVisit", status_code=200)
    async def check_in(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[Fix],
    ) -> VisitOut:  # type: ignore[valid-type]
        return await _record_fix(request, session, principal, item_id, "check_in", data)  # type: ignore[return-value]

    @post("/{item_id:uuid}/check-out", operation_id="CheckOutVisit", status_code=200)
    async def check_out(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[Fix],
    ) -> VisitOut:  # type: ignore[valid-type]
        return await _record_fix(request, session, principal, item_id, "check_out", data)  # type: ignore[return-value]

    return {"review_visit": review_visit, "check_in": check_in, "check_out": check_out}


def expense_actions() -> dict[str, Any]:
    @post("/{item_id:uuid}/review", operation_id="ReviewExpense", status_code=200)
    async def review_expense(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewRequest],
    ) -> ExpenseOut:  # type: ignore[valid-type]
        return await _review(request, session, principal, "expense", item_id, data)  # type: ignore[return-value]

    @post("/{item_id:uuid}/submit", operation_id="SubmitExpense", status_code=200)
    async def submit_expense(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
    ) -> ExpenseOut:  # type: ignore[valid-type]
        svc = service(request, session, principal)
        spec = ENTITIES["expense"]
        row = await svc.get_row(spec, item_id)
        check_submittable(row)
        outcome = await svc.write(spec, item_id, {"status": "submitted"})
        return entity_data(spec, outcome.row or row)  # type: ignore[return-value]

    from api.expenses.controllers import expense_extra_handlers

    return {"review_expense": review_expense, "submit_expense": submit_expense, **expense_extra_handlers()}
