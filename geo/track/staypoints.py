"""Stay-point detection: where did the rep stand still, and for how long.

Li et al. (2008) sliding window, as in trackintel's ``generate_staypoints``: anchored at fix
``i``, the window grows while every fix stays within ``stay_radius_m`` of fix ``i``; if the fixes
inside span at least ``stay_min_s`` they form a stay and the next window starts after it,
otherwise the anchor moves on by one. Defaults 100 m / 5 min (see
:class:`~geo.track.params.AnalysisParams`).

Differences from the textbook loop:

* Gaps: a gap whose both ends are inside the window is time at the place (a phone indoors at a
  customer); only a gap longer than ``stay_max_gap_s`` ends the window.
* The stay at the end of the day counts once it is long enough (the rep is still there).
* A stay grows over excursions shorter than ``stay_merge_gap_s`` at its ends when the fixes come
  back within the radius of its centre, and consecutive stays closer than ``stay_merge_m`` and
  less than ``stay_merge_gap_s`` apart are merged, so a burst of multipath neither splits a visit
  nor cuts off its last minutes.
* Speed: a vectorised necessary condition (the fix ``stay_min_s`` after the anchor must be
  within the radius) rules out almost every anchor while moving, so the Python loop only runs
  over candidate anchors and measures whole windows with numpy at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.track.model import FloatArray
from geo.track.params import AnalysisParams

__all__ = ["StayPoint", "detect_stays"]


@dataclass(frozen=True, slots=True)
class StayPoint:
    """A place where the rep stayed.

    Attributes:
        first, last: index range of its fixes in the cleaned track, inclusive.
        start_t, end_t: epoch seconds of the first and last fix.
        x, y: centre (m): the median of its fixes, robust to residual outliers.
        radius_m: 90th percentile of the fixes' distances to the centre (m).
        n_points: number of fixes.
    """

    first: int
    last: int
    start_t: float
    end_t: float
    x: float
    y: float
    radius_m: float
    n_points: int

    @property
    def duration_s(self) -> float:
        """Time from the first to the last fix (s), gaps inside the stay included."""
        return self.end_t - self.start_t


def detect_stays(
    t: FloatArray, x: FloatArray, y: FloatArray, params: AnalysisParams | None = None
) -> list[StayPoint]:
    """Stays in a cleaned track (times strictly increasing, coordinates in metres).

    Args:
        t: epoch seconds, strictly increasing.
        x, y: metres on a local plane.
        params: ``stay_radius_m``, ``stay_min_s``, ``stay_max_gap_s``, ``stay_merge_m``,
            ``stay_merge_gap_s`` are used.

    Returns:
        Stays in time order, not overlapping.
    """
    p = params or AnalysisParams()
    n = t.size
    if n < 2:
        return []
    radius, min_s = p.stay_radius_m, p.stay_min_s
    breaks = np.diff(t) > p.stay_max_gap_s
    breaks_before = np.concatenate(([0], np.cumsum(breaks)))

    # Necessary condition for a stay anchored at i: the first fix at least min_s later exists,
    # lies within the radius and no long gap comes in between.
    ends = np.searchsorted(t, t + min_s, side="left")
    has_end = ends < n
    e = np.where(has_end, ends, n - 1)
    candidate = (
        has_end & (np.hypot(x[e] - x, y[e] - y) < radius) & (breaks_before[e] == breaks_before[np.arange(n)])
    )
    anchors = np.flatnonzero(candidate)

    spans: list[tuple[int, int]] = []
    pos = 0
    while pos < anchors.size:
        i = int(anchors[pos])
        j = _window_exit(i, int(e[i]), x, y, breaks, radius)
        if t[j - 1] - t[i] >= min_s:
            spans.append((i, j - 1))
            pos = int(np.searchsorted(anchors, j, side="left"))
        else:
            pos += 1

    spans = _extend(spans, t, x, y, p)
    spans = _merge(spans, t, x, y, p)
    return [_stay(first, last, t, x, y) for first, last in spans]


def _window_exit(i: int, hint: int, x: FloatArray, y: FloatArray, breaks: np.ndarray, radius: float) -> int:
    """First index after ``i`` outside the radius of fix ``i`` or after a long gap (else ``n``)."""
    n = x.size
    lo = i + 1
    block = max(64, hint - i + 1)
    while lo < n:
        hi = min(n, lo + block)
        outside = np.hypot(x[lo:hi] - x[i], y[lo:hi] - y[i]) >= radius
        outside |= breaks[lo - 1 : hi - 1]
        if outside.any():
            return lo + int(np.argmax(outside))
        lo = hi
        block *= 2
    return n


def _extend(
    spans: list[tuple[int, int]], t: FloatArray, x: FloatArray, y: FloatArray, p: AnalysisParams
) -> list[tuple[int, int]]:
    """Grow each stay over short excursions at its ends.

    A burst of multipath (or a step out to the car) ends the window; if within
    ``stay_merge_gap_s`` the fixes are back within ``stay_radius_m`` of the stay's centre, the
    stay goes on. Without this, the minutes after such a burst are lost when they are shorter than
    ``stay_min_s``. Never grows into the neighbouring stays. Off when ``stay_merge_gap_s`` is 0.
    """
    if p.stay_merge_gap_s <= 0 or not spans:
        return spans
    n, radius, reach = t.size, p.stay_radius_m, p.stay_merge_gap_s
    out: list[tuple[int, int]] = []
    for k, (first, last) in enumerate(spans):
        lo_limit = out[-1][1] + 1 if out else 0
        hi_limit = spans[k + 1][0] - 1 if k + 1 < len(spans) else n - 1
        cx, cy = _mean_centre(first, last, x, y)
        while last < hi_limit:
            stop = min(int(np.searchsorted(t, t[last] + reach, side="right")) - 1, hi_limit)
            near = np.flatnonzero(np.hypot(x[last + 1 : stop + 1] - cx, y[last + 1 : stop + 1] - cy) < radius)
            if near.size == 0:
                break
            last = last + 1 + int(near[-1])
        while first > lo_limit:
            start = max(int(np.searchsorted(t, t[first] - reach, side="left")), lo_limit)
            near = np.flatnonzero(np.hypot(x[start:first] - cx, y[start:first] - cy) < radius)
            if near.size == 0:
                break
            first = start + int(near[0])
        out.append((first, last))
    return out


def _merge(
    spans: list[tuple[int, int]], t: FloatArray, x: FloatArray, y: FloatArray, p: AnalysisParams
) -> list[tuple[int, int]]:
    if len(spans) < 2:
        return spans
    # Means are good enough to decide a merge and much cheaper than medians.
    merged = [spans[0]]
    centre = _mean_centre(spans[0][0], spans[0][1], x, y)
    for first, last in spans[1:]:
        prev_first, prev_last = merged[-1]
        c = _mean_centre(first, last, x, y)
        close = float(np.hypot(c[0] - centre[0], c[1] - centre[1])) < p.stay_merge_m
        soon = t[first] - t[prev_last] < p.stay_merge_gap_s
        if close and soon:
            merged[-1] = (prev_first, last)
            centre = _mean_centre(prev_first, last, x, y)
        else:
            merged.append((first, last))
            centre = c
    return merged


def _mean_centre(first: int, last: int, x: FloatArray, y: FloatArray) -> tuple[float, float]:
    return float(x[first : last + 1].mean()), float(y[first : last + 1].mean())


def _centre(first: int, last: int, x: FloatArray, y: FloatArray) -> tuple[float, float]:
    return float(np.median(x[first : last + 1])), float(np.median(y[first : last + 1]))


def _stay(first: int, last: int, t: FloatArray, x: FloatArray, y: FloatArray) -> StayPoint:
    cx, cy = _centre(first, last, x, y)
    dist = np.hypot(x[first : last + 1] - cx, y[first : last + 1] - cy)
    return StayPoint(
        first=first,
        last=last,
        start_t=float(t[first]),
        end_t=float(t[last]),
        x=cx,
        y=cy,
        radius_m=float(np.percentile(dist, 90)),
        n_points=last - first + 1,
    )
