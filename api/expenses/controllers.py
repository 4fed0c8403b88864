"""Expense endpoints beyond CRUD: the finance CSV export and a receipt's OCR text.

They join the expense controller (``/v1/expenses``) through
:func:`api.resources.actions.expense_actions`.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.response import Response, Stream
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from api.db.session import Database, database_from_state
from api.expenses import repository as repo
from api.expenses.export import (
    Window,
    approved_at,
    check_status,
    csv_lines,
    export_row,
    export_window,
    header,
    reviewer_id,
)
from api.lib.errors import Forbidden, NotFound
from api.resources.routes import service
from sync.entities import ENTITIES

#: Expenses read per database round trip while streaming the export.
EXPORT_PAGE = 500


async def export_stream(
    db: Database,
    tenant_id: uuid.UUID,
    rep_scope: frozenset[uuid.UUID] | None,
    window: Window,
) -> AsyncIterator[bytes]:
    """The CSV, page by page (each page in its own short read transaction)."""
    yield header().encode()
    after: uuid.UUID | None = None
    while True:
        async with db.sessions() as session:
            page = await repo.approved_page(
                session, tenant_id, rep_scope, changed_since=window.start, after=after, limit=EXPORT_PAGE
            )
            chosen = [e for e in page if (at := approved_at(e.review)) is not None and window.contains(at)]
            ids = {e.rep_id for e in chosen} | {r for e in chosen if (r := reviewer_id(e.review))}
            people = await repo.people(session, tenant_id, ids)
        if chosen:
            yield csv_lines([export_row(e, people) for e in chosen]).encode()
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1].id


def expense_extra_handlers() -> dict[str, Any]:
    @get(
        "/export.csv",
        operation_id="ExportExpensesCsv",
        summary="Approved expenses as CSV for finance (managers: their teams; admins: all)",
        media_type="text/csv",
    )
    async def export_csv(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        date_from: Annotated[
            str | None,
            QueryParameter(name="from", description="first approval day, YYYY-MM-DD, tenant time zone"),
        ] = None,
        date_to: Annotated[
            str | None, QueryParameter(name="to", description="last approval day, YYYY-MM-DD, inclusive")
        ] = None,
        status: Annotated[str, Parameter(max_length=16, description="approved")] = "approved",
    ) -> Stream:
        if principal.role not in {"manager", "admin"}:
            raise Forbidden("Only managers and admins can export expenses")
        check_status(status)
        timezone = await repo.tenant_timezone(session, principal.tenant_id)
        window = export_window(date_from, date_to, timezone)
        name = f"expenses-{date_from or 'start'}-{date_to or 'now'}.csv"
        db = database_from_state(request.app.state)
        return Stream(
            export_stream(db, principal.tenant_id, principal.rep_scope, window),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/{item_id:uuid}/receipt-text",
        operation_id="GetExpenseReceiptText",
        summary="The OCR text of the expense's receipt (extraction.raw_text_ref)",
        media_type="text/plain",
    )
    async def receipt_text(
        self: Any,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        item_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        expense = await service(request, session, principal).get_row(ENTITIES["expense"], item_id)
        scan = await repo.latest_scan(session, expense)
        if scan is None:
            raise NotFound("this expense has no processed receipt")
        return Response(scan.raw_text, media_type="text/plain; charset=utf-8")

    return {"export_csv": export_csv, "receipt_text": receipt_text}
