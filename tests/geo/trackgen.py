"""Synthetic rep-days with known answers, built leg by leg in metres around an origin."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from geo.checkin import CustomerSite
from geo.track import LocalProjection, PlannedStop, Track

START = datetime(2025, 3, 4, 0, 30, tzinfo=UTC)  # 08:30 in Asia/Shanghai


class DayBuilder:
    """Appends stays, drives and gaps; positions in metres east/north of ``origin``.

    Every fix gets Gaussian noise of the given sigma (m) and a reported accuracy.
    """

    def __init__(
        self,
        start: datetime = START,
        origin: tuple[float, float] = (31.2304, 121.4737),
        step_s: float = 5.0,
        seed: int = 7,
        accuracy_m: float = 8.0,
    ) -> None:
        self.projection = LocalProjection(*origin)
        self.step_s = step_s
        self.accuracy_m = accuracy_m
        self.rng = np.random.default_rng(seed)
        self.now = start.timestamp()
        self.pos = (0.0, 0.0)
        self._t: list[np.ndarray] = []
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []
        self._started = False

    # --- legs ------------------------------------------------------------------------------------

    def stay(
        self, duration_s: float, jitter_m: float = 10.0, step_s: float | None = None
    ) -> tuple[float, float]:
        """Stand at the current position; returns (first, last) fix time (epoch s)."""
        step = step_s or self.step_s
        n = round(duration_s / step) + 1
        t = self._next_time() + np.arange(n) * step
        x = self.pos[0] + self.rng.normal(0, jitter_m, n)
        y = self.pos[1] + self.rng.normal(0, jitter_m, n)
        self._add(t, x, y)
        return float(t[0]), float(t[-1])

    def drive_to(
        self, x: float, y: float, speed_mps: float = 10.0, jitter_m: float = 3.0
    ) -> tuple[float, float]:
        """Drive in a straight line at constant speed; returns (first, last) fix time."""
        x0, y0 = self.pos
        length = math.hypot(x - x0, y - y0)
        n = max(1, math.ceil(length / (speed_mps * self.step_s)))
        frac = np.arange(1, n + 1) / n
        t = self._next_time() + (np.arange(n)) * self.step_s
        xs = x0 + (x - x0) * frac + self.rng.normal(0, jitter_m, n)
        ys = y0 + (y - y0) * frac + self.rng.normal(0, jitter_m, n)
        self._add(t, xs, ys)
        self.pos = (x, y)
        return float(t[0]), float(t[-1])

    def gap(self, duration_s: float, to: tuple[float, float] | None = None) -> None:
        """No fixes for ``duration_s`` (the next fix comes ``duration_s`` after the last one)."""
        self.now += duration_s - self.step_s
        if to is not None:
            self.pos = to

    def spike(self, distance_m: float, bearing_deg: float = 45.0) -> float:
        """One fix ``distance_m`` away from the current position; returns its time."""
        t = self._next_time()
        b = math.radians(bearing_deg)
        self._add(
            np.array([t]),
            np.array([self.pos[0] + distance_m * math.sin(b)]),
            np.array([self.pos[1] + distance_m * math.cos(b)]),
        )
        return t

    # --- outputs ---------------------------------------------------------------------------------

    def track(self) -> Track:
        t = np.concatenate(self._t)
        lat, lon = self.projection.inverse(np.concatenate(self._x), np.concatenate(self._y))
        return Track.from_arrays(t, lat, lon, accuracy_m=np.concatenate(self._acc))

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        lat, lon = self.projection.inverse([x], [y])
        return float(lat[0]), float(lon[0])

    def planned(self, customer_id: str, x: float, y: float, radius_m: float | None = None) -> PlannedStop:
        lat, lon = self.latlon(x, y)
        return PlannedStop(customer_id=customer_id, lat=lat, lon=lon, radius_m=radius_m)

    def customer(self, customer_id: str, x: float, y: float, radius_m: float | None = None) -> CustomerSite:
        lat, lon = self.latlon(x, y)
        return CustomerSite(lat=lat, lon=lon, geofence_radius_m=radius_m, customer_id=customer_id)

    # --- internals -------------------------------------------------------------------------------

    def _next_time(self) -> float:
        if not self._started:
            self._started = True
            return self.now
        return self.now + self.step_s

    def _add(self, t: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        self._t.append(t)
        self._x.append(x)
        self._y.append(y)
        self._acc.append(np.full(t.size, self.accuracy_m))
        self.now = float(t[-1])
