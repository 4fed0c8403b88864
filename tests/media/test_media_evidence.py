from __future__ import annotations

import hashlib
import io
import math
from datetime import UTC, datetime, timedelta, timezone

import mediagen as gen
import pytest
from PIL import Image

from media import images
from media.evidence import (
    CheckIn,
    EvidenceThresholds,
    PriorPhoto,
    capture_time,
    evidence_for_photo,
    haversine_m,
)
from media.fingerprint import FingerprintIndex, fingerprint
from media.images import ExifData

CST = timezone(timedelta(hours=8))
CHECK_IN = CheckIn(
    at=datetime(2024, 5, 6, 6, 20, 0, tzinfo=UTC), lat=31.230416, lon=121.473701, accuracy_m=15
)
METRES_PER_DEGREE_LAT = 6_371_008.8 * math.pi / 180


def _north(metres: float) -> float:
    return CHECK_IN.lat + metres / METRES_PER_DEGREE_LAT


def _exif_from_jpeg(**claims: object) -> ExifData:
    exif = gen.make_exif(**claims)  # type: ignore[arg-type]
    data = gen.encode(gen.photo_like(320, 240), exif=exif.tobytes())
    return images.read_exif(Image.open(io.BytesIO(data)))


def test_haversine_against_known_distances() -> None:
    assert haversine_m(0, 0, 1, 0) == pytest.approx(METRES_PER_DEGREE_LAT, rel=1e-9)
    assert haversine_m(31.23, 121.47, 31.23, 121.47) == 0
    # Shanghai to Beijing is about 1 067 km.
    assert haversine_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(1_067_000, rel=0.01)


def test_consistent_photo_has_no_flags() -> None:
    exif = _exif_from_jpeg(
        taken_at=datetime(2024, 5, 6, 14, 18, 0), offset="+08:00", lat=_north(50), lon=CHECK_IN.lon
    )
    evidence = evidence_for_photo(exif, CHECK_IN, [])
    assert evidence.flags == ()
    assert evidence.distance_to_check_in_m == pytest.approx(50, abs=0.5)
    assert evidence.time_diff_s == -120
    assert evidence.exif_at == datetime(2024, 5, 6, 14, 18, 0, tzinfo=CST)
    assert evidence.reused_from is None


def test_far_and_old_photo_is_flagged() -> None:
    exif = _exif_from_jpeg(
        taken_at=datetime(2024, 5, 3, 14, 18, 0), offset="+08:00", lat=_north(5000), lon=CHECK_IN.lon
    )
    evidence = evidence_for_photo(exif, CHECK_IN, [])
    assert set(evidence.flags) == {"exif_far_from_check_in", "exif_time_mismatch"}
    assert evidence.distance_to_check_in_m == pytest.approx(5000, abs=1)
    assert evidence.time_diff_s == pytest.approx(-3 * 86400 - 120)


def test_no_exif() -> None:
    assert evidence_for_photo(None, CHECK_IN, []).flags == ("missing_exif",)
    assert evidence_for_photo(ExifData(), CHECK_IN, []).flags == ("missing_exif",)
    only_time = ExifData(taken_at=datetime(2024, 5, 6, 6, 21, tzinfo=UTC))
    assert evidence_for_photo(only_time, CHECK_IN, []).flags == ("exif_incomplete",)


def test_check_in_accuracy_widens_the_distance_tolerance() -> None:
    at = datetime(2024, 5, 6, 6, 21, tzinfo=UTC)
    exif = ExifData(taken_at=at, lat=_north(550), lon=CHECK_IN.lon)
    loose = CheckIn(CHECK_IN.at, CHECK_IN.lat, CHECK_IN.lon, accuracy_m=100)
    exact = CheckIn(CHECK_IN.at, CHECK_IN.lat, CHECK_IN.lon, accuracy_m=None)
    assert "exif_far_from_check_in" not in evidence_for_photo(exif, loose, []).flags
    assert "exif_far_from_check_in" in evidence_for_photo(exif, exact, []).flags
    strict = EvidenceThresholds(max_distance_m=100)
    assert "exif_far_from_check_in" in evidence_for_photo(exif, loose, [], thresholds=strict).flags


def test_naive_exif_time_is_read_in_the_tenant_zone() -> None:
    exif = ExifData(taken_at=datetime(2024, 5, 6, 14, 21, 0), lat=CHECK_IN.lat, lon=CHECK_IN.lon)
    in_shanghai = evidence_for_photo(exif, CHECK_IN, [], time_zone="Asia/Shanghai")
    assert in_shanghai.time_diff_s == 60
    assert in_shanghai.flags == ()
    in_utc = evidence_for_photo(exif, CHECK_IN, [], time_zone="UTC")
    assert in_utc.time_diff_s == 8 * 3600 + 60
    assert "exif_time_mismatch" in in_utc.flags


