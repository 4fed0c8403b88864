"""Check-in verification: is this fix a credible proof that the rep stood at the customer?

Pure logic, no HTTP and no database. The service layer loads the customer's site and the rep's
previous fix, calls :func:`evaluate_check_in` and stores the returned :class:`CheckInVerdict` as the
visit's ``check_in_verdict`` (wire contract, "Check-in verification").

Distances are geodesic metres on the WGS84 ellipsoid (``pyproj.Geod``, Karney's algorithm, accurate
to nanometres at any distance, across the antimeridian and near the poles).

Status policy (one place, :func:`_status_for`):

``rejected``
    the evidence contradicts the check-in: ``mock_location``; ``outside_geofence`` with the whole
    accuracy circle farther than ``far_outside_factor`` x radius from the customer; or
    ``impossible_speed`` above ``reject_speed_kmh`` (faster than any passenger transport).
``suspicious``
    any other reason: the fix might be right but cannot prove presence (the accuracy circle only
    overlaps the fence, poor or missing accuracy, stale fix, clock skew, no customer location,
    a fast-but-not-absurd jump from the previous fix, or a fix just outside the fence).
``verified``
    no reason at all.

A manager can still approve any visit; the verdict only says what the server could check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from pyproj import Geod

__all__ = [
    "REASON_CODES",
    "CheckInMark",
    "CheckInThresholds",
    "CheckInVerdict",
    "CustomerSite",
    "Fix",
    "PreviousFix",
    "VerdictStatus",
    "evaluate_check_in",
    "geodesic_distance_m",
]

VerdictStatus = Literal["verified", "suspicious", "rejected"]

OUTSIDE_GEOFENCE: Final = "outside_geofence"
LOW_ACCURACY: Final = "low_accuracy"
MOCK_LOCATION: Final = "mock_location"
IMPOSSIBLE_SPEED: Final = "impossible_speed"
STALE_FIX: Final = "stale_fix"
CLOCK_SKEW: Final = "clock_skew"
NO_CUSTOMER_LOCATION: Final = "no_customer_location"

#: Every reason code, in the order reasons are listed in a verdict.
REASON_CODES: Final[tuple[str, ...]] = (
    MOCK_LOCATION,
    NO_CUSTOMER_LOCATION,
    OUTSIDE_GEOFENCE,
    LOW_ACCURACY,
    IMPOSSIBLE_SPEED,
    STALE_FIX,
    CLOCK_SKEW,
)

#: Providers that are mock locations by name, whatever the ``is_mock`` flag says (Android's test
#: provider is literally called "mock"; simulators report "simulated").
_MOCK_PROVIDERS: Final = frozenset({"mock", "test", "simulated", "simulator"})

#: Distances within this of the radius count as on the boundary (1 micrometre of floating-point
#: slack, so a fix placed exactly on the circle is inside).
_BOUNDARY_EPSILON_M: Final = 1e-6

_WGS84: Final = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class CheckInThresholds:
    """Tenant-tunable limits for :func:`evaluate_check_in`. All defaults are from practice.

    Attributes:
        default_radius_m: geofence radius (m) when the customer has none: 150 m. Practice ranges
            from 100 m (SPOTIO, FieldPro) to 200 m (Maplytics, raios360, 明道云); 150 m leaves
            room for 10-50 m urban GNSS error plus a large shop or parking lot.
        min_radius_m: a customer's own radius is clamped up to this (m): 25 m. Jibble advises
            at least 20 m; smaller fences reject honest fixes because of GNSS error alone.
        max_radius_m: ... and down to this (m): 1000 m. WeLink offers up to 3 km for campuses,
            but a check-in "within 3 km" proves little for a shop visit.
        max_accuracy_m: reported accuracy (m, 68 % radius) above which the fix is
            ``low_accuracy``: 100 m. The common accuracy gate (Traccar ``filter.accuracy``);
            real phone data has Wi-Fi/cell fixes of 500-1000 m that prove nothing.
        far_outside_factor: ``outside_geofence`` becomes ``rejected`` when even the nearest
            point of the accuracy circle is farther than this many radii from the customer
            (default 2.0, i.e. 300 m for a 150 m fence); nearer misses stay ``suspicious``
            because customer coordinates are themselves often geocoded tens of metres off.
        max_fix_age_s: the fix may be at most this much older than the check-in ``at`` (s):
            120 s. A fresh fix takes up to a minute to acquire indoors; in two minutes a car at
            50 km/h covers 1.7 km, ten fence radii, so an older cached fix proves nothing about
            where the rep was at check-in time.
        max_speed_kmh: implied speed from the previous fix above which ``impossible_speed`` is
            raised (km/h): 300 km/h. Above road and most rail travel; Chinese high-speed rail
            reaches 300-350 km/h in cruise but door-to-door straight-line averages stay below.
        reject_speed_kmh: implied speed above which ``impossible_speed`` rejects (km/h):
            1000 km/h, faster than a passenger jet; such a jump is a teleport (spoofing). A
            tenant ``max_speed_kmh`` above it raises the rejection limit with it.
        max_clock_skew_s: the device's clock may run this far ahead of the server (check-in
            ``at`` or ``fix_at`` later than ``received_at``), or the fix time may be this far
            after the device's own check-in time (the device clock runs behind GNSS time) (s):
            300 s, the same 5-minute rule the sync protocol applies to HLC stamps.
        max_upload_delay_s: a check-in received more than this long after its ``at`` is treated
            as a device clock set in the past (s): 7 days. Offline check-ins synced hours or a
            weekend later are normal and are not flagged.
    """

    default_radius_m: float = 150.0
    min_radius_m: float = 25.0
    max_radius_m: float = 1000.0
    max_accuracy_m: float = 100.0
    far_outside_factor: float = 2.0
    max_fix_age_s: float = 120.0
    max_speed_kmh: float = 300.0
    reject_speed_kmh: float = 1000.0
    max_clock_skew_s: float = 300.0
    max_upload_delay_s: float = 7 * 86_400.0

    def __post_init__(self) -> None:
        for name in (
            "default_radius_m",
            "min_radius_m",
            "max_radius_m",
            "max_accuracy_m",
            "far_outside_factor",
            "max_fix_age_s",
            "max_speed_kmh",
            "reject_speed_kmh",
            "max_clock_skew_s",
            "max_upload_delay_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.min_radius_m > self.max_radius_m:
            raise ValueError("min_radius_m must not exceed max_radius_m")
        if self.far_outside_factor < 1:
            raise ValueError("far_outside_factor must be at least 1")

    def radius_for(self, customer_radius_m: float | None) -> float:
        """The geofence radius (m) to apply: the customer's own, clamped, else the default."""
        if customer_radius_m is None or not math.isfinite(customer_radius_m) or customer_radius_m <= 0:
            return self.default_radius_m
        return min(max(customer_radius_m, self.min_radius_m), self.max_radius_m)


