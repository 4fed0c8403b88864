"""Track cleaning: order, de-duplicate, gate by accuracy, drop spikes, project to metres.

Everything is vectorised with numpy except a short Python loop over the (rare) implausible
steps when looking for multi-fix spikes. Stationary jitter is suppressed after stay detection by
:func:`snap_to_stays`, because only then is it known which fixes belong to one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo.track.model import FloatArray, Track
from geo.track.params import AnalysisParams
from geo.track.projection import LocalProjection

__all__ = ["CleanTrack", "CleaningReport", "clean_track", "snap_to_stays", "step_lengths"]

IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class CleaningReport:
    """How many fixes each cleaning step removed.

    Attributes:
        received: fixes in the input.
        invalid: non-finite or out-of-range coordinates or times, and (0, 0) "null island" fixes.
        duplicates: repeated timestamps (the most accurate fix of each timestamp is kept).
        low_accuracy: reported accuracy above ``max_accuracy_m``.
        spikes: out-and-back jumps removed.
        jumps: implausible one-way steps kept but excluded from distances (which side is
            wrong cannot be told).
        kept: fixes left for the analysis.
    """

    received: int
    invalid: int
    duplicates: int
    low_accuracy: int
    spikes: int
    jumps: int
    kept: int


@dataclass(frozen=True, slots=True, eq=False)
class CleanTrack:
    """Cleaned fixes, sorted by time with strictly increasing timestamps, in degrees and metres.

    Attributes:
        t: epoch seconds.
        lat, lon: WGS84 degrees.
        x, y: metres on ``projection``.
        accuracy_m: reported accuracy (m), NaN where unknown.
        source_index: position of each fix in the input :class:`~geo.track.model.Track`.
        jump: per step (length ``n - 1``), True where the step is implausibly fast and was kept;
            such steps count neither as distance travelled nor as time moving.
        projection: the metric plane of ``x, y``.
        report: what cleaning removed.
    """

    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    x: FloatArray
    y: FloatArray
    accuracy_m: FloatArray
    source_index: IntArray
    jump: BoolArray
    projection: LocalProjection
    report: CleaningReport

    def __len__(self) -> int:
        return int(self.t.size)


def clean_track(
    track: Track, params: AnalysisParams | None = None, projection: LocalProjection | None = None
) -> CleanTrack:
    """Clean a raw rep-day track.

    Steps, in order: drop invalid fixes; sort by time; keep the most accurate fix of each
    timestamp; drop fixes whose reported accuracy exceeds ``params.max_accuracy_m``; project to
    ``projection`` (default: a plane centred on the fixes); drop out-and-back spikes (see
    :class:`~geo.track.params.AnalysisParams`); flag the remaining implausible steps as jumps.

    Args:
        track: raw fixes, any order.
        params: thresholds; defaults to :class:`AnalysisParams`.
        projection: the metric plane to use, so that plan and customers share it.
    """
    p = params or AnalysisParams()
    n_in = len(track)
    t, lat, lon, acc = track.t, track.lat, track.lon, track.accuracy_m
    valid = (
        np.isfinite(t)
        & np.isfinite(lat)
        & np.isfinite(lon)
        & (np.abs(lat) <= 90)
        & (np.abs(lon) <= 180)
        & ~((lat == 0) & (lon == 0))
    )
    idx = np.flatnonzero(valid)
    idx = idx[_time_order(t[idx], acc[idx])]
    first_of_time = np.ones(idx.size, dtype=bool)
    first_of_time[1:] = np.diff(t[idx]) > 0
    n_dupes = int(idx.size - first_of_time.sum())
    idx = idx[first_of_time]
    accurate = ~(acc[idx] > p.max_accuracy_m)
    n_low_acc = int(idx.size - accurate.sum())
    idx = idx[accurate]

    proj = projection
    if proj is None:
        proj = LocalProjection.centred_on(lat[idx], lon[idx]) if idx.size else LocalProjection(0.0, 0.0)
    x, y = proj.forward(lat[idx], lon[idx])
    tt = t[idx]
    noise = np.where(np.isnan(acc[idx]), p.unknown_accuracy_m, acc[idx])

    keep = _spike_free(tt, x, y, noise, p)
    n_spikes = int(idx.size - keep.sum())
    idx, x, y, tt, noise = idx[keep], x[keep], y[keep], tt[keep], noise[keep]
    jump = _fast_steps(tt, x, y, noise, p.max_speed_mps)
    report = CleaningReport(
        received=n_in,
        invalid=int(n_in - valid.sum()),
        duplicates=n_dupes,
        low_accuracy=n_low_acc,
        spikes=n_spikes,
        jumps=int(jump.sum()),
        kept=int(idx.size),
    )
    return CleanTrack(
        t=tt,
        lat=lat[idx],
        lon=lon[idx],
        x=x,
        y=y,
        accuracy_m=acc[idx],
        source_index=idx,
        jump=jump,
        projection=proj,
        report=report,
    )


def _time_order(t: FloatArray, acc: FloatArray) -> IntArray:
    """Order by time, the most accurate fix first within a timestamp (unknown accuracy last).

    Fixes read from storage usually arrive sorted without duplicates: then nothing is sorted.
    """
    if (np.diff(t) > 0).all():
        return np.arange(t.size)
    return np.lexsort((np.where(np.isnan(acc), np.inf, acc), t))


def step_lengths(x: FloatArray, y: FloatArray) -> FloatArray:
    """Length (m) of each step between consecutive fixes (``n - 1`` values)."""
    return np.hypot(np.diff(x), np.diff(y))


def _fast_steps(
    t: FloatArray, x: FloatArray, y: FloatArray, noise: FloatArray, max_speed_mps: float
) -> BoolArray:
    """Steps faster than ``max_speed_mps`` even after subtracting both fixes' accuracies."""
    if t.size < 2:
        return np.zeros(0, dtype=bool)
    return step_lengths(x, y) - (noise[:-1] + noise[1:]) > max_speed_mps * np.diff(t)


