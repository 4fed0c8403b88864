"""Bad uploads are refused with a clear problem+json code, leave nothing stored half-way, and do
not disturb other uploads."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from api.jobs.models import Job
from api.photos.models import Photo
from media.models import Media, Upload
from tests.media import mediagen as gen
from tests.media_api.conftest import (
    MAX_BYTES,
    TUS,
    asgi_call,
    at_visit,
    new_expense,
    new_visit,
    one_shot,
    problem,
    rep,
    sha256,
    stored_files,
    tus_create,
    tus_patch,
    tus_upload,
    upload_photo,
)


async def _counts(session_factory: Any) -> dict[str, int]:
    async with session_factory() as s:
        return {
            model.__name__: int(await s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Media, Upload, Photo, Job)
        }


@pytest.fixture
def bad_files(fifty_megapixels: bytes) -> list[tuple[str, bytes, str, int, str]]:
    """(name, bytes, declared type, status, code) for a visit photo."""
    good = at_visit(21)
    return [
        (
            "text file named photo.jpg",
            b"hello, not a photo\n" * 200,
            "image/jpeg",
            415,
            "unsupported_media_type",
        ),
        ("PDF as a visit photo", gen.minimal_pdf(), "image/jpeg", 415, "unsupported_media_type"),
        (
            "GIF (not accepted)",
            gen.encode(gen.photo_like(64, 48), "GIF"),
            "image/gif",
            415,
            "unsupported_media_type",
        ),
        ("truncated JPEG", good[: len(good) // 2], "image/jpeg", 422, "corrupt_image"),
        ("JPEG cut after its header", good[:600], "image/jpeg", 422, "corrupt_image"),
        ("50-megapixel photo", fifty_megapixels, "image/jpeg", 422, "image_too_large"),
        ("decompression bomb PNG", gen.png_bomb(10_000, 10_000), "image/png", 422, "image_too_large"),
    ]


async def _baseline(client: Any, h: dict[str, str], world: Any) -> tuple[str, bytes, str, bytes]:
    """One finished upload and one half-way tus upload that the bad ones must not disturb."""
    vid = await new_visit(client, h, world.customers["c0"])
    done = at_visit(20)
    media_id = await upload_photo(client, h, vid, done)
    pending = at_visit(22)
    location = (await tus_create(client, h, len(pending), entity_id=vid)).headers["location"]
    assert (await tus_patch(client, h, location, 0, pending[:30_000])).status_code == 204
    return media_id, done, location, pending


async def _still_fine(client: Any, h: dict[str, str], baseline: tuple[str, bytes, str, bytes]) -> None:
    media_id, done, location, pending = baseline
    original = await client.get(f"/v1/media/{media_id}/original", headers=h)
    assert sha256(original.content) == sha256(done)
    r = await tus_patch(client, h, location, 30_000, pending[30_000:])
    assert r.status_code == 204, r.text


async def test_bad_files_through_tus(client, world, settings, session_factory, bad_files) -> None:
    h = await rep(client)
    baseline = await _baseline(client, h, world)
    vid = await new_visit(client, h, world.customers["c0"])
    before, files = await _counts(session_factory), stored_files(settings)
    for name, data, declared, status, code in bad_files:
        r = await tus_upload(client, h, data, entity_id=vid, content_type=declared)
        assert r.status_code == status, (name, r.text)
        body = problem(r)
        assert body["code"] == code, name
        assert body["detail"]
        assert "/" not in body["detail"].replace("image/", "").replace("application/", "")
        assert r.headers["tus-resumable"] == "1.0.0"
        # The refused upload is gone entirely: no row, no part file, no stored object.
        assert await _counts(session_factory) == before, name
        assert stored_files(settings) == files, name
    await _still_fine(client, h, baseline)


async def test_bad_files_one_shot(client, world, settings, session_factory, bad_files) -> None:
    h = await rep(client)
    baseline = await _baseline(client, h, world)
    vid = await new_visit(client, h, world.customers["c0"])
    before, files = await _counts(session_factory), stored_files(settings)
    for name, data, declared, status, code in [
        *bad_files,
        ("empty file", b"", "image/jpeg", 400, "empty_file"),
    ]:
        r = await one_shot(client, h, data, kind="visit_photo", entity_id=vid, content_type=declared)
        assert r.status_code == status, (name, r.text)
        assert problem(r)["code"] == code, name
        assert await _counts(session_factory) == before, name
        assert stored_files(settings) == files, name
    await _still_fine(client, h, baseline)


async def test_size_limits_at_creation_and_while_streaming(client, world, settings, session_factory) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    before = await _counts(session_factory)

    # tus: refused from Upload-Length alone, before a byte is sent.
    r = await tus_create(client, h, MAX_BYTES + 1, entity_id=vid)
    assert r.status_code == 413
    assert problem(r)["code"] == "payload_too_large"
    assert str(MAX_BYTES) in r.json()["detail"]
    r = await tus_create(client, h, 0, entity_id=vid)
    assert r.status_code == 400
    assert problem(r)["code"] == "empty_file"

    # tus: a PATCH running past Upload-Length is refused and nothing of it is kept.
    location = (await tus_create(client, h, 1000, entity_id=vid)).headers["location"]
    r = await tus_patch(client, h, location, 0, b"x" * 1500)
    assert r.status_code == 413
    assert problem(r)["code"] == "payload_too_large"
    assert (await client.head(location, headers={**h, **TUS})).headers["upload-offset"] == "0"
    assert (await client.delete(location, headers={**h, **TUS})).status_code == 204

    # One-shot: a body over the limit, sent in chunks without Content-Length, is cut off.
    boundary = "fieldline-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvisit_photo\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="entity_id"\r\n\r\n{vid}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    chunks = [head] + [b"\xff" * 1_000_000] * 7 + [f"\r\n--{boundary}--\r\n".encode()]
    status, headers, body = asgi_call(
        client,
        "POST",
        "/v1/media",
        {**h, "Content-Type": f"multipart/form-data; boundary={boundary}", "Transfer-Encoding": "chunked"},
        chunks,
    )
    assert status == 413
    assert headers["content-type"].startswith("application/problem+json")
    assert b'"payload_too_large"' in body
    # ... and the JSON API keeps its small limit.
    r = await client.post(
        "/v1/visits",
        content=b"{" + b" " * 1_200_000 + b"}",
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert await _counts(session_factory) == before
    assert [p for p in stored_files(settings) if p.suffix == ".part" or "oneshot" in p.name] == []


async def test_declared_type_is_not_trusted(client, world, session_factory) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    png = gen.encode(gen.photo_like(640, 480, seed=30), "PNG")
    r = await one_shot(
        client, h, png, kind="visit_photo", entity_id=vid, filename="x.jpg", content_type="image/jpeg"
    )
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/png"  # accepted by its sniffed type
    jpeg = at_visit(31)
    r = await tus_upload(client, h, jpeg, entity_id=vid, content_type="application/octet-stream")
    assert r.status_code == 204
    media = await client.get(f"/v1/media/{r.headers['fieldline-media-id']}/original", headers=h)
    assert media.headers["content-type"] == "image/jpeg"
    # A receipt may be a PDF whatever it is declared as; a visit photo may not.
    expense = await new_expense(client, h)
    pdf = gen.minimal_pdf()
    r = await one_shot(
        client, h, pdf, kind="receipt", entity_id=expense, filename="r.jpg", content_type="image/jpeg"
    )
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "application/pdf"
    r = await one_shot(client, h, pdf, kind="visit_photo", entity_id=vid, content_type="application/pdf")
    assert r.status_code == 415
    assert problem(r)["code"] == "unsupported_media_type"


async def test_targets_outside_the_callers_reach(client, world, session_factory) -> None:
    rep1, rep2 = await rep(client, "rep1"), await rep(client, "rep2")
    beta = await rep(client, "rep_b")
    manager2 = await rep(client, "manager2")
    visit1 = await new_visit(client, rep1, world.customers["c0"])
    beta_visit = await new_visit(client, beta, world.customers["b0"], check_in=False)
    data = at_visit(40)
    before = await _counts(session_factory)
    cases = [
        (rep1, beta_visit, "visit_photo", "another tenant's visit"),
        (rep2, visit1, "visit_photo", "another rep's visit"),
        (manager2, visit1, "visit_photo", "a visit outside the manager's team"),
        (rep1, str(uuid.uuid4()), "visit_photo", "an unknown id"),
        (rep1, visit1, "receipt", "a visit given as an expense"),
    ]
    for headers, entity, kind, name in cases:
        r = await tus_create(client, headers, len(data), entity_id=entity, kind=kind)
        assert r.status_code == 404, name
        assert problem(r)["code"] == "not_found"
        r = await one_shot(client, headers, data, kind=kind, entity_id=entity)
        assert r.status_code == 404, name
        assert problem(r)["code"] == "not_found"
    assert await _counts(session_factory) == before
    # The rep's manager and an admin may add a photo to the rep's visit.
    for key in ("manager1", "admin"):
        r = await one_shot(
            client,
            await rep(client, key),
            at_visit(41 if key == "admin" else 42),
            kind="visit_photo",
            entity_id=visit1,
        )
        assert r.status_code == 201, (key, r.text)
    # A receipt cannot replace the one of an approved expense.
    expense = await new_expense(client, rep1)
    r = await client.post(f"/v1/expenses/{expense}/submit", headers=rep1)
    assert r.status_code == 200
    r = await client.post(
        f"/v1/expenses/{expense}/review", json={"status": "approved"}, headers=await rep(client, "manager1")
    )
    assert r.status_code == 200, r.text
    r = await one_shot(
        client, rep1, gen.minimal_pdf(), kind="receipt", entity_id=expense, content_type="application/pdf"
    )
    assert r.status_code == 409
    assert problem(r)["code"] == "locked"
    r = await one_shot(client, rep1, data, kind="selfie", entity_id=visit1)
    assert r.status_code == 422
    assert problem(r)["code"] == "invalid_kind"
    r = await one_shot(client, rep1, data, kind="visit_photo", entity_id="not-a-uuid")
    assert r.status_code == 422
    assert problem(r)["code"] == "validation_failed"
