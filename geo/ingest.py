"""GPS track batches (``POST /v1/tracks``): decoding and per-point validation.

Pure functions, no HTTP and no database. :func:`parse_batch` turns the raw request body into
columns of the points worth storing plus the refused ones (by index, with a stable code), so
one bad fix never costs the rest of the batch.

Fast path: the body is decoded straight into typed structs with msgspec and checked with numpy
in one pass per rule. Only when that decode fails is the body decoded again loosely (the
standard library's parser also reads the ``NaN``/``Infinity`` tokens some JSON encoders emit and
numbers too large for a double) and converted point by point, so the typing errors land on their
own indexes.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import msgspec
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "REJECT_CODES",
    "BatchRefused",
    "IngestLimits",
    "ParsedBatch",
    "Rejected",
    "TrackBatch",
    "TrackPointIn",
    "parse_batch",
]

#: Stable codes for refused points, in the order they are checked (a point gets the first).
INVALID_POINT: Final = "invalid_point"
NOT_FINITE: Final = "not_finite"
LAT_OUT_OF_RANGE: Final = "lat_out_of_range"
LON_OUT_OF_RANGE: Final = "lon_out_of_range"
TIME_IN_FUTURE: Final = "time_in_future"
TIME_TOO_OLD: Final = "time_too_old"
INVALID_ACCURACY: Final = "invalid_accuracy"
INVALID_SPEED: Final = "invalid_speed"
INVALID_HEADING: Final = "invalid_heading"
REJECT_CODES: Final[tuple[str, ...]] = (
    INVALID_POINT,
    NOT_FINITE,
    LAT_OUT_OF_RANGE,
    LON_OUT_OF_RANGE,
    TIME_IN_FUTURE,
    TIME_TOO_OLD,
    INVALID_ACCURACY,
    INVALID_SPEED,
    INVALID_HEADING,
)
_CODE_NUMBER = {code: n for n, code in enumerate(REJECT_CODES, start=1)}
_FIELD_OF_CODE = {
    LAT_OUT_OF_RANGE: "lat",
    LON_OUT_OF_RANGE: "lon",
    TIME_IN_FUTURE: "t",
    TIME_TOO_OLD: "t",
    INVALID_ACCURACY: "accuracy_m",
    INVALID_SPEED: "speed_mps",
    INVALID_HEADING: "heading",
}

Provider = Annotated[str, msgspec.Meta(max_length=16)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


class TrackPointIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One fix as the phone reports it."""

    t: AwareTime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading: float | None = None
    provider: Provider | None = None
    is_mock: bool | None = None


class TrackBatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The request body of ``POST /v1/tracks``."""

    device_id: uuid.UUID
    points: list[TrackPointIn]


class _LooseBatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    device_id: uuid.UUID
    points: list[Any]


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What a batch and its points may be.

    Attributes:
        max_points: points per request: 10 000 (a phone offline for a day at one fix per 5 s
            sends about 17 000 fixes, in two requests).
        future_tolerance_s: a fix may be at most this far ahead of the server's clock (device
            clocks drift): the tenant's ``max_clock_skew_s``, 300 s by default.
        max_age_s: a fix older than this is refused: 30 days (phones offline for days are
            normal; a month-old fix is a clock error or a replay).
        max_accuracy_m: reported accuracy above this is nonsense: 100 km (cell fixes report a
            few km at worst).
        max_speed_mps: reported speed above this is nonsense: 340 m/s (the speed of sound).
    """

    max_points: int = 10_000
    future_tolerance_s: float = 300.0
    max_age_s: float = 30 * 86_400.0
    max_accuracy_m: float = 100_000.0
    max_speed_mps: float = 340.0


class BatchRefused(ValueError):
    """The whole batch is unusable. ``kind``: ``malformed`` (not JSON), ``invalid`` (the envelope
    does not match the schema) or ``too_many_points``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refused point: its index in the request, a stable code and the field concerned."""

    index: int
    code: str
    field: str | None = None


FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class ParsedBatch:
    """The points worth storing, as columns sorted by time, unique per timestamp.

    Attributes:
        device_id: the device the batch says it comes from.
        received: points in the request.
        rejected: refused points, by index.
        repeated: valid points whose millisecond timestamp repeats an earlier point of the same
            batch (the first one is kept; the rest count as duplicates).
        t_ms: fix time, epoch milliseconds.
        lat, lon, accuracy_m, speed_mps, heading: floats; NaN where the phone sent nothing.
        provider, is_mock: per point, None where the phone sent nothing.
    """

    device_id: uuid.UUID
    received: int
    rejected: list[Rejected]
    repeated: int
    t_ms: IntArray
    lat: FloatArray
    lon: FloatArray
    accuracy_m: FloatArray
    speed_mps: FloatArray
    heading: FloatArray
    provider: list[str | None]
    is_mock: list[bool | None]

    @property
    def count(self) -> int:
        """Points to store."""
        return int(self.t_ms.size)


