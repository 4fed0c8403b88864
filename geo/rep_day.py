"""One rep-day as plain data, and everything the audit endpoints make of it.

:class:`RepDay` holds what the database gave (fixes, plan, customers, check-ins, the tenant's
thresholds); the functions here are pure and CPU-bound (run them in a worker thread): the
analysis, the audit body, the GeoJSON, the PNG, and a fingerprint of the inputs used as the
HTTP ETag, so an unchanged day is answered ``304`` without being analysed again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Literal

import msgspec

from api.tenancy.policy import TenantSettings
from geo.checkin import CheckInMark, CustomerSite
from geo.geojson import day_feature_collection
from geo.render import render_day_png
from geo.track import AnalysisParams, DayAnalysis, RoutePlan, Track, analyze_day
from geo.track.result import iso_utc

__all__ = [
    "CheckIn",
    "RepDay",
    "analyse",
    "analysis_params",
    "audit_body",
    "audit_geojson",
    "audit_png",
    "audit_rendition",
    "public_audit",
]

#: Media types of the renditions.
JSON = "application/json"
GEOJSON = "application/geo+json"
PNG = "image/png"
HTML = "text/html"

#: Part of every fingerprint: bump when the analysis or the drawing changes its output.
OUTPUT_VERSION = "1"


def analysis_params(policy: TenantSettings) -> AnalysisParams:
    """The analysis thresholds a tenant has set (the rest keep their documented defaults)."""
    return AnalysisParams(
        max_accuracy_m=policy.max_accuracy_m,
        max_speed_kmh=policy.max_speed_kmh,
        corridor_straight_m=policy.route_corridor_m,
        corridor_path_m=policy.route_corridor_path_m,
        off_route_min_s=policy.off_route_min_s,
        long_dwell_min_s=policy.long_dwell_s,
        gap_min_s=policy.gps_gap_s,
        default_radius_m=policy.geofence_radius_m,
    )


@dataclass(frozen=True, slots=True)
class CheckIn:
    """A check-in of the day and the server's verdict on it (``status`` None: not evaluated)."""

    visit_id: str
    customer_id: str
    customer_name: str | None
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    status: str | None
    distance_m: float | None
    reasons: tuple[str, ...] = ()

    def mark(self) -> CheckInMark | None:
        if self.status not in {"verified", "suspicious", "rejected"}:
            return None
        return CheckInMark(
            at=self.at,
            lat=self.lat,
            lon=self.lon,
            status=self.status,  # type: ignore[arg-type]
            customer_id=self.customer_id,
            customer_name=self.customer_name,
            distance_m=self.distance_m,
            reasons=self.reasons,
        )

    def wire(self) -> dict[str, Any]:
        return {
            "visit_id": self.visit_id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "at": iso_utc(self.at),
            "lat": self.lat,
            "lon": self.lon,
            "accuracy_m": self.accuracy_m,
            "status": self.status,
            "distance_m": self.distance_m,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, eq=False)
class RepDay:
    """Everything known about one rep's calendar day (in the tenant's zone).

    Attributes:
        rep_id, rep_name: whose day.
        day: the calendar day; ``timezone`` its zone name, ``tz`` the zone.
        track: the day's stored fixes.
        plan: the day's route plan with located stops, None without a plan.
        customers: known customer sites near the day's fixes (for unplanned visits).
        check_ins: the day's check-ins, by time.
        customer_names: display names by customer id.
        params: the tenant's analysis thresholds.
        unlocated_stops: planned customers without a location (left out of the analysis).
    """

    rep_id: str
    rep_name: str
    day: date
    timezone: str
    tz: tzinfo
    track: Track
    plan: RoutePlan | None
    customers: list[CustomerSite]
    check_ins: list[CheckIn]
    customer_names: dict[str, str]
    params: AnalysisParams
    unlocated_stops: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.rep_name} · {self.day.isoformat()}"

    def marks(self) -> list[CheckInMark]:
        return [m for m in (c.mark() for c in self.check_ins) if m is not None]

    def fingerprint(self, *extra: object) -> str:
        """A digest of every input of the outputs (plus ``extra``, e.g. a picture size)."""
        h = hashlib.blake2b(digest_size=16)
        for arr in (self.track.t, self.track.lat, self.track.lon, self.track.accuracy_m):
            h.update(arr.tobytes())
        described = {
            "v": OUTPUT_VERSION,
            "rep": [self.rep_id, self.rep_name, self.day.isoformat(), self.timezone],
            "plan": None
            if self.plan is None
            else [
                [repr(s) for s in self.plan.stops],
                json.dumps(self.plan.path, sort_keys=True, default=str),
            ],
            "customers": [repr(c) for c in self.customers],
            "check_ins": [repr(c) for c in self.check_ins],
            "names": sorted(self.customer_names.items()),
            "params": repr(self.params),
            "extra": [repr(e) for e in extra],
        }
        h.update(json.dumps(described, sort_keys=True).encode())
        return h.hexdigest()


def analyse(day: RepDay) -> DayAnalysis:
    return analyze_day(day.track, day.plan, day.customers, day.params)


#: Positions in the analysis' cleaned track: meaningful only next to it, never on the wire.
_INTERNAL_KEYS = frozenset({"first_index", "last_index", "before_index"})


def public_audit(analysis: DayAnalysis) -> dict[str, Any]:
    """``analysis.to_dict()`` without the internal fix indexes."""
    body = analysis.to_dict()
    for key, value in body.items():
        if isinstance(value, list):
            body[key] = [{k: v for k, v in item.items() if k not in _INTERNAL_KEYS} for item in value]
    return body


def audit_body(day: RepDay, analysis: DayAnalysis) -> dict[str, Any]:
    """The route audit: ``summary``, ``stops``, ``deviations``, ``check_ins``, ``gaps`` (and the
    per-stop ``planned_stops``), as :class:`geo.schemas.RouteAudit` describes it."""
    body = public_audit(analysis)
    body.update(
        rep_id=day.rep_id,
        date=day.day.isoformat(),
        timezone=day.timezone,
        check_ins=[c.wire() for c in day.check_ins],
    )
    return body


def audit_geojson(day: RepDay, analysis: DayAnalysis) -> dict[str, Any]:
    collection = day_feature_collection(analysis, day.plan, day.marks())
    collection["properties"] = {"rep_id": day.rep_id, "date": day.day.isoformat(), "timezone": day.timezone}
    return collection


def audit_png(day: RepDay, analysis: DayAnalysis, width: int, height: int) -> bytes:
    return render_day_png(
        analysis,
        day.plan,
        width,
        height,
        title=day.title,
        check_ins=day.marks(),
        customer_names=day.customer_names,
        tz=day.tz,
    )


AuditFormat = Literal["json", "geojson", "png"]


def audit_rendition(day: RepDay, fmt: AuditFormat, width: int = 1200, height: int = 900) -> tuple[bytes, str]:
    """The analysed day as the body of a response and its media type (CPU-bound: run it in a
    worker thread)."""
    analysis = analyse(day)
    if fmt == "png":
        return audit_png(day, analysis, width, height), PNG
    if fmt == "geojson":
        return msgspec.json.encode(audit_geojson(day, analysis)), GEOJSON
    return msgspec.json.encode(audit_body(day, analysis)), JSON