def test_gps_time_is_preferred_to_a_naive_local_time() -> None:
    exif = ExifData(
        taken_at=datetime(2024, 5, 6, 23, 0, 0),
        gps_at=datetime(2024, 5, 6, 6, 22, tzinfo=UTC),
        lat=1.0,
        lon=2.0,
    )
    assert capture_time(exif, "UTC") == datetime(2024, 5, 6, 6, 22, tzinfo=UTC)
    aware = ExifData(
        taken_at=datetime(2024, 5, 6, 14, 0, tzinfo=CST), gps_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert capture_time(aware, "UTC") == datetime(2024, 5, 6, 14, 0, tzinfo=CST)


def test_time_inside_a_long_visit_is_fine() -> None:
    check_out = CHECK_IN.at + timedelta(minutes=90)
    during = ExifData(taken_at=CHECK_IN.at + timedelta(minutes=80), lat=CHECK_IN.lat, lon=CHECK_IN.lon)
    after = ExifData(taken_at=check_out + timedelta(minutes=31), lat=CHECK_IN.lat, lon=CHECK_IN.lon)
    before = ExifData(taken_at=CHECK_IN.at - timedelta(minutes=29), lat=CHECK_IN.lat, lon=CHECK_IN.lon)
    assert evidence_for_photo(during, CHECK_IN, [], visit_end=check_out).flags == ()
    assert evidence_for_photo(during, CHECK_IN, []).flags == ("exif_time_mismatch",)  # no end given
    assert evidence_for_photo(after, CHECK_IN, [], visit_end=check_out).flags == ("exif_time_mismatch",)
    assert evidence_for_photo(before, CHECK_IN, [], visit_end=check_out).flags == ()


def test_no_check_in_gives_claims_only() -> None:
    exif = ExifData(taken_at=datetime(2024, 5, 6, 6, 21, tzinfo=UTC), lat=1.0, lon=2.0)
    evidence = evidence_for_photo(exif, None, [])
    assert (evidence.distance_to_check_in_m, evidence.time_diff_s, evidence.flags) == (None, None, ())
    assert (evidence.exif_lat, evidence.exif_lon) == (1.0, 2.0)


@pytest.fixture(scope="module")
def earlier() -> list[tuple[str, Image.Image]]:
    return [(f"media-{i}", gen.photo_like(1024, 768, seed=400 + i)) for i in range(5)]


def test_reused_photo_by_perceptual_copy(earlier: list[tuple[str, Image.Image]]) -> None:
    priors = [PriorPhoto(media_id, None, fingerprint(image)) for media_id, image in earlier]
    original = earlier[3][1]
    out = io.BytesIO()
    original.resize((512, 384)).save(out, "JPEG", quality=70)
    copy = Image.open(io.BytesIO(out.getvalue()))
    exif = ExifData(taken_at=CHECK_IN.at, lat=CHECK_IN.lat, lon=CHECK_IN.lon)
    evidence = evidence_for_photo(exif, CHECK_IN, priors, fingerprint=fingerprint(copy))
    assert evidence.reused_from == "media-3"
    assert evidence.flags == ("reused_photo",)
    # The same through a prebuilt index.
    index = FingerprintIndex((p.media_id, p.fingerprint) for p in priors if p.fingerprint)
    assert evidence_for_photo(exif, CHECK_IN, index, fingerprint=fingerprint(copy)).reused_from == "media-3"


def test_reused_photo_by_exact_bytes() -> None:
    data = gen.encode(gen.photo_like(320, 240, seed=9))
    sha = hashlib.sha256(data).hexdigest()
    priors = [PriorPhoto("media-a", "0" * 64, None), PriorPhoto("media-b", sha, None)]
    evidence = evidence_for_photo(None, CHECK_IN, priors, sha256=sha)
    assert evidence.reused_from == "media-b"
    assert evidence.flags == ("missing_exif", "reused_photo")


def test_new_photo_is_not_reused(earlier: list[tuple[str, Image.Image]]) -> None:
    priors = [PriorPhoto(media_id, None, fingerprint(image)) for media_id, image in earlier]
    fresh = fingerprint(gen.photo_like(1024, 768, seed=999))
    evidence = evidence_for_photo(None, CHECK_IN, priors, fingerprint=fresh, sha256="f" * 64)
    assert evidence.reused_from is None
    assert "reused_photo" not in evidence.flags
