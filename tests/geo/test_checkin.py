"""Check-in verification: status, reasons and the numbers behind them."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Geod

from geo.checkin import (
    REASON_CODES,
    CheckInThresholds,
    CustomerSite,
    Fix,
    PreviousFix,
    evaluate_check_in,
    geodesic_distance_m,
)

GEOD = Geod(ellps="WGS84")
SHOP = CustomerSite(lat=31.2304, lon=121.4737, geofence_radius_m=None, customer_id="c1")
NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def offset(lat: float, lon: float, distance_m: float, azimuth_deg: float = 0.0) -> tuple[float, float]:
    """The point ``distance_m`` geodesic metres from (lat, lon) along ``azimuth_deg``."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth_deg, distance_m)
    return lat2, lon2


def fix_at_distance(
    distance_m: float,
    accuracy_m: float | None = 8.0,
    azimuth_deg: float = 0.0,
    site: CustomerSite = SHOP,
    **kwargs: object,
) -> Fix:
    assert site.lat is not None
    assert site.lon is not None
    lat, lon = offset(site.lat, site.lon, distance_m, azimuth_deg)
    fields: dict[str, object] = {"at": NOW, "fix_at": NOW - timedelta(seconds=5), "provider": "gps"}
    fields.update(kwargs)
    return Fix(lat=lat, lon=lon, accuracy_m=accuracy_m, **fields)  # type: ignore[arg-type]


def judge(fix: Fix, site: CustomerSite | None = SHOP, previous: PreviousFix | None = None, **kwargs: object):
    received = kwargs.pop("received_at", NOW + timedelta(seconds=2))
    return evaluate_check_in(fix, site, previous, received_at=received, **kwargs)  # type: ignore[arg-type]


# --- geofence ------------------------------------------------------------------------------------


def test_at_the_customer_is_verified_with_distance() -> None:
    verdict = judge(fix_at_distance(10.0, accuracy_m=8.0))
    assert verdict.status == "verified"
    assert verdict.reasons == []
    assert verdict.distance_m == pytest.approx(10.0, abs=0.01)
    assert verdict.details["radius_m"] == 150.0
    assert verdict.details["margin_m"] == pytest.approx(10.0 - 8.0 - 150.0, abs=0.01)


def test_clearly_outside_is_rejected_with_distance() -> None:
    verdict = judge(fix_at_distance(600.0, accuracy_m=8.0))
    assert verdict.status == "rejected"
    assert verdict.reasons == ["outside_geofence"]
    assert verdict.distance_m == pytest.approx(600.0, abs=1.0)
    assert verdict.details["within_accuracy_margin"] == "no"


def test_exactly_on_the_radius_counts_inside() -> None:
    verdict = judge(fix_at_distance(150.0, accuracy_m=5.0, azimuth_deg=77.0))
    assert verdict.distance_m == pytest.approx(150.0, abs=1e-6)
    assert verdict.status == "verified"
    assert verdict.reasons == []


def test_half_a_metre_beyond_the_radius_is_outside() -> None:
    verdict = judge(fix_at_distance(150.5, accuracy_m=0.0, azimuth_deg=77.0))
    assert verdict.reasons == ["outside_geofence"]
    assert verdict.status == "suspicious"
    assert verdict.details["margin_m"] == pytest.approx(0.5, abs=1e-3)


def test_just_outside_without_overlap_is_suspicious_not_rejected() -> None:
    verdict = judge(fix_at_distance(200.0, accuracy_m=8.0))
    assert verdict.status == "suspicious"
    assert verdict.reasons == ["outside_geofence"]
    assert verdict.details["within_accuracy_margin"] == "no"


def test_accuracy_circle_overlapping_the_fence_is_suspicious() -> None:
    verdict = judge(fix_at_distance(190.0, accuracy_m=60.0))
    assert verdict.status == "suspicious"
    assert verdict.reasons == ["outside_geofence"]
    assert verdict.details["within_accuracy_margin"] == "yes"
    assert verdict.details["margin_m"] == pytest.approx(190.0 - 60.0 - 150.0, abs=0.01)


def test_poor_accuracy_at_the_door_is_suspicious_and_keeps_the_distance() -> None:
    verdict = judge(fix_at_distance(5.0, accuracy_m=900.0))
    assert verdict.status == "suspicious"
    assert verdict.reasons == ["low_accuracy"]
    assert verdict.distance_m == pytest.approx(5.0, abs=0.01)
    assert verdict.details["accuracy_m"] == 900.0


def test_poor_accuracy_far_away_is_rejected() -> None:
    verdict = judge(fix_at_distance(2500.0, accuracy_m=900.0))
    assert verdict.status == "rejected"
    assert verdict.reasons == ["outside_geofence", "low_accuracy"]
    assert verdict.details["margin_m"] == pytest.approx(2500.0 - 900.0 - 150.0, abs=0.1)


