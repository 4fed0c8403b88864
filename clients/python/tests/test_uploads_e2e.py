"""End-to-end uploads against the real server's tus endpoint (``/v1/uploads``): an upload cut
halfway and resumed after an app restart, checksums, the media linked to its photo or expense,
and termination."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import httpx
import pytest
from fieldline_client import NetworkError, RetryPolicy, SqliteStorage
from fieldline_client.testing import NetworkSimulator
from PIL import Image
from sdk_server import PASSWORD

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024


def test_server_announces_tus(server) -> None:
    r = httpx.options(f"{server.url}/v1/uploads", headers={"Tus-Resumable": "1.0.0"})
    assert r.status_code in (200, 204)
    assert "creation" in r.headers["Tus-Extension"]
    assert "checksum" in r.headers["Tus-Extension"]


def photo_bytes(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def nth_patch(n: int, where: str):
    seen = {"patches": 0}

    def rule(request: httpx.Request) -> str | None:
        if request.method != "PATCH":
            return None
        seen["patches"] += 1
        return where if seen["patches"] == n else None

    return rule


async def original_sha256(client, media_id: str) -> str:
    response = await client.http.request("GET", f"/v1/media/{media_id}/original")
    return hashlib.sha256(response.content).hexdigest()


async def test_interrupted_photo_upload_resumes_after_restart_and_becomes_a_photo(
    server, make_client, tmp_path: Path
) -> None:
    data = photo_bytes(1)
    assert len(data) > 3 * CHUNK
    path = tmp_path / "shelf.jpg"
    path.write_bytes(data)
    state_db = tmp_path / "phone.db"
    storage = SqliteStorage(state_db)
    net = NetworkSimulator(paths=None, rules=[nth_patch(3, "after")])
    first = make_client(storage, transport=net, retry=RetryPolicy(attempts=1), upload_chunk_size=CHUNK)
    await first.login(server.email("rep1"), PASSWORD)
    visit = await first.create("visit", {"customer_id": str(server.world.customers["c0"])})
    with pytest.raises(NetworkError):
        await first.upload(path, "visit_photo", visit, content_type="image/jpeg")
    (pending,) = await first.pending_uploads()
    assert pending.url is not None
    assert 0 < pending.offset < len(data)
    await first.close()
    storage.close()

    storage = SqliteStorage(state_db)
    second = make_client(storage, upload_chunk_size=CHUNK)
    (media_id,) = await second.resume_uploads()
    assert await second.pending_uploads() == []
    assert await original_sha256(second, media_id) == hashlib.sha256(data).hexdigest()
    await second.sync()
    photos = await second.list("photo", lambda p: p["visit_id"] == visit)
    assert [p["media_id"] for p in photos] == [media_id]
    storage.close()


class CorruptFirstPatch(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.done = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and not self.done:
            self.done = True
            body = bytearray(request.read())
            body[100] ^= 0xFF
            request = httpx.Request(request.method, request.url, headers=request.headers, content=bytes(body))
        return await self.inner.handle_async_request(request)


async def test_a_damaged_chunk_is_refused_by_checksum_and_the_receipt_is_linked(server, signed_in) -> None:
    transport = CorruptFirstPatch()
    rep = await signed_in("rep3", transport=transport, upload_chunk_size=CHUNK)
    expense = await rep.create("expense", {"merchant": "Lawson", "total": "18.00", "currency": "CNY"})
    data = photo_bytes(2)
    media_id = await rep.upload(data, "receipt", expense, filename="receipt.jpg", content_type="image/jpeg")
    assert transport.done
    assert await original_sha256(rep, media_id) == hashlib.sha256(data).hexdigest()
    await rep.sync()
    assert (await rep.get("expense", expense) or {})["receipt_media_id"] == media_id


async def test_cancelled_upload_is_terminated_on_the_server(server, signed_in) -> None:
    net = NetworkSimulator(paths=None, rules=[nth_patch(2, "before")])
    rep = await signed_in("rep2", transport=net, retry=RetryPolicy(attempts=1), upload_chunk_size=CHUNK)
    visit = await rep.create("visit", {"customer_id": str(server.world.customers["c2"])})
    with pytest.raises(NetworkError):
        await rep.upload(photo_bytes(3), "visit_photo", visit)
    (pending,) = await rep.pending_uploads()
    await rep.cancel_upload(pending.id)
    assert await rep.pending_uploads() == []
    gone = await rep.http.request(
        "HEAD", pending.url, headers={"Tus-Resumable": "1.0.0"}, ok=lambda r: r.status_code in (404, 410)
    )
    assert gone.status_code in (404, 410)
