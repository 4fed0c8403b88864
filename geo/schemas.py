"""Wire structs of the track, route audit and daily report endpoints (msgspec, for the OpenAPI
document and for encoding). Field meanings are documented on the analysis dataclasses in
:mod:`geo.track.result`; times are RFC 3339 UTC strings with milliseconds."""

from __future__ import annotations

from typing import Literal

import msgspec

from api.resources.schemas import out_struct

VisitOut = out_struct("visit")
VisitActionOut = out_struct("visit_action")
PhotoOut = out_struct("photo")
ExpenseOut = out_struct("expense")


# --- POST /v1/tracks ------------------------------------------------------------------------------


class RejectedPoint(msgspec.Struct, kw_only=True):
    index: int
    code: str
    field: str | None = None


class TrackIngestResult(msgspec.Struct, kw_only=True):
    """``accepted`` points were stored now; ``duplicates`` were already stored (or repeated a
    timestamp earlier in the batch); ``rejected`` were refused, by index."""

    accepted: int
    duplicates: int
    rejected: list[RejectedPoint]


# --- route audit ---------------------------------------------------------------------------------


class AuditSummary(msgspec.Struct, kw_only=True):
    km_travelled: float
    km_estimated_in_gaps: float
    time_on_site_s: float
    time_stopped_s: float
    time_moving_s: float
    planned_count: int
    visited_count: int
    missed_count: int
    unplanned_visit_count: int
    off_route_count: int
    long_dwell_count: int
    gps_gap_count: int
    gps_gap_s: float
    in_planned_order: bool | None
    first_fix_at: str | None
    last_fix_at: str | None
    fixes_received: int
    fixes_used: int


class AuditStop(msgspec.Struct, kw_only=True):
    start: str
    end: str
    lat: float
    lon: float
    customer_id: str | None
    kind: Literal["customer_visit", "unplanned_stop"]
    duration_s: float
    planned_seq: int | None
    distance_to_customer_m: float | None
    radius_m: float
    n_fixes: int


class AuditDeviation(msgspec.Struct, kw_only=True):
    kind: Literal["off_route", "long_dwell", "missed_visit", "unplanned_visit", "gps_gap"]
    start: str | None
    end: str | None
    max_distance_m: float | None
    detail: str
    customer_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    length_km: float | None = None
    duration_s: float | None = None


class AuditGap(msgspec.Struct, kw_only=True):
    start: str
    end: str
    duration_s: float
    distance_m: float
    implied_speed_kmh: float
    customer_id: str | None
    is_deviation: bool


class AuditPlannedStop(msgspec.Struct, kw_only=True):
    seq: int
    customer_id: str
    status: Literal["visited", "passed", "missed"]
    counted_visited: bool
    arrived_at: str | None
    departed_at: str | None
    closest_m: float | None
    closest_at: str | None
    planned_at: str | None


class AuditCheckIn(msgspec.Struct, kw_only=True):
    """A check-in of the day with the server's verdict (``status`` None: not evaluated)."""

    visit_id: str
    customer_id: str
    customer_name: str | None
    at: str
    lat: float
    lon: float
    accuracy_m: float | None
    status: Literal["verified", "suspicious", "rejected"] | None
    distance_m: float | None
    reasons: list[str]


class RouteAudit(msgspec.Struct, kw_only=True):
    """``GET /v1/audits/routes/{rep_id}/{date}``."""

    rep_id: str
    date: str
    timezone: str
    summary: AuditSummary
    stops: list[AuditStop]
    deviations: list[AuditDeviation]
    check_ins: list[AuditCheckIn]
    gaps: list[AuditGap]
    planned_stops: list[AuditPlannedStop]


# --- daily report --------------------------------------------------------------------------------


class ReportRep(msgspec.Struct, kw_only=True):
    id: str
    name: str


class ReportVisit(msgspec.Struct, kw_only=True):
    visit: VisitOut  # type: ignore[valid-type]
    customer_name: str | None
    actions: list[VisitActionOut]  # type: ignore[valid-type]
    photos: list[PhotoOut]  # type: ignore[valid-type]


class MoneyTotal(msgspec.Struct, kw_only=True):
    currency: str | None
    total: str


class ReportSummary(msgspec.Struct, kw_only=True):
    visits: int
    visits_completed: int
    check_ins: dict[str, int]
    actions: int
    photos: int
    expenses: int
    expense_totals: list[MoneyTotal]
    route: AuditSummary


class DailyReport(msgspec.Struct, kw_only=True):
    """``GET /v1/reports/daily/{rep_id}/{date}`` as JSON (``?format=html`` for the document)."""

    rep: ReportRep
    date: str
    timezone: str
    summary: ReportSummary
    visits: list[ReportVisit]
    expenses: list[ExpenseOut]  # type: ignore[valid-type]
    deviations: list[AuditDeviation]
    stops: list[AuditStop]
    map_url: str
