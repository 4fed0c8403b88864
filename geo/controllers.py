"""HTTP endpoints: ``POST /v1/tracks``, the manager's route audit and the rep's daily report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIMediaType as SpecMediaType
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import FromPath, FromQuery, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.guards import provide_principal, requires_manager
from api.accounts.principal import Principal
from api.db.session import provide_db_session, provide_write_session
from api.lib.clock import utcnow
from api.lib.http_cache import matches_if_none_match, not_modified, quoted
from api.settings import MAX_TRACK_BODY_BYTES
from geo.audit_service import RouteAuditService, in_thread, parse_day
from geo.daily_report import ReportFormat, report_rendition
from geo.ingest import TrackBatch
from geo.rep_day import AuditFormat, audit_rendition
from geo.schemas import DailyReport, RouteAudit, TrackIngestResult
from geo.track_service import MAX_POINTS, TrackIngestService

__all__ = ["DailyReportController", "RouteAuditController", "TrackController"]

#: Audits change as late points arrive: clients may keep a copy but must revalidate (cheap: the
#: ETag is a digest of the inputs, so an unchanged day answers 304 without being analysed).
CACHE_CONTROL = "private, no-cache"

Width = Annotated[int, Parameter(ge=640, le=4000, description="picture width (px)")]
Height = Annotated[int, Parameter(ge=480, le=4000, description="picture height (px)")]


def _track_batch_schema() -> dict[str, Any]:
    """The JSON Schema of the request body, every reference inlined (the handler decodes the raw
    body itself, so Litestar cannot describe it)."""
    (root,), components = msgspec.json.schema_components([TrackBatch], ref_template="{name}")

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return inline(components[node["$ref"]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    schema: dict[str, Any] = inline(root)
    schema["properties"]["points"]["maxItems"] = MAX_POINTS
    return schema


@dataclass
class TrackBatchOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"application/json": SpecMediaType(schema=_track_batch_schema())},  # type: ignore[arg-type]
            required=True,
            description=f"A batch of fixes from one device (at most {MAX_POINTS} points).",
        )


class TrackController(Controller):
    path = "/v1/tracks"
    tags = ["tracks"]
    dependencies = {"principal": Provide(provide_principal), "session": Provide(provide_write_session)}

    @post(
        "",
        operation_id="PostTrackPoints",
        status_code=200,
        request_max_body_size=MAX_TRACK_BODY_BYTES,
        operation_class=TrackBatchOperation,
        description=(
            "Store a batch of GPS fixes of the caller's device. Idempotent per (device, t): a fix "
            "already stored counts as a duplicate. Late and out-of-order fixes are welcome. Bad "
            "fixes are refused by index with a stable code while the others are stored."
        ),
    )
    async def ingest(
        self, request: Request, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> TrackIngestResult:
        body = await request.body()
        return await TrackIngestService(session, principal).ingest(body, utcnow())


def _split_suffix(text: str) -> tuple[date, AuditFormat]:
    if text.endswith(".geojson"):
        return parse_day(text[: -len(".geojson")]), "geojson"
    if text.endswith(".png"):
        return parse_day(text[: -len(".png")]), "png"
    return parse_day(text.removesuffix(".json")), "json"


def _response(body: bytes, media_type: str, etag: str, **headers: str) -> Response[bytes]:
    return Response(
        content=body,
        media_type=media_type,
        headers={"ETag": quoted(etag), "Cache-Control": CACHE_CONTROL, **headers},
    )


class RouteAuditController(Controller):
    path = "/v1/audits/routes"
    tags = ["audits"]
    guards = [requires_manager]
    dependencies = {"principal": Provide(provide_principal), "session": Provide(provide_db_session)}

    @get(
        "/{rep_id:uuid}/{day:str}",
        operation_id="GetRouteAudit",
        description=(
            "A rep's day, planned vs actual (managers of the rep's team and admins). `day` is a "
            "calendar date in the tenant's time zone: `2026-03-05` answers JSON (below), "
            "`2026-03-05.geojson` one GeoJSON FeatureCollection, `2026-03-05.png` a picture "
            "(`width`, `height`). Responses carry an ETag; `If-None-Match` answers 304."
        ),
    )
    async def audit(
        self,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        rep_id: FromPath[uuid.UUID],
        day: Annotated[str, Parameter(description="YYYY-MM-DD, optionally .json, .geojson or .png")],
        width: FromQuery[Width] = 1200,
        height: FromQuery[Height] = 900,
    ) -> Response[RouteAudit]:
        when, fmt = _split_suffix(day)
        rep_day = await RouteAuditService(session, principal).audit(rep_id, when)
        etag = rep_day.fingerprint(fmt, width, height) if fmt == "png" else rep_day.fingerprint(fmt)
        if matches_if_none_match(request, etag):
            return not_modified(etag, CACHE_CONTROL)  # type: ignore[return-value]
        body, media_type = await in_thread(audit_rendition, rep_day, fmt, width, height)
        return _response(body, media_type, etag)  # type: ignore[return-value]


class DailyReportController(Controller):
    path = "/v1/reports/daily"
    tags = ["reports"]
    dependencies = {"principal": Provide(provide_principal), "session": Provide(provide_db_session)}

    @get(
        "/{rep_id:uuid}/{day:str}",
        operation_id="GetDailyReport",
        description=(
            "A rep's daily report: visits with check-in verdicts, actions, photos, expenses, the "
            "route's deviations and summary. JSON by default; `Accept: text/html` or "
            "`?format=html` gives one HTML document with the map embedded; `?format=png` the map. "
            "Reps read their own, managers their teams', admins everyone's."
        ),
    )
    async def report(
        self,
        request: Request,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        rep_id: FromPath[uuid.UUID],
        day: Annotated[str, Parameter(description="YYYY-MM-DD, a calendar date in the tenant's zone")],
        format: FromQuery[ReportFormat | None] = None,
        width: FromQuery[Width] = 1200,
        height: FromQuery[Height] = 900,
    ) -> Response[DailyReport]:
        when = parse_day(day)
        prefers_html = request.accept.best_match([MediaType.JSON, MediaType.HTML]) == MediaType.HTML
        fmt: ReportFormat = format or ("html" if prefers_html else "json")
        rep_day, rows = await RouteAuditService(session, principal).report(rep_id, when)
        size: tuple[object, ...] = (width, height) if fmt == "png" else ()
        etag = rep_day.fingerprint("report", fmt, rows, *size)
        if matches_if_none_match(request, etag):
            return not_modified(etag, CACHE_CONTROL)  # type: ignore[return-value]
        map_url = f"/v1/reports/daily/{rep_id}/{when.isoformat()}?format=png"
        body, media_type = await in_thread(report_rendition, rep_day, rows, fmt, map_url, width, height)
        return _response(body, media_type, etag, Vary="Accept")  # type: ignore[return-value]