def test_poor_accuracy_far_away_but_overlapping_is_only_suspicious() -> None:
    verdict = judge(fix_at_distance(800.0, accuracy_m=700.0))
    assert verdict.status == "suspicious"
    assert verdict.reasons == ["outside_geofence", "low_accuracy"]
    assert verdict.details["within_accuracy_margin"] == "yes"


def test_accuracy_exactly_at_the_gate_is_accepted() -> None:
    verdict = judge(fix_at_distance(20.0, accuracy_m=100.0))
    assert verdict.status == "verified"


def test_missing_accuracy_is_low_accuracy_and_gets_no_margin() -> None:
    verdict = judge(fix_at_distance(170.0, accuracy_m=None))
    assert verdict.reasons == ["outside_geofence", "low_accuracy"]
    assert verdict.status == "suspicious"
    assert verdict.details["accuracy_m"] is None
    assert verdict.details["within_accuracy_margin"] == "no"
    assert verdict.details["margin_m"] == pytest.approx(20.0, abs=0.01)


def test_customer_radius_overrides_the_default() -> None:
    big = replace(SHOP, geofence_radius_m=400.0)
    inside = judge(fix_at_distance(350.0, site=big), site=big)
    assert inside.status == "verified"
    assert inside.details["radius_m"] == 400.0
    small = replace(SHOP, geofence_radius_m=50.0)
    outside = judge(fix_at_distance(80.0, site=small), site=small)
    assert outside.reasons == ["outside_geofence"]
    assert outside.details["radius_m"] == 50.0


def test_customer_radius_is_clamped_to_sane_bounds() -> None:
    tiny = replace(SHOP, geofence_radius_m=3.0)
    assert judge(fix_at_distance(20.0, site=tiny), site=tiny).details["radius_m"] == 25.0
    huge = replace(SHOP, geofence_radius_m=50_000.0)
    verdict = judge(fix_at_distance(5000.0, site=huge), site=huge)
    assert verdict.details["radius_m"] == 1000.0
    assert verdict.status == "rejected"


def test_tenant_default_radius_is_used() -> None:
    limits = CheckInThresholds(default_radius_m=200.0)
    verdict = judge(fix_at_distance(180.0), thresholds=limits)
    assert verdict.status == "verified"
    assert verdict.details["radius_m"] == 200.0


# --- spoofing ------------------------------------------------------------------------------------


def test_mock_flag_rejects_even_at_the_door() -> None:
    verdict = judge(fix_at_distance(3.0, accuracy_m=5.0, is_mock=True))
    assert verdict.status == "rejected"
    assert verdict.reasons == ["mock_location"]
    assert verdict.details["is_mock"] == "yes"


def test_mock_provider_name_counts_as_mock() -> None:
    verdict = judge(fix_at_distance(3.0, provider="Mock", is_mock=None))
    assert verdict.reasons == ["mock_location"]
    assert verdict.status == "rejected"


def test_teleport_from_previous_fix_is_rejected() -> None:
    assert SHOP.lat is not None
    assert SHOP.lon is not None
    lat, lon = offset(SHOP.lat, SHOP.lon, 80_000.0, 200.0)
    fix = fix_at_distance(10.0)
    previous = PreviousFix(at=fix.fix_at - timedelta(seconds=60), lat=lat, lon=lon)  # type: ignore[operator]
    verdict = judge(fix, previous=previous)
    assert verdict.status == "rejected"
    assert verdict.reasons == ["impossible_speed"]
    # 80 km in 60 s, less the 8 m accuracy: about 4 800 km/h.
    assert verdict.details["speed_kmh"] == pytest.approx((80_000 - 10 - 8) / 60 * 3.6, rel=0.01)
    assert verdict.details["previous_interval_s"] == pytest.approx(60.0)


def test_fast_but_not_absurd_jump_is_suspicious() -> None:
    assert SHOP.lat is not None
    assert SHOP.lon is not None
    lat, lon = offset(SHOP.lat, SHOP.lon, 30_000.0, 90.0)
    fix = fix_at_distance(0.0)
    previous = PreviousFix(at=fix.fix_at - timedelta(minutes=4), lat=lat, lon=lon)  # type: ignore[operator]
    verdict = judge(fix, previous=previous)
    assert verdict.reasons == ["impossible_speed"]
    assert verdict.status == "suspicious"
    assert 300 < verdict.details["speed_kmh"] < 1000  # type: ignore[operator]