@dataclass(frozen=True, slots=True)
class Fix:
    """The position a phone sent with a check-in (the wire contract's ``check_in`` object).

    Attributes:
        at: when the rep checked in, by the device's clock.
        lat, lon: WGS84 degrees.
        accuracy_m: reported horizontal accuracy (m, 68 % radius); None when the device sent none.
        provider: location provider name as reported (``gps``, ``fused``, ``network`` ...).
        is_mock: the platform's mock-location flag (Android ``Location.isMock()``, iOS
            ``isSimulatedBySoftware``); None when unknown.
        fix_at: when the fix itself was taken (GNSS time); None when unknown.

    Naive datetimes are taken as UTC.
    """

    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    provider: str | None = None
    is_mock: bool | None = None
    fix_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CustomerSite:
    """A customer's location and geofence.

    Attributes:
        lat, lon: WGS84 degrees; None when the customer was never located (gives
            ``no_customer_location``; route analysis ignores such sites).
        geofence_radius_m: the customer's own radius (m); None means the tenant default.
        customer_id: optional id, used by route analysis to name the customer a stay matched.
        name: optional display name (maps and reports).
    """

    lat: float | None
    lon: float | None
    geofence_radius_m: float | None = None
    customer_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PreviousFix:
    """The rep's last known position before this check-in (a track point or an earlier check-in).

    Attributes:
        at: time of that fix.
        lat, lon: WGS84 degrees.
        accuracy_m: its accuracy (m) if known; subtracted from the jump before computing a speed.
    """

    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(slots=True)
