"""analyze_day on the 17 real development tracks (read from /work/shared/gps at test time).

Tolerances stated per test. Skipped with a reason when the tracks are not on this machine.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import shapely
from realgps import HAVE_GPS, bus_stops, index, load, needs_gps
from reference import GEOD, equirectangular, geodesic_path_m, li_reference

from geo.track import AnalysisParams, LocalProjection, RoutePlan, Track, analyze_day

pytestmark = needs_gps

FACTS = {f.track_id: f for f in index()}
TRACK_IDS = list(FACTS) or ["no-tracks"]
BUS = "limerick_bus304_20190218"
#: The Zurich day is a Google location history export: 199 of its 416 fixes report 100-1001 m
#: accuracy and are gated out, so its stays cannot be compared with index.csv's raw count.
ACCURACY_GATED = "zurich_googlelh_20121218"


def own_path(track: Track) -> list[list[float]]:
    """The day's own raw track simplified at about 25 m, as a planned routed path (lon, lat)."""
    order = np.argsort(track.t, kind="stable")
    line = shapely.linestrings(np.column_stack((track.lon[order], track.lat[order])))
    return shapely.get_coordinates(shapely.simplify(line, 25 / 111_000)).tolist()


def raw_gaps(track: Track, min_s: float, max_accuracy_m: float = 100.0) -> list[tuple[float, float]]:
    """Gaps of at least ``min_s`` between the usable raw fixes (independent of geo.track)."""
    ok = ~(track.accuracy_m > max_accuracy_m)
    t = np.unique(track.t[ok])
    k = np.flatnonzero(np.diff(t) >= min_s)
    return list(zip(t[k].tolist(), t[k + 1].tolist(), strict=True))


def shifted(track: Track, start: float, duration_s: float, distance_m: float) -> tuple[Track, int, int]:
    """The track with every fix in [start, start + duration) moved ``distance_m`` to the left
    of the overall direction of travel in that window; returns the first and last moved index."""
    proj = LocalProjection.centred_on(track.lat, track.lon)
    x, y = proj.forward(track.lat, track.lon)
    i0 = int(np.searchsorted(track.t, start))
    i1 = int(np.searchsorted(track.t, start + duration_s))
    heading = np.arctan2(y[i1 - 1] - y[i0], x[i1 - 1] - x[i0])
    x[i0:i1] += -np.sin(heading) * distance_m
    y[i0:i1] += np.cos(heading) * distance_m
    lat, lon = proj.inverse(x, y)
    return replace(track, lat=lat, lon=lon), i0, i1 - 1


# --- every track: no invented stops or deviations ---------------------------------------------------


@pytest.mark.parametrize("track_id", TRACK_IDS)
def test_real_day_against_its_own_path_has_no_invented_deviations(track_id: str) -> None:
    track = load(track_id)
    analysis = analyze_day(track, RoutePlan(path=own_path(track)))

    kinds = {d.kind for d in analysis.deviations}
    assert kinds <= {"gps_gap", "long_dwell"}, analysis.deviations
    # Every GPS gap is a real one, found independently on the raw fixes.
    found = [(d.start.timestamp(), d.end.timestamp()) for d in analysis.deviations if d.kind == "gps_gap"]
    expected = raw_gaps(track, 600.0)
    assert len(found) == len(expected)
    assert np.allclose(np.reshape(found, (-1, 2)), np.reshape(expected, (-1, 2)), atol=1e-3)
    # Cleaning removes only a few fixes as spikes (the accuracy gate is tested separately).
    report = analysis.track.report
    assert report.spikes <= 0.005 * report.received
    # Every stop is backed by a stay of the textbook loop (same gap bridging, no merging) on the
    # fixes cleaning kept: merging may join stays but never creates one.
    kept = analysis.track.source_index
    t = track.t[kept]
    x, y = equirectangular(track.lat[kept], track.lon[kept])
    ref = [(t[i], t[j]) for i, j in li_reference(t, x, y, 100.0, 300.0, 3 * 3600.0)]
    for stop in analysis.stops:
        s, e = stop.start.timestamp(), stop.end.timestamp()
        assert any(rs <= e and re >= s for rs, re in ref), stop
    dwells = [d for d in analysis.deviations if d.kind == "long_dwell"]
    assert len(dwells) == sum(1 for s in analysis.stops if s.duration_s >= 1800)
    # Distances: never more than the raw path (spikes and standing jitter only remove distance).
    order = np.argsort(track.t, kind="stable")
    raw_m = geodesic_path_m(track.lat[order], track.lon[order])
    assert analysis.summary.km_travelled * 1000 <= raw_m * 1.0001


@pytest.mark.skipif(not HAVE_GPS, reason="real GPS tracks missing")
def test_stay_counts_are_in_the_ballpark_of_the_index() -> None:
    """index.csv counts Li 100 m / 5 min stays with a 15-minute gap rule on the raw fixes; ours
    bridge gaps at the same place and merge jitter-split stays, so counts differ a little.
    Tolerance: each track within max(4, 50 %) of the index, the whole set within 20 %."""
    ours_total = index_total = 0
    for track_id, facts in FACTS.items():
        if track_id == ACCURACY_GATED:
            continue
        ours = len(analyze_day(load(track_id)).stops)
        expected = facts.staypoints_100m_5min
        assert abs(ours - expected) <= max(4, 0.5 * expected), (track_id, ours, expected)
        ours_total += ours
        index_total += expected
    assert ours_total == pytest.approx(index_total, rel=0.2)


