"""Plain reference implementations the vectorised code is checked against."""

from __future__ import annotations

import math

import numpy as np
from pyproj import Geod

GEOD = Geod(ellps="WGS84")

EARTH_RADIUS_M = 6_371_008.8


def equirectangular(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres east/north of the first point on a sphere (good to ~0.1 % over a city)."""
    lat0 = math.radians(float(np.nanmedian(lat)))
    x = np.radians(lon - lon[0]) * EARTH_RADIUS_M * math.cos(lat0)
    y = np.radians(lat - lat[0]) * EARTH_RADIUS_M
    return x, y


def geodesic_path_m(lat: np.ndarray, lon: np.ndarray) -> float:
    """Length of the polyline through the fixes, geodesic metres on WGS84."""
    if len(lat) < 2:
        return 0.0
    _, _, d = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    return float(np.sum(d))


def li_reference(
    t: np.ndarray, x: np.ndarray, y: np.ndarray, radius: float, min_s: float, max_gap: float
) -> list[tuple[int, int]]:
    """Li et al. (2008) sliding window, one fix at a time; a window also ends at a long gap."""
    t, x, y = list(map(float, t)), list(map(float, x)), list(map(float, y))
    out: list[tuple[int, int]] = []
    n, i = len(t), 0
    while i < n:
        j = i + 1
        while j < n and math.hypot(x[j] - x[i], y[j] - y[i]) < radius and t[j] - t[j - 1] <= max_gap:
            j += 1
        if t[j - 1] - t[i] >= min_s:
            out.append((i, j - 1))
            i = j
        else:
            i += 1
    return out