class CheckInVerdict:
    """The server's judgement of one check-in.

    Attributes:
        status: ``verified`` | ``suspicious`` | ``rejected`` (policy in the module docstring).
        distance_m: geodesic distance from the fix to the customer (m); None without a customer
            location.
        reasons: reason codes, a subset of :data:`REASON_CODES` in that order.
        evaluated_at: when the verdict was computed (server time).
        details: the numbers behind the reasons. Always present keys: ``distance_m``,
            ``radius_m``, ``accuracy_m``, ``accuracy_gate_m``, ``margin_m`` (distance - accuracy
            - radius; <= 0 means the accuracy circle touches the fence),
            ``within_accuracy_margin`` ("yes"/"no"/None), ``fix_age_s``, ``speed_kmh``,
            ``previous_distance_m``, ``previous_interval_s``, ``clock_skew_s`` (device ``at``
            minus ``received_at``; positive = device ahead), ``fix_clock_offset_s`` (``fix_at``
            minus ``at``), ``upload_delay_s`` (``received_at`` minus ``at``), ``provider``,
            ``is_mock`` ("yes"/"no"/None).
    """

    status: VerdictStatus
    distance_m: float | None
    reasons: list[str]
    evaluated_at: datetime
    details: dict[str, float | str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckInMark:
    """A check-in as drawn on the route audit map and exported as GeoJSON.

    Attributes:
        at: check-in time.
        lat, lon: WGS84 degrees of the fix.
        status: the verdict status.
        customer_id: the visited customer.
        customer_name: display name, may be any script (Chinese names render with a CJK font).
        distance_m: verdict distance (m).
        reasons: verdict reasons.
    """

    at: datetime
    lat: float
    lon: float
    status: VerdictStatus
    customer_id: str | None = None
    customer_name: str | None = None
    distance_m: float | None = None
    reasons: tuple[str, ...] = ()


def geodesic_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance (m) between two WGS84 points (Karney's algorithm via ``pyproj.Geod``)."""
    _, _, distance = _WGS84.inv(lon1, lat1, lon2, lat2)
    return float(distance)


def evaluate_check_in(
    fix: Fix,
    customer: CustomerSite | None,
    previous: PreviousFix | None,
    received_at: datetime,
    thresholds: CheckInThresholds | None = None,
    evaluated_at: datetime | None = None,
) -> CheckInVerdict:
    """Judge one check-in.

    Args:
        fix: the check-in position and times as sent by the phone.
        customer: the customer's site; None (or a site without coordinates) gives
            ``no_customer_location``.
        previous: the rep's previous known fix, for the implied-speed check; None skips it.
        received_at: when the server received the check-in (server clock).
        thresholds: limits; defaults are :class:`CheckInThresholds`.
        evaluated_at: stamped on the verdict; defaults to ``received_at`` so the function stays
            pure and repeatable.

    Raises:
        ValueError: coordinates outside WGS84 ranges or not finite; negative accuracy.
    """
    limits = thresholds or CheckInThresholds()
    _check_coordinates(fix.lat, fix.lon, "fix")
    if fix.accuracy_m is not None and not (math.isfinite(fix.accuracy_m) and fix.accuracy_m >= 0):
        raise ValueError(f"fix accuracy_m must be a non-negative finite number, got {fix.accuracy_m!r}")

    at = _utc(fix.at)
    fix_at = _utc(fix.fix_at) if fix.fix_at is not None else None
    received = _utc(received_at)
    reasons: set[str] = set()
    rejecting: set[str] = set()
    details: dict[str, float | str | None] = {
        "distance_m": None,
        "radius_m": None,
        "accuracy_m": fix.accuracy_m,
        "accuracy_gate_m": limits.max_accuracy_m,
        "margin_m": None,
        "within_accuracy_margin": None,
        "fix_age_s": None,
        "speed_kmh": None,
        "previous_distance_m": None,
        "previous_interval_s": None,
        "clock_skew_s": (at - received).total_seconds(),
        "fix_clock_offset_s": (fix_at - at).total_seconds() if fix_at is not None else None,
        "upload_delay_s": (received - at).total_seconds(),
        "provider": fix.provider,
        "is_mock": None if fix.is_mock is None else ("yes" if fix.is_mock else "no"),
    }

    # Mock location: the platform says so, or the provider name does.
    if fix.is_mock or (fix.provider or "").strip().lower() in _MOCK_PROVIDERS:
        reasons.add(MOCK_LOCATION)
        rejecting.add(MOCK_LOCATION)

    # Accuracy: above the gate, or missing (a client that sends no accuracy proves nothing).
    accuracy = fix.accuracy_m
    if accuracy is None or accuracy > limits.max_accuracy_m:
        reasons.add(LOW_ACCURACY)

    # Geofence.
    distance = _geofence(fix, customer, accuracy, limits, details, reasons, rejecting)

    # Fix age: the fix must be taken shortly before the check-in.
    if fix_at is not None:
        fix_age = (at - fix_at).total_seconds()
        details["fix_age_s"] = fix_age
        if fix_age > limits.max_fix_age_s:
            reasons.add(STALE_FIX)

    # Clock skew: device ahead of the server, device behind GNSS time, or set far in the past.
    skew_ahead = max((at - received).total_seconds(), (fix_at - received).total_seconds() if fix_at else 0.0)
    behind_gnss = (fix_at - at).total_seconds() if fix_at is not None else 0.0
    upload_delay = (received - at).total_seconds()
    if (
        skew_ahead > limits.max_clock_skew_s
        or behind_gnss > limits.max_clock_skew_s
        or upload_delay > limits.max_upload_delay_s
    ):
        reasons.add(CLOCK_SKEW)

    # Implied speed from the previous fix.
    if previous is not None:
        _speed(fix, fix_at or at, accuracy, previous, limits, details, reasons, rejecting)

    ordered = [code for code in REASON_CODES if code in reasons]
    return CheckInVerdict(
        status=_status_for(ordered, rejecting),
        distance_m=distance,
        reasons=ordered,
        evaluated_at=_utc(evaluated_at) if evaluated_at is not None else received,
        details=details,
    )


def _geofence(
    fix: Fix,
    customer: CustomerSite | None,
    accuracy: float | None,
    limits: CheckInThresholds,
    details: dict[str, float | str | None],
    reasons: set[str],
    rejecting: set[str],
) -> float | None:
    """Distance to the customer and the ``outside_geofence`` decision; fills ``details``."""
    if customer is None or customer.lat is None or customer.lon is None:
        reasons.add(NO_CUSTOMER_LOCATION)
        return None
    _check_coordinates(customer.lat, customer.lon, "customer")
    radius = limits.radius_for(customer.geofence_radius_m)
    distance = geodesic_distance_m(fix.lat, fix.lon, customer.lat, customer.lon)
    # Missing accuracy gives no benefit of the doubt: the circle is the point itself.
    slack = accuracy if accuracy is not None else 0.0
    margin = distance - slack - radius
    details["distance_m"] = distance
    details["radius_m"] = radius
    details["margin_m"] = margin
    if distance <= radius + _BOUNDARY_EPSILON_M:
        details["within_accuracy_margin"] = "no"
        return distance
    reasons.add(OUTSIDE_GEOFENCE)
    overlaps = margin <= _BOUNDARY_EPSILON_M
    details["within_accuracy_margin"] = "yes" if overlaps else "no"
    if distance - slack > limits.far_outside_factor * radius + _BOUNDARY_EPSILON_M:
        rejecting.add(OUTSIDE_GEOFENCE)
    return distance


def _speed(
    fix: Fix,
    fix_time: datetime,
    accuracy: float | None,
    previous: PreviousFix,
    limits: CheckInThresholds,
    details: dict[str, float | str | None],
    reasons: set[str],
    rejecting: set[str],
) -> None:
    """Implied speed from the previous fix; the jump is reduced by both accuracies first.

    The interval is floored at 1 s so two fixes with the same timestamp a few metres apart (both
    within their accuracy) do not divide by zero, while a true jump at the same instant still
    shows as an absurd speed.
    """
    _check_coordinates(previous.lat, previous.lon, "previous fix")
    jump = geodesic_distance_m(previous.lat, previous.lon, fix.lat, fix.lon)
    interval = abs((fix_time - _utc(previous.at)).total_seconds())
    noise = (accuracy or 0.0) + (previous.accuracy_m or 0.0)
    speed_kmh = max(jump - noise, 0.0) / max(interval, 1.0) * 3.6
    details["previous_distance_m"] = jump
    details["previous_interval_s"] = interval
    details["speed_kmh"] = speed_kmh
    if speed_kmh > limits.max_speed_kmh:
        reasons.add(IMPOSSIBLE_SPEED)
        if speed_kmh > max(limits.reject_speed_kmh, limits.max_speed_kmh):
            rejecting.add(IMPOSSIBLE_SPEED)


def _status_for(reasons: list[str], rejecting: set[str]) -> VerdictStatus:
    if rejecting:
        return "rejected"
    if reasons:
        return "suspicious"
    return "verified"


def _check_coordinates(lat: float, lon: float, what: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{what} coordinates out of range: lat={lat!r}, lon={lon!r}")


def _utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
