"""Value types shared by the REST schemas and the sync field specs (validated with msgspec)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS84 latitude, degrees")]
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS84 longitude, degrees")]
Metres = Annotated[float, msgspec.Meta(ge=0.0, le=1_000_000.0)]
Radius = Annotated[float, msgspec.Meta(gt=0.0, le=50_000.0, description="geofence radius, metres")]
UtcTime = Annotated[
    datetime, msgspec.Meta(tz=True, description="RFC 3339 UTC, e.g. 2026-03-05T08:15:00.123Z")
]
IsoDate = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="calendar date YYYY-MM-DD")]
Money = Annotated[
    str, msgspec.Meta(pattern=r"^-?\d{1,12}(\.\d{1,4})?$", description='decimal string, e.g. "12.50"')
]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
ShortText = Annotated[str, msgspec.Meta(max_length=300)]
LongText = Annotated[str, msgspec.Meta(max_length=10_000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
StatusTag = Literal["green", "yellow", "red"]
VisitStatus = Literal["planned", "in_progress", "completed", "cancelled"]
ExpenseStatus = Literal["draft", "processing", "needs_review", "submitted", "approved", "rejected"]
ReviewStatus = Literal["pending", "approved", "rejected"]
ActionKind = Literal[
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
ACTION_KINDS: tuple[str, ...] = ActionKind.__args__  # type: ignore[attr-defined]


class Fix(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A GPS fix as the phone reports it at check-in or check-out."""

    at: UtcTime
    lat: Lat
    lon: Lon
    accuracy_m: Metres | None = None
    provider: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    is_mock: bool | None = None
    fix_at: UtcTime | None = None


class Contact(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    role: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class Stop(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    customer_id: uuid.UUID
    planned_at: UtcTime | None = None


class LineString(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: Literal["LineString"]
    coordinates: Annotated[list[tuple[Lon, Lat]], msgspec.Meta(min_length=2, max_length=100_000)]


class ReviewInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: ReviewStatus
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