def test_plausible_drive_from_previous_fix_is_fine() -> None:
    assert SHOP.lat is not None
    assert SHOP.lon is not None
    lat, lon = offset(SHOP.lat, SHOP.lon, 2_000.0, 45.0)
    fix = fix_at_distance(10.0)
    previous = PreviousFix(at=fix.fix_at - timedelta(minutes=3), lat=lat, lon=lon)  # type: ignore[operator]
    verdict = judge(fix, previous=previous)
    assert verdict.status == "verified"
    assert verdict.details["speed_kmh"] == pytest.approx(40.0, abs=1.0)


def test_previous_fix_at_the_same_place_and_time_is_fine() -> None:
    fix = fix_at_distance(10.0, accuracy_m=10.0)
    previous = PreviousFix(at=fix.fix_at, lat=fix.lat, lon=fix.lon, accuracy_m=12.0)  # type: ignore[arg-type]
    verdict = judge(fix, previous=previous)
    assert verdict.status == "verified"
    assert verdict.details["speed_kmh"] == 0.0


def test_jitter_at_the_same_instant_within_accuracy_is_not_speed() -> None:
    fix = fix_at_distance(10.0, accuracy_m=20.0)
    assert fix.fix_at is not None
    lat, lon = offset(fix.lat, fix.lon, 30.0, 180.0)
    previous = PreviousFix(at=fix.fix_at, lat=lat, lon=lon, accuracy_m=15.0)
    assert judge(fix, previous=previous).details["speed_kmh"] == 0.0


# --- time ----------------------------------------------------------------------------------------


def test_stale_cached_fix() -> None:
    fix = fix_at_distance(10.0, fix_at=NOW - timedelta(hours=2))
    verdict = judge(fix)
    assert verdict.status == "suspicious"
    assert verdict.reasons == ["stale_fix"]
    assert verdict.details["fix_age_s"] == pytest.approx(7200.0)


def test_fix_age_at_the_limit_is_fresh() -> None:
    verdict = judge(fix_at_distance(10.0, fix_at=NOW - timedelta(seconds=120)))
    assert verdict.status == "verified"
    assert verdict.details["fix_age_s"] == 120.0


def test_device_clock_ahead_of_server() -> None:
    fix = fix_at_distance(10.0, at=NOW + timedelta(hours=3), fix_at=NOW + timedelta(hours=3))
    verdict = judge(fix, received_at=NOW)
    assert verdict.reasons == ["clock_skew"]
    assert verdict.status == "suspicious"
    assert verdict.details["clock_skew_s"] == pytest.approx(3 * 3600.0)


def test_device_clock_behind_gnss_time() -> None:
    # The phone says it checked in at 09:00, but the satellite fix is stamped 09:30.
    fix = fix_at_distance(10.0, at=NOW - timedelta(minutes=30), fix_at=NOW)
    verdict = judge(fix, received_at=NOW + timedelta(seconds=3))
    assert verdict.reasons == ["clock_skew"]
    assert verdict.details["fix_clock_offset_s"] == pytest.approx(1800.0)


def test_device_clock_set_in_the_past() -> None:
    fix = fix_at_distance(10.0, at=NOW - timedelta(days=400), fix_at=NOW - timedelta(days=400))
    verdict = judge(fix, received_at=NOW)
    assert verdict.reasons == ["clock_skew"]
    assert verdict.details["upload_delay_s"] == pytest.approx(400 * 86400.0)


def test_offline_check_in_synced_hours_later_is_verified() -> None:
    at = NOW - timedelta(hours=6)
    fix = fix_at_distance(10.0, at=at, fix_at=at - timedelta(seconds=20))
    verdict = judge(fix, received_at=NOW)
    assert verdict.status == "verified"
    assert verdict.details["upload_delay_s"] == pytest.approx(6 * 3600.0)


def test_small_clock_difference_is_tolerated() -> None:
    fix = fix_at_distance(10.0, at=NOW + timedelta(minutes=4), fix_at=NOW + timedelta(minutes=4))
    assert judge(fix, received_at=NOW).status == "verified"


def test_naive_datetimes_are_utc() -> None:
    fix = fix_at_distance(10.0, at=NOW.replace(tzinfo=None), fix_at=None)
    verdict = judge(fix, received_at=NOW.replace(tzinfo=None))
    assert verdict.status == "verified"
    assert verdict.evaluated_at == NOW
    assert verdict.details["fix_age_s"] is None


# --- customer location ---------------------------------------------------------------------------


def test_no_customer_location_is_suspicious() -> None:
    verdict = judge(fix_at_distance(10.0), site=None)
    assert verdict.status == "suspicious"
    assert verdict.reasons == ["no_customer_location"]
    assert verdict.distance_m is None
    assert verdict.details["distance_m"] is None


