"""HTTP endpoints: ``POST /v1/tracks``, the manager's route audit and the rep's daily report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIMediaType as SpecMediaType
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.guards import provide_principal, requires_manager
from api.accounts.principal import Principal
from api.db.session import provide_db_session, provide_write_session
from api.lib.clock import utcnow
from api.lib.http_cache import matches_if_none_match, not_modified, quoted
from api.settings import MAX_TRACK_BODY_BYTES
from geo.audit_service import DayRecords, RouteAuditService, in_thread, parse_day
from geo.daily_report import DayRows, report_body, report_html
from geo.day_repository import DayRepository
from geo.ingest import TrackBatch
from geo.rep_day import RepDay, analyse, audit_body, audit_geojson, audit_png
from geo.schemas import DailyReport, RouteAudit, TrackIngestResult
from geo.track_service import MAX_POINTS, TrackIngestService
from sync.entities import ENTITIES
from sync.serialize import entity_data

__all__ = ["DailyReportController", "RouteAuditController", "TrackController"]

#: Audits change as late points arrive: clients may keep a copy but must revalidate (cheap: the
#: ETag is a digest of the inputs, so an unchanged day answers 304 without being analysed).
CACHE_CONTROL = "private, no-cache"
GEOJSON = "application/geo+json"
HTML = MediaType.HTML

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
        self, request: Request, session: AsyncSession, principal: Principal
    ) -> TrackIngestResult:
        body = await request.body()
        return await TrackIngestService(session, principal).ingest(body, utcnow())


def _split_suffix(text: str) -> tuple[date, str]:
    for suffix in (".geojson", ".png", ".json"):
        if text.endswith(suffix):
            return parse_day(text[: -len(suffix)]), suffix[1:]
    return parse_day(text), "json"


def _encoded(
    content: bytes | str | dict[str, Any], media_type: str, etag: str, **headers: str
) -> Response[bytes]:
    """A 200 with the cache headers; dicts are encoded as JSON, text as UTF-8."""
    if isinstance(content, str):
        body = content.encode("utf-8")
    elif isinstance(content, bytes):
        body = content
    else:
        body = msgspec.json.encode(content)
    return Response(
        content=body,
        media_type=media_type,
        headers={"ETag": quoted(etag), "Cache-Control": CACHE_CONTROL, **headers},
    )


def _audit_json(day: RepDay) -> dict[str, Any]:
    return audit_body(day, analyse(day))


def _audit_geojson(day: RepDay) -> dict[str, Any]:
    return audit_geojson(day, analyse(day))


def _audit_png(day: RepDay, width: int, height: int) -> bytes:
    return audit_png(day, analyse(day), width, height)


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
        session: AsyncSession,
        principal: Principal,
        rep_id: uuid.UUID,
        day: Annotated[str, Parameter(description="YYYY-MM-DD, optionally .json, .geojson or .png")],
        width: Width = 1200,
        height: Height = 900,
    ) -> Response[RouteAudit]:
        when, fmt = _split_suffix(day)
        records = await RouteAuditService(session, principal).load(rep_id, when, managers_only=True)
        rep_day = records.day
        etag = rep_day.fingerprint(fmt, width, height) if fmt == "png" else rep_day.fingerprint(fmt)
        if matches_if_none_match(request, etag):
            return not_modified(etag, CACHE_CONTROL)  # type: ignore[return-value]
        if fmt == "png":
            png = await in_thread(_audit_png, rep_day, width, height)
            return _encoded(png, "image/png", etag)  # type: ignore[return-value]
        if fmt == "geojson":
            return _encoded(await in_thread(_audit_geojson, rep_day), GEOJSON, etag)  # type: ignore[return-value]
        return _encoded(await in_thread(_audit_json, rep_day), MediaType.JSON, etag)  # type: ignore[return-value]


async def _day_rows(session: AsyncSession, principal: Principal, records: DayRecords) -> DayRows:
    repo = DayRepository(session, principal.tenant_id)
    visit_ids = [v.id for v in records.visits]
    actions = await repo.actions(visit_ids)
    photos = await repo.photos(visit_ids)
    expenses = await repo.expenses(uuid.UUID(records.day.rep_id), records.day.day, visit_ids)
    return DayRows(
        visits=[entity_data(ENTITIES["visit"], v) for v in records.visits],
        actions=[entity_data(ENTITIES["visit_action"], a) for a in actions],
        photos=[entity_data(ENTITIES["photo"], p) for p in photos],
        expenses=[entity_data(ENTITIES["expense"], e) for e in expenses],
        customer_names={str(k): c.name for k, c in records.customers.items()},
    )


def _report_json(day: RepDay, rows: DayRows, map_url: str) -> dict[str, Any]:
    return report_body(day, analyse(day), rows, map_url)


def _report_html(day: RepDay, rows: DayRows) -> str:
    analysis = analyse(day)
    return report_html(day, analysis, rows, audit_png(day, analysis, 1200, 900))


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
        session: AsyncSession,
        principal: Principal,
        rep_id: uuid.UUID,
        day: Annotated[str, Parameter(description="YYYY-MM-DD, a calendar date in the tenant's zone")],
        format: Literal["json", "html", "png"] | None = None,
        width: Width = 1200,
        height: Height = 900,
    ) -> Response[DailyReport]:
        when = parse_day(day)
        fmt = format or (
            "html"
            if request.accept.best_match([MediaType.JSON, MediaType.HTML]) == MediaType.HTML
            else "json"
        )
        records = await RouteAuditService(session, principal).load(rep_id, when, managers_only=False)
        rows = await _day_rows(session, principal, records)
        rep_day = records.day
        extra: tuple[object, ...] = (width, height) if fmt == "png" else ()
        etag = rep_day.fingerprint(
            "report", fmt, rows.visits, rows.actions, rows.photos, rows.expenses, *extra
        )
        if matches_if_none_match(request, etag):
            return not_modified(etag, CACHE_CONTROL)  # type: ignore[return-value]
        if fmt == "png":
            png = await in_thread(_audit_png, rep_day, width, height)
            return _encoded(png, "image/png", etag, Vary="Accept")  # type: ignore[return-value]
        if fmt == "html":
            html = await in_thread(_report_html, rep_day, rows)
            return _encoded(html, HTML, etag, Vary="Accept")  # type: ignore[return-value]
        map_url = f"/v1/reports/daily/{rep_id}/{when.isoformat()}?format=png"
        body = await in_thread(_report_json, rep_day, rows, map_url)
        return _encoded(body, MediaType.JSON, etag, Vary="Accept")  # type: ignore[return-value]
