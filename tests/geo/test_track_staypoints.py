"""Stay-point detection against a plain Li et al. (2008) loop and on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from reference import li_reference

from geo.track import AnalysisParams, detect_stays

NO_MERGE = AnalysisParams(stay_merge_m=0.0, stay_merge_gap_s=0.0)


def random_day(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alternating walks, drives and standing spells with jitter, irregular sampling and gaps."""
    rng = np.random.default_rng(seed)
    dt = rng.choice([1.0, 5.0, 5.0, 30.0], n) * rng.uniform(0.8, 1.2, n)
    dt[rng.random(n) < 0.003] = rng.uniform(600, 20_000)
    t = np.cumsum(dt)
    speed = np.repeat(rng.choice([0.0, 0.0, 1.4, 12.0], n // 50 + 1), 50)[:n]
    heading = np.repeat(rng.uniform(0, 2 * np.pi, n // 50 + 1), 50)[:n]
    x = np.cumsum(speed * dt * np.cos(heading)) + rng.normal(0, 15, n)
    y = np.cumsum(speed * dt * np.sin(heading)) + rng.normal(0, 15, n)
    return t, x, y


@pytest.mark.parametrize("seed", range(8))
def test_same_stays_as_the_textbook_loop(seed: int) -> None:
    t, x, y = random_day(seed)
    params = AnalysisParams(stay_merge_m=0.0, stay_merge_gap_s=0.0, stay_max_gap_s=3 * 3600.0)
    ours = [(s.first, s.last) for s in detect_stays(t, x, y, params)]
    expected = li_reference(t, x, y, 100.0, 300.0, 3 * 3600.0)
    assert expected  # the generator does produce stays
    assert ours == expected


def test_stay_fields() -> None:
    t = np.arange(0.0, 1200.0, 10.0)
    x = np.where(t < 300, t * 10.0 - 3000.0, 0.0)  # drive in, then stand from t = 300 s
    x[t >= 900] = (t[t >= 900] - 900) * 10.0  # leave at 900 s
    y = np.zeros_like(t)
    stays = detect_stays(t, x, y)
    assert len(stays) == 1
    stay = stays[0]
    # The fix at 290 s (x = -100 m) is exactly 100 m from the next one, so the window opens at
    # 300 s; leaving at 10 m/s, the fix at 910 s is the first 100 m away, so it closes at 900 s.
    assert (stay.start_t, stay.end_t) == (300.0, 900.0)
    assert stay.duration_s == 600.0
    assert (stay.x, stay.y) == (0.0, 0.0)
    assert stay.radius_m == 0.0
    assert stay.n_points == stay.last - stay.first + 1 == 61


def test_too_short_is_no_stay() -> None:
    t = np.arange(0.0, 290.0, 5.0)
    assert detect_stays(t, np.zeros_like(t), np.zeros_like(t)) == []
    t = np.arange(0.0, 301.0, 5.0)
    assert len(detect_stays(t, np.zeros_like(t), np.zeros_like(t))) == 1


def test_stay_at_the_end_of_the_day_counts() -> None:
    t = np.arange(0.0, 1000.0, 5.0)
    x = np.minimum(t, 500.0) * 10.0  # drive 5 km, then stand for 500 s until tracking stops
    stays = detect_stays(t, x, np.zeros_like(t))
    assert len(stays) == 1
    assert stays[0].end_t == t[-1]


def test_gap_inside_a_stay_is_time_at_the_place() -> None:
    t = np.concatenate((np.arange(0.0, 120.0, 5.0), np.arange(5400.0, 5520.0, 5.0)))
    rng = np.random.default_rng(2)
    x, y = rng.normal(0, 10, t.size), rng.normal(0, 10, t.size)
    stays = detect_stays(t, x, y)
    assert [(s.start_t, s.end_t) for s in stays] == [(0.0, 5515.0)]
    short_gaps = detect_stays(t, x, y, AnalysisParams(stay_max_gap_s=600.0))
    assert short_gaps == []


def test_jitter_burst_split_is_merged_back() -> None:
    t = np.arange(0.0, 1800.0, 1.0)
    rng = np.random.default_rng(4)
    x, y = rng.normal(0, 8, t.size), rng.normal(0, 8, t.size)
    x[900:905] += 160.0  # five seconds of multipath 160 m off
    merged = detect_stays(t, x, y)
    split = detect_stays(t, x, y, NO_MERGE)
    assert len(split) == 2
    assert len(merged) == 1
    assert merged[0].duration_s == pytest.approx(1799.0)


def test_burst_near_the_end_does_not_cut_off_the_last_minutes() -> None:
    t = np.arange(0.0, 1800.0, 2.0)
    rng = np.random.default_rng(6)
    x, y = rng.normal(0, 8, t.size), rng.normal(0, 8, t.size)
    x[810:818] += 150.0  # 16 s of multipath 150 m off, 3 minutes before leaving
    t_leave = t[-1]
    x = np.concatenate((x, 200.0 + np.arange(1, 60) * 20.0))  # then drive away
    y = np.concatenate((y, np.zeros(59)))
    t = np.concatenate((t, t_leave + np.arange(1, 60) * 2.0))
    cut = detect_stays(t, x, y, NO_MERGE)
    assert [s.end_t for s in cut] == [t[809]]  # the textbook window ends at the burst
    grown = detect_stays(t, x, y)
    assert len(grown) == 1
    assert grown[0].start_t == 0.0
    assert grown[0].end_t == t_leave


def test_excursion_longer_than_the_merge_gap_ends_the_stay() -> None:
    t = np.arange(0.0, 2400.0, 5.0)
    x = np.zeros_like(t)
    away = (t >= 900) & (t < 1300)  # 6 min 40 s walking around 300-700 m away, then back
    x[away] = 300.0 + (t[away] - 900.0)
    stays = detect_stays(t, x, np.zeros_like(t))
    assert [(s.start_t, s.end_t) for s in stays] == [(0.0, 895.0), (1300.0, 2395.0)]
    # A shorter excursion (4 min) is absorbed.
    x[t >= 1140] = 0.0
    assert [(s.start_t, s.end_t) for s in detect_stays(t, x, np.zeros_like(t))] == [(0.0, 2395.0)]


def test_separate_places_are_not_merged() -> None:
    t = np.arange(0.0, 1300.0, 5.0)
    x = np.where(t < 600, 0.0, 300.0)  # two places 300 m apart, 5 s apart
    stays = detect_stays(t, x, np.zeros_like(t))
    assert [(s.x, s.start_t) for s in stays] == [(0.0, 0.0), (300.0, 600.0)]


def test_empty_and_single() -> None:
    one = np.array([1.0])
    assert detect_stays(one, one, one) == []
    empty = np.zeros(0)
    assert detect_stays(empty, empty, empty) == []
