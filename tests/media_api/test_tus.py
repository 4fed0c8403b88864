"""tus 1.0 at /v1/uploads: discovery, creation, resume after an interruption, offsets, checksums,
termination, version checks, expiry."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from api.db.engine import write_session
from api.jobs import queue
from api.lib.clock import utcnow
from media.models import Media, Upload
from tests.media_api.conftest import (
    MAX_BYTES,
    TUS,
    asgi_call,
    at_visit,
    drain,
    metadata,
    new_visit,
    problem,
    rep,
    sha256,
    tus_create,
    tus_patch,
)


def _parts(settings) -> list[Path]:
    return sorted((settings.upload_path / "parts").glob("*.part"))


async def test_discovery_needs_no_token(client) -> None:
    r = await client.options("/v1/uploads")
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert r.headers["tus-resumable"] == "1.0.0"
    assert {"creation", "creation-with-upload", "checksum", "termination", "expiration"} <= set(
        r.headers["tus-extension"].split(",")
    )
    assert int(r.headers["tus-max-size"]) == MAX_BYTES
    assert "sha1" in r.headers["tus-checksum-algorithm"].split(",")


async def test_interrupted_upload_resumes_from_the_server_offset(client, world, settings) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    data = at_visit(2)
    r = await tus_create(client, h, len(data), entity_id=vid)
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    assert location.startswith("/v1/uploads/")
    assert "upload-expires" in r.headers

    # The phone sends three 40 KB pieces of its first PATCH, then loses the connection.
    pieces = [data[i : i + 40_000] for i in range(0, 120_000, 40_000)]
    patch_headers = {
        **h,
        **TUS,
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(data)),
    }
    asgi_call(client, "PATCH", location, patch_headers, pieces, disconnect=True)

    r = await client.head(location, headers={**h, **TUS})
    assert r.status_code == 200
    assert r.headers["upload-offset"] == "120000"
    assert r.headers["upload-length"] == str(len(data))
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["tus-resumable"] == "1.0.0"
    assert (settings.upload_path / "parts").exists()
    assert _parts(settings)[0].read_bytes() == data[:120_000]

    r = await tus_patch(client, h, location, 120_000, data[120_000:])
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == str(len(data))
    media_id = r.headers["fieldline-media-id"]
    original = await client.get(f"/v1/media/{media_id}/original", headers=h)
    assert original.status_code == 200
    assert sha256(original.content) == sha256(data)
    assert _parts(settings) == []  # the part file is gone once the original is stored
    # HEAD after completion still answers, naming the media.
    r = await client.head(location, headers={**h, **TUS})
    assert r.headers["upload-offset"] == str(len(data))
    assert r.headers["fieldline-media-id"] == media_id
    photos = (await client.get(f"/v1/photos?visit_id={vid}", headers=h)).json()
    assert [p["media_id"] for p in photos["items"]] == [media_id]


async def _offset_mismatch_is_409_and_changes_nothing(client, h, vid) -> None:
    data = at_visit(3)
    location = (await tus_create(client, h, len(data), entity_id=vid)).headers["location"]
    assert (await tus_patch(client, h, location, 0, data[:1000])).status_code == 204
    for wrong in (0, 999, 5000):
        r = await tus_patch(client, h, location, wrong, data[wrong : wrong + 1000])
        assert r.status_code == 409
        body = problem(r)
        assert body["code"] == "offset_mismatch"
        assert r.headers["upload-offset"] == "1000"
        assert r.headers["tus-resumable"] == "1.0.0"
    r = await client.head(location, headers={**h, **TUS})
    assert r.headers["upload-offset"] == "1000"
    r = await tus_patch(client, h, location, 1000, data[1000:])
    assert r.status_code == 204


def _checksum(algorithm: str, data: bytes) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm} {base64.b64encode(digest).decode()}"


async def _checksum_mismatch_is_460_with_the_chunk_discarded(client, h, vid, settings) -> None:
    data = at_visit(4)
    location = (await tus_create(client, h, len(data), entity_id=vid)).headers["location"]
    first = data[:50_000]
    r = await tus_patch(client, h, location, 0, first, **{"Upload-Checksum": _checksum("sha1", first)})
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "50000"

    chunk = data[50_000:100_000]
    corrupted = chunk[:-1] + bytes([chunk[-1] ^ 0xFF])  # one bit flipped on the way
    r = await tus_patch(
        client, h, location, 50_000, corrupted, **{"Upload-Checksum": _checksum("sha256", chunk)}
    )
    assert r.status_code == 460
    assert problem(r)["code"] == "checksum_mismatch"
    r = await client.head(location, headers={**h, **TUS})
    assert r.headers["upload-offset"] == "50000"
    assert _parts(settings)[0].stat().st_size == 50_000  # nothing of the bad chunk was appended

    r = await tus_patch(client, h, location, 50_000, chunk, **{"Upload-Checksum": "crc32 AAAAAA=="})
    assert r.status_code == 400
    assert problem(r)["code"] == "checksum_algorithm_unsupported"
    rest = data[50_000:]
    r = await tus_patch(client, h, location, 50_000, rest, **{"Upload-Checksum": _checksum("md5", rest)})
    assert r.status_code == 204, r.text
    assert r.headers["fieldline-media-id"]


async def _termination_removes_the_upload_and_its_bytes(client, h, vid, settings) -> None:
    data = at_visit(5)
    location = (await tus_create(client, h, len(data), entity_id=vid)).headers["location"]
    assert (await tus_patch(client, h, location, 0, data[:10_000])).status_code == 204
    assert len(_parts(settings)) == 1
    r = await client.delete(location, headers={**h, **TUS})
    assert r.status_code == 204
    assert r.headers["tus-resumable"] == "1.0.0"
    assert _parts(settings) == []
    r = await client.head(location, headers={**h, **TUS})
    assert r.status_code == 404
    r = await tus_patch(client, h, location, 10_000, data[10_000:])
    assert r.status_code == 404
    assert problem(r)["code"] == "not_found"


async def _unsupported_or_missing_tus_version_is_412(client, h, vid) -> None:
    meta = metadata(kind="visit_photo", entity_id=vid)
    for version in ("0.2.2", None):
        headers = {**h, "Upload-Length": "100", "Upload-Metadata": meta}
        if version:
            headers["Tus-Resumable"] = version
        r = await client.post("/v1/uploads", headers=headers)
        assert r.status_code == 412
        assert r.headers["tus-version"] == "1.0.0"
        assert problem(r)["code"] == "tus_version_unsupported"
    location = (await tus_create(client, h, 100, entity_id=vid)).headers["location"]
    r = await client.head(location, headers={**h, "Tus-Resumable": "2.0.0"})
    assert r.status_code == 412
    r = await client.patch(
        location,
        content=b"x" * 10,
        headers={
            **h,
            "Tus-Resumable": "0.2.2",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 412
    assert (await client.head(location, headers={**h, **TUS})).headers["upload-offset"] == "0"


async def _bad_creation_and_patch_headers(client, h, vid) -> None:
    cases = [
        ({"Upload-Metadata": metadata(kind="visit_photo", entity_id=vid)}, 400, "missing_header"),
        (
            {"Upload-Length": "-5", "Upload-Metadata": metadata(kind="visit_photo", entity_id=vid)},
            400,
            "invalid_header",
        ),
        ({"Upload-Length": "10", "Upload-Metadata": "kind !!!notbase64"}, 400, "invalid_metadata"),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(kind="visit_photo")}, 422, "invalid_metadata"),
        (
            {"Upload-Length": "10", "Upload-Metadata": metadata(kind="selfie", entity_id=vid)},
            422,
            "invalid_kind",
        ),
        (
            {"Upload-Defer-Length": "1", "Upload-Metadata": metadata(kind="visit_photo", entity_id=vid)},
            400,
            "invalid_header",
        ),
    ]
    for headers, status, code in cases:
        r = await client.post("/v1/uploads", headers={**h, **TUS, **headers})
        assert r.status_code == status, (headers, r.text)
        assert problem(r)["code"] == code
    location = (await tus_create(client, h, 100, entity_id=vid)).headers["location"]
    r = await client.patch(
        location, content=b"x" * 10, headers={**h, **TUS, "Upload-Offset": "0", "Content-Type": "image/jpeg"}
    )
    assert r.status_code == 415
    assert problem(r)["code"] == "unsupported_media_type"
    r = await client.patch(
        location, content=b"x" * 10, headers={**h, **TUS, "Content-Type": "application/offset+octet-stream"}
    )
    assert r.status_code == 400
    assert problem(r)["code"] == "missing_header"


async def _creation_with_upload_completes_in_one_request(client, h, vid) -> None:
    data = at_visit(6)
    r = await tus_create(
        client,
        h,
        len(data),
        entity_id=vid,
        extra={"Content-Type": "application/offset+octet-stream"},
    )
    assert r.status_code == 201  # no body sent yet: a plain creation
    r = await client.post(
        "/v1/uploads",
        content=data,
        headers={
            **h,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(kind="visit_photo", entity_id=vid, filename="a.jpg"),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["upload-offset"] == str(len(data))
    media_id = r.headers["fieldline-media-id"]
    body = (await client.get(f"/v1/media/{media_id}/original", headers=h)).content
    assert body == data


async def _uploads_belong_to_their_creator(client, world) -> None:
    h1, h2 = await rep(client, "rep1"), await rep(client, "rep2")
    vid = await new_visit(client, h1, world.customers["c0"])
    location = (await tus_create(client, h1, 1000, entity_id=vid)).headers["location"]
    for r in (
        await client.head(location, headers={**h2, **TUS}),
        await tus_patch(client, h2, location, 0, b"x" * 10),
        await client.delete(location, headers={**h2, **TUS}),
    ):
        assert r.status_code == 404
    assert (await client.head(location, headers={**h1, **TUS})).status_code == 200
    assert (await client.head(location, headers=TUS)).status_code == 401


async def _a_second_writer_is_refused_while_the_upload_is_locked(client, h, vid, settings) -> None:
    location = (await tus_create(client, h, 1000, entity_id=vid)).headers["location"]
    [part] = _parts(settings)
    fd = os.open(part, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process is writing this upload
        r = await tus_patch(client, h, location, 0, b"x" * 10)
        assert r.status_code == 423
        assert problem(r)["code"] == "upload_locked"
    finally:
        os.close(fd)
    assert (await tus_patch(client, h, location, 0, b"x" * 10)).status_code == 204


async def test_expired_uploads_are_gone_and_swept(client, world, settings, session_factory, worker) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    location = (await tus_create(client, h, 1000, entity_id=vid)).headers["location"]
    assert (await tus_patch(client, h, location, 0, b"x" * 100)).status_code == 204
    async with write_session(session_factory) as s:
        await s.execute(update(Upload).values(expires_at=utcnow() - timedelta(minutes=1)))
    r = await client.head(location, headers={**h, **TUS})
    assert r.status_code == 410  # HEAD answers carry no body
    r = await tus_patch(client, h, location, 100, b"x" * 100)
    assert r.status_code == 410
    assert problem(r)["code"] == "upload_expired"
    # Files a crash left behind: a part file without a row, a one-shot spool file.
    orphan = settings.upload_path / "parts" / f"{'ab' * 16}.part"
    stray = settings.upload_path / "incoming" / "oneshot-stray"
    stray.parent.mkdir(parents=True, exist_ok=True)
    for path in (orphan, stray):
        path.write_bytes(b"x")
        os.utime(path, (0, 0))
    async with write_session(session_factory) as s:
        await queue.enqueue(s, "media.sweep_uploads", {})
    assert await drain(worker) == 1
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Upload)) == 0
        assert await s.scalar(select(func.count()).select_from(Media)) == 0
    assert _parts(settings) == []
    assert not stray.exists()
    assert (await client.head(location, headers={**h, **TUS})).status_code == 404


async def test_refusals_leave_the_upload_as_it_was(client, world, settings) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    await _offset_mismatch_is_409_and_changes_nothing(client, h, vid)
    await _checksum_mismatch_is_460_with_the_chunk_discarded(client, h, vid, settings)
    await _unsupported_or_missing_tus_version_is_412(client, h, vid)
    await _bad_creation_and_patch_headers(client, h, vid)
    await _uploads_belong_to_their_creator(client, world)


async def test_termination_locking_and_creation_with_upload(client, world, settings) -> None:
    h = await rep(client)
    vid = await new_visit(client, h, world.customers["c0"])
    await _termination_removes_the_upload_and_its_bytes(client, h, vid, settings)
    await _a_second_writer_is_refused_while_the_upload_is_locked(client, h, vid, settings)
    await _creation_with_upload_completes_in_one_request(client, h, vid)
