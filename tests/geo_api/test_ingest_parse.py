"""The pure half of ingestion: decoding and per-point checks (no database)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import pytest

from api.lib.clock import rfc3339
from geo.ingest import BatchRefused, IngestLimits, parse_batch

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DEVICE = str(uuid.uuid4())


def body(points: list, device: str = DEVICE) -> bytes:
    return json.dumps({"device_id": device, "points": points}).encode()


def pt(seconds_ago: float, lat: float = 31.2, lon: float = 121.4, **extra: object) -> dict:
    return {"t": rfc3339(NOW - timedelta(seconds=seconds_ago)), "lat": lat, "lon": lon, **extra}


def test_valid_batch_comes_out_sorted_and_unique() -> None:
    points = [pt(30), pt(10, accuracy_m=5.0, provider="gps", is_mock=True), pt(20), pt(10, lat=40.0)]
    parsed = parse_batch(body(points), NOW_MS)
    assert parsed.received == 4
    assert parsed.rejected == []
    assert parsed.repeated == 1
    assert parsed.t_ms.tolist() == [NOW_MS - 30_000, NOW_MS - 20_000, NOW_MS - 10_000]
    assert parsed.lat.tolist() == [31.2, 31.2, 31.2]  # the first of the repeated timestamp wins
    assert np.isnan(parsed.accuracy_m[0])
    assert parsed.accuracy_m[2] == 5.0
    assert parsed.provider == [None, None, "gps"]
    assert parsed.is_mock == [None, None, True]
    assert str(parsed.device_id) == DEVICE


def test_the_loose_path_keeps_good_points_exactly_as_the_fast_path() -> None:
    good = [pt(s, accuracy_m=3.5, speed_mps=1.0, heading=10.0, provider="fused") for s in (50, 40, 30)]
    fast = parse_batch(body(good), NOW_MS)
    mixed = body([*good, {"t": "soon", "lat": 1, "lon": 2}])
    loose = parse_batch(mixed, NOW_MS)
    assert [(r.index, r.code, r.field) for r in loose.rejected] == [(3, "invalid_point", "t")]
    for name in ("t_ms", "lat", "lon", "accuracy_m", "speed_mps", "heading"):
        assert getattr(fast, name).tolist() == getattr(loose, name).tolist(), name
    assert fast.provider == loose.provider


def test_time_limits_are_inclusive_at_the_edge() -> None:
    limits = IngestLimits(future_tolerance_s=300, max_age_s=86_400)
    points = [pt(-300), pt(-300.001), pt(86_400), pt(86_400.001)]
    parsed = parse_batch(body(points), NOW_MS, limits)
    assert [(r.index, r.code) for r in parsed.rejected] == [(1, "time_in_future"), (3, "time_too_old")]


def test_the_first_failed_check_names_the_point() -> None:
    parsed = parse_batch(
        body([pt(5, lat=100.0, lon=500.0), pt(5, lon=500.0, accuracy_m=-1.0), pt(-9999, accuracy_m=-1.0)]),
        NOW_MS,
    )
    assert [r.code for r in parsed.rejected] == ["lat_out_of_range", "lon_out_of_range", "time_in_future"]


def test_whole_batch_refusals() -> None:
    with pytest.raises(BatchRefused) as exc:
        parse_batch(b"{nope", NOW_MS)
    assert exc.value.kind == "malformed"
    with pytest.raises(BatchRefused) as exc:
        parse_batch(json.dumps({"points": []}).encode(), NOW_MS)
    assert exc.value.kind == "invalid"
    with pytest.raises(BatchRefused) as exc:
        parse_batch(body([pt(1)] * 11), NOW_MS, IngestLimits(max_points=10))
    assert exc.value.kind == "too_many_points"
    # Too many points is found on the loose path too.
    with pytest.raises(BatchRefused) as exc:
        parse_batch(body([pt(1)] * 10 + [{"bad": 1}]), NOW_MS, IngestLimits(max_points=10))
    assert exc.value.kind == "too_many_points"


def test_msgspec_encoded_bodies_take_the_fast_path() -> None:
    points = [{"t": NOW - timedelta(seconds=i), "lat": 1.0, "lon": 2.0} for i in range(100)]
    parsed = parse_batch(msgspec.json.encode({"device_id": DEVICE, "points": points}), NOW_MS)
    assert parsed.count == 100
    assert parsed.rejected == []