def test_customer_without_coordinates_is_no_customer_location() -> None:
    site = CustomerSite(lat=None, lon=None, customer_id="c9")
    assert judge(fix_at_distance(10.0), site=site).reasons == ["no_customer_location"]


# --- geometry sanity -----------------------------------------------------------------------------


def test_across_the_antimeridian() -> None:
    site = CustomerSite(lat=-16.5, lon=179.9995)
    fix = Fix(at=NOW, lat=-16.5, lon=-179.9995, accuracy_m=5.0, fix_at=NOW)
    verdict = judge(fix, site=site)
    half = geodesic_distance_m(-16.5, 179.9995, -16.5, 180.0)
    assert verdict.distance_m == pytest.approx(2 * half, rel=1e-6)
    assert verdict.distance_m < 150  # type: ignore[operator]
    assert verdict.status == "verified"


def test_near_the_pole() -> None:
    site = CustomerSite(lat=89.9995, lon=0.0)
    fix = Fix(at=NOW, lat=89.9995, lon=180.0, accuracy_m=5.0, fix_at=NOW)
    verdict = judge(fix, site=site)
    # Both points are 55.7 m from the pole on opposite meridians.
    assert verdict.distance_m == pytest.approx(2 * geodesic_distance_m(89.9995, 0.0, 90.0, 0.0), rel=1e-6)
    assert verdict.status == "verified"


def test_geodesic_distance_matches_a_known_value() -> None:
    # One degree of latitude at the equator on WGS84: 110 574.389 m.
    assert geodesic_distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(110_574.389, abs=0.01)


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 0.0), (0.0, 181.0), (math.nan, 0.0), (0.0, math.inf)])
def test_invalid_coordinates_raise(lat: float, lon: float) -> None:
    with pytest.raises(ValueError, match="out of range"):
        judge(Fix(at=NOW, lat=lat, lon=lon, accuracy_m=5.0))


def test_negative_accuracy_raises() -> None:
    with pytest.raises(ValueError, match="accuracy"):
        judge(fix_at_distance(1.0, accuracy_m=-1.0))


# --- combinations and policy ---------------------------------------------------------------------


def test_reasons_are_listed_in_canonical_order_and_mock_wins() -> None:
    fix = fix_at_distance(
        180.0, accuracy_m=500.0, is_mock=True, fix_at=NOW - timedelta(hours=1), at=NOW + timedelta(hours=1)
    )
    verdict = judge(fix, received_at=NOW)
    assert verdict.reasons == ["mock_location", "outside_geofence", "low_accuracy", "stale_fix", "clock_skew"]
    assert verdict.status == "rejected"
    assert set(verdict.reasons) <= set(REASON_CODES)


def test_evaluated_at_defaults_to_received_at_and_can_be_given() -> None:
    received = NOW + timedelta(minutes=1)
    assert judge(fix_at_distance(1.0), received_at=received).evaluated_at == received
    later = NOW + timedelta(days=1)
    assert judge(fix_at_distance(1.0), evaluated_at=later).evaluated_at == later


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        CheckInThresholds(max_accuracy_m=0)
    with pytest.raises(ValueError, match="min_radius_m"):
        CheckInThresholds(min_radius_m=2000)


def test_tenant_speed_limit_above_the_rejection_limit_only_flags() -> None:
    assert SHOP.lat is not None
    assert SHOP.lon is not None
    lat, lon = offset(SHOP.lat, SHOP.lon, 30_000.0, 90.0)
    fix = fix_at_distance(0.0)
    previous = PreviousFix(at=fix.fix_at - timedelta(seconds=90), lat=lat, lon=lon)  # type: ignore[operator]
    # 30 km in 90 s is 1 200 km/h: rejected by default ...
    assert judge(fix, previous=previous).status == "rejected"
    # ... a tenant allowing 1 500 km/h gets no speed reason at all (no error either: its limit
    # lifts the rejection limit with it) ...
    assert judge(fix, previous=previous, thresholds=CheckInThresholds(max_speed_kmh=1500)).reasons == []
    # ... and with 1 100 km/h the jump is both over the limit and over the lifted rejection limit.
    lenient = judge(fix, previous=previous, thresholds=CheckInThresholds(max_speed_kmh=1100))
    assert (lenient.status, lenient.reasons) == ("rejected", ["impossible_speed"])


def test_stricter_thresholds_change_the_verdict() -> None:
    strict = CheckInThresholds(max_accuracy_m=10.0, max_fix_age_s=10.0)
    fix = fix_at_distance(10.0, accuracy_m=25.0, fix_at=NOW - timedelta(seconds=30))
    assert judge(fix).status == "verified"
    assert judge(fix, thresholds=strict).reasons == ["low_accuracy", "stale_fix"]
