"""Pure pieces of the media API: tus header parsing, ETag matching, band lines."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from api.lib.errors import BadRequest, PayloadTooLarge
from api.media import tus
from api.media.delivery import etag, etag_matches
from media.rendition import PhotoFacts, band_lines


def test_upload_metadata_round_trip_and_refusals() -> None:
    values = {
        "kind": "visit_photo",
        "filename": "货架 1.jpg",
        "entity_id": "0190c2f2-7a3e-7c11-9d2e-5b8f3e2a4c6d",
    }
    assert tus.parse_metadata(tus.encode_metadata(values)) == values
    assert tus.parse_metadata("is_confidential,kind dmlzaXRfcGhvdG8=") == {
        "is_confidential": "",
        "kind": "visit_photo",
    }
    assert tus.parse_metadata(None) == {}
    for bad in ("kind a b", "kind !!!", "k=y YQ==", "kind YQ==,kind YQ==", "bad key YQ==", "x " + "A" * 5000):
        with pytest.raises(BadRequest):
            tus.parse_metadata(bad)


def test_checksum_header() -> None:
    digest = hashlib.sha1(b"abc").digest()
    assert tus.parse_checksum(f"sha1 {base64.b64encode(digest).decode()}") == ("sha1", digest)
    assert tus.parse_checksum(None) is None
    for bad, code in (
        ("crc32 AAAA", "checksum_algorithm_unsupported"),
        ("sha1", "invalid_header"),
        ("sha1 ***", "invalid_header"),
        (f"sha256 {base64.b64encode(digest).decode()}", "invalid_header"),  # wrong length
    ):
        with pytest.raises(BadRequest) as info:
            tus.parse_checksum(bad)
        assert info.value.code == code


def test_length_and_version_headers() -> None:
    assert tus.parse_length({"upload-length": "42"}, 100) == 42
    with pytest.raises(PayloadTooLarge):
        tus.parse_length({"upload-length": "101"}, 100)
    with pytest.raises(BadRequest):
        tus.parse_length({"upload-length": "4e2"}, 100)
    tus.check_version({"tus-resumable": "1.0.0"})
    with pytest.raises(tus.TusError) as info:
        tus.check_version({"tus-resumable": "0.2.2"})
    assert info.value.status == 412
    assert info.value.headers["Tus-Version"] == "1.0.0"


def test_if_none_match() -> None:
    tag = etag("ab" * 32)
    assert etag_matches(tag, tag)
    assert etag_matches(f'"x", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"other"', tag)
    assert not etag_matches(None, tag)
    assert not etag_matches(tag.strip('"'), tag)


def test_band_lines_say_what_the_server_knows() -> None:
    facts = PhotoFacts(
        media_id="m",
        visit_id="v-1",
        rep_id="r",
        issued_at=datetime(2026, 3, 5, 8, 15, tzinfo=UTC),
        time_zone="Asia/Shanghai",
        customer_name="上海华联超市",
        rep_name="张伟",
        lat=31.2314,
        lon=121.4737,
        address="南京东路100号",
        place_note="check-in suspicious",
    )
    assert band_lines(facts) == [
        "2026-03-05 16:15:00 UTC+08:00 Asia/Shanghai",
        "31.231400, 121.473700  南京东路100号  (check-in suspicious)",
        "Customer: 上海华联超市",
        "Rep: 张伟",
        "Visit: v-1",
    ]
    nowhere = PhotoFacts("m", "v", "r", facts.issued_at, "UTC", "C", "R")
    assert band_lines(nowhere)[1] == "no check-in position"
