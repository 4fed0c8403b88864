"""Fixtures for the media HTTP tests: small limits, visits with check-ins, a tus client, a worker.

Limits are lowered so the over-limit cases stay cheap: 6 MB per upload and 40 megapixels (so a
50-megapixel photo is over the pixel limit while being a few hundred KB on the wire).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.lib.clock import rfc3339, utcnow
from tests.factories import login
from tests.media import mediagen as gen

MAX_BYTES = 6_000_000
MAX_PIXELS = 40_000_000
TUS = {"Tus-Resumable": "1.0.0"}
#: Customer 0 of the test world (People's Square, Shanghai).
C0 = (31.2314, 121.4737)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Any:
    from api.settings import Settings

    return Settings(
        env="test",
        var_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-" + "x" * 40,
        media_root=tmp_path / "media",
        run_worker=False,
        max_upload_bytes=MAX_BYTES,
        max_upload_pixels=MAX_PIXELS,
    )


@pytest.fixture
async def worker(settings: Any) -> AsyncIterator[Any]:
    """A job worker with the registry's kinds and the process services built from the settings
    (same storage root and signing key as the app)."""
    from api.db.engine import create_engine, create_session_factory
    from api.db.session import Database
    from api.jobs.registry import job_kinds
    from api.jobs.worker import JobContext, JobWorker
    from api.media.runtime import worker_services

    engine = create_engine(settings.database_url)
    db = Database(engine=engine, sessions=create_session_factory(engine))
    ctx = JobContext(db=db, services={"settings": settings, **worker_services(settings)})
    yield JobWorker(ctx, job_kinds(), worker_id="test-worker")
    await engine.dispose()


async def drain(worker: Any) -> int:
    """Run jobs until none is due; returns how many ran."""
    ran = 0
    while await worker.run_once():
        ran += 1
    return ran


# ------------------------------------------------------------------------------------ media
def photo(
    seed: int = 1,
    size: tuple[int, int] = (1200, 900),
    *,
    taken_at: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    quality: int = 88,
) -> bytes:
    """A photo-like JPEG, with phone-style EXIF when a time or a position is given."""
    image = gen.photo_like(*size, seed=seed)
    params: dict[str, Any] = {"quality": quality}
    if taken_at is not None or lat is not None:
        params["exif"] = gen.make_exif(taken_at=taken_at, offset="+08:00", lat=lat, lon=lon).tobytes()
    return gen.encode(image, **params)


def at_visit(seed: int = 1, **kw: Any) -> bytes:
    """A photo taken just now, 30 m from customer 0 (where the test visits check in)."""
    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    return photo(seed, taken_at=now.replace(tzinfo=None), lat=C0[0] + 0.0003, lon=C0[1], **kw)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------ rows
async def new_visit(
    client: Any, headers: dict[str, str], customer: uuid.UUID, *, check_in: bool = True
) -> str:
    r = await client.post("/v1/visits", json={"customer_id": str(customer)}, headers=headers)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    if check_in:
        now = utcnow()
        r = await client.post(
            f"/v1/visits/{vid}/check-in",
            headers=headers,
            json={"at": rfc3339(now - timedelta(minutes=1)), "lat": C0[0], "lon": C0[1], "accuracy_m": 8.0},
        )
        assert r.status_code == 200, r.text
    return vid


async def new_expense(client: Any, headers: dict[str, str]) -> str:
    fields = {
        "merchant": "Shop",
        "currency": "CNY",
        "date": "2026-03-04",
        "total": "12.50",
        "category_code": "meals",
    }
    r = await client.post("/v1/expenses", json=fields, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def rep(client: Any, key: str = "rep1") -> dict[str, str]:
    return (await login(client, key))["headers"]


# ------------------------------------------------------------------------------------ tus
def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def tus_create(
    client: Any,
    headers: dict[str, str],
    length: int,
    *,
    kind: str = "visit_photo",
    entity_id: str,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    extra: dict[str, str] | None = None,
) -> Any:
    meta = metadata(kind=kind, entity_id=entity_id, filename=filename, content_type=content_type)
    return await client.post(
        "/v1/uploads",
        headers={**headers, **TUS, "Upload-Length": str(length), "Upload-Metadata": meta, **(extra or {})},
    )


async def tus_patch(
    client: Any, headers: dict[str, str], location: str, offset: int, data: bytes, **extra: str
) -> Any:
    return await client.patch(
        location,
        content=data,
        headers={
            **headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **extra,
        },
    )


async def tus_upload(
    client: Any,
    headers: dict[str, str],
    data: bytes,
    *,
    entity_id: str,
    kind: str = "visit_photo",
    content_type: str = "image/jpeg",
    chunk: int = 256 * 1024,
) -> Any:
    """A whole tus upload in chunks; returns the last PATCH response."""
    r = await tus_create(
        client, headers, len(data), kind=kind, entity_id=entity_id, content_type=content_type
    )
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    offset = 0
    while True:
        r = await tus_patch(client, headers, location, offset, data[offset : offset + chunk])
        if r.status_code != 204 or offset + chunk >= len(data):
            return r
        offset = int(r.headers["upload-offset"])


async def upload_photo(client: Any, headers: dict[str, str], visit_id: str, data: bytes) -> str:
    r = await tus_upload(client, headers, data, entity_id=visit_id)
    assert r.status_code == 204, r.text
    return r.headers["fieldline-media-id"]


async def one_shot(
    client: Any,
    headers: dict[str, str],
    data: bytes,
    *,
    kind: str,
    entity_id: str,
    filename: str = "upload.jpg",
    content_type: str = "image/jpeg",
) -> Any:
    return await client.post(
        "/v1/media",
        headers=headers,
        data={"kind": kind, "entity_id": entity_id},
        files={"file": (filename, data, content_type)},
    )


# ------------------------------------------------------------------------------------ raw ASGI
def asgi_call(
    client: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterable[bytes],
    *,
    disconnect: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """Drive the app with a body sent in ``chunks``; with ``disconnect`` the client goes away
    after the last chunk instead of finishing the body (a phone losing its connection)."""
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    if disconnect:
        messages.append({"type": "http.disconnect"})
    else:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
        "extensions": {},
    }
    client.blocking_portal.call(client.app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def problem(r: Any) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return r.json()


# ------------------------------------------------------------------------------------ bad inputs
@pytest.fixture(scope="session")
def fifty_megapixels() -> bytes:
    """A real 50-megapixel JPEG (8660x5774, a phone's top resolution), small on the wire."""
    from PIL import Image

    return gen.encode(Image.new("RGB", (8660, 5774), (90, 120, 150)), quality=60)


def stored_files(settings: Any) -> list[Path]:
    """Every file in storage, the upload spool and the storage's temp directory."""
    roots = [settings.media_root, settings.upload_path]
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())
