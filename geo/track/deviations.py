"""Building blocks for deviations: gaps, corridor runs, stay-to-customer matching, pass-bys.

All functions work on the cleaned track's metric coordinates (numpy arrays) and are vectorised;
the corridor test is one ``shapely.contains_xy`` call against the prepared corridor polygon, and
distances to the route line are computed only for fixes already found outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.track.model import FloatArray
from geo.track.plan import PlannedRoute
from geo.track.staypoints import StayPoint

__all__ = [
    "OffRouteRun",
    "Sites",
    "closest_approach",
    "gap_steps",
    "match_stays",
    "off_route_runs",
    "runs_of",
]

IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


def gap_steps(t: FloatArray, min_s: float) -> IntArray:
    """Indices ``k`` where no fix came for at least ``min_s`` after fix ``k``."""
    if t.size < 2:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.diff(t) >= min_s)


def runs_of(mask: BoolArray) -> list[tuple[int, int]]:
    """``(first, last)`` index (inclusive) of every run of True values."""
    if mask.size == 0:
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class OffRouteRun:
    """Fixes ``first..last`` (inclusive) outside the corridor for at least the minimum time.

    Attributes:
        first, last: fix index range.
        max_distance_m: farthest fix from the planned line (m).
        farthest: index of that fix.
        length_m: distance travelled from ``first`` to ``last`` (m).
    """

    first: int
    last: int
    max_distance_m: float
    farthest: int
    length_m: float


def off_route_runs(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    route: PlannedRoute,
    min_s: float,
    window: tuple[float, float] | None = None,
    step_m: FloatArray | None = None,
) -> list[OffRouteRun]:
    """Runs of fixes outside the route corridor lasting at least ``min_s``.

    Args:
        t, x, y: cleaned fixes (s, m).
        route: the projected plan with its prepared corridor.
        min_s: minimum duration from the first to the last outside fix (s).
        window: only fixes with ``window[0] <= t <= window[1]`` are checked (epoch s).
        step_m: length of each step (m) for ``length_m``; defaults to the straight steps.
    """
    if route.corridor is None or route.line is None or t.size == 0:
        return []
    outside = ~shapely.contains_xy(route.corridor, x, y)
    if window is not None:
        outside &= (t >= window[0]) & (t <= window[1])
    steps = step_m if step_m is not None else np.hypot(np.diff(x), np.diff(y))
    found: list[OffRouteRun] = []
    coarse: shapely.Geometry | None = None
    for first, last in runs_of(outside):
        if t[last] - t[first] < min_s:
            continue
        if coarse is None:
            coarse = shapely.simplify(route.line, _COARSE_M, preserve_topology=False)
        k, distance = _farthest(x[first : last + 1], y[first : last + 1], route.line, coarse)
        found.append(
            OffRouteRun(
                first=first,
                last=last,
                max_distance_m=distance,
                farthest=first + k,
                length_m=float(steps[first:last].sum()),
            )
        )
    return found


#: Douglas-Peucker tolerance (m) of the coarse route used to find the farthest fix of a run.
_COARSE_M = 5.0
#: How many of the coarse leaders get an exact distance.
_REFINE = 64


def _farthest(
    x: FloatArray, y: FloatArray, line: shapely.Geometry, coarse: shapely.Geometry
) -> tuple[int, float]:
    """Index and distance (m) of the fix farthest from ``line``.

    Distances to the route simplified at ``_COARSE_M`` differ from the exact ones by at most
    that much (Douglas-Peucker keeps the Hausdorff distance within the tolerance), so only the
    fixes whose coarse distance is within twice the tolerance of the coarse maximum can be the
    farthest; the best ``_REFINE`` of those get exact distances. The answer is exact unless more
    than ``_REFINE`` fixes tie within 10 m, and then off by at most 5 m.
    """
    pts = shapely.points(x, y)
    approx = shapely.distance(pts, coarse)
    leaders = np.flatnonzero(approx >= approx.max() - 2 * _COARSE_M)
    if leaders.size > _REFINE:
        leaders = leaders[np.argsort(approx[leaders])[-_REFINE:]]
    exact = shapely.distance(pts[leaders], line)
    best = int(np.argmax(exact))
    return int(leaders[best]), float(exact[best])


@dataclass(frozen=True, slots=True, eq=False)
class Sites:
    """Places a stay can be matched to: planned stops first, then other known customers.

    Attributes:
        x, y: positions (m).
        radius_m: geofence radius of each (m).
        customer_id: id of each.
        planned_seq: position in the plan, -1 for customers not on the plan.
    """

    x: FloatArray
    y: FloatArray
    radius_m: FloatArray
    customer_id: list[str]
    planned_seq: IntArray

    def __len__(self) -> int:
        return int(self.x.size)


def match_stays(stays: Sequence[StayPoint], accuracy_m: FloatArray, sites: Sites) -> list[int | None]:
    """The site each stay belongs to, as an index into ``sites`` (None: no customer).

    A stay matches a site when its centre is within ``max(site radius, stay accuracy)``
    (accuracy: the median reported accuracy of its fixes, 0 if unknown). Planned stops win over
    other customers (two customers in one building bind to the planned one); among equals the
    nearest wins.
    """
    out: list[int | None] = []
    if not len(sites):
        return [None] * len(stays)
    for stay, acc in zip(stays, accuracy_m.tolist(), strict=True):
        dist = np.hypot(sites.x - stay.x, sites.y - stay.y)
        tolerance = np.maximum(sites.radius_m, 0.0 if np.isnan(acc) else acc)
        ok = dist <= tolerance
        if not ok.any():
            out.append(None)
            continue
        planned = ok & (sites.planned_seq >= 0)
        pool = planned if planned.any() else ok
        out.append(int(np.flatnonzero(pool)[np.argmin(dist[pool])]))
    return out


def closest_approach(
    x: FloatArray, y: FloatArray, px: FloatArray, py: FloatArray
) -> tuple[FloatArray, IntArray]:
    """For each place ``(px, py)``, the smallest distance of any fix (m) and that fix's index.

    Squared distances in blocks of places, so memory stays below a few MB for 20 000 fixes.
    """
    k = px.size
    best = np.full(k, np.inf)
    where = np.zeros(k, dtype=np.intp)
    if x.size == 0:
        return best, where
    block = max(1, 250_000 // x.size)
    for lo in range(0, k, block):
        hi = min(k, lo + block)
        d2 = np.square(x[None, :] - px[lo:hi, None])
        d2 += np.square(y[None, :] - py[lo:hi, None])
        where[lo:hi] = np.argmin(d2, axis=1)
        best[lo:hi] = np.sqrt(d2[np.arange(hi - lo), where[lo:hi]])
    return best, where
