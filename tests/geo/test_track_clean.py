"""Track container, projection and cleaning."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from pyproj import Geod

from geo.track import AnalysisParams, LocalProjection, Track, clean_track
from geo.track.clean import snap_to_stays, step_lengths

GEOD = Geod(ellps="WGS84")
T0 = 1_741_048_200.0


def straight_track(n: int = 60, step_s: float = 5.0, speed: float = 10.0) -> tuple[Track, LocalProjection]:
    """A drive due east from (31.2304, 121.4737) at ``speed`` m/s, exact positions."""
    proj = LocalProjection(31.2304, 121.4737)
    x = np.arange(n) * speed * step_s
    lat, lon = proj.inverse(x, np.zeros(n))
    return Track.from_arrays(T0 + np.arange(n) * step_s, lat, lon, np.full(n, 5.0)), proj


# --- Track ---------------------------------------------------------------------------------------


def test_track_accepts_datetime64_and_datetimes() -> None:
    stamps = np.array(["2025-03-04T00:30:00", "2025-03-04T00:30:05"], dtype="datetime64[s]")
    a = Track.from_arrays(stamps, [1.0, 1.0], [2.0, 2.0])
    aware = [datetime(2025, 3, 4, 0, 30, tzinfo=UTC), datetime(2025, 3, 4, 0, 30, 5, tzinfo=UTC)]
    b = Track.from_arrays(np.array(aware, dtype=object), [1.0, 1.0], [2.0, 2.0])
    assert a.t.tolist() == b.t.tolist() == [aware[0].timestamp(), aware[1].timestamp()]
    assert np.isnan(a.accuracy_m).all()
    assert len(a) == 2


def test_track_from_fixes_maps_missing_fields_to_nan() -> None:
    class Row:
        def __init__(self, t: datetime, accuracy_m: float | None) -> None:
            self.t, self.lat, self.lon, self.accuracy_m = t, 10.0, 20.0, accuracy_m

    rows = [Row(datetime(2025, 1, 1, tzinfo=UTC), 4.0), Row(datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC), None)]
    track = Track.from_fixes(rows)
    assert track.accuracy_m[0] == 4.0
    assert np.isnan(track.accuracy_m[1])
    assert np.isnan(track.speed_mps).all()


def test_track_rejects_ragged_arrays() -> None:
    with pytest.raises(ValueError, match="same length"):
        Track.from_arrays([1.0, 2.0], [1.0], [1.0, 2.0])


# --- projection ----------------------------------------------------------------------------------


def test_projection_distances_match_geodesics_within_a_centimetre_per_km() -> None:
    proj = LocalProjection(39.99, 116.32)
    rng = np.random.default_rng(1)
    lat = 39.99 + rng.uniform(-0.3, 0.3, 200)
    lon = 116.32 + rng.uniform(-0.4, 0.4, 200)
    x, y = proj.forward(lat, lon)
    planar = np.hypot(np.diff(x), np.diff(y))
    _, _, geodesic = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    assert np.abs(planar - geodesic).max() < 1e-4 * geodesic.max()


def test_projection_round_trips() -> None:
    proj = LocalProjection.centred_on([52.65, 52.66], [-8.64, -8.63])
    lat, lon = np.array([52.651, 52.659]), np.array([-8.639, -8.631])
    back_lat, back_lon = proj.inverse(*proj.forward(lat, lon))
    assert np.allclose(back_lat, lat, atol=1e-9)
    assert np.allclose(back_lon, lon, atol=1e-9)


def test_projection_is_seamless_across_the_antimeridian() -> None:
    proj = LocalProjection.centred_on([-16.5, -16.5], [179.999, -179.999])
    assert abs(abs(proj.lon0) - 180.0) < 1e-6
    x, y = proj.forward([-16.5, -16.5], [179.999, -179.999])
    _, _, d = GEOD.inv(179.999, -16.5, -179.999, -16.5)
    assert math.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(d, rel=1e-6)
    lat, lon = proj.inverse(x, y)
    assert lat.tolist() == pytest.approx([-16.5, -16.5])
    assert lon.tolist() == pytest.approx([179.999, -179.999])


def test_projection_rejects_no_points() -> None:
    with pytest.raises(ValueError, match="no finite"):
        LocalProjection.centred_on([np.nan], [np.nan])


# --- cleaning ------------------------------------------------------------------------------------


def test_clean_sorts_and_keeps_the_most_accurate_duplicate() -> None:
    track = Track.from_arrays(
        [T0 + 10, T0, T0 + 10, T0 + 5],
        [31.001, 31.0, 31.002, 31.0005],
        [121.0, 121.0, 121.0, 121.0],
        [30.0, 5.0, 4.0, np.nan],
    )
    clean = clean_track(track)
    assert clean.t.tolist() == [T0, T0 + 5, T0 + 10]
    assert clean.lat.tolist() == [31.0, 31.0005, 31.002]
    assert clean.source_index.tolist() == [1, 3, 2]
    assert clean.report.duplicates == 1


def test_clean_drops_invalid_and_null_island_fixes() -> None:
    track = Track.from_arrays(
        [T0, T0 + 1, T0 + 2, T0 + 3, np.nan, T0 + 5],
        [31.0, 91.0, np.nan, 0.0, 31.0, 31.0],
        [121.0, 121.0, 121.0, 0.0, 121.0, 121.0001],
    )
    clean = clean_track(track)
    assert clean.report.invalid == 4
    assert clean.source_index.tolist() == [0, 5]


def test_clean_gates_by_accuracy_but_keeps_unknown_accuracy() -> None:
    track = Track.from_arrays(
        [T0, T0 + 5, T0 + 10], [31.0, 31.0, 31.0], [121.0, 121.0, 121.0], [10.0, 350.0, np.nan]
    )
    clean = clean_track(track)
    assert clean.report.low_accuracy == 1
    assert clean.source_index.tolist() == [0, 2]
    loose = clean_track(track, AnalysisParams(max_accuracy_m=500.0))
    assert loose.report.low_accuracy == 0


def test_single_fix_spike_is_dropped_at_any_speed() -> None:
    track, proj = straight_track(step_s=60.0, speed=1.0)  # slow walk, one fix a minute
    x, y = proj.forward(track.lat, track.lon)
    y[20] += 600.0  # 600 m away and back: 10 m/s, far below the speed limit
    lat, lon = proj.inverse(x, y)
    clean = clean_track(Track.from_arrays(track.t, lat, lon), projection=proj)
    assert clean.report.spikes == 1
    assert 20 not in clean.source_index


def test_multi_fix_spike_is_dropped() -> None:
    track, proj = straight_track()
    x, y = proj.forward(track.lat, track.lon)
    y[30:34] += 900.0  # four fixes 900 m off (180 m/s out and back)
    lat, lon = proj.inverse(x, y)
    clean = clean_track(Track.from_arrays(track.t, lat, lon), projection=proj)
    assert clean.report.spikes == 4
    assert clean.report.jumps == 0
    assert np.intersect1d(clean.source_index, [30, 31, 32, 33]).size == 0


def test_lone_jump_in_the_middle_is_kept_and_flagged() -> None:
    track, proj = straight_track()
    x, y = proj.forward(track.lat, track.lon)
    x[30:] += 5000.0  # the rest of the day 5 km further on: which side is wrong is unknown
    lat, lon = proj.inverse(x, y)
    clean = clean_track(Track.from_arrays(track.t, lat, lon), projection=proj)
    assert clean.report.spikes == 0
    assert clean.report.jumps == 1
    assert np.flatnonzero(clean.jump).tolist() == [29]


def test_wrong_first_fixes_are_dropped() -> None:
    track, proj = straight_track()
    x, y = proj.forward(track.lat, track.lon)
    x[:2] -= 3000.0  # a cold start: the first two fixes are 3 km off
    lat, lon = proj.inverse(x, y)
    clean = clean_track(Track.from_arrays(track.t, lat, lon), projection=proj)
    assert clean.source_index[:2].tolist() == [2, 3]
    assert clean.report.jumps == 0


def test_fast_but_plausible_drive_is_untouched() -> None:
    track, _ = straight_track(speed=60.0)  # 216 km/h on a motorway
    clean = clean_track(track)
    assert clean.report.kept == len(track)
    assert clean.report.jumps == 0


def test_clean_of_an_empty_track() -> None:
    clean = clean_track(Track.from_arrays([], [], []))
    assert len(clean) == 0
    assert clean.jump.size == 0


def test_snap_to_stays_removes_standing_distance() -> None:
    x = np.array([0.0, 10.0, 13.0, 7.0, 11.0, 50.0])
    y = np.array([0.0, 0.0, 4.0, -3.0, 1.0, 0.0])
    xs, ys = snap_to_stays(x, y, [(1, 4)], [(10.0, 0.0)])
    assert step_lengths(xs, ys).tolist() == [10.0, 0.0, 0.0, 0.0, 40.0]
    assert x[2] == 13.0  # inputs untouched


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="stay_radius_m"):
        AnalysisParams(stay_radius_m=0)
    with pytest.raises(ValueError, match="finite"):
        AnalysisParams(corridor_path_m=-5)
