"""HTTP endpoints of the sync protocol: info, push, pull, conflicts."""

from __future__ import annotations

from time import perf_counter
from typing import Annotated, Any

from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody, Parameter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.guards import provide_principal
from api.accounts.principal import Principal
from api.db.session import provide_db_session
from api.lib.clock import rfc3339
from api.lib.errors import BadRequest, Conflict, Forbidden, Gone, PayloadTooLarge, Unavailable
from api.observability.metrics import observe_pull, observe_push, observe_push_timing
from api.settings import MAX_PUSH_BYTES, Settings
from sync import schema_versions
from sync.cursor import CursorError
from sync.models import SyncConflict
from sync.pull import CursorExpired, page_json, pull
from sync.push import PushUnavailable
from sync.push_timing import PushTiming
from sync.schemas import (
    ConflictOut,
    ConflictPage,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncInfo,
    SyncLimits,
)

#: The entity schema this server speaks, and the one before it (accepted from older apps).
CURRENT_SCHEMA_VERSION = schema_versions.CURRENT
SUPPORTED_SCHEMA_VERSIONS = schema_versions.SUPPORTED


def check_schema_version(version: int) -> None:
    if not schema_versions.is_supported(version):
        raise Conflict(
            f"schema_version {version} is not supported; supported: {list(SUPPORTED_SCHEMA_VERSIONS)}",
            code="schema_version_unsupported",
            extra={"supported": list(SUPPORTED_SCHEMA_VERSIONS)},
        )


class SyncController(Controller):
    path = "/v1/sync"
    tags = ["sync"]
    dependencies = {"principal": Provide(provide_principal), "session": Provide(provide_db_session)}

    @get("/info", operation_id="SyncInfo")
    async def info(self, state: State) -> SyncInfo:
        settings: Settings = state["settings"]
        return SyncInfo(
            server_hlc=state["clock"].now(),
            schema_versions=list(SUPPORTED_SCHEMA_VERSIONS),
            limits=SyncLimits(
                max_mutations=settings.max_push_mutations,
                max_push_bytes=settings.max_push_bytes,
                max_pull_limit=settings.max_pull_limit,
            ),
            history_days=settings.sync_history_days,
        )

    @post(
        "/push",
        operation_id="SyncPush",
        status_code=200,
        request_max_body_size=MAX_PUSH_BYTES,
        response_headers=[
            ResponseHeader(
                name="Server-Timing",
                description="Where the push's time went, in milliseconds: lock, db, commit, app, total "
                "(see docs/sync.md)",
                documentation_only=True,
            )
        ],
    )
    async def push(
        self, state: State, principal: NamedDependency[Principal], data: JSONBody[PushRequest]
    ) -> Response[PushResponse]:
        started = perf_counter()
        settings: Settings = state["settings"]
        check_schema_version(data.schema_version)
        if data.client_id != principal.device_id:
            raise Forbidden("client_id is not the device this token was issued to", code="client_mismatch")
        if len(data.mutations) > settings.max_push_mutations:
            raise PayloadTooLarge(f"at most {settings.max_push_mutations} mutations per push")
        clock = state["clock"]
        timing = PushTiming()
        try:
            last_seq, results = await state["push_service"].push(
                principal, data.client_id, data.mutations, schema_version=data.schema_version, timing=timing
            )
        except PushUnavailable as exc:
            raise Unavailable(
                "The database is unavailable; retry from last_seq + 1",
                extra={"last_seq": exc.last_seq},
                headers={"Retry-After": "2"},
            ) from exc
        observe_push(data.mutations, results)
        body = PushResponse(last_seq=last_seq, server_hlc=clock.now(), results=results)
        total = perf_counter() - started
        observe_push_timing(timing.parts(total))
        return Response(body, headers={"Server-Timing": timing.header(total)})

    @get("/pull", operation_id="SyncPull", media_type=MediaType.JSON)
    async def pull(
        self,
        state: State,
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 500,
        schema_version: FromQuery[int] = CURRENT_SCHEMA_VERSION,
    ) -> Response[PullResponse]:
        settings: Settings = state["settings"]
        check_schema_version(schema_version)
        limit = min(limit, settings.max_pull_limit)
        try:
            page = await pull(
                session,
                principal,
                secret=settings.secret_key,
                cursor_text=cursor,
                limit=limit,
                schema_version=schema_version,
            )
        except CursorError as exc:
            raise BadRequest(str(exc), code="invalid_cursor") from exc
        except CursorExpired as exc:
            raise Gone(
                "The cursor is older than the history kept (or was made for another schema version); "
                "bootstrap again",
                code="cursor_expired",
            ) from exc
        observe_pull(page.count)
        # The changes arrive as JSON already (on PostgreSQL the database writes it): the body is
        # assembled around them rather than decoded and encoded again.
        body = page_json(page, schema_version=schema_version, server_hlc=state["clock"].now())
        return Response(content=body, media_type=MediaType.JSON)

    @get("/conflicts", operation_id="SyncConflicts")
    async def conflicts(
        self,
        principal: NamedDependency[Principal],
        session: NamedDependency[AsyncSession],
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> ConflictPage:
        cond: list[Any] = [SyncConflict.tenant_id == principal.tenant_id]
        if principal.rep_scope is not None:
            cond.append(SyncConflict.scope_rep_id.in_(sorted(principal.rep_scope)))
        total = await session.scalar(select(func.count()).select_from(SyncConflict).where(*cond))
        rows = await session.scalars(
            select(SyncConflict)
            .where(*cond)
            .order_by(SyncConflict.created_at.desc(), SyncConflict.id.desc())
            .limit(limit)
            .offset(offset)
        )
        items = [
            ConflictOut(
                id=r.id,
                entity=r.entity,
                entity_id=r.entity_id,
                status=r.status,
                conflicts=r.conflicts,
                error=r.error,
                client_hlc=r.client_hlc,
                user_id=r.user_id,
                client_id=r.client_id,
                seq=r.seq,
                created_at=rfc3339(r.created_at),
            )
            for r in rows
        ]
        return ConflictPage(items=items, limit=limit, offset=offset, total=int(total or 0))
