"""Evidence for a visit photo: EXIF claims compared with the verified check-in, and re-use.

EXIF is written by the phone and easily edited or stripped, so nothing here rejects a photo: the
result is ``photo.evidence`` with flags for the manager.

Flags:

- ``missing_exif``: neither a capture time nor a position (screenshots, chat-app copies);
- ``exif_incomplete``: one of capture time / position is missing;
- ``exif_far_from_check_in``: EXIF position farther from the check-in than ``max_distance_m``
  plus the check-in's own accuracy;
- ``exif_time_mismatch``: capture time outside the visit (check-in to check-out, or to the upload
  when the visit is open) widened by ``max_time_diff_s`` on both sides;
- ``reused_photo``: the same bytes or a perceptual copy of an earlier photo (``reused_from``).

Capture time: ``DateTimeOriginal`` with its ``OffsetTimeOriginal`` when given; else the GPS time
stamp (UTC); else ``DateTimeOriginal`` read in the tenant's time zone (phones without offsets
write local time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from media.fingerprint import DEFAULT_THRESHOLDS, Fingerprint, FingerprintIndex, ReuseThresholds, find_reuse
from media.images import ExifData

EARTH_RADIUS_M: Final = 6_371_008.8

MISSING_EXIF: Final = "missing_exif"
EXIF_INCOMPLETE: Final = "exif_incomplete"
EXIF_FAR_FROM_CHECK_IN: Final = "exif_far_from_check_in"
EXIF_TIME_MISMATCH: Final = "exif_time_mismatch"
REUSED_PHOTO: Final = "reused_photo"


@dataclass(frozen=True, slots=True)
class CheckIn:
    """The visit's verified check-in (server-side record)."""

    at: datetime  # timezone-aware
    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class PriorPhoto:
    """An earlier photo of the same tenant that a new one must not copy."""

    media_id: str
    sha256: str | None = None
    fingerprint: Fingerprint | None = None


@dataclass(frozen=True, slots=True)
class EvidenceThresholds:
    """Tenant settings; defaults: 500 m and 30 minutes."""

    max_distance_m: float = 500.0
    max_time_diff_s: float = 1800.0
    reuse: ReuseThresholds = DEFAULT_THRESHOLDS


DEFAULT_EVIDENCE_THRESHOLDS: Final = EvidenceThresholds()


@dataclass(frozen=True, slots=True)
class Evidence:
    """``photo.evidence``: claims, comparisons and flags (never a rejection)."""

    exif_at: datetime | None = None
    exif_lat: float | None = None
    exif_lon: float | None = None
    distance_to_check_in_m: float | None = None
    time_diff_s: float | None = None  # EXIF capture time minus check-in time
    reused_from: str | None = None
    flags: tuple[str, ...] = ()


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def capture_time(exif: ExifData, time_zone: str) -> datetime | None:
    """The best timezone-aware capture time the EXIF supports (see module docstring)."""
    if exif.taken_at is not None and exif.taken_at.tzinfo is not None:
        return exif.taken_at
    if exif.gps_at is not None:
        return exif.gps_at
    if exif.taken_at is not None:
        return exif.taken_at.replace(tzinfo=ZoneInfo(time_zone))
    return None


def _reuse(
    sha256: str | None,
    fingerprint: Fingerprint | None,
    priors: Iterable[PriorPhoto] | FingerprintIndex,
    thresholds: ReuseThresholds,
) -> str | None:
    if isinstance(priors, FingerprintIndex):
        match = find_reuse(fingerprint, priors, thresholds) if fingerprint is not None else None
        return match.media_id if match else None
    items = list(priors)
    if sha256 is not None:
        exact = next((p.media_id for p in items if p.sha256 == sha256), None)
        if exact is not None:
            return exact
    if fingerprint is None:
        return None
    match = find_reuse(fingerprint, [(p.media_id, p.fingerprint) for p in items if p.fingerprint], thresholds)
    return match.media_id if match else None


def evidence_for_photo(
    exif: ExifData | None,
    check_in: CheckIn | None,
    prior_fingerprints: Iterable[PriorPhoto] | FingerprintIndex = (),
    *,
    fingerprint: Fingerprint | None = None,
    sha256: str | None = None,
    visit_end: datetime | None = None,
    time_zone: str = "UTC",
    thresholds: EvidenceThresholds = DEFAULT_EVIDENCE_THRESHOLDS,
) -> Evidence:
    """Compare a photo's EXIF claims with its visit and earlier photos.

    ``prior_fingerprints`` are the tenant's earlier photos (the caller leaves out the photo itself
    and, if wanted, the same visit's other photos). ``visit_end`` is the check-out time, or the
    server receive time while the visit is open.
    """
    exif = exif or ExifData()
    flags: list[str] = []
    at = capture_time(exif, time_zone)
    has_position = exif.lat is not None and exif.lon is not None
    if at is None and not has_position:
        flags.append(MISSING_EXIF)
    elif at is None or not has_position:
        flags.append(EXIF_INCOMPLETE)

    distance: float | None = None
    time_diff: float | None = None
    if check_in is not None:
        if exif.lat is not None and exif.lon is not None:
            distance = round(haversine_m(exif.lat, exif.lon, check_in.lat, check_in.lon), 1)
            if distance > thresholds.max_distance_m + (check_in.accuracy_m or 0.0):
                flags.append(EXIF_FAR_FROM_CHECK_IN)
        if at is not None:
            time_diff = (at - check_in.at).total_seconds()
            end = visit_end if visit_end is not None and visit_end > check_in.at else check_in.at
            slack = thresholds.max_time_diff_s
            if time_diff < -slack or (at - end).total_seconds() > slack:
                flags.append(EXIF_TIME_MISMATCH)

    reused_from = _reuse(sha256, fingerprint, prior_fingerprints, thresholds.reuse)
    if reused_from is not None:
        flags.append(REUSED_PHOTO)
    return Evidence(
        exif_at=at,
        exif_lat=exif.lat,
        exif_lon=exif.lon,
        distance_to_check_in_m=distance,
        time_diff_s=time_diff,
        reused_from=reused_from,
        flags=tuple(flags),
    )
