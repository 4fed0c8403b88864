"""Shared pieces of the track, audit and report API tests: recent synthetic days and posting."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from api.lib.clock import rfc3339
from geo.track import Track

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_day(days_ago: int, tz: ZoneInfo = SHANGHAI) -> date:
    """A calendar day ``days_ago`` days before today in ``tz`` (tracks older than 30 days are refused)."""
    return datetime.now(tz).date() - timedelta(days=days_ago)


def local_time(day: date, hour: int, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    """An instant given as wall-clock time in ``tz``, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def point(at: datetime, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    return {"t": rfc3339(at), "lat": lat, "lon": lon, **extra}


def track_points(track: Track) -> list[dict[str, Any]]:
    """A synthetic track as ``POST /v1/tracks`` points."""
    out = []
    for t, lat, lon, acc in zip(track.t, track.lat, track.lon, track.accuracy_m, strict=True):
        p = point(datetime.fromtimestamp(float(t), tz=UTC), float(lat), float(lon))
        if not np.isnan(acc):
            p["accuracy_m"] = float(acc)
        out.append(p)
    return out


async def post_points(
    client: Any, rep: dict[str, Any], points: list[dict[str, Any]], device: str | None = None
) -> Any:
    return await client.post(
        "/v1/tracks",
        headers=rep["headers"],
        json={"device_id": device or rep["device_id"], "points": points},
    )


def new_id() -> str:
    return str(uuid.uuid4())
