"""analyze_day on synthetic rep-days whose answers are known by construction."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest
from trackgen import DayBuilder

from geo.track import AnalysisParams, RoutePlan, Track, analyze_day

A, B, C, D = (2000.0, 0.0), (4000.0, 1500.0), (6000.0, 0.0), (8000.0, 1000.0)


def kinds(analysis) -> list[str]:
    return [d.kind for d in analysis.deviations]


def plan_of(b: DayBuilder, *stops: tuple[str, tuple[float, float]], **kwargs) -> RoutePlan:
    return RoutePlan(stops=[b.planned(cid, *xy) for cid, xy in stops], **kwargs)


def ts(value: datetime) -> float:
    return value.timestamp()


# --- a day as planned ------------------------------------------------------------------------------


def test_day_as_planned_has_three_visits_and_no_deviation() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    a_in = b.stay(20 * 60)
    b.drive_to(*B)
    b_in = b.stay(15 * 60)
    b.drive_to(*C)
    c_in = b.stay(25 * 60)
    b.drive_to(0.0, 0.0)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B), ("C", C)))

    assert analysis.deviations == []
    assert [(s.customer_id, s.kind, s.planned_seq) for s in analysis.stops] == [
        ("A", "customer_visit", 0),
        ("B", "customer_visit", 1),
        ("C", "customer_visit", 2),
    ]
    for stop, (first, last) in zip(analysis.stops, (a_in, b_in, c_in), strict=True):
        # A stay starts with the last approach fixes inside 100 m (10 m/s, 5 s steps).
        assert ts(stop.start) == pytest.approx(first, abs=15)
        assert ts(stop.end) == pytest.approx(last, abs=15)
        assert stop.distance_to_customer_m < 5
    s = analysis.summary
    legs_km = (2000 + 2500 + 2500 + 6000) / 1000
    assert s.km_travelled == pytest.approx(legs_km, rel=0.02)
    assert s.time_on_site_s == pytest.approx(60 * 60, abs=90)
    assert s.time_moving_s == pytest.approx(legs_km * 1000 / 10, abs=120)
    assert (s.planned_count, s.visited_count, s.missed_count) == (3, 3, 0)
    assert s.in_planned_order is True
    assert [p.status for p in analysis.planned_stops] == ["visited"] * 3


# --- off route -------------------------------------------------------------------------------------


def test_detour_of_known_length_and_duration_is_one_off_route_segment() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(*B)
    b.stay(10 * 60)
    mid = (5000.0, 750.0)  # middle of the B-C leg
    b.drive_to(*mid)
    # Perpendicular to B->C (direction (0.8, -0.6)): (0.6, 0.8), 2 km out, 10 min there, back.
    far = (mid[0] + 0.6 * 2000, mid[1] + 0.8 * 2000)
    leave_mid, _ = b.drive_to(*far)
    b.stay(10 * 60, jitter_m=3.0)
    _, back_at_mid = b.drive_to(*mid)
    b.drive_to(*C)
    b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B), ("C", C)))

    assert kinds(analysis) == ["off_route"]
    dev = analysis.deviations[0]
    step = 5.0
    # Truth crosses the 300 m corridor edge 30 s after leaving the middle of the leg (10 m/s) and
    # 30 s before coming back to it; fixes are 5 s apart.
    cross_out = leave_mid - step + 300 / 10
    cross_in = back_at_mid - 300 / 10
    assert cross_out - 1 <= ts(dev.start) <= cross_out + step + 1
    assert cross_in - step - 1 <= ts(dev.end) <= cross_in + 1
    assert dev.duration_s == pytest.approx(2 * 1700 / 10 + 600, abs=10)
    assert dev.max_distance_m == pytest.approx(2000, abs=20)
    assert dev.length_km == pytest.approx(3.4, abs=0.1)
    assert "10 min stopped" in dev.detail
    far_lat, far_lon = b.latlon(*far)
    assert abs(dev.lat - far_lat) < 0.001
    assert abs(dev.lon - far_lon) < 0.001
    # The stay at the far point is an unplanned stop, not a customer visit.
    assert [s.kind for s in analysis.stops] == [
        "customer_visit",
        "customer_visit",
        "unplanned_stop",
        "customer_visit",
    ]
    assert analysis.summary.off_route_count == 1


def test_short_detour_below_the_minimum_is_ignored() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(3000.0, 750.0)
    b.drive_to(3000.0 - 0.6 * 900, 750 + 0.8 * 900)  # 900 m out and back at 10 m/s: 2 min outside
    b.drive_to(3000.0, 750.0)
    b.drive_to(*B)
    b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B)))
    assert analysis.deviations == []
    stricter = analyze_day(
        b.track(), plan_of(b, ("A", A), ("B", B)), params=AnalysisParams(off_route_min_s=60)
    )
    assert kinds(stricter) == ["off_route"]


def test_commute_before_the_first_stop_is_not_off_route_unless_asked() -> None:
    b = DayBuilder()
    b.drive_to(0.0, -3000.0)  # home is 3 km south of the route
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(*B)
    b.stay(10 * 60)
    plan = plan_of(b, ("A", A), ("B", B))
    assert analyze_day(b.track(), plan).deviations == []
    whole_day = analyze_day(b.track(), plan, params=AnalysisParams(off_route_within_plan_only=False))
    assert kinds(whole_day) == ["off_route"]
    assert whole_day.deviations[0].max_distance_m == pytest.approx(math.hypot(2000, 3000), abs=20)


def test_routed_path_uses_the_narrow_corridor() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(2000.0, 2500.0)  # the road goes north ...
    b.drive_to(*B)  # ... then south-east to B
    b.stay(10 * 60)
    bend = b.latlon(2000.0, 2500.0)
    a_ll, b_ll = b.latlon(*A), b.latlon(*B)
    path = {"type": "LineString", "coordinates": [[a_ll[1], a_ll[0]], [bend[1], bend[0]], [b_ll[1], b_ll[0]]]}
    routed = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B), path=path))
    assert routed.deviations == []
    assert routed.route is not None
    assert routed.route.routed
    assert routed.route.corridor_m == 100.0
    # Against straight legs with a narrow corridor the bend shows as off route.
    straight = analyze_day(
        b.track(), plan_of(b, ("A", A), ("B", B)), params=AnalysisParams(corridor_straight_m=100.0)
    )
    assert kinds(straight) == ["off_route"]
    # The corner (2000, 2500) is 2500 * 0.8 = 2000 m from the straight A-B leg.
    assert straight.deviations[0].max_distance_m == pytest.approx(2000, abs=20)


# --- dwell, stops, visits --------------------------------------------------------------------------


def test_two_hour_dwell_at_a_non_customer_place() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    place = (2000.0, 3000.0)  # 3 km north of A
    b.drive_to(*place)
    first, last = b.stay(2 * 3600, jitter_m=15.0)
    b.drive_to(*B)
    b.stay(10 * 60)
    track = b.track()

    no_plan = analyze_day(track, customers=[b.customer("A", *A), b.customer("B", *B)])
    assert kinds(no_plan) == ["long_dwell"]
    dwell = no_plan.deviations[0]
    assert dwell.duration_s == pytest.approx(last - first, abs=60)
    assert dwell.duration_s / 60 == pytest.approx(120, abs=1.5)
    lat, lon = b.latlon(*place)
    assert abs(dwell.lat - lat) * 111_000 < 20
    assert abs(dwell.lon - lon) * 111_000 * math.cos(math.radians(lat)) < 20
    assert dwell.max_distance_m is None
    assert no_plan.summary.long_dwell_count == 1

    planned = analyze_day(track, plan_of(b, ("A", A), ("B", B)))
    assert sorted(kinds(planned)) == ["long_dwell", "off_route"]
    dwell = next(d for d in planned.deviations if d.kind == "long_dwell")
    # Distance from (2000, 3000) to the A-B leg (2000,0)-(4000,1500): 2000*3000/2500 = 2400 m.
    assert dwell.max_distance_m == pytest.approx(2400, abs=20)


def test_short_unplanned_stop_is_a_stop_not_a_deviation() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(3000.0, 750.0)
    b.stay(8 * 60)  # 8 min on the way, no customer there
    b.drive_to(*B)
    b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B)))
    assert analysis.deviations == []
    assert [(s.kind, s.customer_id) for s in analysis.stops] == [
        ("customer_visit", "A"),
        ("unplanned_stop", None),
        ("customer_visit", "B"),
    ]
    assert analysis.summary.time_stopped_s == pytest.approx(28 * 60, abs=60)
    assert analysis.summary.time_on_site_s == pytest.approx(20 * 60, abs=60)


def test_skipped_stop_is_the_only_missed_visit() -> None:
    a, b_, c, d = (2000.0, 0.0), (4000.0, 0.0), (6000.0, 250.0), (8000.0, 0.0)
    b = DayBuilder()
    for stop in (a, b_, d):  # C is skipped: B -> D passes 250 m from it
        b.drive_to(*stop)
        b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", a), ("B", b_), ("C", c), ("D", d)))
    assert kinds(analysis) == ["missed_visit"]
    missed = analysis.deviations[0]
    assert missed.customer_id == "C"
    assert missed.max_distance_m == pytest.approx(250, abs=12)
    assert "never came closer than" in missed.detail
    assert [p.status for p in analysis.planned_stops] == ["visited", "visited", "missed", "visited"]
    s = analysis.summary
    assert (s.planned_count, s.visited_count, s.missed_count) == (4, 3, 1)
    assert s.in_planned_order is True
    # Without planned times a missed visit spans the tracked day.
    assert missed.start == s.first_fix_at
    assert missed.end == s.last_fix_at


def test_missed_visit_carries_its_planned_time() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    planned_at = datetime(2025, 3, 4, 2, 0, tzinfo=UTC)
    stops = [b.planned("A", *A), b.planned("Z", 9000.0, 9000.0)]
    stops[1] = replace(stops[1], planned_at=planned_at)
    analysis = analyze_day(b.track(), RoutePlan(stops=stops))
    missed = [d for d in analysis.deviations if d.kind == "missed_visit"]
    assert [(d.customer_id, d.start, d.end) for d in missed] == [("Z", planned_at, planned_at)]


def test_order_swapped_is_all_visited_but_out_of_order() -> None:
    b = DayBuilder()
    for stop in (A, C, B):
        b.drive_to(*stop)
        b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B), ("C", C)))
    assert analysis.summary.visited_count == 3
    assert analysis.summary.in_planned_order is False
    assert "missed_visit" not in kinds(analysis)


def test_unplanned_visit_at_a_known_customer() -> None:
    b = DayBuilder()
    e = (3000.0, 750.0)  # on the A-B leg
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(*e)
    first, last = b.stay(12 * 60)
    b.drive_to(*B)
    b.stay(10 * 60)
    customers = [b.customer("A", *A), b.customer("B", *B), b.customer("E", *e)]
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B)), customers)
    assert kinds(analysis) == ["unplanned_visit"]
    dev = analysis.deviations[0]
    assert dev.customer_id == "E"
    assert ts(dev.start) == pytest.approx(first, abs=15)
    assert ts(dev.end) == pytest.approx(last, abs=15)
    stop = analysis.stops[1]
    assert (stop.kind, stop.customer_id, stop.planned_seq) == ("customer_visit", "E", None)
    assert analysis.summary.unplanned_visit_count == 1
    assert analysis.summary.time_on_site_s == pytest.approx(32 * 60, abs=60)


def test_two_customers_in_one_fence_bind_to_the_planned_one() -> None:
    b = DayBuilder()
    b.drive_to(2020.0, 0.0)
    b.stay(15 * 60, jitter_m=5.0)
    b.drive_to(*B)
    b.stay(10 * 60)
    x = b.customer("X", 2030.0, 0.0)  # nearer to where the rep stood, but not planned
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B)), [x])
    assert analysis.stops[0].customer_id == "A"
    assert analysis.deviations == []
    without_plan = analyze_day(b.track(), None, [x, b.customer("A", *A)])
    assert without_plan.stops[0].customer_id == "X"


def test_customer_radius_decides_the_match() -> None:
    b = DayBuilder()
    b.drive_to(2250.0, 0.0)  # 250 m from A
    b.stay(15 * 60, jitter_m=5.0)
    default = analyze_day(b.track(), None, [b.customer("A", *A)])
    assert default.stops[0].kind == "unplanned_stop"
    wide = analyze_day(b.track(), None, [b.customer("A", *A, radius_m=300.0)])
    assert wide.stops[0].customer_id == "A"
    assert wide.stops[0].distance_to_customer_m == pytest.approx(250, abs=5)


# --- gaps ------------------------------------------------------------------------------------------


def test_gap_while_driving_is_a_gps_gap() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    _, before = b.drive_to(3000.0, 750.0)
    b.gap(40 * 60, to=(3500.0, 1125.0))
    after, _ = b.drive_to(*B)
    b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B)))
    assert kinds(analysis) == ["gps_gap"]
    gap = analysis.deviations[0]
    assert ts(gap.start) == pytest.approx(before, abs=1e-3)
    assert ts(gap.end) == pytest.approx(after, abs=1e-3)
    assert gap.duration_s == pytest.approx(40 * 60, abs=1)
    assert len(analysis.gaps) == 1
    # 625 m in 40 min is a plausible move: counted as straight-line km, flagged as estimated.
    assert analysis.gaps[0].implied_speed_kmh < 5
    assert analysis.summary.km_estimated_in_gaps == pytest.approx(0.625 + 0.05, abs=0.03)
    assert analysis.summary.gps_gap_s == pytest.approx(2400, abs=1)


def test_gap_at_a_customer_is_part_of_the_visit_not_a_deviation() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    first, _ = b.stay(10 * 60, jitter_m=10.0)
    b.gap(90 * 60)
    _, last = b.stay(10 * 60, jitter_m=10.0)
    b.drive_to(*B)
    b.stay(10 * 60)
    plan = plan_of(b, ("A", A), ("B", B))
    analysis = analyze_day(b.track(), plan)
    assert analysis.deviations == []
    visit = analysis.stops[0]
    assert visit.customer_id == "A"
    assert visit.duration_s == pytest.approx(last - first, abs=30)
    assert [(g.customer_id, g.is_deviation, round(g.duration_s)) for g in analysis.gaps] == [
        ("A", False, 5400)
    ]
    strict = analyze_day(b.track(), plan, params=AnalysisParams(gap_in_visit_is_deviation=True))
    assert kinds(strict) == ["gps_gap"]
    assert "during the visit to customer A" in strict.deviations[0].detail


def test_very_long_gap_splits_the_stay() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.gap(4 * 3600)
    b.stay(10 * 60)
    analysis = analyze_day(b.track(), None, [b.customer("A", *A)])
    assert [s.customer_id for s in analysis.stops] == ["A", "A"]
    assert kinds(analysis) == ["gps_gap"]


# --- noise -----------------------------------------------------------------------------------------


def test_standing_jitter_does_not_become_extra_stops_or_distance() -> None:
    b = DayBuilder(step_s=1.0)
    b.drive_to(*A, jitter_m=0.5)
    b.stay(60 * 60, jitter_m=20.0)
    # Multipath bursts: 10 s of fixes 45 m off, every 10 minutes, inside the same stay.
    b.drive_to(*B, jitter_m=0.5)
    b.stay(30 * 60, jitter_m=25.0)
    track = b.track()
    rng = np.random.default_rng(3)
    lat, lon = track.lat.copy(), track.lon.copy()
    in_stay_a = np.flatnonzero((track.t > track.t[0] + 400) & (track.t < track.t[0] + 3400))
    for start in in_stay_a[::600][:5]:
        lat[start : start + 10] += 45 / 111_000 * rng.choice([-1, 1])
    noisy = Track.from_arrays(track.t, lat, lon, track.accuracy_m)
    analysis = analyze_day(noisy, plan_of(b, ("A", A), ("B", B)))
    assert [s.customer_id for s in analysis.stops] == ["A", "B"]
    assert analysis.deviations == []
    # Jitter of 20-25 m at 1 Hz for 90 minutes would add ~150 km if summed raw.
    assert analysis.summary.km_travelled == pytest.approx(2.0 + 2.5, rel=0.03)


def test_spikes_are_removed_and_do_not_count_as_distance() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(3000.0, 750.0)
    b.spike(600.0, 300.0)
    b.drive_to(3200.0, 900.0)
    b.spike(800.0, 120.0)
    b.drive_to(*B)
    b.stay(10 * 60)
    analysis = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B)))
    assert analysis.track.report.spikes == 2
    assert analysis.deviations == []
    assert len(analysis.stops) == 2
    assert analysis.summary.km_travelled == pytest.approx(4.5, rel=0.02)


def test_input_order_and_duplicates_do_not_change_the_result() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(*B)
    b.stay(10 * 60)
    track = b.track()
    rng = np.random.default_rng(5)
    order = rng.permutation(len(track))
    dupes = rng.choice(len(track), 50)
    idx = np.concatenate((order, dupes))
    shuffled = Track.from_arrays(
        track.t[idx],
        track.lat[idx],
        track.lon[idx],
        track.accuracy_m[idx] + np.r_[np.zeros(len(track)), np.ones(50)],
    )
    plan = plan_of(b, ("A", A), ("B", B))
    base, other = analyze_day(track, plan), analyze_day(shuffled, plan)
    assert other.track.report.duplicates == 50
    assert other.summary.km_travelled == pytest.approx(base.summary.km_travelled, rel=1e-6)
    assert [(s.start, s.end, s.customer_id) for s in other.stops] == [
        (s.start, s.end, s.customer_id) for s in base.stops
    ]


# --- edges -----------------------------------------------------------------------------------------


def test_empty_day_misses_every_planned_stop() -> None:
    b = DayBuilder()
    empty = Track.from_arrays([], [], [])
    analysis = analyze_day(empty, plan_of(b, ("A", A), ("B", B)))
    assert kinds(analysis) == ["missed_visit", "missed_visit"]
    assert all(d.start is None for d in analysis.deviations)
    assert analysis.summary.km_travelled == 0
    assert analysis.summary.first_fix_at is None
    assert "no GPS fix all day" in analysis.deviations[0].detail
    assert analysis.simplified.segments == []


def test_single_fix_day() -> None:
    track = Track.from_arrays([1_700_000_000.0], [31.2], [121.4], [5.0])
    analysis = analyze_day(track)
    assert analysis.stops == []
    assert analysis.summary.fixes_used == 1
    assert analysis.summary.km_travelled == 0


def test_audit_payload_is_json_with_wire_times() -> None:
    b = DayBuilder()
    b.drive_to(*A)
    b.stay(10 * 60)
    b.drive_to(*C)
    payload = analyze_day(b.track(), plan_of(b, ("A", A), ("B", B))).to_dict()
    decoded = msgspec.json.decode(msgspec.json.encode(payload))
    assert set(decoded) == {"summary", "stops", "deviations", "gaps", "planned_stops"}
    stop = decoded["stops"][0]
    assert stop["kind"] == "customer_visit"
    assert stop["start"].endswith("Z")
    assert len(stop["start"]) == len("2025-03-04T00:30:00.000Z")
    assert {d["kind"] for d in decoded["deviations"]} <= {
        "off_route",
        "long_dwell",
        "missed_visit",
        "unplanned_visit",
        "gps_gap",
    }
    assert decoded["summary"]["planned_count"] == 2


def test_simplified_track_is_small_and_splits_at_gaps() -> None:
    b = DayBuilder(step_s=1.0)
    b.drive_to(*A, jitter_m=1.0)
    b.stay(20 * 60)
    b.gap(30 * 60)
    b.drive_to(*B, jitter_m=1.0)
    analysis = analyze_day(b.track())
    assert len(analysis.simplified.segments) == 2
    assert analysis.simplified.n_vertices < len(analysis.track) / 20
    lon, lat = analysis.simplified.segments[0][0]
    assert abs(lat - 31.2304) < 0.01
    assert abs(lon - 121.4737) < 0.01