_DECODER = msgspec.json.Decoder(TrackBatch)
_FLOAT_FIELDS = ("lat", "lon", "accuracy_m", "speed_mps", "heading")
_AT_PATH = re.compile(r"at `\$\.([A-Za-z_]+)")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]*)`")


def parse_batch(body: bytes, now_ms: int, limits: IngestLimits | None = None) -> ParsedBatch:
    """Decode and check one request body.

    Args:
        body: the raw JSON request body.
        now_ms: the server's clock, epoch milliseconds.
        limits: see :class:`IngestLimits`.

    Raises:
        BatchRefused: the body is not JSON, the envelope is wrong, or it has too many points.
    """
    lim = limits or IngestLimits()
    preset: dict[int, Rejected] = {}
    try:
        batch = _DECODER.decode(body)
        device_id, points = batch.device_id, batch.points
        _check_size(len(points), lim)
    except (msgspec.DecodeError, msgspec.ValidationError):
        device_id, points, preset = _parse_loosely(body, lim)
    return _columns(device_id, points, preset, now_ms, lim)


def _check_size(n: int, limits: IngestLimits) -> None:
    if n > limits.max_points:
        raise BatchRefused("too_many_points", f"at most {limits.max_points} points per batch, got {n}")


def _parse_loosely(body: bytes, limits: IngestLimits) -> tuple[uuid.UUID, list[Any], dict[int, Rejected]]:
    """Second chance after a failed typed decode: convert point by point, keeping the good ones.

    Points that fail are replaced by None and reported with ``invalid_point`` (wrong type,
    missing or unknown field) or ``not_finite`` (NaN, Infinity, or a number beyond a double).
    """
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BatchRefused("malformed", "The request body is not valid JSON") from exc
    try:
        envelope = msgspec.convert(raw, _LooseBatch)
    except msgspec.ValidationError as exc:
        raise BatchRefused("invalid", str(exc)) from exc
    _check_size(len(envelope.points), limits)
    points: list[Any] = []
    preset: dict[int, Rejected] = {}
    for index, item in enumerate(envelope.points):
        bad_float = _non_finite_field(item)
        if bad_float is not None:
            preset[index] = Rejected(index, NOT_FINITE, bad_float)
            points.append(None)
            continue
        try:
            points.append(msgspec.convert(item, TrackPointIn))
        except msgspec.ValidationError as exc:
            preset[index] = Rejected(index, INVALID_POINT, _error_field(str(exc)))
            points.append(None)
    return envelope.device_id, points, preset


def _non_finite_field(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    for name in _FLOAT_FIELDS:
        value = item.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            return name
    return None


def _error_field(message: str) -> str | None:
    for pattern in (_AT_PATH, _UNKNOWN_FIELD, _MISSING_FIELD):
        found = pattern.search(message)
        if found:
            return found.group(1)
    return None


def _floats(values: list[float | None]) -> FloatArray:
    """None becomes NaN (numpy's own conversion for a float dtype)."""
    return np.array(values, dtype=np.float64)


def _columns(
    device_id: uuid.UUID,
    points: list[Any],
    preset: dict[int, Rejected],
    now_ms: int,
    limits: IngestLimits,
) -> ParsedBatch:
    n = len(points)
    code = np.zeros(n, dtype=np.int8)
    if preset:
        filler = TrackPointIn(t=datetime.fromtimestamp(now_ms / 1000, tz=UTC), lat=0.0, lon=0.0)
        points = [filler if p is None else p for p in points]
        code[list(preset)] = 1
    t_ms = np.rint(np.array([p.t.timestamp() for p in points], dtype=np.float64) * 1000.0).astype(np.int64)
    lat = _floats([p.lat for p in points])
    lon = _floats([p.lon for p in points])
    acc = _floats([p.accuracy_m for p in points])
    speed = _floats([p.speed_mps for p in points])
    heading = _floats([p.heading for p in points])

    def flag(name: str, mask: NDArray[np.bool_]) -> None:
        code[(code == 0) & mask] = _CODE_NUMBER[name]

    flag(LAT_OUT_OF_RANGE, ~((lat >= -90.0) & (lat <= 90.0)))
    flag(LON_OUT_OF_RANGE, ~((lon >= -180.0) & (lon <= 180.0)))
    flag(TIME_IN_FUTURE, t_ms > now_ms + limits.future_tolerance_s * 1000.0)
    flag(TIME_TOO_OLD, t_ms < now_ms - limits.max_age_s * 1000.0)
    # NaN here means "not sent": every comparison with NaN is False, so absent values pass.
    flag(INVALID_ACCURACY, (acc < 0) | (acc > limits.max_accuracy_m))
    flag(INVALID_SPEED, (speed < 0) | (speed > limits.max_speed_mps))
    flag(INVALID_HEADING, (heading < 0) | (heading > 360))

    bad = np.flatnonzero(code)
    rejected = [
        preset.get(int(i))
        or Rejected(int(i), REJECT_CODES[code[i] - 1], _FIELD_OF_CODE.get(REJECT_CODES[code[i] - 1]))
        for i in bad
    ]
    good = np.flatnonzero(code == 0)
    # One point per millisecond: the first of each timestamp, in time order.
    unique_t, first = np.unique(t_ms[good], return_index=True)
    keep = good[first]
    keep_list = keep.tolist()
    return ParsedBatch(
        device_id=device_id,
        received=n,
        rejected=rejected,
        repeated=int(good.size - keep.size),
        t_ms=unique_t,
        lat=lat[keep],
        lon=lon[keep],
        accuracy_m=acc[keep],
        speed_mps=speed[keep],
        heading=heading[keep],
        provider=[points[i].provider for i in keep_list],
        is_mock=[points[i].is_mock for i in keep_list],
    )
