"""The shared real GPS tracks (read in place at test time, never copied into the repository)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from geo.track import PlannedStop, Track

GPS_DIR = Path(os.environ.get("FIELDLINE_GPS_DIR", "/work/shared/gps"))
HAVE_GPS = (GPS_DIR / "index.csv").is_file()
needs_gps = pytest.mark.skipif(not HAVE_GPS, reason=f"real GPS tracks not found at {GPS_DIR}")


@dataclass(frozen=True)
class TrackFacts:
    """One row of index.csv."""

    track_id: str
    file: str
    n_points: int
    staypoints_100m_5min: int
    has_accuracy: bool


def index() -> list[TrackFacts]:
    if not HAVE_GPS:
        return []
    with (GPS_DIR / "index.csv").open(newline="") as f:
        return [
            TrackFacts(
                track_id=row["track_id"],
                file=row["file"],
                n_points=int(row["n_points"]),
                staypoints_100m_5min=int(row["staypoints_100m_5min"]),
                has_accuracy=row["has_accuracy"] == "True",
            )
            for row in csv.DictReader(f)
        ]


def load(track_id: str) -> Track:
    with (GPS_DIR / "tracks" / f"{track_id}.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) if r[name] else np.nan for r in rows])

    t = np.array([r["t"].rstrip("Z") for r in rows], dtype="datetime64[s]")
    return Track.from_arrays(t, col("lat"), col("lon"), col("accuracy_m"), col("speed_mps"))


def bus_stops(radius_m: float = 25.0) -> list[PlannedStop]:
    with (GPS_DIR / "planned_stops_limerick_bus304.csv").open(newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["seq"]))
    return [
        PlannedStop(
            customer_id=r["stop_id"],
            lat=float(r["lat"]),
            lon=float(r["lon"]),
            radius_m=radius_m,
            name=r["stop_name"],
        )
        for r in rows
    ]
