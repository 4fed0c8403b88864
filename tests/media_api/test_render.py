"""The rendition job: watermark, provenance signature, thumbnail, evidence and re-use; delivery
with ETags; who may read what; verification of presented files."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import select, update

from api.db.engine import write_session
from api.jobs.models import Job
from media.models import Media
from tests.media import mediagen as gen
from tests.media_api.conftest import (
    C0,
    at_visit,
    drain,
    new_visit,
    one_shot,
    photo,
    problem,
    rep,
    sha256,
    upload_photo,
)
from tests.sync.helpers import Phone


async def _verify(client: Any, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    r = await client.post("/v1/media/verify", headers=headers, files={"file": ("x.jpg", data, "image/jpeg")})
    assert r.status_code == 200, r.text
    return r.json()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _flip_scan_byte(data: bytes) -> bytes:
    """Change one byte of entropy-coded image data (the file still decodes; some pixels differ)."""
    sos = data.index(b"\xff\xda")
    at = sos + (len(data) - sos) // 2
    while data[at] in (0xFF, 0x00) or data[at - 1] == 0xFF:
        at += 1
    return data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1 :]


async def test_rendition_is_watermarked_signed_and_verifiable(client, world, worker) -> None:
    phone = await Phone.sign_in(client, "rep1")
    h = phone.headers
    vid = await new_visit(client, h, world.customers["c0"])
    await phone.pull_all()
    data = at_visit(50)
    media_id = await upload_photo(client, h, vid, data)

    # The photo reaches the rep's phone on its next pull, before the rendition exists.
    changes = await phone.pull_all()
    [photo_change] = [c for c in changes if c["entity"] == "photo"]
    assert photo_change["data"]["media_id"] == media_id
    assert photo_change["data"]["visit_id"] == vid
    r = await client.get(f"/v1/media/{media_id}", headers=h)
    assert r.status_code == 409
    assert problem(r)["code"] == "not_ready"
    assert r.headers["retry-after"]

    assert await drain(worker) == 1
    r = await client.get(f"/v1/media/{media_id}", headers=h)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert r.headers["etag"] == f'"{sha256(r.content)}"'
    assert r.headers["content-length"] == str(len(r.content))
    rendition = r.content

    # The watermark band: the bottom of the picture is darkened with light text on it, the rest
    # is the photo itself (re-encoded).
    original, marked = _decode(data), _decode(rendition)
    assert marked.shape == original.shape
    height = marked.shape[0]
    top, band = slice(0, int(height * 0.6)), slice(int(height * 0.92), height)
    assert np.abs(marked[top] - original[top]).mean() < 4.0
    assert marked[band].mean() < 0.7 * original[band].mean()
    text = (marked[band].min(axis=2) > 225) & (original[band].max(axis=2) < 200)
    assert text.sum() > 500  # white glyphs where the photo was not white

    # Thumbnail: a small WebP with its own ETag.
    r = await client.get(f"/v1/media/{media_id}/thumbnail", headers=h)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(r.content)).size) == 320
    assert r.headers["etag"] == f'"{sha256(r.content)}"'

    # Conditional requests.
    tag = (await client.get(f"/v1/media/{media_id}", headers=h)).headers["etag"]
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        r = await client.get(f"/v1/media/{media_id}", headers={**h, "If-None-Match": sent})
        assert r.status_code == 304, sent
        assert r.content == b""
        assert r.headers["etag"] == tag
    r = await client.get(f"/v1/media/{media_id}", headers={**h, "If-None-Match": '"something-else"'})
    assert r.status_code == 200
    r = await client.get(
        f"/v1/media/{media_id}/original", headers={**h, "If-None-Match": f'"{sha256(data)}"'}
    )
    assert r.status_code == 304

    # Verification: authentic as issued; not after one changed pixel, a byte change or a re-encode.
    result = await _verify(client, h, rendition)
    assert result["authentic"] is True
    assert result["reason"] == "verified"
    assert result["media_id"] == media_id
    assert result["visit_id"] == vid
    assert result["rep_id"] == str(world.users["rep1"])
    assert (result["lat"], result["lon"]) == C0
    assert result["issued_at"].endswith("Z")
    image = Image.open(io.BytesIO(rendition)).convert("RGB")
    image.putpixel((10, 10), tuple(255 - v for v in image.getpixel((10, 10))))
    for altered in (
        _jpeg(image, 85),
        _flip_scan_byte(rendition),
        _jpeg(Image.open(io.BytesIO(rendition)), 95),
    ):
        result = await _verify(client, h, altered)
        assert result["authentic"] is False
        assert "media_id" not in result
    assert (await _verify(client, h, _flip_scan_byte(rendition)))["reason"] == "altered"
    assert (await _verify(client, h, data))["reason"] == "not_issued"  # the original is not a rendition
    # Another tenant's server records do not vouch for this one.
    result = await _verify(client, await rep(client, "admin_b"), rendition)
    assert result["authentic"] is False
    # The public keys are published for offline checks.
    keys = (await client.get("/v1/media/keys")).json()["keys"]
    assert keys[0]["crv"] == "Ed25519"

    # The evidence reached the phone too.
    changes = await phone.pull_all()
    [photo_change] = [c for c in changes if c["entity"] == "photo"]
    evidence = photo_change["data"]["evidence"]
    assert evidence["flags"] == []
    assert 20 < evidence["distance_to_check_in_m"] < 50
    assert abs(evidence["time_diff_s"]) < 300


async def test_evidence_flags_and_reuse_naming_the_earlier_photo(client, world, worker) -> None:
    rep1, rep2 = await rep(client, "rep1"), await rep(client, "rep2")
    v1 = await new_visit(client, rep1, world.customers["c0"])
    v2 = await new_visit(client, rep2, world.customers["c0"])
    v3 = await new_visit(client, rep1, world.customers["c0"])
    v4 = await new_visit(client, rep1, world.customers["c0"], check_in=False)
    first = at_visit(60)
    await upload_photo(client, rep1, v1, first)
    assert await drain(worker) == 1

    # A resized, recompressed copy of it at another rep's visit; a different photo at a third.
    copy = Image.open(io.BytesIO(first))
    copy = copy.resize((copy.width // 2, copy.height // 2), Image.Resampling.LANCZOS)
    await upload_photo(client, rep2, v2, _jpeg(copy, 70))
    await upload_photo(client, rep1, v3, at_visit(61))
    far_and_old = photo(62, taken_at=datetime(2020, 1, 1, 9, 0), lat=31.30, lon=121.50)
    await upload_photo(client, rep1, v3, far_and_old)
    await upload_photo(client, rep1, v4, photo(63))  # no EXIF, visit without check-in
    assert await drain(worker) == 4

    async def evidence(headers: dict[str, str], visit: str) -> list[dict[str, Any]]:
        items = (await client.get(f"/v1/photos?visit_id={visit}", headers=headers)).json()["items"]
        return [p["evidence"] for p in items]

    [earlier] = (await client.get(f"/v1/photos?visit_id={v1}", headers=rep1)).json()["items"]
    [reused] = await evidence(rep2, v2)
    assert reused["reused_from"] == earlier["id"]
    assert "reused_photo" in reused["flags"]
    fresh, far = await evidence(rep1, v3)
    assert fresh["reused_from"] is None
    assert "reused_photo" not in fresh["flags"]
    assert set(far["flags"]) == {"exif_far_from_check_in", "exif_time_mismatch"}
    assert far["distance_to_check_in_m"] > 5000
    [bare] = await evidence(rep1, v4)
    assert set(bare["flags"]) == {"missing_exif", "no_check_in"}
    assert earlier["evidence"]["reused_from"] is None
    await _rendition_of_a_large_rotated_photo(client, rep1, v4, worker)


async def test_who_may_read_renditions_and_originals(client, world, worker) -> None:
    rep1 = await rep(client, "rep1")
    vid = await new_visit(client, rep1, world.customers["c0"])
    data = at_visit(70)
    media_id = await upload_photo(client, rep1, vid, data)
    await drain(worker)
    allowed = {"rep1": rep1, "manager1": await rep(client, "manager1"), "admin": await rep(client, "admin")}
    refused = {key: await rep(client, key) for key in ("rep2", "rep3", "manager2", "admin_b", "rep_b")}
    for key, headers in allowed.items():
        r = await client.get(f"/v1/media/{media_id}/original", headers=headers)
        assert r.status_code == 200, key
        assert r.content == data
        assert r.headers["content-length"] == str(len(data))
        assert r.headers["content-type"] == "image/jpeg"
        assert r.headers["etag"] == f'"{sha256(data)}"'
        assert (await client.get(f"/v1/media/{media_id}", headers=headers)).status_code == 200
    for key, headers in refused.items():
        for suffix in ("", "/thumbnail", "/original"):
            r = await client.get(f"/v1/media/{media_id}{suffix}", headers=headers)
            assert r.status_code == 404, (key, suffix)
            assert problem(r)["code"] == "not_found"
    assert (await client.get(f"/v1/media/{media_id}/original")).status_code == 401


async def test_a_rendition_that_keeps_failing_marks_the_media_failed(
    client, world, worker, settings, session_factory
) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    r = await one_shot(client, h, at_visit(80), kind="visit_photo", entity_id=vid)
    assert r.status_code == 201
    media_id = r.json()["id"]
    async with write_session(session_factory) as s:
        key = await s.scalar(select(Media.storage_key).where(Media.id == uuid.UUID(media_id)))
        await s.execute(update(Job).where(Job.kind == "media.render").values(max_attempts=1))
    (settings.media_root / key).unlink()  # the stored original is lost
    assert await drain(worker) == 1
    r = await client.get(f"/v1/media/{media_id}", headers=h)
    assert r.status_code == 409
    assert problem(r)["code"] == "rendition_failed"
    async with session_factory() as s:
        job = await s.scalar(select(Job).where(Job.kind == "media.render"))
        assert job.status == "failed"
        assert "storage" in job.last_error


async def _rendition_of_a_large_rotated_photo(client, h, vid, worker) -> None:
    # 3000x2000 stored sideways (EXIF orientation 6: the phone was held upright).
    image = gen.photo_like(3000, 2000, seed=90)
    data = gen.encode(image, quality=85, exif=gen.make_exif(orientation=6).tobytes())
    r = await one_shot(client, h, data, kind="visit_photo", entity_id=vid)
    assert r.status_code == 201
    body = r.json()
    assert (body["width"], body["height"]) == (2000, 3000)
    await drain(worker)
    rendition = Image.open(io.BytesIO((await client.get(f"/v1/media/{body['id']}", headers=h)).content))
    assert rendition.size == (1365, 2048)  # upright, longest side 2048
    assert rendition.getexif().get(0x0112) is None  # no EXIF carried over
