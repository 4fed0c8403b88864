"""Tenant settings: documented defaults, overridden per tenant by admins.

Geo defaults follow practice (see docs/geo.md): a 150 m geofence with a 100 m accuracy gate; a fix
older than 2 minutes at check-in time is stale; more than 250 km/h between fixes is not a car.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec


class TenantSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    timezone: str = "UTC"
    default_currency: str = "USD"
    #: Geofence radius for customers without their own, metres.
    geofence_radius_m: float = 150.0
    #: Fixes with a reported accuracy worse than this are not trusted for a verdict, metres.
    max_accuracy_m: float = 100.0
    #: A fix taken longer than this before the check-in is stale, seconds.
    max_fix_age_s: float = 120.0
    #: Travel between consecutive fixes faster than this is impossible, km/h.
    max_speed_kmh: float = 250.0
    #: Device clock more than this off the server's clock at receipt, seconds.
    max_clock_skew_s: float = 300.0
    #: Receipts older than this many days are flagged ``stale_receipt``.
    stale_receipt_days: int = 60
    #: Keyword rules for category suggestion: ``{category_code: [keyword, ...]}`` (merged over defaults).
    category_keywords: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: Route analysis: corridor half-width around straight legs between planned stops, metres.
    route_corridor_m: float = 300.0
    #: Route analysis: corridor half-width around a routed plan ``path``, metres.
    route_corridor_path_m: float = 100.0
    #: Route analysis: minimum off-corridor duration reported, seconds.
    off_route_min_s: float = 300.0
    #: Route analysis: a stay at a non-customer place this long is a long dwell, seconds.
    long_dwell_s: float = 1800.0
    #: Route analysis: no fix for this long is a GPS gap, seconds.
    gps_gap_s: float = 600.0


def tenant_settings(timezone: str, overrides: dict[str, Any] | None) -> TenantSettings:
    """Merge a tenant's stored overrides over the defaults; unknown keys are ignored."""
    known = {f for f in TenantSettings.__struct_fields__}
    data = {k: v for k, v in (overrides or {}).items() if k in known}
    data["timezone"] = timezone
    return msgspec.convert(data, TenantSettings)


#: Positive thresholds with a sane ceiling, for the update struct.
Metres = Annotated[float, msgspec.Meta(gt=0, le=100_000.0)]
RadiusMetres = Annotated[float, msgspec.Meta(gt=0, le=50_000.0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=7 * 86_400.0)]
SpeedKmh = Annotated[float, msgspec.Meta(gt=0, le=5_000.0)]
Days = Annotated[int, msgspec.Meta(gt=0, le=3650)]
ZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


class TenantSettingsUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /v1/tenant/settings``: only the fields given change. Thresholds must be positive;
    the time zone must be an IANA name (checked by the service)."""

    timezone: ZoneName | msgspec.UnsetType = msgspec.UNSET
    default_currency: CurrencyCode | msgspec.UnsetType = msgspec.UNSET
    geofence_radius_m: RadiusMetres | msgspec.UnsetType = msgspec.UNSET
    max_accuracy_m: Metres | msgspec.UnsetType = msgspec.UNSET
    max_fix_age_s: Seconds | msgspec.UnsetType = msgspec.UNSET
    max_speed_kmh: SpeedKmh | msgspec.UnsetType = msgspec.UNSET
    max_clock_skew_s: Seconds | msgspec.UnsetType = msgspec.UNSET
    stale_receipt_days: Days | msgspec.UnsetType = msgspec.UNSET
    category_keywords: dict[str, list[str]] | msgspec.UnsetType = msgspec.UNSET
    route_corridor_m: Metres | msgspec.UnsetType = msgspec.UNSET
    route_corridor_path_m: Metres | msgspec.UnsetType = msgspec.UNSET
    off_route_min_s: Seconds | msgspec.UnsetType = msgspec.UNSET
    long_dwell_s: Seconds | msgspec.UnsetType = msgspec.UNSET
    gps_gap_s: Seconds | msgspec.UnsetType = msgspec.UNSET
