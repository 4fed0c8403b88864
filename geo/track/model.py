"""The input container for one rep-day of GPS fixes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["FixLike", "FloatArray", "Track", "to_datetime", "to_epoch_seconds"]

FloatArray = NDArray[np.float64]


class FixLike(Protocol):
    """Anything with the fields of a stored track point (an ORM row, a msgspec Struct ...)."""

    t: datetime
    lat: float
    lon: float


def to_epoch_seconds(values: ArrayLike) -> FloatArray:
    """Epoch seconds (float64) from epoch seconds, ``datetime64`` or aware ``datetime`` values.

    Naive datetimes and ``datetime64`` values are taken as UTC.
    """
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[us]").astype(np.int64).astype(np.float64) / 1e6
    if arr.dtype == object:
        return np.array([_epoch(v) for v in arr.ravel()], dtype=np.float64).reshape(arr.shape)
    return arr.astype(np.float64)


def _epoch(value: object) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    return float(value)  # type: ignore[arg-type]


def to_datetime(epoch_s: float) -> datetime:
    """Aware UTC datetime from epoch seconds, rounded to the millisecond (the wire precision)."""
    return datetime.fromtimestamp(round(float(epoch_s), 3), tz=UTC)


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """One rep-day of raw fixes as parallel arrays, in any order, duplicates allowed.

    Attributes:
        t: fix time, epoch seconds (float64, UTC).
        lat, lon: WGS84 degrees.
        accuracy_m: reported horizontal accuracy (m); NaN where unknown.
        speed_mps: reported speed (m/s); NaN where unknown. Informational only: the analysis
            derives speeds from positions, which a spoofing client cannot fake independently.
    """

    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    accuracy_m: FloatArray
    speed_mps: FloatArray

    @classmethod
    def from_arrays(
        cls,
        t: ArrayLike,
        lat: ArrayLike,
        lon: ArrayLike,
        accuracy_m: ArrayLike | None = None,
        speed_mps: ArrayLike | None = None,
    ) -> Track:
        """Build a track; ``t`` may be epoch seconds, ``datetime64`` or ``datetime`` values.

        Raises:
            ValueError: arrays of different lengths.
        """
        t_a = to_epoch_seconds(t).ravel()
        n = t_a.size
        lat_a = np.asarray(lat, dtype=np.float64).ravel()
        lon_a = np.asarray(lon, dtype=np.float64).ravel()
        acc_a = np.full(n, np.nan) if accuracy_m is None else _floats(accuracy_m)
        spd_a = np.full(n, np.nan) if speed_mps is None else _floats(speed_mps)
        if not (lat_a.size == lon_a.size == acc_a.size == spd_a.size == n):
            raise ValueError("track arrays must all have the same length")
        return cls(t=t_a, lat=lat_a, lon=lon_a, accuracy_m=acc_a, speed_mps=spd_a)

    @classmethod
    def from_fixes(cls, fixes: Iterable[FixLike]) -> Track:
        """Build a track from objects with ``t, lat, lon`` and optional ``accuracy_m, speed_mps``."""
        rows = list(fixes)
        return cls.from_arrays(
            t=np.array([_epoch(f.t) for f in rows], dtype=np.float64),
            lat=[f.lat for f in rows],
            lon=[f.lon for f in rows],
            accuracy_m=[getattr(f, "accuracy_m", None) for f in rows],
            speed_mps=[getattr(f, "speed_mps", None) for f in rows],
        )

    def __len__(self) -> int:
        return int(self.t.size)


def _floats(values: ArrayLike) -> FloatArray:
    """Float array with None mapped to NaN."""
    arr = np.asarray(values)
    if arr.dtype == object:
        return np.array([np.nan if v is None else float(v) for v in arr.ravel()], dtype=np.float64)
    return arr.astype(np.float64).ravel()