def test_accuracy_gate_on_the_phone_history_day() -> None:
    track = load(ACCURACY_GATED)
    analysis = analyze_day(track)
    assert analysis.track.report.low_accuracy == int((track.accuracy_m > 100).sum()) > 100
    assert float(np.nanmax(analysis.track.accuracy_m)) <= 100
    # Wi-Fi/cell fixes of up to 1 km no longer zig-zag into the distance.
    x, y = equirectangular(track.lat, track.lon)
    raw_km = float(np.hypot(np.diff(x), np.diff(y)).sum()) / 1000
    assert analysis.summary.km_travelled < 0.8 * raw_km


def test_real_spikes_do_not_count_and_create_nothing() -> None:
    """geolife_002_20081024000805 has steps of up to 1545 km/h (index.csv)."""
    track = load("geolife_002_20081024000805")
    analysis = analyze_day(track, RoutePlan(path=own_path(track)))
    report = analysis.track.report
    assert report.spikes + report.jumps > 0
    # The implausible steps (> 250 km/h) are not counted as distance.
    _, _, steps = GEOD.inv(track.lon[:-1], track.lat[:-1], track.lon[1:], track.lat[1:])
    fast = steps / np.diff(track.t) > 250 / 3.6
    assert fast.any()
    assert analysis.summary.km_travelled * 1000 < steps.sum() - steps[fast].sum()
    # No stop sits where a dropped spike was.
    dropped = np.setdiff1d(np.arange(len(track)), analysis.track.source_index)
    assert dropped.size == report.spikes
    for stop in analysis.stops:
        _, _, d = GEOD.inv(
            np.full(dropped.size, stop.lon),
            np.full(dropped.size, stop.lat),
            track.lon[dropped],
            track.lat[dropped],
        )
        assert (d > 100).all()
    assert {d.kind for d in analysis.deviations} <= {"gps_gap", "long_dwell"}


# --- the bus route with its planned stops --------------------------------------------------------


def test_bus_passes_all_36_stops_in_order_without_deviation() -> None:
    stops = bus_stops()
    track = load(BUS)
    params = AnalysisParams(visit_requires_dwell=False)
    analysis = analyze_day(track, RoutePlan(stops=stops), params=params)
    assert analysis.deviations == []
    assert [p.status for p in analysis.planned_stops] == ["passed"] * 36
    closest = [p.closest_m for p in analysis.planned_stops]
    # planned_stops_limerick_bus304.csv measured the nearest fix per stop: at most 9.2 m.
    assert max(closest) < 10.0
    assert analysis.summary.visited_count == 36
    assert analysis.summary.in_planned_order is True
    assert analysis.summary.long_dwell_count == 0
    # The same with the corridor checked over the whole ride, and with a routed path.
    whole = analyze_day(
        track, RoutePlan(stops=stops), params=replace(params, off_route_within_plan_only=False)
    )
    assert whole.summary.off_route_count == 0
    routed = analyze_day(track, RoutePlan(stops=stops, path=own_path(track)), params=params)
    assert routed.deviations == []
    # A bus only stops briefly: with the default "a visit needs a stay" every stop is missed.
    strict = analyze_day(track, RoutePlan(stops=stops))
    assert strict.summary.missed_count == 36
    assert "without stopping" in strict.deviations[0].detail


def test_bus_with_stop_20_skipped_misses_exactly_stop_20() -> None:
    stops = bus_stops()
    track = load(BUS)
    x, y = equirectangular(track.lat, track.lon)
    sx, sy = equirectangular(np.r_[track.lat[0], stops[19].lat], np.r_[track.lon[0], stops[19].lon])
    near = np.hypot(x - sx[1], y - sy[1]) < 150
    assert near.sum() > 5
    keep = ~near
    skipped = Track.from_arrays(track.t[keep], track.lat[keep], track.lon[keep])
    analysis = analyze_day(skipped, RoutePlan(stops=stops), params=AnalysisParams(visit_requires_dwell=False))
    missed = [d for d in analysis.deviations if d.kind == "missed_visit"]
    assert [d.customer_id for d in missed] == [stops[19].customer_id]
    assert missed[0].max_distance_m >= 150
    assert [d.kind for d in analysis.deviations] == ["missed_visit"]
    assert analysis.summary.in_planned_order is True


# --- an injected detour --------------------------------------------------------------------------


@pytest.mark.parametrize("hours_in", [1.0, 7.0])
def test_injected_detour_is_found_at_the_right_time_and_distance(hours_in: float) -> None:
    """20 minutes of geolife_001_20081024234405 moved 800 m sideways, in windows where the rep
    travels (1 h and 7 h into the day) so no other part of the day lies near the moved fixes.
    Tolerances: start and end within one sampling step (5 s), duration 20 min within 10 s, max
    distance 800 m within 50 m (the planned path is the raw day simplified at 25 m)."""
    track = load("geolife_001_20081024234405")
    path = own_path(track)
    start = track.t[0] + hours_in * 3600
    moved, first, last = shifted(track, start, 20 * 60, 800.0)
    analysis = analyze_day(moved, RoutePlan(path=path))
    off = [d for d in analysis.deviations if d.kind == "off_route"]
    assert len(off) == 1
    dev = off[0]
    assert abs(dev.start.timestamp() - track.t[first]) <= 5
    assert abs(dev.end.timestamp() - track.t[last]) <= 5
    assert dev.duration_s == pytest.approx(20 * 60, abs=10)
    assert dev.max_distance_m == pytest.approx(800, abs=50)
    # Nothing else changed: the remaining deviations are those of the untouched day.
    untouched = analyze_day(track, RoutePlan(path=path))
    others = sorted((d.kind, d.start) for d in analysis.deviations if d.kind != "off_route")
    assert others == sorted((d.kind, d.start) for d in untouched.deviations)
