"""The tus client against a tiny tus server on a real socket: chunks, resume after a restart,
checksums, expiry and termination."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from fieldline_client import FieldlineError, MemoryStorage, NetworkError, RetryPolicy, SqliteStorage
from fieldline_client.storage import StorageAdapter
from fieldline_client.testing import NetworkSimulator
from fieldline_client.transport import Http
from fieldline_client.uploads import Uploader
from tus_server import TusServer

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024
DATA = os.urandom(5 * CHUNK + 1234)
ENTITY = "01a209e0-7c5e-7187-89b6-2f639fb8e99d"


@pytest.fixture
def tus():
    with TusServer() as server:
        yield server


def uploader(
    url: str, storage: StorageAdapter, transport: httpx.AsyncBaseTransport | None = None, attempts: int = 4
) -> Uploader:
    http = Http(url, transport=transport, retry=RetryPolicy(attempts=attempts, base=0.001, cap=0.01))
    return Uploader(http, storage, chunk_size=CHUNK, auth=False)


def nth_patch(n: int, where: str):
    seen = {"patches": 0}

    def rule(request: httpx.Request) -> str | None:
        if request.method != "PATCH":
            return None
        seen["patches"] += 1
        return where if seen["patches"] == n else None

    return rule


async def test_upload_is_sent_in_checksummed_chunks_with_metadata(tus: TusServer) -> None:
    up = uploader(tus.url, MemoryStorage())
    state = await up.add(DATA, "visit_photo", ENTITY, filename="shelf.jpg", content_type="image/jpeg")
    media_id = await up.run(state)
    (stored,) = tus.state.uploads.values()
    assert bytes(stored.data) == DATA
    assert stored.media_id == media_id
    assert stored.metadata == {
        "kind": "visit_photo",
        "entity_id": ENTITY,
        "filename": "shelf.jpg",
        "content_type": "image/jpeg",
    }
    assert tus.state.patches == 6
    assert tus.state.checksum_failures == 0
    assert await up.pending() == []
    await up.http.aclose()


async def test_interrupted_upload_resumes_from_the_servers_offset_after_a_restart(
    tus: TusServer, tmp_path: Path
) -> None:
    path = tmp_path / "photo.bin"
    path.write_bytes(DATA)
    storage = SqliteStorage(tmp_path / "state.db")
    # The third chunk reaches the server but its answer is lost; the app dies before retrying.
    net = NetworkSimulator(paths=None, rules=[nth_patch(3, "after")])
    first = uploader(tus.url, storage, transport=net, attempts=1)
    state = await first.add(path, "receipt", ENTITY)
    with pytest.raises(NetworkError):
        await first.run(state)
    await first.http.aclose()
    storage.close()

    storage = SqliteStorage(tmp_path / "state.db")
    second = uploader(tus.url, storage)
    (saved,) = await second.pending()
    assert saved.url is not None
    assert saved.offset == 2 * CHUNK
    assert saved.filename == "photo.bin"
    media_id = await second.run(saved)
    (stored,) = tus.state.uploads.values()
    assert hashlib.sha256(stored.data).digest() == hashlib.sha256(DATA).digest()
    assert stored.media_id == media_id
    assert tus.state.patches == 6  # chunk 3 was not sent twice: the HEAD said the server had it
    assert await second.pending() == []
    await second.http.aclose()
    storage.close()


class CorruptFirstPatch(httpx.AsyncBaseTransport):
    """Flips one byte of the first PATCH body on the way (the checksum header stays right)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.done = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH" and not self.done:
            self.done = True
            body = bytearray(request.read())
            body[10] ^= 0xFF
            request = httpx.Request(request.method, request.url, headers=request.headers, content=bytes(body))
        return await self.inner.handle_async_request(request)


async def test_a_corrupted_chunk_is_refused_by_checksum_and_sent_again(tus: TusServer) -> None:
    up = uploader(tus.url, MemoryStorage(), transport=CorruptFirstPatch())
    media_id = await up.run(await up.add(DATA, "visit_photo", ENTITY))
    (stored,) = tus.state.uploads.values()
    assert tus.state.checksum_failures == 1
    assert bytes(stored.data) == DATA
    assert stored.media_id == media_id
    await up.http.aclose()


async def test_an_upload_the_server_forgot_starts_again(tus: TusServer) -> None:
    storage = MemoryStorage()
    net = NetworkSimulator(paths=None, rules=[nth_patch(2, "before")])
    up = uploader(tus.url, storage, transport=net, attempts=1)
    state = await up.add(DATA, "visit_photo", ENTITY)
    with pytest.raises(NetworkError):
        await up.run(state)
    tus.state.uploads.clear()  # expired on the server meanwhile
    (saved,) = await up.pending()
    media_id = await up.run(saved)
    (stored,) = tus.state.uploads.values()
    assert bytes(stored.data) == DATA
    assert stored.media_id == media_id
    await up.http.aclose()


async def test_termination_deletes_the_upload_on_the_server_and_on_the_device(tus: TusServer) -> None:
    storage = MemoryStorage()
    net = NetworkSimulator(paths=None, rules=[nth_patch(2, "before")])
    up = uploader(tus.url, storage, transport=net, attempts=1)
    state = await up.add(DATA, "visit_photo", ENTITY)
    with pytest.raises(NetworkError):
        await up.run(state)
    (saved,) = await up.pending()
    assert len(tus.state.uploads) == 1
    await up.cancel(saved)
    assert tus.state.uploads == {}
    assert await up.pending() == []
    assert not any(k.startswith("upload") for k in storage.data)
    await up.http.aclose()


async def test_bad_upload_input_is_refused_before_anything_is_sent(tus: TusServer, tmp_path: Path) -> None:
    up = uploader(tus.url, MemoryStorage())
    for source, kind, code in (
        (b"x", "selfie", "validation_failed"),
        (b"", "receipt", "empty_file"),
        (tmp_path / "missing.jpg", "receipt", "file_not_found"),
    ):
        with pytest.raises(FieldlineError) as err:
            await up.add(source, kind, ENTITY)
        assert err.value.code == code
    assert tus.state.uploads == {}
    assert await up.pending() == []
    await up.http.aclose()