def _spike_free(
    t: FloatArray, x: FloatArray, y: FloatArray, noise: FloatArray, p: AnalysisParams
) -> BoolArray:
    """Mask of fixes that are not part of an out-and-back spike.

    Single-fix spikes are removed first, then runs between a fast jump out and a fast jump back
    are looked for on what is left; if that removed anything, single spikes are looked for once
    more (a run can hide a single spike next to it).
    """
    keep = np.ones(t.size, dtype=bool)
    for finder in (_single_spikes, _run_spikes, _single_spikes):
        idx = np.flatnonzero(keep)
        if idx.size < 3:
            break
        drop = finder(t[idx], x[idx], y[idx], noise[idx], p)
        if drop.any():
            keep[idx[drop]] = False
        elif finder is _run_spikes:
            break
    return keep


def _single_spikes(
    t: FloatArray, x: FloatArray, y: FloatArray, noise: FloatArray, p: AnalysisParams
) -> BoolArray:
    """One fix far away and straight back within a short time: a spike at any speed."""
    d = step_lengths(x, y)
    d_in, d_out = d[:-1], d[1:]
    d_skip = np.hypot(x[2:] - x[:-2], y[2:] - y[:-2])
    drop = np.zeros(t.size, dtype=bool)
    drop[1:-1] = (
        (np.minimum(d_in, d_out) >= p.spike_min_m)
        & (d_skip <= p.spike_return_ratio * np.minimum(d_in, d_out))
        & (t[2:] - t[:-2] <= p.spike_max_s)
    )
    return drop


def _run_spikes(
    t: FloatArray, x: FloatArray, y: FloatArray, noise: FloatArray, p: AnalysisParams
) -> BoolArray:
    """Runs of fixes between an implausibly fast jump out and a fast jump back.

    Loops in Python over the implausible steps only (a handful per real day). A lone jump with
    no way back within ``spike_max_points``/``spike_max_s`` is kept, except right after the
    start or right before the end of the track, where the short piece is the wrong one.
    """
    n = t.size
    drop = np.zeros(n, dtype=bool)
    vmax = p.max_speed_mps
    bad = np.flatnonzero(_fast_steps(t, x, y, noise, vmax))
    done_until = -1
    for s in bad.tolist():
        if s <= done_until:
            continue
        returned = False
        for k in bad[np.searchsorted(bad, s + 1) :].tolist():
            if k - s > p.spike_max_points or t[k + 1] - t[s] > p.spike_max_s:
                break
            back = float(np.hypot(x[k + 1] - x[s], y[k + 1] - y[s])) - float(noise[s] + noise[k + 1])
            if back <= vmax * max(float(t[k + 1] - t[s]), 1.0):
                drop[s + 1 : k + 1] = True
                done_until = k
                returned = True
                break
        if returned:
            continue
        if s + 1 <= p.spike_max_points and t[s] - t[0] <= p.spike_max_s and n - s - 1 > s + 1:
            drop[: s + 1] = True
        elif n - s - 1 <= p.spike_max_points and t[-1] - t[s + 1] <= p.spike_max_s and s + 1 > n - s - 1:
            drop[s + 1 :] = True
            done_until = n
    return drop


def snap_to_stays(
    x: FloatArray, y: FloatArray, spans: Sequence[tuple[int, int]], centres: Sequence[tuple[float, float]]
) -> tuple[FloatArray, FloatArray]:
    """Suppress stationary jitter: every fix inside a stay moves to the stay's centre.

    Args:
        x, y: fix coordinates (m).
        spans: ``(first, last)`` fix index of each stay, inclusive.
        centres: ``(x, y)`` centre of each stay (m).

    Returns:
        New coordinate arrays; standing still then adds no distance.
    """
    xs, ys = x.copy(), y.copy()
    for (first, last), (cx, cy) in zip(spans, centres, strict=True):
        xs[first : last + 1] = cx
        ys[first : last + 1] = cy
    return xs, ys
